// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/system_map.hpp"
#include "elf_writer.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::for_each_system_map_symbol reads nm's lines and skips the rest", "[system_map]")
{
  const std::string_view text = "ffffffff81000000 T _text\n"
                                "ffffffff82a00000 D system_certificate_list\n"
                                "not a line\n"
                                "zzzz D bad_address\n"
                                "0000000000000010 A  padded_name  \n"
                                "ffffffff81979dc2 D linux_banner"; // no final newline
  std::vector<std::pair<std::uint64_t, std::string>> found;
  for_each_system_map_symbol(text, [&](std::uint64_t address, std::string_view name) {
    found.emplace_back(address, std::string(name));
  });
  const std::vector<std::pair<std::uint64_t, std::string>> expected = {
    {0xffffffff81000000, "_text"},
    {0xffffffff82a00000, "system_certificate_list"},
    {0x10, "padded_name"},
    {0xffffffff81979dc2, "linux_banner"},
  };
  CHECK(found == expected);

  constexpr std::array<std::string_view, 2> wanted{"linux_banner", "absent"};
  const SymbolTable symbols = system_map_symbols(text, wanted);
  CHECK(symbols.size() == 1);
  CHECK(symbols.at("linux_banner") == 0xffffffff81979dc2);
}

TEST_CASE("core::read_system_map reads a file, and not an endless one", "[system_map]")
{
  test::TempDir dir;
  test::write_text(dir.path() / "System.map", "ffffffff81000000 T _text\n");
  CHECK(read_system_map(dir.path() / "System.map") == "ffffffff81000000 T _text\n");
  CHECK_THROWS_AS(read_system_map(dir.path() / "absent"), Error);
  CHECK_THROWS_AS(read_system_map("/dev/zero"), Error);
}

TEST_CASE("core::kernel_banner_at finds \"Linux version\" where a map says, and nothing elsewhere", "[system_map]")
{
  const std::string banner = "Linux version 6.12.0 (builder@host) #1 SMP";
  // 16 other bytes, the banner, its NUL (filled in place: gcc 16 warns, wrongly, on an insert
  // after a sized vector).
  Bytes contents(16 + banner.size() + 1, 0xcc);
  std::copy(banner.begin(), banner.end(), contents.begin() + 16);
  contents.back() = 0;
  const test::ElfWriter writer(true, false);
  const Bytes file = writer.executable(0x1000, contents, {});
  const ElfImage elf(file);
  CHECK(kernel_banner_at(elf, 0x1010) == banner);
  CHECK_FALSE(kernel_banner_at(elf, 0x1000).has_value()); // other bytes
  CHECK_FALSE(kernel_banner_at(elf, 0x1011).has_value()); // inside it
  CHECK_FALSE(kernel_banner_at(elf, 0x9000).has_value()); // outside the image
}
