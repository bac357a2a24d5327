// SPDX-License-Identifier: MIT
// Whether a private key and a certificate belong together, by DER and by OpenSSL's check.
#include "catch.hpp"

#include "core/key_match.hpp"
#include "core/keygen.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::key_matches_certificate", "[key_match]")
{
  const SigningKey rsa = test::make_key(KeyType::rsa, "rsa");
  const SigningKey rsa_other = test::make_key(KeyType::rsa, "rsa other");
  const SigningKey p256 = test::make_key(KeyType::ec, "p256", "prime256v1");
  const SigningKey p384 = test::make_key(KeyType::ec, "p384", "secp384r1");
  const SigningKey p384_other = test::make_key(KeyType::ec, "p384 other", "secp384r1");
  const SigningKey p521 = test::make_key(KeyType::ec, "p521", "secp521r1");

  SECTION("each key its own certificate")
  {
    for (const SigningKey* key : {&rsa, &rsa_other, &p256, &p384, &p384_other, &p521}) {
      CHECK(key_matches_certificate(key->key.get(), key->certificate));
    }
  }
  SECTION("another key of the same type and size, or of another type")
  {
    CHECK_FALSE(key_matches_certificate(rsa.key.get(), rsa_other.certificate));
    CHECK_FALSE(key_matches_certificate(p384.key.get(), p384_other.certificate));
    CHECK_FALSE(key_matches_certificate(p256.key.get(), p384.certificate));
    CHECK_FALSE(key_matches_certificate(rsa.key.get(), p521.certificate));
    CHECK_FALSE(key_matches_certificate(p521.key.get(), rsa.certificate));
  }
  SECTION("a key the DER comparison does not cover goes to OpenSSL")
  {
    const EvpPkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
    REQUIRE(k1);
    CHECK_FALSE(key_matches_certificate(k1.get(), p256.certificate));
    if (can_generate(KeyType::ml_dsa_65)) {
      const SigningKey ml_dsa = generate_signing_key(KeyType::ml_dsa_65, HashAlgo::sha512, "ml-dsa");
      CHECK(key_matches_certificate(ml_dsa.key.get(), ml_dsa.certificate));
      CHECK_FALSE(key_matches_certificate(ml_dsa.key.get(), rsa.certificate));
      CHECK_FALSE(key_matches_certificate(rsa.key.get(), ml_dsa.certificate));
    }
  }
  SECTION("not a certificate: an error naming it")
  {
    const Bytes garbage(64, 0x30);
    CHECK_THROWS_WITH(key_matches_certificate(rsa.key.get(), garbage, "the certificate 'x.der'"),
                      KSIGN_CONTAINS("cannot parse the certificate 'x.der'"));
  }
}
