// SPDX-License-Identifier: MIT
// ELF files written field by field for the ELF readers' tests: any class, either byte order.
#pragma once

#include "core/elf.hpp"
#include "util/bytes.hpp"

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::test {

// A little ELF written field by field: a header, then the section headers, then the contents.
// Class and byte order are the caller's; every field is written where that class puts it.
class ElfWriter
{
public:
  ElfWriter(bool is_64, bool big_endian) : m_is_64(is_64), m_big(big_endian) {}

  void put(Bytes& out, std::size_t at, std::uint64_t value, std::size_t size) const
  {
    if (out.size() < at + size) {
      out.resize(at + size);
    }
    for (std::size_t i = 0; i < size; ++i) {
      out[at + (m_big ? size - 1 - i : i)] = static_cast<std::uint8_t>(value >> (8 * i));
    }
  }

  // A header of type `type`, machine `machine`, with `sections` section headers at offset
  // `shoff` (names in section `shstrndx`).
  Bytes header(std::uint16_t type, std::uint16_t machine, std::uint64_t shoff, std::uint16_t sections,
               std::uint16_t shstrndx) const
  {
    Bytes out(m_is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr), 0);
    std::memcpy(out.data(), ELFMAG, SELFMAG);
    out[EI_CLASS] = m_is_64 ? ELFCLASS64 : ELFCLASS32;
    out[EI_DATA] = m_big ? ELFDATA2MSB : ELFDATA2LSB;
    out[EI_VERSION] = EV_CURRENT;
    put(out, offsetof(Elf64_Ehdr, e_type), type, 2);
    put(out, offsetof(Elf64_Ehdr, e_machine), machine, 2);
    if (m_is_64) {
      put(out, offsetof(Elf64_Ehdr, e_shoff), shoff, 8);
      put(out, offsetof(Elf64_Ehdr, e_shentsize), sizeof(Elf64_Shdr), 2);
      put(out, offsetof(Elf64_Ehdr, e_shnum), sections, 2);
      put(out, offsetof(Elf64_Ehdr, e_shstrndx), shstrndx, 2);
    } else {
      put(out, offsetof(Elf32_Ehdr, e_shoff), shoff, 4);
      put(out, offsetof(Elf32_Ehdr, e_shentsize), sizeof(Elf32_Shdr), 2);
      put(out, offsetof(Elf32_Ehdr, e_shnum), sections, 2);
      put(out, offsetof(Elf32_Ehdr, e_shstrndx), shstrndx, 2);
    }
    return out;
  }

  std::size_t section_size() const { return m_is_64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr); }

  void section(Bytes& out, std::size_t at, const core::ElfFile::Section& s) const
  {
    if (m_is_64) {
      put(out, at + offsetof(Elf64_Shdr, sh_name), s.name, 4);
      put(out, at + offsetof(Elf64_Shdr, sh_type), s.type, 4);
      put(out, at + offsetof(Elf64_Shdr, sh_flags), s.flags, 8);
      put(out, at + offsetof(Elf64_Shdr, sh_addr), s.address, 8);
      put(out, at + offsetof(Elf64_Shdr, sh_offset), s.offset, 8);
      put(out, at + offsetof(Elf64_Shdr, sh_size), s.size, 8);
      put(out, at + offsetof(Elf64_Shdr, sh_link), s.link, 4);
    } else {
      put(out, at + offsetof(Elf32_Shdr, sh_name), s.name, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_type), s.type, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_flags), s.flags, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_addr), s.address, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_offset), s.offset, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_size), s.size, 4);
      put(out, at + offsetof(Elf32_Shdr, sh_link), s.link, 4);
    }
  }

  // A relocatable object with a null section, `names` (the section name table) and one
  // PROGBITS section named by `name_of_third`.
  Bytes object(std::string_view name_of_third) const
  {
    const std::string names = std::string("\0.shstrtab\0", 11) + std::string(name_of_third) + '\0';
    const std::size_t table = m_is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    const std::size_t contents = table + 3 * section_size();
    Bytes out = header(ET_REL, EM_X86_64, table, 3, 1);
    section(out, table + section_size(), {1, SHT_STRTAB, 0, 0, contents, names.size(), 0});
    section(out, table + 2 * section_size(), {11, SHT_PROGBITS, SHF_ALLOC, 0, contents, 4, 0});
    out.resize(contents);
    out.insert(out.end(), names.begin(), names.end());
    return out;
  }

  struct Symbol
  {
    std::string name;
    std::uint64_t value = 0;
    std::uint64_t size = 0;
  };

  // An executable whose one loaded section holds `contents` at `address`, with `symbols` in its
  // .symtab: sections null, .shstrtab, .data, .symtab, .strtab.
  Bytes executable(std::uint64_t address, const Bytes& contents, const std::vector<Symbol>& symbols) const
  {
    const std::string names = std::string("\0.shstrtab\0.data\0.symtab\0.strtab\0", 33);
    const std::size_t symbol_size = m_is_64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
    std::string symbol_names(1, '\0');
    const std::size_t table = m_is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    const std::size_t names_at = table + 5 * section_size();
    const std::size_t contents_at = names_at + names.size();
    const std::size_t symtab_at = contents_at + contents.size();
    const std::size_t symtab_size = (symbols.size() + 1) * symbol_size;
    const std::size_t strtab_at = symtab_at + symtab_size;
    Bytes out = header(ET_EXEC, EM_X86_64, table, 5, 1);
    out.resize(names_at);
    out.insert(out.end(), names.begin(), names.end());
    out.insert(out.end(), contents.begin(), contents.end());
    out.resize(strtab_at);
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const std::size_t at = symtab_at + (i + 1) * symbol_size;
      put(out, at, symbol_names.size(), 4); // st_name is first in both classes
      if (m_is_64) {
        put(out, at + offsetof(Elf64_Sym, st_value), symbols[i].value, 8);
        put(out, at + offsetof(Elf64_Sym, st_size), symbols[i].size, 8);
      } else {
        put(out, at + offsetof(Elf32_Sym, st_value), symbols[i].value, 4);
        put(out, at + offsetof(Elf32_Sym, st_size), symbols[i].size, 4);
      }
      symbol_names += symbols[i].name + '\0';
    }
    out.insert(out.end(), symbol_names.begin(), symbol_names.end());
    section(out, table + section_size(), {1, SHT_STRTAB, 0, 0, names_at, names.size(), 0});
    section(out, table + 2 * section_size(), {11, SHT_PROGBITS, SHF_ALLOC, address, contents_at, contents.size(), 0});
    section(out, table + 3 * section_size(), {17, SHT_SYMTAB, 0, 0, symtab_at, symtab_size, 4});
    section(out, table + 4 * section_size(), {25, SHT_STRTAB, 0, 0, strtab_at, symbol_names.size(), 0});
    return out;
  }

  // `contents` at `address` as one PT_LOAD segment, and no section headers (so no symbols).
  Bytes segments_only(std::uint64_t address, const Bytes& contents) const
  {
    Bytes out = header(ET_EXEC, EM_386, 0, 0, 0);
    const std::size_t at = out.size();
    const std::size_t contents_at = at + (m_is_64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr));
    if (m_is_64) {
      put(out, offsetof(Elf64_Ehdr, e_phoff), at, 8);
      put(out, offsetof(Elf64_Ehdr, e_phentsize), sizeof(Elf64_Phdr), 2);
      put(out, offsetof(Elf64_Ehdr, e_phnum), 1, 2);
      put(out, at + offsetof(Elf64_Phdr, p_type), PT_LOAD, 4);
      put(out, at + offsetof(Elf64_Phdr, p_offset), contents_at, 8);
      put(out, at + offsetof(Elf64_Phdr, p_vaddr), address, 8);
      put(out, at + offsetof(Elf64_Phdr, p_filesz), contents.size(), 8);
    } else {
      put(out, offsetof(Elf32_Ehdr, e_phoff), at, 4);
      put(out, offsetof(Elf32_Ehdr, e_phentsize), sizeof(Elf32_Phdr), 2);
      put(out, offsetof(Elf32_Ehdr, e_phnum), 1, 2);
      put(out, at + offsetof(Elf32_Phdr, p_type), PT_LOAD, 4);
      put(out, at + offsetof(Elf32_Phdr, p_offset), contents_at, 4);
      put(out, at + offsetof(Elf32_Phdr, p_vaddr), address, 4);
      put(out, at + offsetof(Elf32_Phdr, p_filesz), contents.size(), 4);
    }
    out.resize(contents_at);
    out.insert(out.end(), contents.begin(), contents.end());
    return out;
  }

private:
  bool m_is_64;
  bool m_big;
};

} // namespace ksign::test
