// SPDX-License-Identifier: MIT
// The key store's layout and its current key (core/keystore): the current key's files, the
// certificate a config trusts, the key directories, with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keygen.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core key store: the current key's files, the trusted certificate, the key directories", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const KeyStoreLock lock(store);
  CHECK_THROWS_WITH(current_key_files(store), KSIGN_CONTAINS("no current key in"));
  CHECK(key_directories(store).empty());

  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "store test");
  const fs::path first = write_key_directory(store, key, HashAlgo::sha384);
  switch_current(store, first);

  SECTION("the current key's files load, and name the dated directory")
  {
    const KeyFiles files = current_key_files(store);
    CHECK(files.hash == HashAlgo::sha384);
    const SigningKey loaded = load_signing_key(files.key, files.certificate, std::nullopt);
    CHECK(fingerprint_sha256(parse_certificate(loaded.certificate).get()) == fingerprint_sha256(parse_certificate(key.certificate).get()));
    const SigningKey from_private = load_signing_key(first / "signing_prv.pem", first / "signing_crt.pem", std::nullopt);
    CHECK(from_private.type == KeyType::ec);
    CHECK(trusted_certificate(store) == fs::absolute(first / "signing_crt.pem"));
    CHECK(key_directories(store) == std::vector<fs::path>{first});
  }
  SECTION("hidden entries, `current` and plain files are not key directories")
  {
    fs::create_directories(store / ".hidden");
    test::write_text(store / "notes", "mine\n");
    fs::create_directory_symlink(first, store / "alias");
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
}

TEST_CASE("core::key_store_path: --dir, else $KSIGN_DIR when not empty, else ./certs-local", "[keystore]")
{
  CHECK(key_store_path(std::string("/a"), "/b") == "/a");
  CHECK(key_store_path(std::nullopt, "/b") == "/b");
  CHECK(key_store_path(std::nullopt, "") == "certs-local");
  CHECK(key_store_path(std::nullopt, nullptr) == "certs-local");
}
