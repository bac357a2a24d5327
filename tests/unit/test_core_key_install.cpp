// SPDX-License-Identifier: MIT
// Installing a key store's current key into a headers tree, and the key registry
// (core/key_install), with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/key_install.hpp"
#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"

#include <iterator>
#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core key store: install and register", "[keystore]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  const test::Umask permissive(0);
  const KeyStoreLock lock(store);
  const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha384, "store test");
  const fs::path first = write_key_directory(store, key, HashAlgo::sha384);
  switch_current(store, first);

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
    const X509Ptr certificate = parse_certificate(key.certificate);
    CHECK(link.filename() == subject_key_id_hex(certificate.get()));
    CHECK(link.filename() == key_link_name(certificate.get()));
    CHECK(fs::canonical(link) == fs::canonical(first));
    CHECK((test::mode_of(registry) & 022) == 0); // 0755 at most
    // Registering again replaces the link; nothing else is left in the registry.
    register_key_directory(registry, key_directory_files(first));
    CHECK(std::distance(fs::directory_iterator(registry), fs::directory_iterator()) == 1);
  }
}
