// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/keys.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <openssl/pem.h>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::load_signing_key", "[keys]")
{
  const test::TempDir dir;
  const SigningKey key = test::make_key(KeyType::ec, "loader");
  const SigningKey other = test::make_key(KeyType::rsa, "other");
  const auto combined = dir.path() / "signing_key.pem";
  test::write_text(combined, test::private_key_pem(key) + test::certificate_pem(key));
  const auto key_only = dir.path() / "key.pem";
  test::write_text(key_only, test::private_key_pem(key));
  const auto cert_der = dir.path() / "cert.der";
  util::replace_file_atomically(cert_der, test::certificate_der(key));
  const auto other_cert = dir.path() / "other.pem";
  test::write_text(other_cert, test::certificate_pem(other));

  SECTION("key and certificate in one PEM")
  {
    const SigningKey loaded = load_signing_key(combined, std::nullopt, std::nullopt);
    CHECK(loaded.type == KeyType::ec);
    CHECK(subject_name(loaded.certificate.get()) == "loader");
    CHECK(subject_key_id_hex(loaded.certificate.get()).size() == 40);
  }
  SECTION("separate DER certificate")
  {
    CHECK(load_signing_key(key_only, cert_der, std::nullopt).type == KeyType::ec);
  }
  SECTION("a key that does not match the certificate")
  {
    CHECK_THROWS_WITH(load_signing_key(key_only, other_cert, std::nullopt), KSIGN_CONTAINS("does not match"));
  }
  SECTION("a key file without a certificate and no --cert")
  {
    CHECK_THROWS_WITH(load_signing_key(key_only, std::nullopt, std::nullopt), KSIGN_CONTAINS("no certificate"));
  }
  SECTION("an encrypted key needs KBUILD_SIGN_PIN")
  {
    BioPtr bio(BIO_new(BIO_s_mem()));
    const std::string pass = "secret";
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.key.get(), EVP_aes_256_cbc(), pass.data(),
                                          static_cast<int>(pass.size()), nullptr, nullptr) == 1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    const auto encrypted = dir.path() / "encrypted.pem";
    test::write_text(encrypted, std::string(data, static_cast<std::size_t>(length)));
    CHECK_THROWS_WITH(load_signing_key(encrypted, cert_der, std::nullopt), KSIGN_CONTAINS("KBUILD_SIGN_PIN"));
    CHECK_THROWS_WITH(load_signing_key(encrypted, cert_der, std::string("wrong")), KSIGN_CONTAINS("wrong passphrase"));
    CHECK(load_signing_key(encrypted, cert_der, pass).type == KeyType::ec);
  }
}

TEST_CASE("core::load_certificates", "[keys]")
{
  const test::TempDir dir;
  const SigningKey a = test::make_key(KeyType::ec, "a");
  const SigningKey b = test::make_key(KeyType::rsa, "b");
  const auto bundle = dir.path() / "bundle.pem";
  test::write_text(bundle, test::certificate_pem(a) + test::private_key_pem(b) + test::certificate_pem(b));
  const auto certificates = load_certificates(bundle);
  REQUIRE(certificates.size() == 2);
  CHECK(subject_name(certificates[1].get()) == "b");
  const auto empty = dir.path() / "empty.pem";
  test::write_text(empty, "nothing here\n");
  CHECK_THROWS_AS(load_certificates(empty), Error);
}
