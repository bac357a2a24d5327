// SPDX-License-Identifier: MIT
#include "core/elf.hpp"

#include "util/error.hpp"

#include <elf.h>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace ksign::core {

std::optional<std::string> ElfFile::header_problem(ByteView data)
{
  if (data.size() < EI_NIDENT || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0) {
    return "not an ELF file";
  }
  if (data[EI_CLASS] != ELFCLASS64 && data[EI_CLASS] != ELFCLASS32) {
    return "unknown ELF class";
  }
  if (data[EI_DATA] != ELFDATA2LSB && data[EI_DATA] != ELFDATA2MSB) {
    return "unknown ELF byte order";
  }
  if (data.size() < (data[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
    return "truncated ELF header";
  }
  return std::nullopt;
}

ElfFile::ElfFile(ByteView data) : m_data(data)
{
  if (const std::optional<std::string> problem = header_problem(data)) {
    throw Error(Errc::format, *problem);
  }
  m_is_64 = data[EI_CLASS] == ELFCLASS64;
  m_big_endian = data[EI_DATA] == ELFDATA2MSB;
}

std::uint16_t ElfFile::type() const
{
  return static_cast<std::uint16_t>(uint_at(offsetof(Elf64_Ehdr, e_type), 2));
}

std::uint16_t ElfFile::machine() const
{
  return static_cast<std::uint16_t>(uint_at(offsetof(Elf64_Ehdr, e_machine), 2));
}

std::uint64_t ElfFile::section_names_index() const
{
  return field_at(0, offsetof(Elf64_Ehdr, e_shstrndx), offsetof(Elf32_Ehdr, e_shstrndx), 2, 2);
}

ElfFile::Table ElfFile::section_table() const
{
  return {
    field_at(0, offsetof(Elf64_Ehdr, e_shoff), offsetof(Elf32_Ehdr, e_shoff), 8, 4),
    field_at(0, offsetof(Elf64_Ehdr, e_shentsize), offsetof(Elf32_Ehdr, e_shentsize), 2, 2),
    field_at(0, offsetof(Elf64_Ehdr, e_shnum), offsetof(Elf32_Ehdr, e_shnum), 2, 2),
    m_is_64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr),
  };
}

ElfFile::Table ElfFile::program_table() const
{
  return {
    field_at(0, offsetof(Elf64_Ehdr, e_phoff), offsetof(Elf32_Ehdr, e_phoff), 8, 4),
    field_at(0, offsetof(Elf64_Ehdr, e_phentsize), offsetof(Elf32_Ehdr, e_phentsize), 2, 2),
    field_at(0, offsetof(Elf64_Ehdr, e_phnum), offsetof(Elf32_Ehdr, e_phnum), 2, 2),
    m_is_64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr),
  };
}

bool ElfFile::fits(const Table& table) const
{
  // entry_size and count are 16-bit fields: their product cannot overflow.
  return table.entry_size >= table.min_entry_size && in_file(table.offset, table.count * table.entry_size);
}

ElfFile::Section ElfFile::section(const Table& sections, std::uint64_t index) const
{
  const std::uint64_t at = sections.offset + index * sections.entry_size;
  return {
    field_at(at, offsetof(Elf64_Shdr, sh_name), offsetof(Elf32_Shdr, sh_name), 4, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_type), offsetof(Elf32_Shdr, sh_type), 4, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_flags), offsetof(Elf32_Shdr, sh_flags), 8, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_addr), offsetof(Elf32_Shdr, sh_addr), 8, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_offset), offsetof(Elf32_Shdr, sh_offset), 8, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_size), offsetof(Elf32_Shdr, sh_size), 8, 4),
    field_at(at, offsetof(Elf64_Shdr, sh_link), offsetof(Elf32_Shdr, sh_link), 4, 4),
  };
}

ElfFile::Segment ElfFile::segment(const Table& segments, std::uint64_t index) const
{
  const std::uint64_t at = segments.offset + index * segments.entry_size;
  return {
    field_at(at, offsetof(Elf64_Phdr, p_type), offsetof(Elf32_Phdr, p_type), 4, 4),
    field_at(at, offsetof(Elf64_Phdr, p_offset), offsetof(Elf32_Phdr, p_offset), 8, 4),
    field_at(at, offsetof(Elf64_Phdr, p_vaddr), offsetof(Elf32_Phdr, p_vaddr), 8, 4),
    field_at(at, offsetof(Elf64_Phdr, p_filesz), offsetof(Elf32_Phdr, p_filesz), 8, 4),
  };
}

std::uint64_t ElfFile::uint_at(std::uint64_t offset, std::size_t size) const
{
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t byte = m_data[static_cast<std::size_t>(offset) + (m_big_endian ? i : size - 1 - i)];
    value = (value << 8) | byte;
  }
  return value;
}

std::uint64_t ElfFile::field_at(std::uint64_t base, std::size_t offset64, std::size_t offset32, std::size_t size64,
                                std::size_t size32) const
{
  return m_is_64 ? uint_at(base + offset64, size64) : uint_at(base + offset32, size32);
}

bool ElfFile::in_file(std::uint64_t offset, std::uint64_t size) const
{
  return offset <= m_data.size() && size <= m_data.size() - offset;
}

std::optional<std::string> kernel_module_problem(ByteView data)
{
  if (std::optional<std::string> problem = ElfFile::header_problem(data)) {
    return problem;
  }
  const ElfFile elf(data);
  if (elf.type() != ET_REL) {
    return "ELF file is not a relocatable object (a kernel module is one)";
  }
  const ElfFile::Table sections = elf.section_table();
  if (sections.count == 0 || !elf.fits(sections)) {
    return "ELF section headers lie outside the file (truncated module?)";
  }
  if (elf.section_names_index() >= sections.count) {
    return "bad ELF section name table index";
  }
  const ElfFile::Section names_section = elf.section(sections, elf.section_names_index());
  if (!elf.in_file(names_section.offset, names_section.size)) {
    return "ELF section name table lies outside the file (truncated module?)";
  }
  const std::string_view names(reinterpret_cast<const char*>(data.data() + names_section.offset),
                               static_cast<std::size_t>(names_section.size));
  for (std::uint64_t i = 0; i < sections.count; ++i) {
    const std::uint64_t name = elf.section(sections, i).name;
    if (name < names.size() && names.substr(name, names.find('\0', name) - name) == ".modinfo") {
      return std::nullopt;
    }
  }
  return "ELF object has no .modinfo section: not a kernel module";
}

} // namespace ksign::core
