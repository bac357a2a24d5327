// SPDX-License-Identifier: MIT
// When `ksign keys` makes a new key (core/key_refresh): the policy, the recorded period, the
// current key and why it is replaced, with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/key_refresh.hpp"
#include "core/keygen.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <chrono>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::parse_refresh_policy", "[keystore]")
{
  using std::chrono::seconds;
  CHECK(parse_refresh_policy("always").always);
  CHECK(parse_refresh_policy("30d").max_age == seconds(30 * 86400));
  CHECK(parse_refresh_policy("30days").max_age == seconds(30 * 86400));
  CHECK(parse_refresh_policy("1day").max_age == seconds(86400));
  CHECK(parse_refresh_policy("24h").max_age == seconds(24 * 3600));
  CHECK(parse_refresh_policy("3hours").max_age == seconds(3 * 3600));
  CHECK(parse_refresh_policy("2weeks").max_age == seconds(14 * 86400));
  CHECK(parse_refresh_policy("1w").max_age == seconds(7 * 86400));
  CHECK(parse_refresh_policy("90m").max_age == seconds(90 * 60));
  CHECK(parse_refresh_policy("90 minutes").max_age == seconds(90 * 60));
  CHECK(parse_refresh_policy("45s").max_age == seconds(45));
  CHECK(parse_refresh_policy("10seconds").max_age == seconds(10));
  CHECK(parse_refresh_policy("7").max_age == seconds(7 * 86400)); // a bare number is days
  CHECK(parse_refresh_policy("0s").max_age == seconds(0));
  CHECK_FALSE(parse_refresh_policy("7d").always);
  for (const char* bad : {"", "d", "-1d", "3x", "3 fortnights", "never", "1.5d", "d30"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_refresh_policy(bad), Error);
  }
}

TEST_CASE("core key store: the current key and why it is refreshed", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const KeyStoreLock lock(store);
  CHECK_FALSE(current_key(store).has_value());
  const RefreshPolicy week = parse_refresh_policy("7d");
  const auto now = fs::file_time_type::clock::now();
  CHECK(refresh_reason(std::nullopt, KeyType::ec, HashAlgo::sha512, week, now)->text == "there is no current key");

  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "store test");
  switch_current(store, write_key_directory(store, key, HashAlgo::sha384));

  SECTION("refresh decisions")
  {
    const std::optional<CurrentKey> current = current_key(store);
    REQUIRE(current.has_value());
    CHECK(current->type == KeyType::ec);
    CHECK(current->hash == HashAlgo::sha384);
    CHECK_FALSE(refresh_reason(current, KeyType::ec, HashAlgo::sha384, week, now).has_value());
    CHECK(refresh_reason(current, KeyType::ec, HashAlgo::sha384, parse_refresh_policy("always"), now).has_value());
    CHECK(refresh_reason(current, KeyType::rsa, HashAlgo::sha384, week, now).value().text ==
          "the config asks for a rsa key, the current one is ec");
    CHECK(refresh_reason(current, KeyType::ec, HashAlgo::sha512, week, now).has_value());
    CHECK(refresh_reason(current, KeyType::ec, HashAlgo::sha384, week, now + std::chrono::hours(24 * 8)).has_value());
    CHECK_FALSE(
      refresh_reason(current, KeyType::ec, HashAlgo::sha384, week, now + std::chrono::hours(24 * 6)).has_value());
  }
  SECTION("the refresh period: given, else the last run's, else 7d; 'always' is not remembered")
  {
    CHECK(refresh_period(store, std::nullopt) == "7d");
    record_refresh_period(store, "30d");
    CHECK(refresh_period(store, std::nullopt) == "30d");
    CHECK(refresh_period(store, std::string("2w")) == "2w");
    record_refresh_period(store, "always");
    CHECK(refresh_period(store, std::nullopt) == "30d");
  }
}

TEST_CASE("core key store: a .refresh link is never followed", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "store";
  const fs::path target = dir.path() / "target";
  util::replace_file_atomically(target, as_bytes(std::string("secret\n")));
  fs::create_directory(store);
  fs::create_symlink(target, store / ".refresh");
  CHECK_FALSE(recorded_refresh_period(store).has_value()); // not read through the link
  record_refresh_period(store, "30d");
  const Bytes kept = util::read_file(target, 100);
  CHECK(std::string(kept.begin(), kept.end()) == "secret\n");
  CHECK_FALSE(fs::is_symlink(store / ".refresh"));
  CHECK(recorded_refresh_period(store) == "30d");
}
