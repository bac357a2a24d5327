// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/key_directory.hpp"
#include "core/signing_key.hpp"
#include "test_support.hpp"

#include <sys/stat.h>

#include <variant>

using namespace ksign;
using core::KeySource;
using core::KeySourceConflict;

namespace {

std::variant<KeySource, KeySourceConflict> choose(bool key, bool certificate, bool kernel, bool store_named)
{
  return core::choose_key_source({key, certificate, kernel, store_named});
}

} // namespace

TEST_CASE("core::choose_key_source: one source, or which two were mixed", "[signing_key]")
{
  using Choice = std::variant<KeySource, KeySourceConflict>;
  CHECK(choose(false, false, false, false) == Choice(KeySource::store));
  CHECK(choose(false, false, false, true) == Choice(KeySource::store));
  CHECK(choose(true, false, false, false) == Choice(KeySource::files));
  CHECK(choose(true, true, false, false) == Choice(KeySource::files));
  CHECK(choose(false, false, true, false) == Choice(KeySource::kernel));
  // Mixed: the key is checked first, then a certificate without a key, then kernel and store.
  CHECK(choose(true, false, true, false) == Choice(KeySourceConflict::key_and_kernel));
  CHECK(choose(true, false, true, true) == Choice(KeySourceConflict::key_and_kernel));
  CHECK(choose(true, true, false, true) == Choice(KeySourceConflict::key_and_store));
  CHECK(choose(false, true, false, false) == Choice(KeySourceConflict::certificate_without_key));
  CHECK(choose(false, true, true, true) == Choice(KeySourceConflict::certificate_without_key));
  CHECK(choose(false, false, true, true) == Choice(KeySourceConflict::kernel_and_store));
}

TEST_CASE("core::key_needs_certificate and certificate_beside", "[signing_key]")
{
  const test::TempDir dir;
  const core::SigningKey key = test::make_key(core::KeyType::ec, "beside");
  const auto key_only = dir.path() / "signing_prv.pem";
  const auto both = dir.path() / "both.pem";
  test::write_text(key_only, test::private_key_pem(key));
  test::write_text(both, test::private_key_pem(key) + test::certificate_pem(key));
  CHECK(core::key_needs_certificate(key_only));
  CHECK_FALSE(core::key_needs_certificate(both));
  CHECK_FALSE(core::key_needs_certificate("pkcs11:token=t;object=k"));

  CHECK_FALSE(core::certificate_beside(key_only).has_value());
  const auto crt = dir.path() / core::k_cert_der;
  test::write_text(dir.path() / core::k_cert_pem, test::certificate_pem(key));
  CHECK(core::certificate_beside(key_only) == dir.path() / core::k_cert_pem);
  test::write_text(crt, "");
  CHECK(core::certificate_beside(key_only) == crt); // the DER file first, as the store names it
  // A key file is not its own certificate.
  const auto key_pem = dir.path() / "sub" / core::k_key_pem;
  std::filesystem::create_directory(dir.path() / "sub");
  test::write_text(key_pem, test::private_key_pem(key));
  CHECK_FALSE(core::certificate_beside(key_pem).has_value());
}

TEST_CASE("core::key_file_exposure: the ssh rule for the key file", "[signing_key]")
{
  const test::TempDir dir;
  const auto key = dir.path() / "key.pem";
  test::write_text(key, "not read");
  ::chmod(key.c_str(), 0600);
  CHECK_FALSE(core::key_file_exposure(key).has_value());
  ::chmod(key.c_str(), 0640);
  REQUIRE(core::key_file_exposure(key).has_value());
  CHECK(core::key_file_exposure(key)->readable);
  CHECK(core::key_file_exposure(key)->mode == 0640);
  ::chmod(key.c_str(), 0620);
  REQUIRE(core::key_file_exposure(key).has_value());
  CHECK_FALSE(core::key_file_exposure(key)->readable);
  // Not there, or not a regular file: the key reader says so, not this rule.
  CHECK_FALSE(core::key_file_exposure(dir.path() / "missing").has_value());
  ::chmod(dir.path().c_str(), 0755);
  CHECK_FALSE(core::key_file_exposure(dir.path()).has_value());
}
