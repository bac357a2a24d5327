// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/elf_image.hpp"
#include "elf_writer.hpp"
#include "testbeds.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <elf.h>

#include <array>
#include <string>
#include <string_view>

using namespace ksign;
using namespace ksign::core;

namespace {

Bytes counting(std::size_t size)
{
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>(i);
  }
  return out;
}

} // namespace

TEST_CASE("core::ElfImage finds symbols and the bytes at their addresses, any class and byte order",
          "[elf_image]")
{
  constexpr std::uint64_t base = 0xc0001000;
  const Bytes contents = counting(64);
  for (const bool is_64 : {true, false}) {
    for (const bool big : {false, true}) {
      INFO("64-bit " << is_64 << ", big-endian " << big);
      const test::ElfWriter writer(is_64, big);
      const Bytes file = writer.executable(base, contents, {{"first", base, 16}, {"second", base + 16, 8}});
      const ElfImage elf(file);
      CHECK(elf.pointer_size() == (is_64 ? 8U : 4U));
      CHECK(elf.machine() == EM_X86_64);
      REQUIRE(elf.has_symbol_table());

      constexpr std::array<std::string_view, 3> wanted{"second", "absent", "first"};
      const SymbolTable symbols = elf.symbols(wanted);
      CHECK(symbols.size() == 2);
      CHECK(symbols.at("first") == base);
      CHECK(symbols.at("second") == base + 16);
      const std::vector<ElfSymbol> sized =
        elf.symbols_where([](std::string_view name) { return name.starts_with("sec"); });
      REQUIRE(sized.size() == 1);
      CHECK(sized[0].name == "second");
      CHECK(sized[0].size == 8);

      const auto second = elf.bytes_at(base + 16, 8);
      REQUIRE(second.has_value());
      CHECK(Bytes(second->begin(), second->end()) == Bytes(contents.begin() + 16, contents.begin() + 24));
      // 4 bytes 0x10..0x13 at base+16, read in the file's byte order.
      CHECK(elf.uint_at_address(base + 16, 4) == (big ? 0x10111213U : 0x13121110U));
      // Past the end of the section, or before it: not in the file.
      CHECK_FALSE(elf.bytes_at(base + 60, 8).has_value());
      CHECK_FALSE(elf.offset_of(base - 1, 1).has_value());
      CHECK(elf.offset_of(base + 63, 1).has_value());
    }
  }
}

TEST_CASE("core::ElfImage without section headers reads the loaded segments", "[elf_image]")
{
  const Bytes contents = counting(32);
  for (const bool is_64 : {true, false}) {
    const test::ElfWriter writer(is_64, !is_64);
    const Bytes file = writer.segments_only(0x8000, contents); // ElfImage views it: keep it alive
    const ElfImage elf(file);
    CHECK(elf.machine() == EM_386);
    CHECK_FALSE(elf.has_symbol_table());
    CHECK(elf.uint_at_address(0x8004, 4) == (is_64 ? 0x07060504U : 0x04050607U));
    CHECK_FALSE(elf.uint_at_address(0x801e, 4).has_value());
  }
}

TEST_CASE("core::ElfImage refuses what is not a vmlinux", "[elf_image]")
{
  const test::ElfWriter writer(true, false);
  CHECK_THROWS_WITH(ElfImage(Bytes(100, 0)), "not an ELF file");
  CHECK_THROWS_WITH(ElfImage(writer.object(".modinfo")), "the ELF file is not an executable (a vmlinux is one)");
  CHECK_THROWS_WITH(ElfImage(writer.header(ET_EXEC, EM_X86_64, 0, 0, 0)), "the ELF file has no loadable contents");
  Bytes outside = writer.executable(0x1000, counting(8), {});
  outside.resize(sizeof(Elf64_Ehdr) + 10);
  CHECK_THROWS_WITH(ElfImage(outside), "ELF section headers lie outside the file");
  Bytes segments = writer.segments_only(0x1000, counting(8));
  writer.put(segments, offsetof(Elf64_Ehdr, e_phnum), 40, 2);
  CHECK_THROWS_WITH(ElfImage(segments), "ELF program headers lie outside the file");
}

TEST_CASE("core::ElfImage reads the 6.12 testbed's vmlinux", "[elf_image]")
{
  std::string why;
  const auto testbed = test::testbed_6(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  const Bytes data = util::read_file(*testbed / "vmlinux", std::uint64_t{1} << 30);
  const ElfImage elf(data);
  CHECK(elf.machine() == EM_X86_64);
  CHECK(elf.pointer_size() == 8);
  REQUIRE(elf.has_symbol_table());
  constexpr std::array<std::string_view, 1> wanted{"linux_banner"};
  const SymbolTable symbols = elf.symbols(wanted);
  REQUIRE(symbols.contains("linux_banner"));
  const auto banner = elf.bytes_at(symbols.at("linux_banner"), 14);
  REQUIRE(banner.has_value());
  CHECK(std::string(banner->begin(), banner->end()) == "Linux version ");
}
