// SPDX-License-Identifier: MIT
// Writing a key store (core/keystore_write): dated key directories, the `current` switch, and
// what a killed run left, with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core key store: write, switch, tidy", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const test::Umask permissive(0);
  const KeyStoreLock lock(store);
  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "store test");
  const fs::path first = write_key_directory(store, key, HashAlgo::sha384);
  switch_current(store, first);

  SECTION("files, modes and the relative current link")
  {
    CHECK(test::mode_of(first) == 0700);
    CHECK(test::mode_of(first / "signing_key.pem") == 0600);
    CHECK(test::mode_of(first / "signing_prv.pem") == 0600);
    CHECK(test::mode_of(first / "signing_crt.crt") == 0644);
    CHECK(test::mode_of(first / "signing_crt.pem") == 0644);
    CHECK(fs::read_symlink(store / "current") == first.filename());
  }
  SECTION("names never collide and sort by age; switching moves `current`")
  {
    const fs::path second = write_key_directory(store, key, HashAlgo::sha384);
    const fs::path third = write_key_directory(store, key, HashAlgo::sha384);
    CHECK(second != first);
    CHECK(third != second);
    CHECK(key_directories(store) == std::vector<fs::path>{first, second, third});
    switch_current(store, third);
    CHECK(fs::read_symlink(store / "current") == third.filename());
    CHECK(key_directories(store) == std::vector<fs::path>{first, second, third});
  }
  SECTION("an interrupted run's key directory is removed, a live one's kept")
  {
    const pid_t dead = ::fork();
    if (dead == 0) {
      ::_exit(0);
    }
    ::waitpid(dead, nullptr, 0);
    const fs::path dead_dir = store / (".new-" + std::to_string(dead) + "-abcd1234");
    const fs::path live_dir = store / (".new-" + std::to_string(::getpid()) + "-abcd1234");
    const fs::path old_dir = store / ".new-abcd1234"; // named before pids were in the names
    for (const fs::path& d : {dead_dir, live_dir, old_dir}) {
      fs::create_directory(d);
      test::write_text(d / "signing_key.pem", "secret");
    }
    CHECK(remove_unfinished_entries(store, false) == std::vector<fs::path>{dead_dir});
    CHECK(fs::exists(old_dir));
    CHECK(remove_unfinished_entries(store, true) == std::vector<fs::path>{old_dir});
    CHECK(fs::exists(live_dir));
    CHECK(key_directories(store) == std::vector<fs::path>{first});
  }
}
