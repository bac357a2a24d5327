// SPDX-License-Identifier: MIT
// The hand-written private-key decoder: it takes what key generators write, leaves the rest
// to OpenSSL, and the keys it builds sign as the originals do.
#include "catch.hpp"

#include "core/key_decoder.hpp"
#include "core/keygen.hpp"
#include "core/pem.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <openssl/core_names.h>

#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

// The one block of PEM `text`.
PemBlock only_block(const std::string& text)
{
  std::vector<PemBlock> blocks = read_pem_blocks(as_bytes(text));
  REQUIRE(blocks.size() == 1);
  return std::move(blocks.front());
}

} // namespace

TEST_CASE("core::decode_private_key builds the layouts key generators write", "[key_decoder]")
{
  const struct
  {
    const char* name;
    KeyType type;
    const char* curve;
  } variants[] = {
    {"rsa", KeyType::rsa, ""},
    {"p256", KeyType::ec, "prime256v1"},
    {"p384", KeyType::ec, "secp384r1"},
    {"p521", KeyType::ec, "secp521r1"},
  };
  for (const auto& variant : variants) {
    const SigningKey original = test::make_key(variant.type, variant.name, variant.curve);
    for (const bool traditional : {false, true}) {
      INFO(variant.name << (traditional ? " traditional" : " pkcs8"));
      const PemBlock block = only_block(test::key_pem(original.key.get(), traditional));
      CHECK(block.label == (!traditional ? "PRIVATE KEY" : variant.type == KeyType::rsa ? "RSA PRIVATE KEY" : "EC PRIVATE KEY"));
      const EvpPkeyPtr decoded = decode_private_key(block.der, block.label);
      REQUIRE(decoded);
      CHECK(EVP_PKEY_eq(decoded.get(), original.key.get()) == 1);
      CHECK(test::signs_for(decoded.get(), original.key.get()));
    }
  }
}

TEST_CASE("core::decode_private_key leaves unusual layouts to OpenSSL", "[key_decoder]")
{
  const SigningKey ec = test::make_key(KeyType::ec, "ec", "prime256v1");
  for (const bool traditional : {false, true}) {
    INFO((traditional ? "traditional" : "pkcs8"));
    EvpPkeyPtr copy(EVP_PKEY_dup(ec.key.get()));
    REQUIRE(EVP_PKEY_set_int_param(copy.get(), OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, 0) == 1);
    const PemBlock without_public = only_block(test::key_pem(copy.get(), traditional));
    CHECK_FALSE(decode_private_key(without_public.der, without_public.label));

    copy.reset(EVP_PKEY_dup(ec.key.get()));
    REQUIRE(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1);
    const PemBlock explicit_curve = only_block(test::key_pem(copy.get(), traditional));
    CHECK_FALSE(decode_private_key(explicit_curve.der, explicit_curve.label));
  }
  // A curve the kernel does not take: secp256k1.
  const EvpPkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  REQUIRE(k1);
  const PemBlock other_curve = only_block(test::key_pem(k1.get(), false));
  CHECK_FALSE(decode_private_key(other_curve.der, other_curve.label));
  // Labels it does not decode: encrypted PKCS#8, anything not a private key.
  const PemBlock pkcs8 = only_block(test::key_pem(ec.key.get(), false));
  CHECK_FALSE(decode_private_key(pkcs8.der, "ENCRYPTED PRIVATE KEY"));
  CHECK_FALSE(decode_private_key(pkcs8.der, "CERTIFICATE"));
  if (can_generate(KeyType::ml_dsa_44)) {
    const EvpPkeyPtr ml_dsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "ML-DSA-44"));
    REQUIRE(ml_dsa);
    const PemBlock block = only_block(test::key_pem(ml_dsa.get(), false));
    CHECK_FALSE(decode_private_key(block.der, block.label));
  }
}

TEST_CASE("core::decode_private_key: malformed DER is a format error", "[key_decoder]")
{
  const SigningKey rsa = test::make_key(KeyType::rsa, "rsa");
  for (const bool traditional : {false, true}) {
    const PemBlock block = only_block(test::key_pem(rsa.key.get(), traditional));
    const Bytes truncated(block.der.begin(), block.der.begin() + static_cast<std::ptrdiff_t>(block.der.size() / 2));
    try {
      (void)decode_private_key(truncated, block.label);
      FAIL("a truncated key decoded");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::format);
    }
  }
}
