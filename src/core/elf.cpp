// SPDX-License-Identifier: MIT
#include "core/elf.hpp"

#include <elf.h>

#include <cstring>
#include <string_view>

namespace ksign::core {

namespace {

// Read an integer of the file's byte order at `offset` (bounds checked by the caller).
std::uint64_t read_uint(ByteView data, std::size_t offset, std::size_t size, bool big_endian)
{
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t byte = data[offset + (big_endian ? i : size - 1 - i)];
    value = (value << 8) | byte;
  }
  return value;
}

} // namespace

std::optional<std::string> kernel_module_problem(ByteView data)
{
  if (data.size() < EI_NIDENT || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0) {
    return "not an ELF file";
  }
  const bool is_64 = data[EI_CLASS] == ELFCLASS64;
  if (!is_64 && data[EI_CLASS] != ELFCLASS32) {
    return "unknown ELF class";
  }
  if (data[EI_DATA] != ELFDATA2LSB && data[EI_DATA] != ELFDATA2MSB) {
    return "unknown ELF byte order";
  }
  const bool big = data[EI_DATA] == ELFDATA2MSB;
  const std::size_t header_size = is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
  if (data.size() < header_size) {
    return "truncated ELF header";
  }
  const auto field = [&](std::size_t offset64, std::size_t offset32, std::size_t size64, std::size_t size32) {
    return read_uint(data, is_64 ? offset64 : offset32, is_64 ? size64 : size32, big);
  };
  const std::uint64_t type = read_uint(data, offsetof(Elf64_Ehdr, e_type), 2, big);
  if (type != ET_REL) {
    return "ELF file is not a relocatable object (a kernel module is one)";
  }
  const std::uint64_t shoff = field(offsetof(Elf64_Ehdr, e_shoff), offsetof(Elf32_Ehdr, e_shoff), 8, 4);
  const std::uint64_t shentsize =
    field(offsetof(Elf64_Ehdr, e_shentsize), offsetof(Elf32_Ehdr, e_shentsize), 2, 2);
  const std::uint64_t shnum = field(offsetof(Elf64_Ehdr, e_shnum), offsetof(Elf32_Ehdr, e_shnum), 2, 2);
  const std::uint64_t shstrndx = field(offsetof(Elf64_Ehdr, e_shstrndx), offsetof(Elf32_Ehdr, e_shstrndx), 2, 2);
  const std::size_t min_entry = is_64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
  if (shnum == 0 || shentsize < min_entry || shoff > data.size()
      || shnum * shentsize > data.size() - shoff) {
    return "ELF section headers lie outside the file (truncated module?)";
  }
  if (shstrndx >= shnum) {
    return "bad ELF section name table index";
  }
  const auto section = [&](std::uint64_t index, std::size_t offset64, std::size_t offset32, std::size_t size64,
                           std::size_t size32) {
    const std::size_t base = static_cast<std::size_t>(shoff + index * shentsize);
    return read_uint(data, base + (is_64 ? offset64 : offset32), is_64 ? size64 : size32, big);
  };
  const std::uint64_t names_offset = section(shstrndx, offsetof(Elf64_Shdr, sh_offset), offsetof(Elf32_Shdr, sh_offset), 8, 4);
  const std::uint64_t names_size = section(shstrndx, offsetof(Elf64_Shdr, sh_size), offsetof(Elf32_Shdr, sh_size), 8, 4);
  if (names_offset > data.size() || names_size > data.size() - names_offset) {
    return "ELF section name table lies outside the file (truncated module?)";
  }
  const std::string_view names(reinterpret_cast<const char*>(data.data() + names_offset), names_size);
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const std::uint64_t name = section(i, offsetof(Elf64_Shdr, sh_name), offsetof(Elf32_Shdr, sh_name), 4, 4);
    if (name < names.size() && names.substr(name, names.find('\0', name) - name) == ".modinfo") {
      return std::nullopt;
    }
  }
  return "ELF object has no .modinfo section: not a kernel module";
}

} // namespace ksign::core
