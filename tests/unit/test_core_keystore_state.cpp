// SPDX-License-Identifier: MIT
// What `ksign keys --show` shows of a key store (core/keystore_state), read with real OpenSSL
// keys in temporary directories.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/key_refresh.hpp"
#include "core/keygen.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_state.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"

#include <chrono>
#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::key_store_state: the current key, every key directory's fingerprint, the next refresh", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const fs::path modules = dir.path() / "modules";
  fs::create_directories(modules);
  const RefreshPolicy week = parse_refresh_policy("7d");

  SECTION("a store that does not exist shows nothing and is not created")
  {
    const KeyStoreState state = key_store_state(store, modules, week);
    CHECK_FALSE(state.current.has_value());
    CHECK(state.fingerprints.empty());
    CHECK(state.kernels.empty());
    CHECK_FALSE(fs::exists(store));
  }
  SECTION("two key directories, the newer current")
  {
    {
      const KeyStoreLock lock(store);
      const SigningKey old_key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "old key");
      (void)write_key_directory(store, old_key, HashAlgo::sha384);
    }
    const KeyStoreLock lock(store);
    const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "state test");
    const fs::path newest = write_key_directory(store, key, HashAlgo::sha384);
    switch_current(store, newest);
    fs::create_directories(store / "archive"); // no certificate: no fingerprint
    const X509Ptr certificate = parse_certificate(key.certificate);

    const KeyStoreState state = key_store_state(store, modules, week);
    REQUIRE(state.current.has_value());
    CHECK(state.current->directory.filename() == newest.filename());
    CHECK(state.fingerprint == fingerprint_sha256(certificate.get()));
    CHECK(state.key_id == subject_key_id_hex(certificate.get()));
    CHECK(state.subject == subject_name(certificate.get()));
    REQUIRE(state.fingerprints.size() == 2);
    CHECK(state.fingerprints.back() == state.fingerprint);
    CHECK(state.fingerprints.front() != state.fingerprint);
    REQUIRE(state.next_refresh.has_value());
    CHECK(*state.next_refresh - state.created == std::chrono::hours(24 * 7));
    CHECK_FALSE(key_store_state(store, modules, parse_refresh_policy("always")).next_refresh.has_value());
  }
}
