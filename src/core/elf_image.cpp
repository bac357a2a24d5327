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

ElfImage::ElfImage(ByteView data) : m_elf(data)
{
  if (m_elf.type() != ET_EXEC && m_elf.type() != ET_DYN) {
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
  const std::size_t entry = m_elf.is_64() ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
  const std::string_view names(reinterpret_cast<const char*>(m_elf.data().data() + m_symtab->names_offset),
                               m_symtab->names_size);
  for (std::uint64_t at = m_symtab->offset; at + entry <= m_symtab->offset + m_symtab->size; at += entry) {
    const std::uint64_t name = m_elf.uint_at(at + offsetof(Elf64_Sym, st_name), 4);
    const std::uint64_t value = m_elf.field_at(at, offsetof(Elf64_Sym, st_value), offsetof(Elf32_Sym, st_value), 8, 4);
    const std::uint64_t size = m_elf.field_at(at, offsetof(Elf64_Sym, st_size), offsetof(Elf32_Sym, st_size), 8, 4);
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
  return m_elf.data().subspan(static_cast<std::size_t>(*offset), static_cast<std::size_t>(size));
}

std::optional<std::uint64_t> ElfImage::uint_at_address(std::uint64_t address, std::size_t size) const
{
  const auto offset = offset_of(address, size);
  if (!offset) {
    return std::nullopt;
  }
  return m_elf.uint_at(*offset, size);
}

void ElfImage::read_sections()
{
  const ElfFile::Table table = m_elf.section_table();
  if (table.offset == 0 || table.count == 0) {
    return; // no section headers: the program headers will do
  }
  if (!m_elf.fits(table)) {
    throw_format("ELF section headers lie outside the file");
  }
  std::vector<ElfFile::Section> sections;
  sections.reserve(static_cast<std::size_t>(table.count));
  for (std::uint64_t i = 0; i < table.count; ++i) {
    sections.push_back(m_elf.section(table, i));
  }
  for (const ElfFile::Section& section : sections) {
    if (section.type == SHT_SYMTAB && section.link < sections.size()) {
      const ElfFile::Section& names = sections[static_cast<std::size_t>(section.link)];
      if (m_elf.in_file(section.offset, section.size) && m_elf.in_file(names.offset, names.size)) {
        m_symtab = SymbolSection{section.offset, section.size, names.offset, names.size};
      }
    }
    if ((section.flags & SHF_ALLOC) != 0 && section.type != SHT_NOBITS && section.size != 0 &&
        m_elf.in_file(section.offset, section.size)) {
      m_regions.push_back({section.address, section.offset, section.size});
    }
  }
}

void ElfImage::read_segments()
{
  if (!m_regions.empty()) {
    return;
  }
  const ElfFile::Table table = m_elf.program_table();
  if (table.count == 0) {
    return;
  }
  if (!m_elf.fits(table)) {
    throw_format("ELF program headers lie outside the file");
  }
  for (std::uint64_t i = 0; i < table.count; ++i) {
    const ElfFile::Segment segment = m_elf.segment(table, i);
    if (segment.type == PT_LOAD && segment.size != 0 && m_elf.in_file(segment.offset, segment.size)) {
      m_regions.push_back({segment.address, segment.offset, segment.size});
    }
  }
}

} // namespace ksign::core
