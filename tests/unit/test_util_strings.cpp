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
