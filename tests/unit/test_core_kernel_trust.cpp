// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/kernel_trust.hpp"
#include "core/keystore.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <fstream>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::kernel_trust_sources and kernel_module_directories", "[kernel_trust]")
{
  const test::TempDir dir;
  const fs::path moduledir = dir.path() / "modules";
  const fs::path kernel = moduledir / "6.99.0-test";
  const fs::path build = kernel / "build";
  fs::create_directories(build / "certs");
  fs::create_directories(kernel / "kernel");
  fs::create_directories(kernel / "updates" / "dkms");
  fs::create_directories(kernel / "source");

  const SigningKey key = test::make_key(KeyType::ec, "trust test");
  {
    std::ofstream out(build / "certs" / "signing_key.x509", std::ios::binary);
    out.write(reinterpret_cast<const char*>(key.certificate.data()), static_cast<std::streamsize>(key.certificate.size()));
  }
  test::write_text(build / "extra.pem", test::certificate_pem(key));
  test::write_text(build / ".config", "CONFIG_MODULE_SIG=y\nCONFIG_SYSTEM_TRUSTED_KEYS=\"extra.pem\"\n");

  const std::vector<TrustSource> sources = kernel_trust_sources(moduledir, "6.99.0-test");
  REQUIRE(sources.size() == 2); // no certs-local key store installed
  CHECK(sources[0].file == build / "certs" / "signing_key.x509");
  CHECK(sources[1].file == build / "extra.pem");
  CHECK(sources[1].origin == "CONFIG_SYSTEM_TRUSTED_KEYS");

  const std::vector<std::string> directories = kernel_module_directories(moduledir, "6.99.0-test");
  CHECK(directories == std::vector<std::string>{(kernel / "kernel").string(), (kernel / "updates").string()});

  CHECK(kernel_trust_sources(moduledir, "1.2.3-none").empty());
  CHECK_THROWS_WITH(kernel_module_directories(moduledir, "1.2.3-none"), KSIGN_CONTAINS("no installed kernel"));
  CHECK(kernel_key_store(moduledir, "6.99.0-test") == build / "certs-local");
}

TEST_CASE("core::kernel_trust_sources reads a key store's certificate through its checked directory", "[kernel_trust]")
{
  const test::TempDir dir;
  const fs::path moduledir = dir.path() / "modules";
  const fs::path store = kernel_key_store(moduledir, "6.99.0-test");
  const fs::path keys = store / "2026-01-01_00-00-00";
  fs::create_directories(keys);
  const SigningKey key = test::make_key(KeyType::ec, "installed key");
  test::write_text(keys / "signing_crt.pem", test::certificate_pem(key));
  fs::create_directory_symlink(keys.filename(), store / "current");

  const std::vector<TrustSource> sources = kernel_trust_sources(moduledir, "6.99.0-test");
  REQUIRE(sources.size() == 1);
  CHECK(sources[0].file == keys / "signing_crt.pem");
  // The bytes are taken when the directory is checked: what is trusted is what was checked,
  // whatever the file becomes after.
  REQUIRE(sources[0].der.has_value());
  CHECK(*sources[0].der == key.certificate);

  // A certificate that is a link is not followed: the store is skipped.
  const SigningKey other = test::make_key(KeyType::ec, "someone else's");
  test::write_text(dir.path() / "planted.pem", test::certificate_pem(other));
  fs::remove(keys / "signing_crt.pem");
  fs::create_symlink(dir.path() / "planted.pem", keys / "signing_crt.pem");
  CHECK(kernel_trust_sources(moduledir, "6.99.0-test").empty());
}
