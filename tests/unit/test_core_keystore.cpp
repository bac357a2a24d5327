// SPDX-License-Identifier: MIT
// Key and certificate generation, and the key store's write side (dated directories, the
// `current` switch, refresh, prune, install), with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

namespace {

// Sets the umask for one test and restores it.
class Umask
{
public:
  explicit Umask(mode_t mask) : m_old(::umask(mask)) {}
  ~Umask() { ::umask(m_old); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

private:
  mode_t m_old;
};

} // namespace

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

TEST_CASE("core key store: write, switch, refresh, prune, install", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const Umask permissive(0);
  const KeyStoreLock lock(store);
  CHECK(test::mode_of(store) == 0700);
  CHECK(fs::exists(store / ".lock"));

  CHECK_FALSE(current_key(store).has_value());
  const RefreshPolicy week = parse_refresh_policy("7d");
  const auto now = fs::file_time_type::clock::now();
  CHECK(refresh_reason(std::nullopt, KeyType::ec, HashAlgo::sha512, week, now)->text == "there is no current key");

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
    const KeyFiles files = current_key_files(store);
    CHECK(files.hash == HashAlgo::sha384);
    const SigningKey loaded = load_signing_key(files.key, files.certificate, std::nullopt);
    CHECK(fingerprint_sha256(parse_certificate(loaded.certificate).get()) == fingerprint_sha256(parse_certificate(key.certificate).get()));
    const SigningKey from_private = load_signing_key(first / "signing_prv.pem", first / "signing_crt.pem", std::nullopt);
    CHECK(from_private.type == KeyType::ec);
    CHECK(trusted_certificate(store) == fs::absolute(first / "signing_crt.pem"));
    CHECK(key_directories(store) == std::vector<fs::path>{first});
  }
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
  SECTION("names never collide and sort by age; prune keeps the newest and the current one")
  {
    const fs::path second = write_key_directory(store, key, HashAlgo::sha384);
    const fs::path third = write_key_directory(store, key, HashAlgo::sha384);
    CHECK(second != first);
    CHECK(third != second);
    CHECK(key_directories(store) == std::vector<fs::path>{first, second, third});
    // `current` still names the oldest: pruning to one keeps it and removes the other two.
    const PruneResult pruned = prune_key_directories(store, 1, dir.path() / "keys.d", dir.path() / "modules");
    CHECK(pruned.removed == std::vector<fs::path>{second, third});
    CHECK(pruned.kept.empty());
    CHECK(key_directories(store) == std::vector<fs::path>{first});
    CHECK(fs::exists(store / "current/signing_key.pem"));
  }
  SECTION("install copies the current key: the directory world-readable, private keys 0600")
  {
    const fs::path package = dir.path() / "pkg/usr/lib/modules/6.99/build/certs-local";
    const fs::path copied = install_current_key(current_key_files(store), package);
    CHECK(copied == package / first.filename());
    CHECK(fs::read_symlink(package / "current") == first.filename());
    CHECK(test::mode_of(copied) == 0755); // verify and keys --show read certificates without root
    CHECK(test::mode_of(copied / "signing_key.pem") == 0600);
    CHECK(test::mode_of(copied / "signing_crt.pem") == 0644);
    CHECK(test::read_whole(copied / "signing_key.pem") == test::read_whole(first / "signing_key.pem"));
    CHECK_FALSE(fs::exists(package / ".lock"));
    // Again, over the first copy: same result, nothing left behind.
    install_current_key(current_key_files(store), package);
    CHECK(key_directories(package) == std::vector<fs::path>{copied});
  }
  SECTION("install of the certificates only, and the registry that finds the private key")
  {
    const fs::path package = dir.path() / "pkg/build/certs-local";
    const fs::path copied = install_current_key(current_key_files(store), package, InstallWhat::certificates);
    CHECK_FALSE(fs::exists(copied / "signing_key.pem"));
    CHECK_FALSE(fs::exists(copied / "signing_prv.pem"));
    CHECK(fs::exists(copied / "signing_crt.crt"));
    CHECK_THROWS_WITH(current_key_files(package), KSIGN_CONTAINS("has no private key"));
    const KeyFiles public_files = current_certificate_files(package);
    CHECK(public_files.key.empty());
    const fs::path registry = dir.path() / "etc/ksign/keys.d";
    const fs::path link = register_key_directory(registry, key_directory_files(first));
    CHECK(link.filename() == subject_key_id_hex(parse_certificate(key.certificate).get()));
    CHECK((test::mode_of(registry) & 022) == 0); // 0755 at most
    // Registering again replaces the link; nothing else is left in the registry.
    register_key_directory(registry, key_directory_files(first));
    CHECK(std::distance(fs::directory_iterator(registry), fs::directory_iterator()) == 1);
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
  SECTION("an old kernel-sign directory gets its certificate-only PEM")
  {
    fs::remove(first / "signing_crt.pem");
    CHECK_THROWS_WITH(trusted_certificate(store), KSIGN_CONTAINS("has no signing_crt.pem"));
    CHECK(complete_key_directory(first) == std::vector<std::string>{"signing_crt.pem"});
    CHECK(complete_key_directory(first).empty());
    CHECK(fingerprint_sha256(load_certificate(first / "signing_crt.pem").get()) ==
          fingerprint_sha256(parse_certificate(key.certificate).get()));
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

TEST_CASE("core key store: links in the store are never followed", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "store";
  const fs::path target = dir.path() / "target";
  util::replace_file_atomically(target, as_bytes(std::string("secret\n")));
  {
    const KeyStoreLock lock(store);
  }
  fs::create_symlink(target, store / ".refresh");
  CHECK_FALSE(recorded_refresh_period(store).has_value()); // not read through the link
  record_refresh_period(store, "30d");
  const Bytes kept = util::read_file(target, 100);
  CHECK(std::string(kept.begin(), kept.end()) == "secret\n");
  CHECK_FALSE(fs::is_symlink(store / ".refresh"));
  CHECK(recorded_refresh_period(store) == "30d");

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
  const Umask permissive(0);
  const KeyStoreLock lock(dir.path() / "a/b/store");
  CHECK(test::mode_of(dir.path() / "a") == 0755);
  CHECK(test::mode_of(dir.path() / "a/b") == 0755);
  CHECK(test::mode_of(dir.path() / "a/b/store") == 0700);
  CHECK_NOTHROW(require_safe_store(dir.path() / "a/b/store"));
}
