// SPDX-License-Identifier: MIT
#include "core/certificate.hpp"

#include "core/der.hpp"

#include <algorithm>

namespace ksign::core {

namespace {

constexpr std::uint8_t k_issuer_unique_id = 0x81;  // [1] IMPLICIT
constexpr std::uint8_t k_subject_unique_id = 0x82; // [2] IMPLICIT
constexpr std::uint8_t k_extensions = 0xa3;        // [3] EXPLICIT
constexpr std::uint8_t k_oid_subject_key_id[] = {0x55, 0x1d, 0x0e}; // 2.5.29.14

std::optional<ByteView> find_subject_key_id(ByteView extensions_sequence)
{
  der::Reader extensions(extensions_sequence);
  while (!extensions.at_end()) {
    der::Reader extension(extensions.read(der::k_sequence, "certificate extension").content);
    const ByteView oid = extension.read(der::k_oid, "extension id").content;
    (void)extension.read_optional(der::k_boolean, "extension critical flag");
    const ByteView value = extension.read(der::k_octet_string, "extension value").content;
    if (std::equal(oid.begin(), oid.end(), std::begin(k_oid_subject_key_id), std::end(k_oid_subject_key_id))) {
      der::Reader key_id(value);
      return key_id.read(der::k_octet_string, "subjectKeyIdentifier").content;
    }
  }
  return std::nullopt;
}

} // namespace

CertificateParts parse_certificate_parts(ByteView der)
{
  der::Reader outer(der);
  der::Reader certificate(outer.read(der::k_sequence, "certificate").content);
  der::Reader tbs(certificate.read(der::k_sequence, "tbsCertificate").content);
  CertificateParts parts;
  (void)tbs.read_optional(der::k_context_0, "certificate version");
  parts.serial = tbs.read(der::k_integer, "certificate serial number").encoding;
  (void)tbs.read(der::k_sequence, "certificate signature algorithm");
  parts.issuer = tbs.read(der::k_sequence, "certificate issuer").encoding;
  (void)tbs.read(der::k_sequence, "certificate validity");
  (void)tbs.read(der::k_sequence, "certificate subject");
  der::Reader key_info(tbs.read(der::k_sequence, "subjectPublicKeyInfo").content);
  der::Reader algorithm(key_info.read(der::k_sequence, "public key algorithm").content);
  parts.key_algorithm = algorithm.read(der::k_oid, "public key algorithm").content;
  if (const auto parameters = algorithm.read_optional(der::k_oid, "public key parameters")) {
    parts.key_parameters = parameters->content;
  }
  parts.public_key = der::bit_string_octets(key_info.read(der::k_bit_string, "subjectPublicKey"), "subjectPublicKey");
  (void)tbs.read_optional(k_issuer_unique_id, "issuerUniqueID");
  (void)tbs.read_optional(k_subject_unique_id, "subjectUniqueID");
  if (const auto extensions = tbs.read_optional(k_extensions, "certificate extensions")) {
    der::Reader wrapper(extensions->content);
    parts.subject_key_id = find_subject_key_id(wrapper.read(der::k_sequence, "certificate extensions").content);
  }
  return parts;
}

bool has_subject_key_id(ByteView der)
{
  const std::optional<ByteView> key_id = parse_certificate_parts(der).subject_key_id;
  return key_id && !key_id->empty();
}

} // namespace ksign::core
