// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <optional>

// The few fields of an X.509 certificate that signing needs, read straight from its DER.
// OpenSSL's d2i_X509 also decodes the public key through a decoder context, which costs a
// third of a millisecond per start (DKMS starts ksign once per module).
namespace ksign::core {

struct CertificateParts
{
  ByteView serial;           // the serialNumber INTEGER, tag and length included
  ByteView issuer;           // the issuer Name, tag and length included
  ByteView key_algorithm;    // OID content of the subjectPublicKeyInfo algorithm
  std::optional<ByteView> key_parameters; // its parameters when they are an OID (EC curves)
  ByteView public_key;       // the subjectPublicKey BIT STRING content, unused-bits octet dropped
  std::optional<ByteView> subject_key_id; // the subjectKeyIdentifier's octets
};

// Throws Error(Errc::format) when `der` is not a certificate's structure.
[[nodiscard]] CertificateParts parse_certificate_parts(ByteView der);

// Whether the DER certificate carries a subjectKeyIdentifier (what signing by key id needs).
[[nodiscard]] bool has_subject_key_id(ByteView der);

} // namespace ksign::core
