// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "util/time.hpp"

#include <chrono>

using namespace std::chrono;
using namespace ksign::util;

TEST_CASE("util::utc_text formats in UTC whatever the local zone", "[time]")
{
  // 2026-12-04 22:26:41 UTC
  const system_clock::time_point when{seconds{1796423201}};
  CHECK(utc_text(when, "%Y-%m-%d") == "2026-12-04");
  CHECK(utc_text(when, "%Y-%m-%d %H:%M:%S UTC") == "2026-12-04 22:26:41 UTC");
  CHECK(utc_text(system_clock::time_point{}, "%Y") == "1970");
}

TEST_CASE("util::whole_units names the largest whole unit", "[time]")
{
  CHECK(whole_units(seconds{0}) == "0 seconds");
  CHECK(whole_units(seconds{1}) == "1 second");
  CHECK(whole_units(seconds{59}) == "59 seconds");
  CHECK(whole_units(seconds{60}) == "1 minute");
  CHECK(whole_units(seconds{3599}) == "59 minutes");
  CHECK(whole_units(hours{3}) == "3 hours");
  CHECK(whole_units(hours{24 * 40 + 23}) == "40 days");
}

TEST_CASE("util::short_duration spells at most two units", "[time]")
{
  CHECK(short_duration(seconds{0}) == "0 minutes");
  CHECK(short_duration(seconds{185}) == "3 minutes");
  CHECK(short_duration(hours{5} + minutes{12} + seconds{59}) == "5 hours 12 minutes");
  CHECK(short_duration(hours{1} + minutes{1}) == "1 hour 1 minute");
  CHECK(short_duration(days{29} + hours{23} + minutes{59}) == "29 days 23 hours");
  CHECK(short_duration(days{1}) == "1 day 0 hours");
}
