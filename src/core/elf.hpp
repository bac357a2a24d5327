// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>

// The one ELF reader: the identification, the file header and the section and program header
// tables of a 32- or 64-bit ELF of either byte order. A module's check (kernel_module_problem)
// and a vmlinux's view by symbol (ElfImage, elf_image.hpp) both read through it.
namespace ksign::core {

class ElfFile
{
public:
  // Why `data` does not start with an ELF header this reader takes ("not an ELF file", "unknown
  // ELF class", "unknown ELF byte order", "truncated ELF header"), or nullopt.
  [[nodiscard]] static std::optional<std::string> header_problem(ByteView data);

  // Throws Error(Errc::format) with header_problem's reason.
  explicit ElfFile(ByteView data);

  [[nodiscard]] ByteView data() const { return m_data; }
  [[nodiscard]] bool is_64() const { return m_is_64; }
  // e_type: ET_REL (a module), ET_EXEC or ET_DYN (a vmlinux), ...
  [[nodiscard]] std::uint16_t type() const;
  // e_machine: EM_X86_64, EM_386, EM_AARCH64, ...
  [[nodiscard]] std::uint16_t machine() const;
  // e_shstrndx: the index of the section holding the section names.
  [[nodiscard]] std::uint64_t section_names_index() const;

  // A table of section or program headers as the file header places it. `count` 0: none.
  struct Table
  {
    std::uint64_t offset = 0;
    std::uint64_t entry_size = 0;
    std::uint64_t count = 0;
    std::uint64_t min_entry_size = 0; // the size of one header of this ELF class
  };
  [[nodiscard]] Table section_table() const;
  [[nodiscard]] Table program_table() const;
  // Whether the table's entries are large enough and all lie inside the file.
  [[nodiscard]] bool fits(const Table& table) const;

  struct Section
  {
    std::uint64_t name = 0; // offset in the section names
    std::uint64_t type = 0;
    std::uint64_t flags = 0;
    std::uint64_t address = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::uint64_t link = 0;
  };
  struct Segment
  {
    std::uint64_t type = 0;
    std::uint64_t offset = 0;
    std::uint64_t address = 0;
    std::uint64_t size = 0; // p_filesz
  };
  // Entry `index` of a table that fits, index below its count (the caller checks both).
  [[nodiscard]] Section section(const Table& sections, std::uint64_t index) const;
  [[nodiscard]] Segment segment(const Table& segments, std::uint64_t index) const;

  // An unsigned integer of `size` bytes (at most 8) in the file's byte order at file offset
  // `offset`; the caller checked that they lie in the file.
  [[nodiscard]] std::uint64_t uint_at(std::uint64_t offset, std::size_t size) const;
  // An integer whose size and place differ between the classes (a header field).
  [[nodiscard]] std::uint64_t field_at(std::uint64_t base, std::size_t offset64, std::size_t offset32,
                                       std::size_t size64, std::size_t size32) const;

  [[nodiscard]] bool in_file(std::uint64_t offset, std::uint64_t size) const;

private:
  ByteView m_data;
  bool m_is_64 = true;
  bool m_big_endian = false;
};

// Why `data` is not a kernel module (an ELF relocatable object with a .modinfo section), or
// nullopt when it is one. Only the structure is checked, not the code.
[[nodiscard]] std::optional<std::string> kernel_module_problem(ByteView data);

} // namespace ksign::core
