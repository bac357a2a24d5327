// SPDX-License-Identifier: MIT
#include "core/elf_image.hpp"

#include "util/error.hpp"

#include <elf.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace ksign::core {

namespace {

[[noreturn]] void throw_format(const std::string& message)
{
  throw Error(Errc::format, message);
}

} // namespace

ElfImage::ElfImage(ByteView data) : m_data(data)
{
  if (data.size() < EI_NIDENT || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0) {
    throw_format("not an ELF file");
  }
  if (data[EI_CLASS] != ELFCLASS64 && data[EI_CLASS] != ELFCLASS32) {
    throw_format("unknown ELF class");
  }
  if (data[EI_DATA] != ELFDATA2LSB && data[EI_DATA] != ELFDATA2MSB) {
    throw_format("unknown ELF byte order");
  }
  m_is_64 = data[EI_CLASS] == ELFCLASS64;
  m_big_endian = data[EI_DATA] == ELFDATA2MSB;
  if (data.size() < (m_is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
    throw_format("truncated ELF header");
  }
  m_machine = static_cast<std::uint16_t>(uint_at(offsetof(Elf64_Ehdr, e_machine), 2));
  if (uint_at(offsetof(Elf64_Ehdr, e_type), 2) != ET_EXEC && uint_at(offsetof(Elf64_Ehdr, e_type), 2) != ET_DYN) {
    throw_format("the ELF file is not an executable (a vmlinux is one)");
  }
  read_sections();
  read_segments();
  if (m_regions.empty()) {
    throw_format("the ELF file has no loadable contents");
  }
}

void ElfImage::for_each_symbol(const std::function<void(std::string_view, std::uint64_t, std::uint64_t)>& found) const
{
  if (!m_symtab) {
    return;
  }
  const std::size_t entry = m_is_64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
  const std::string_view names(reinterpret_cast<const char*>(m_data.data() + m_symtab->names_offset),
                               m_symtab->names_size);
  for (std::uint64_t at = m_symtab->offset; at + entry <= m_symtab->offset + m_symtab->size; at += entry) {
    const std::uint64_t name = uint_at(at + offsetof(Elf64_Sym, st_name), 4);
    const std::uint64_t value = m_is_64 ? uint_at(at + offsetof(Elf64_Sym, st_value), 8)
                                        : uint_at(at + offsetof(Elf32_Sym, st_value), 4);
    const std::uint64_t size = m_is_64 ? uint_at(at + offsetof(Elf64_Sym, st_size), 8)
                                       : uint_at(at + offsetof(Elf32_Sym, st_size), 4);
    if (name >= names.size()) {
      continue;
    }
    const std::size_t end = names.find('\0', name);
    if (end == std::string_view::npos) {
      continue;
    }
    found(names.substr(name, end - name), value, size);
  }
}

SymbolTable ElfImage::symbols(std::span<const std::string_view> wanted) const
{
  SymbolTable found;
  for_each_symbol([&](std::string_view symbol, std::uint64_t value, std::uint64_t) {
    if (std::ranges::find(wanted, symbol) != wanted.end()) {
      found.emplace(std::string(symbol), value);
    }
  });
  return found;
}

std::vector<ElfSymbol> ElfImage::symbols_where(const std::function<bool(std::string_view)>& wanted) const
{
  std::vector<ElfSymbol> found;
  for_each_symbol([&](std::string_view symbol, std::uint64_t value, std::uint64_t size) {
    if (wanted(symbol)) {
      found.push_back({std::string(symbol), value, size});
    }
  });
  return found;
}

std::optional<std::uint64_t> ElfImage::offset_of(std::uint64_t address, std::uint64_t size) const
{
  for (const Region& region : m_regions) {
    if (address >= region.address && address - region.address < region.size &&
        size <= region.size - (address - region.address)) {
      return region.offset + (address - region.address);
    }
  }
  return std::nullopt;
}

std::optional<ByteView> ElfImage::bytes_at(std::uint64_t address, std::uint64_t size) const
{
  const auto offset = offset_of(address, size);
  if (!offset) {
    return std::nullopt;
  }
  return m_data.subspan(static_cast<std::size_t>(*offset), static_cast<std::size_t>(size));
}

std::optional<std::uint64_t> ElfImage::uint_at_address(std::uint64_t address, std::size_t size) const
{
  const auto offset = offset_of(address, size);
  if (!offset) {
    return std::nullopt;
  }
  return uint_at(*offset, size);
}

std::uint64_t ElfImage::uint_at(std::uint64_t offset, std::size_t size) const
{
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t byte = m_data[static_cast<std::size_t>(offset) + (m_big_endian ? i : size - 1 - i)];
    value = (value << 8) | byte;
  }
  return value;
}

