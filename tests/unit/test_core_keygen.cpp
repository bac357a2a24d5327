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
#include <unistd.h>

#include <chrono>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

namespace {

void check_kernel_shaped(const SigningKey& key, HashAlgo hash)
{
  const X509Ptr parsed = parse_certificate(key.certificate);
  X509* cert = parsed.get();
  CHECK(X509_get_version(cert) == X509_VERSION_3);
  CHECK(X509_check_private_key(cert, key.key.get()) == 1);
  CHECK(X509_verify(cert, X509_get0_pubkey(cert)) == 1); // self-signed

  int critical = -1;
  auto* constraints = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &critical, nullptr));
  REQUIRE(constraints != nullptr);
  CHECK(critical == 1);
  CHECK(constraints->ca == 0);
  BASIC_CONSTRAINTS_free(constraints);
  CHECK(X509_get_key_usage(cert) == KU_DIGITAL_SIGNATURE);
  CHECK_FALSE(subject_key_id_hex(cert).empty());
  const ASN1_OCTET_STRING* authority_id = X509_get0_authority_key_id(cert);
  REQUIRE(authority_id != nullptr);
  CHECK(ASN1_STRING_cmp(authority_id, X509_get0_subject_key_id(cert)) == 0);

  int signature_digest = 0;
  REQUIRE(X509_get_signature_info(cert, &signature_digest, nullptr, nullptr, nullptr) == 1);
  CHECK(signature_digest == EVP_MD_get_type(fetch_digest(hash)));

  // 36500 days, give or take the seconds the test took.
  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1);
  CHECK(days == 36500);
}

} // namespace

TEST_CASE("core::generate_signing_key: the kernel's key shapes", "[keygen]")
{
  SECTION("EC P-384 with sha512")
  {
    const SigningKey key = generate_signing_key(KeyType::ec, HashAlgo::sha512, "ec test key");
    CHECK(key.type == KeyType::ec);
    CHECK(key_type_of(key.key.get()) == KeyType::ec);
    CHECK(EVP_PKEY_get_bits(key.key.get()) == 384);
    CHECK(subject_name(parse_certificate(key.certificate).get()) == "ec test key");
    check_kernel_shaped(key, HashAlgo::sha512);
  }
  SECTION("RSA 4096 with sha256")
  {
    const SigningKey key = generate_signing_key(KeyType::rsa, HashAlgo::sha256, "rsa test key");
    CHECK(key_type_of(key.key.get()) == KeyType::rsa);
    CHECK(EVP_PKEY_get_bits(key.key.get()) == 4096);
    check_kernel_shaped(key, HashAlgo::sha256);
  }
  SECTION("random serials")
  {
    const SigningKey a = generate_signing_key(KeyType::ec, HashAlgo::sha384, "a");
    const SigningKey b = generate_signing_key(KeyType::ec, HashAlgo::sha384, "a");
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(parse_certificate(a.certificate).get()), X509_get0_serialNumber(parse_certificate(b.certificate).get())) != 0);
    CHECK(ASN1_STRING_length(X509_get0_serialNumber(parse_certificate(a.certificate).get())) >= 16);
  }
  SECTION("ML-DSA: made when OpenSSL has it, a clear error otherwise")
  {
    if (can_generate(KeyType::ml_dsa_65)) {
      const SigningKey key = generate_signing_key(KeyType::ml_dsa_65, HashAlgo::sha512, "ml-dsa");
      CHECK(key_type_of(key.key.get()) == KeyType::ml_dsa_65);
      CHECK(X509_verify(parse_certificate(key.certificate).get(), X509_get0_pubkey(parse_certificate(key.certificate).get())) == 1);
    } else {
      CHECK_THROWS_WITH(generate_signing_key(KeyType::ml_dsa_65, HashAlgo::sha512, "ml-dsa"),
                        KSIGN_CONTAINS("ml-dsa-65 keys need OpenSSL 3.5"));
    }
  }
}
