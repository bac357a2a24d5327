// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

// Object identifiers more than one of ksign's DER readers and writers name, as the content
// octets of their DER encoding. OIDs only one file uses stay in that file.
namespace ksign::core {

// rsaEncryption 1.2.840.113549.1.1.1: an RSA key, and the PKCS#1 v1.5 signature the kernel takes.
inline constexpr std::uint8_t k_oid_rsa_encryption[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
// id-ecPublicKey 1.2.840.10045.2.1
inline constexpr std::uint8_t k_oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};

// The named curves: prime192v1 1.2.840.10045.3.1.1 (the kernel knows it, ksign does not sign with
// it), prime256v1 1.2.840.10045.3.1.7, secp384r1 1.3.132.0.34, secp521r1 1.3.132.0.35.
inline constexpr std::uint8_t k_oid_prime192v1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01};
inline constexpr std::uint8_t k_oid_prime256v1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
inline constexpr std::uint8_t k_oid_secp384r1[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
inline constexpr std::uint8_t k_oid_secp521r1[] = {0x2b, 0x81, 0x04, 0x00, 0x23};

// 2.16.840.1.101.3.4.3.x, NIST's signature arc: ecdsa-with-SHA3-* (x = 9..12),
// id-ml-dsa-44/65/87 (x = 17..19).
inline constexpr std::uint8_t k_oid_nist_sig_prefix[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03};

[[nodiscard]] inline bool is_oid(ByteView oid, ByteView expected)
{
  return std::ranges::equal(oid, expected);
}

// How oid_text spells an OID.
enum class OidSpelling {
  dotted,        // "1.3.132.0.10"
  name_or_dotted // OpenSSL's name for it ("secp256k1"), else dotted
};

// An OID (the content octets of its DER encoding) as text for messages. One that is not a valid
// encoding is "(unreadable OID)"; a crafted one can be as long as its file, so the text is cut
// to its first 64 characters (real OIDs are under 30).
[[nodiscard]] std::string oid_text(ByteView oid, OidSpelling spelling = OidSpelling::dotted);

// Named curves by OID: OpenSSL's group name (nullptr: ksign does not use the curve) and the
// kernel's algorithm name for a key on it.
struct NamedCurve
{
  ByteView oid;
  const char* group_name;
  const char* kernel_name;
};

inline constexpr NamedCurve k_named_curves[] = {
  {k_oid_prime192v1, nullptr, "ecdsa-nist-p192"},
  {k_oid_prime256v1, "prime256v1", "ecdsa-nist-p256"},
  {k_oid_secp384r1, "secp384r1", "ecdsa-nist-p384"},
  {k_oid_secp521r1, "secp521r1", "ecdsa-nist-p521"},
};

[[nodiscard]] inline const NamedCurve* named_curve(ByteView oid)
{
  for (const NamedCurve& curve : k_named_curves) {
    if (is_oid(oid, curve.oid)) {
      return &curve;
    }
  }
  return nullptr;
}

// OpenSSL's group name for a named curve's OID ("prime256v1", "secp384r1", "secp521r1"), or
// nullptr for any other curve.
[[nodiscard]] inline const char* curve_group_name(ByteView oid)
{
  const NamedCurve* curve = named_curve(oid);
  return curve != nullptr ? curve->group_name : nullptr;
}

} // namespace ksign::core
