// SPDX-License-Identifier: MIT
// The key-type table: key-store names, OpenSSL names, and the type of a real key.
#include "catch.hpp"

#include "core/key_types.hpp"
#include "core/keygen.hpp"
#include "test_support.hpp"

#include <string>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::key_type_name and parse_key_type spell the key store's ktype", "[key_types]")
{
  const struct
  {
    KeyType type;
    const char* name;
    const char* openssl_name;
    bool ml_dsa;
  } table[] = {
    {KeyType::rsa, "rsa", "RSA", false},
    {KeyType::ec, "ec", "EC", false},
    {KeyType::ml_dsa_44, "ml-dsa-44", "ML-DSA-44", true},
    {KeyType::ml_dsa_65, "ml-dsa-65", "ML-DSA-65", true},
    {KeyType::ml_dsa_87, "ml-dsa-87", "ML-DSA-87", true},
  };
  for (const auto& row : table) {
    INFO(row.name);
    CHECK(key_type_name(row.type) == row.name);
    CHECK(parse_key_type(row.name) == row.type);
    CHECK(std::string(openssl_key_name(row.type)) == row.openssl_name);
    CHECK(is_ml_dsa(row.type) == row.ml_dsa);
  }
  // The ktype file ends in a newline; anything else is not a type.
  CHECK(parse_key_type("ec\n") == KeyType::ec);
  CHECK_FALSE(parse_key_type("ecdsa").has_value());
  CHECK_FALSE(parse_key_type("").has_value());
  CHECK_FALSE(parse_key_type("other").has_value());
  CHECK(key_type_name(KeyType::other) == "other");
  CHECK(openssl_key_name(KeyType::other) == nullptr);
  CHECK_FALSE(is_ml_dsa(KeyType::other));
}

TEST_CASE("core::key_type_of names real keys", "[key_types]")
{
  CHECK(key_type_of(test::make_key(KeyType::rsa, "rsa").key.get()) == KeyType::rsa);
  CHECK(key_type_of(test::make_key(KeyType::ec, "p256", "prime256v1").key.get()) == KeyType::ec);
  CHECK(key_type_of(test::make_key(KeyType::ec, "p521", "secp521r1").key.get()) == KeyType::ec);
  // A key type the kernel does not take for modules.
  const EvpPkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(ed25519);
  CHECK(key_type_of(ed25519.get()) == KeyType::other);
  if (can_generate(KeyType::ml_dsa_44)) {
    const EvpPkeyPtr ml_dsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "ML-DSA-44"));
    REQUIRE(ml_dsa);
    CHECK(key_type_of(ml_dsa.get()) == KeyType::ml_dsa_44);
  }
}
