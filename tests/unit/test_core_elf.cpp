// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/elf.hpp"
#include "elf_writer.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <elf.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::kernel_module_problem", "[elf]")
{
  const Bytes module = test::sample_module();
  CHECK_FALSE(kernel_module_problem(module).has_value());

  CHECK(kernel_module_problem(Bytes(1000, 'x')).value() == "not an ELF file");
  CHECK(kernel_module_problem(Bytes()).value() == "not an ELF file");

  Bytes truncated(module.begin(), module.begin() + static_cast<std::ptrdiff_t>(module.size() / 2));
  CHECK(kernel_module_problem(truncated).value().find("outside the file") != std::string::npos);

  Bytes executable = module;
  executable[16] = 2; // e_type ET_EXEC: not a relocatable object
  CHECK(kernel_module_problem(executable).has_value());
}


TEST_CASE("core::ElfFile reads either class in either byte order", "[elf]")
{
  for (const bool is_64 : {true, false}) {
    for (const bool big : {false, true}) {
      INFO("64-bit " << is_64 << ", big-endian " << big);
      const test::ElfWriter writer(is_64, big);
      const Bytes object = writer.object(".modinfo");
      const ElfFile elf(object);
      CHECK(elf.is_64() == is_64);
      CHECK(elf.type() == ET_REL);
      CHECK(elf.machine() == EM_X86_64);
      CHECK(elf.section_names_index() == 1);
      const ElfFile::Table sections = elf.section_table();
      CHECK(sections.count == 3);
      CHECK(sections.entry_size == writer.section_size());
      REQUIRE(elf.fits(sections));
      const ElfFile::Section names = elf.section(sections, 1);
      CHECK(names.type == SHT_STRTAB);
      CHECK(names.size == 20);
      const ElfFile::Section data = elf.section(sections, 2);
      CHECK(data.name == 11);
      CHECK(data.flags == SHF_ALLOC);
      CHECK(data.offset == names.offset);
      CHECK(elf.program_table().count == 0);

      CHECK_FALSE(kernel_module_problem(object).has_value());
      CHECK(kernel_module_problem(writer.object(".modinfoX")).value() ==
            "ELF object has no .modinfo section: not a kernel module");
    }
  }
}

TEST_CASE("core::ElfFile: what is not an ELF it can read is said, and tables outside the file", "[elf]")
{
  CHECK(ElfFile::header_problem(Bytes(3, 0x7f)).value() == "not an ELF file");
  const test::ElfWriter writer(true, false);
  Bytes object = writer.object(".modinfo");
  CHECK_FALSE(ElfFile::header_problem(object).has_value());

  Bytes bad_class = object;
  bad_class[EI_CLASS] = 3;
  CHECK(ElfFile::header_problem(bad_class).value() == "unknown ELF class");
  CHECK_THROWS_AS(ElfFile(bad_class), Error);
  CHECK(kernel_module_problem(bad_class).value() == "unknown ELF class");
  Bytes bad_order = object;
  bad_order[EI_DATA] = 0;
  CHECK(ElfFile::header_problem(bad_order).value() == "unknown ELF byte order");
  const Bytes short_header(object.begin(), object.begin() + 40);
  CHECK(ElfFile::header_problem(short_header).value() == "truncated ELF header");

  // The section headers end past the file.
  const Bytes cut(object.begin(), object.begin() + static_cast<std::ptrdiff_t>(sizeof(Elf64_Ehdr) + 100));
  const ElfFile elf(cut);
  CHECK_FALSE(elf.fits(elf.section_table()));
  CHECK(kernel_module_problem(cut).value() == "ELF section headers lie outside the file (truncated module?)");
  // Entries smaller than this class's section header.
  Bytes small_entries = object;
  writer.put(small_entries, offsetof(Elf64_Ehdr, e_shentsize), sizeof(Elf32_Shdr), 2);
  CHECK_FALSE(ElfFile(small_entries).fits(ElfFile(small_entries).section_table()));
  // A name table index past the table, and a name table past the file.
  Bytes bad_index = object;
  writer.put(bad_index, offsetof(Elf64_Ehdr, e_shstrndx), 3, 2);
  CHECK(kernel_module_problem(bad_index).value() == "bad ELF section name table index");
  Bytes names_outside = object;
  names_outside.resize(names_outside.size() - 1);
  CHECK(kernel_module_problem(names_outside).value() ==
        "ELF section name table lies outside the file (truncated module?)");
}
