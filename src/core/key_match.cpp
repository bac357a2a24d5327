// SPDX-License-Identifier: MIT
#include "core/key_match.hpp"

#include "core/certificate.hpp"
#include "core/der.hpp"
#include "core/oids.hpp"
#include "util/error.hpp"
#include "util/openssl.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace ksign::core {

namespace {

// True when the certificate's public key is, byte for byte, `key`'s own public half (RSA
// modulus and exponent, or EC curve and point). False when that cannot be confirmed this way:
// the caller then asks OpenSSL, which also gives the verdict for unusual encodings.
bool public_key_in_der_matches(ByteView certificate, const EVP_PKEY* key)
{
  CertificateParts parts;
  try {
    parts = parse_certificate_parts(certificate);
  } catch (const Error&) {
    return false;
  }
  if (is_oid(parts.key_algorithm, k_oid_ec_public_key) && parts.key_parameters) {
    const char* curve = curve_group_name(*parts.key_parameters);
    char group[64] = {};
    unsigned char point[256];
    std::size_t point_length = 0;
    const bool known = curve != nullptr
                       && EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) == 1
                       && EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_length) == 1;
    ERR_clear_error();
    return known && std::strcmp(curve, group) == 0 && std::ranges::equal(parts.public_key, ByteView(point, point_length));
  }
  if (is_oid(parts.key_algorithm, k_oid_rsa_encryption)) {
    try {
      der::Reader outer(parts.public_key);
      der::Reader numbers(outer.read(der::k_sequence, "RSAPublicKey").content);
      for (const char* name : {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E}) {
        const ByteView in_certificate = numbers.read(der::k_integer, "RSA public number").content;
        BIGNUM* raw = nullptr;
        if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
          ERR_clear_error();
          return false;
        }
        const std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>> in_key(raw);
        const std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>> from_certificate(
          BN_bin2bn(in_certificate.data(), static_cast<int>(in_certificate.size()), nullptr));
        if (!from_certificate || BN_cmp(in_key.get(), from_certificate.get()) != 0) {
          return false;
        }
      }
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  return false;
}

} // namespace

bool key_matches_certificate(const EVP_PKEY* key, ByteView certificate, const std::string& what)
{
  if (public_key_in_der_matches(certificate, key)) {
    return true;
  }
  const bool matches = X509_check_private_key(parse_certificate(certificate, what).get(), key) == 1;
  ERR_clear_error();
  return matches;
}

} // namespace ksign::core
