// SPDX-License-Identifier: MIT
// Loading the key that signs: private key files of every layout, certificates beside them.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/keys.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

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
    CHECK(subject_name(parse_certificate(loaded.certificate).get()) == "loader");
    CHECK(subject_key_id_hex(parse_certificate(loaded.certificate).get()).size() == 40);
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
  SECTION("a file without a private key")
  {
    CHECK_THROWS_WITH(load_private_key(cert_der, std::nullopt), KSIGN_CONTAINS("cannot read a PEM private key"));
    CHECK_THROWS_WITH(load_signing_key(other_cert, std::nullopt, std::nullopt),
                      KSIGN_CONTAINS("cannot read a PEM private key"));
  }
}

TEST_CASE("core::load_signing_key reads every layout OpenSSL writes", "[keys]")
{
  const test::TempDir dir;
  struct Variant
  {
    const char* name;
    KeyType type;
    const char* curve;
  };
  const Variant variants[] = {
    {"rsa", KeyType::rsa, ""},
    {"p256", KeyType::ec, "prime256v1"},
    {"p384", KeyType::ec, "secp384r1"},
    {"p521", KeyType::ec, "secp521r1"},
  };
  for (const Variant& variant : variants) {
    SigningKey original = test::make_key(variant.type, variant.name, variant.curve);
    const auto cert = dir.path() / (std::string(variant.name) + ".crt");
    test::write_text(cert, test::certificate_pem(original));
    for (const bool traditional : {false, true}) {
      // PKCS#8 "PRIVATE KEY", then "RSA PRIVATE KEY" / "EC PRIVATE KEY"; for EC also without
      // the public key and with explicit curve parameters (both left to OpenSSL's reader).
      std::vector<std::string> pems = {test::key_pem(original.key.get(), traditional)};
      if (variant.type == KeyType::ec) {
        EvpPkeyPtr copy(EVP_PKEY_dup(original.key.get()));
        REQUIRE(EVP_PKEY_set_int_param(copy.get(), OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, 0) == 1);
        pems.push_back(test::key_pem(copy.get(), traditional));
        copy.reset(EVP_PKEY_dup(original.key.get()));
        REQUIRE(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_ENCODING,
                                               OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1);
        pems.push_back(test::key_pem(copy.get(), traditional));
      }
      for (std::size_t i = 0; i < pems.size(); ++i) {
        INFO(variant.name << (traditional ? " traditional" : " pkcs8") << " layout " << i);
        const auto file = dir.path() / "key.pem";
        test::write_text(file, pems[i]);
        const SigningKey loaded = load_signing_key(file, cert, std::nullopt);
        CHECK(loaded.type == variant.type);
        CHECK(EVP_PKEY_eq(loaded.key.get(), original.key.get()) == 1);
        CHECK(test::signs_for(loaded.key.get(), original.key.get()));
      }
    }
  }
}
