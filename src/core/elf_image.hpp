// SPDX-License-Identifier: MIT
#pragma once

#include "core/elf.hpp"
#include "util/bytes.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

// Symbol name -> address.
using SymbolTable = std::map<std::string, std::uint64_t, std::less<>>;

// A symbol of an ELF's .symtab with its size (0 when the ELF does not say).
struct ElfSymbol
{
  std::string name;
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

// The parts of an ELF executable (a vmlinux) needed to find data by symbol, read through ElfFile
// (elf.hpp): 32 or 64 bits, either byte order. Every offset read from the file is checked
// against its size; a file that is not such an ELF throws Error(Errc::format). Views point into
// the data given.
class ElfImage
{
public:
  explicit ElfImage(ByteView data);

  [[nodiscard]] std::size_t pointer_size() const { return m_elf.is_64() ? 8 : 4; }
  // e_machine: EM_X86_64, EM_386, EM_AARCH64, ...
  [[nodiscard]] std::uint16_t machine() const { return m_elf.machine(); }
  [[nodiscard]] bool has_symbol_table() const { return m_symtab.has_value(); }
  [[nodiscard]] ByteView data() const { return m_elf.data(); }

  // The addresses of those of `wanted` that the ELF's .symtab defines.
  [[nodiscard]] SymbolTable symbols(std::span<const std::string_view> wanted) const;

  // Every .symtab symbol whose name `wanted` accepts, with its size, in the table's order.
  [[nodiscard]] std::vector<ElfSymbol> symbols_where(const std::function<bool(std::string_view)>& wanted) const;

  // The file offset of `size` bytes at virtual address `address`, when the file holds them
  // all in one section (or segment).
  [[nodiscard]] std::optional<std::uint64_t> offset_of(std::uint64_t address, std::uint64_t size) const;

  [[nodiscard]] std::optional<ByteView> bytes_at(std::uint64_t address, std::uint64_t size) const;

  // An unsigned integer of `size` bytes (4 or 8) at `address`.
  [[nodiscard]] std::optional<std::uint64_t> uint_at_address(std::uint64_t address, std::size_t size) const;

private:
  struct Region
  {
    std::uint64_t address;
    std::uint64_t offset;
    std::uint64_t size;
  };
  struct SymbolSection
  {
    std::uint64_t offset;
    std::uint64_t size;
    std::uint64_t names_offset;
    std::uint64_t names_size;
  };

  void read_sections();

  // Call `found(name, address, size)` for each named .symtab entry.
  void for_each_symbol(const std::function<void(std::string_view, std::uint64_t, std::uint64_t)>& found) const;

  // Used only when there are no section headers to say exactly what the file holds.
  void read_segments();

  ElfFile m_elf;
  std::vector<Region> m_regions;
  std::optional<SymbolSection> m_symtab;
};

} // namespace ksign::core
