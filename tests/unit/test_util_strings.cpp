// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "util/strings.hpp"

#include <string_view>

using namespace ksign;

TEST_CASE("util::edit_distance", "[strings]")
{
  CHECK(util::edit_distance("sign", "sign") == 0);
  CHECK(util::edit_distance("sing", "sign") == 2);
  CHECK(util::edit_distance("verfy", "verify") == 1);
  CHECK(util::edit_distance("", "keys") == 4);
}

TEST_CASE("util::closest_match", "[strings]")
{
  const std::string_view names[] = {"keys", "config", "install", "sign", "verify", "sign-file", "help"};
  CHECK(util::closest_match("verfy", names) == std::optional<std::string_view>("verify"));
  CHECK(util::closest_match("sgin", names) == std::optional<std::string_view>("sign"));
  CHECK_FALSE(util::closest_match("frobnicate", names).has_value());
}

TEST_CASE("util::to_hex and util::trim", "[strings]")
{
  const unsigned char data[] = {0x00, 0xab, 0x10};
  CHECK(util::to_hex(data) == "00ab10");
  CHECK(util::to_hex(data, ":") == "00:ab:10");
  CHECK(util::trim("  sha512\n") == "sha512");
  CHECK(util::trim(" \n").empty());
}

TEST_CASE("util::escape", "[strings]")
{
  // A signer name that would retitle the terminal and fake a verdict line.
  CHECK(util::escape("evil\033]0;pwned\007\nfoo.ko: ok") == "evil\\x1b]0;pwned\\x07\\nfoo.ko: ok");
  CHECK(util::escape("a\tb\rc\x7f") == "a\\tb\\rc\\x7f");
  CHECK(util::escape("plain name, 'quoted' \\ kept") == "plain name, 'quoted' \\ kept");
  // Printable UTF-8 stays; C1 controls, bytes that are not UTF-8 and bidi overrides do not.
  CHECK(util::escape("Jürgen Ωmega 鍵") == "Jürgen Ωmega 鍵");
  CHECK(util::escape("\xc2\x9b" "31m") == "\\xc2\\x9b31m");
  CHECK(util::escape("\x9b" "31m\xff") == "\\x9b31m\\xff");
  CHECK(util::escape("\xc0\xaf") == "\\xc0\\xaf"); // overlong '/'
  CHECK(util::escape("abc\xe2\x80\xae" "txt.ko") == "abc\\u202etxt.ko");
  CHECK(util::escape("cut \xe2\x82") == "cut \\xe2\\x82");
  // Idempotent: text escaped at two points reads the same.
  const std::string once = util::escape("x\033y\nz\xff");
  CHECK(util::escape(once) == once);
  CHECK(util::escape(std::string_view("nul\0byte", 8)) == "nul\\x00byte");
}

TEST_CASE("util::shorten", "[strings]")
{
  CHECK(util::shorten("1.2.840.113549", 64) == "1.2.840.113549");
  const std::string long_oid = "1.2." + std::string(100, '9');
  const std::string cut = util::shorten(long_oid, 64);
  CHECK(cut.size() == 64);
  CHECK(cut.ends_with("..."));
  CHECK(util::shorten("ab\xc3\xa9xyz", 6) == "ab..."); // not inside the é
  CHECK(util::shorten("abcdef", 2) == "..");
}