std::uint64_t ElfImage::header_field(std::size_t offset64, std::size_t offset32, std::size_t size64,
                                     std::size_t size32) const
{
  return m_is_64 ? uint_at(offset64, size64) : uint_at(offset32, size32);
}

bool ElfImage::in_file(std::uint64_t offset, std::uint64_t size) const
{
  return offset <= m_data.size() && size <= m_data.size() - offset;
}

void ElfImage::read_sections()
{
  const std::uint64_t table = header_field(offsetof(Elf64_Ehdr, e_shoff), offsetof(Elf32_Ehdr, e_shoff), 8, 4);
  const std::uint64_t entry =
    header_field(offsetof(Elf64_Ehdr, e_shentsize), offsetof(Elf32_Ehdr, e_shentsize), 2, 2);
  const std::uint64_t count = header_field(offsetof(Elf64_Ehdr, e_shnum), offsetof(Elf32_Ehdr, e_shnum), 2, 2);
  const std::size_t min_entry = m_is_64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
  if (table == 0 || count == 0) {
    return; // no section headers: the program headers will do
  }
  if (entry < min_entry || !in_file(table, count * entry)) {
    throw_format("ELF section headers lie outside the file");
  }
  struct Section
  {
    std::uint64_t type, flags, address, offset, size, link;
  };
  std::vector<Section> sections;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = table + i * entry;
    const auto field = [&](std::size_t offset64, std::size_t offset32, std::size_t size64, std::size_t size32) {
      return m_is_64 ? uint_at(at + offset64, size64) : uint_at(at + offset32, size32);
    };
    sections.push_back({
      field(offsetof(Elf64_Shdr, sh_type), offsetof(Elf32_Shdr, sh_type), 4, 4),
      field(offsetof(Elf64_Shdr, sh_flags), offsetof(Elf32_Shdr, sh_flags), 8, 4),
      field(offsetof(Elf64_Shdr, sh_addr), offsetof(Elf32_Shdr, sh_addr), 8, 4),
      field(offsetof(Elf64_Shdr, sh_offset), offsetof(Elf32_Shdr, sh_offset), 8, 4),
      field(offsetof(Elf64_Shdr, sh_size), offsetof(Elf32_Shdr, sh_size), 8, 4),
      field(offsetof(Elf64_Shdr, sh_link), offsetof(Elf32_Shdr, sh_link), 4, 4),
    });
  }
  for (const Section& section : sections) {
    if (section.type == SHT_SYMTAB && section.link < sections.size()) {
      const Section& names = sections[static_cast<std::size_t>(section.link)];
      if (in_file(section.offset, section.size) && in_file(names.offset, names.size)) {
        m_symtab = SymbolSection{section.offset, section.size, names.offset, names.size};
      }
    }
    if ((section.flags & SHF_ALLOC) != 0 && section.type != SHT_NOBITS && section.size != 0 &&
        in_file(section.offset, section.size)) {
      m_regions.push_back({section.address, section.offset, section.size});
    }
  }
}

void ElfImage::read_segments()
{
  if (!m_regions.empty()) {
    return;
  }
  const std::uint64_t table = header_field(offsetof(Elf64_Ehdr, e_phoff), offsetof(Elf32_Ehdr, e_phoff), 8, 4);
  const std::uint64_t entry =
    header_field(offsetof(Elf64_Ehdr, e_phentsize), offsetof(Elf32_Ehdr, e_phentsize), 2, 2);
  const std::uint64_t count = header_field(offsetof(Elf64_Ehdr, e_phnum), offsetof(Elf32_Ehdr, e_phnum), 2, 2);
  const std::size_t min_entry = m_is_64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
  if (count == 0) {
    return;
  }
  if (entry < min_entry || !in_file(table, count * entry)) {
    throw_format("ELF program headers lie outside the file");
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = table + i * entry;
    const auto field = [&](std::size_t offset64, std::size_t offset32, std::size_t size64, std::size_t size32) {
      return m_is_64 ? uint_at(at + offset64, size64) : uint_at(at + offset32, size32);
    };
    const std::uint64_t type = field(offsetof(Elf64_Phdr, p_type), offsetof(Elf32_Phdr, p_type), 4, 4);
    const std::uint64_t offset = field(offsetof(Elf64_Phdr, p_offset), offsetof(Elf32_Phdr, p_offset), 8, 4);
    const std::uint64_t address = field(offsetof(Elf64_Phdr, p_vaddr), offsetof(Elf32_Phdr, p_vaddr), 8, 4);
    const std::uint64_t size = field(offsetof(Elf64_Phdr, p_filesz), offsetof(Elf32_Phdr, p_filesz), 8, 4);
    if (type == PT_LOAD && size != 0 && in_file(offset, size)) {
      m_regions.push_back({address, offset, size});
    }
  }
}

} // namespace ksign::core
