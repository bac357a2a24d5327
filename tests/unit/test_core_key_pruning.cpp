// SPDX-License-Identifier: MIT
// Pruning a key store (core/key_pruning): what is removed, what is kept and why, the recorded
// configs and which directories are ours, with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/key_pruning.hpp"
#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"
#include "util/file.hpp"

#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core key store: prune keeps the newest and the current one", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const KeyStoreLock lock(store);
  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "store test");
  const fs::path first = write_key_directory(store, key, HashAlgo::sha384);
  switch_current(store, first);
  const fs::path second = write_key_directory(store, key, HashAlgo::sha384);
  const fs::path third = write_key_directory(store, key, HashAlgo::sha384);
  // `current` still names the oldest: pruning to one keeps it and removes the other two.
  const PruneResult pruned = prune_key_directories(store, 1, dir.path() / "keys.d", dir.path() / "modules");
  CHECK(pruned.removed == std::vector<fs::path>{second, third});
  CHECK(pruned.kept.empty());
  CHECK(key_directories(store) == std::vector<fs::path>{first});
  CHECK(fs::exists(store / "current/signing_key.pem"));
}

TEST_CASE("core key store: pruning keeps what is still needed and what is not ours", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const fs::path registry = dir.path() / "keys.d";
  const fs::path modules = dir.path() / "modules";
  const KeyStoreLock lock(store);
  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "prune test");
  const fs::path registered = write_key_directory(store, key, HashAlgo::sha384);
  const fs::path named = write_key_directory(store, key, HashAlgo::sha384);
  const fs::path unused = write_key_directory(store, key, HashAlgo::sha384);
  const fs::path newest = write_key_directory(store, key, HashAlgo::sha384);
  switch_current(store, newest);
  fs::create_directories(store / "archive");
  fs::create_directories(registry);
  fs::create_symlink(registered, registry / "0123abcd");
  const fs::path config = dir.path() / "config";
  util::replace_file_atomically(config, as_bytes("CONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\nCONFIG_SYSTEM_TRUSTED_KEYS=\"" + (named / "signing_crt.pem").native() + "\"\n"));
  record_updated_configs(store, std::vector<fs::path>{config});
  CHECK(recorded_configs(store) == std::vector<fs::path>{config});
  record_updated_configs(store, std::vector<fs::path>{config}); // recorded once
  CHECK(recorded_configs(store) == std::vector<fs::path>{config});

  CHECK(is_made_key_directory(named));
  CHECK_FALSE(is_made_key_directory(store / "archive"));

  const PruneResult pruned = prune_key_directories(store, 1, registry, modules);
  CHECK(pruned.removed == std::vector<fs::path>{unused});
  REQUIRE(pruned.kept.size() == 3);
  CHECK(pruned.kept[0].directory == store / "archive");
  CHECK(pruned.kept[0].why == KeptKeyDirectory::Why::not_a_key_directory);
  CHECK(pruned.kept[1].directory == registered);
  CHECK(pruned.kept[1].why == KeptKeyDirectory::Why::registered);
  CHECK(pruned.kept[1].by == (registry / "0123abcd").native());
  CHECK(pruned.kept[2].directory == named);
  CHECK(pruned.kept[2].why == KeptKeyDirectory::Why::config);
  CHECK(fs::exists(registered / "signing_key.pem"));
  CHECK(fs::exists(store / "archive"));
}

TEST_CASE("core key store: key directory names ksign and kernel-sign make", "[keystore]")
{
  const test::TempDir dir;
  for (const char* name : {"2026-12-04_20-25-00", "2026-12-04_20-25-00_02", "20261204-2025"}) {
    fs::create_directories(dir.path() / name);
    util::replace_file_atomically(dir.path() / name / "khash", as_bytes(std::string("sha512\n")));
    CHECK(is_made_key_directory(dir.path() / name));
  }
  for (const char* name : {"archive", "2026-12-04", "2026-12-04_20-25-00_2", "20261204-20251", "2026-12-04_20:25:00"}) {
    fs::create_directories(dir.path() / name);
    CHECK_FALSE(is_made_key_directory(dir.path() / name));
  }
  // Something else inside: not ours to remove.
  util::replace_file_atomically(dir.path() / "20261204-2025" / "notes.txt", as_bytes(std::string("mine\n")));
  CHECK_FALSE(is_made_key_directory(dir.path() / "20261204-2025"));
}
