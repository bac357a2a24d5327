// SPDX-License-Identifier: MIT
// The key store's lock and ssh's ownership rule (core/keystore_lock), in temporary directories.
#include "catch.hpp"

#include "core/keystore_lock.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core key store: the lock makes the store 0700 and a .lock in it", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const test::Umask permissive(0);
  const KeyStoreLock lock(store);
  CHECK(test::mode_of(store) == 0700);
  CHECK(fs::is_regular_file(fs::symlink_status(store / ".lock")));
}

TEST_CASE("core key store: a .lock link is never followed", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "store";
  {
    const KeyStoreLock lock(store);
  }
  fs::remove(store / ".lock");
  fs::create_symlink(dir.path() / "created", store / ".lock");
  CHECK_THROWS_AS(KeyStoreLock(store), Error);
  CHECK_FALSE(fs::exists(dir.path() / "created"));
}

TEST_CASE("core key store: a held lock is waited for, once, then given up", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "store";
  const KeyStoreLock held(store);
  // flock(2) locks belong to the open file description: a second open in this process waits too.
  int calls = 0;
  std::optional<LockWait> seen;
  const auto start = std::chrono::steady_clock::now();
  try {
    const KeyStoreLock second(store, std::chrono::milliseconds(300), [&](const LockWait& wait) {
      ++calls;
      seen = wait;
    });
    FAIL("the second lock was taken");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("gave up waiting for '" + (store / ".lock").native() + "'") != std::string::npos);
    CHECK(std::string(e.what()).find("process " + std::to_string(::getpid()) + " still holds it") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  CHECK(calls == 1);
  REQUIRE(seen.has_value());
  CHECK(seen->lock == store / ".lock");
  CHECK(seen->holder == ::getpid());
}

TEST_CASE("core key store: missing parents get 0755 whatever the umask", "[keystore]")
{
  const test::TempDir dir;
  const test::Umask permissive(0);
  const KeyStoreLock lock(dir.path() / "a/b/store");
  CHECK(test::mode_of(dir.path() / "a") == 0755);
  CHECK(test::mode_of(dir.path() / "a/b") == 0755);
  CHECK(test::mode_of(dir.path() / "a/b/store") == 0700);
  CHECK_NOTHROW(require_safe_store(dir.path() / "a/b/store", std::nullopt));
}

TEST_CASE("core::require_safe_store refuses a store others can write to", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "open/store";
  fs::create_directories(store);
  fs::permissions(dir.path() / "open", fs::perms(0777));
  CHECK_THROWS_WITH(require_safe_store(store, std::nullopt), KSIGN_CONTAINS("anyone can write to"));
  fs::permissions(dir.path() / "open", fs::perms(01777)); // sticky: safe above the store
  CHECK_NOTHROW(require_safe_store(store, std::nullopt));
  fs::permissions(store, fs::perms(01777)); // the store itself: the sticky bit does not help
  CHECK_THROWS_WITH(require_safe_store(store, std::nullopt), KSIGN_CONTAINS("anyone can write to"));
}
