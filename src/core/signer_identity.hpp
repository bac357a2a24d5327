// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/openssl.hpp"

// Who signed a module: the one shape of a signer's identity that the signature writer (cms), the
// verifier (module_verifier), the kernel's certificates (kernel_certificate) and the matchers
// (signer_match, keyrings) share.
//  - a certificate names its key by issuer and serial, and by its subjectKeyIdentifier if any;
//  - a SignerInfo names its signer by one of the two (SignerIdKind).
namespace ksign::core {

struct CertificateParts;

// How a SignerInfo names its signer: IssuerAndSerialNumber (version 1) or [0]
// subjectKeyIdentifier (version 3).
enum class SignerIdKind { issuer_and_serial, subject_key_id };

struct SignerIdentity
{
  Bytes issuer;         // the issuer Name's DER, tag and length included, byte for byte as written
  Bytes serial;         // the serialNumber INTEGER's content octets (modinfo's sig_key)
  Bytes subject_key_id; // the subjectKeyIdentifier's octets, empty when there is none
};

// How a module signature names its signer: `identity` holds what `kind` uses (issuer and serial,
// or the subject key id), the rest is empty.
struct SignerReference
{
  SignerIdKind kind = SignerIdKind::issuer_and_serial;
  SignerIdentity identity;
};

// The identity of a certificate whose fields parse_certificate_parts read.
[[nodiscard]] SignerIdentity signer_identity(const CertificateParts& parts);
// The identity of the DER certificate `der`, without OpenSSL's X509 parser (throws
// Error(Errc::format) when it is not a certificate's structure, as parse_certificate_parts).
[[nodiscard]] SignerIdentity signer_identity(ByteView der);
// The same, from a certificate OpenSSL has parsed.
[[nodiscard]] SignerIdentity signer_identity(const X509* certificate);

// What a SignerInfo made with that certificate's key says, named by `kind`.
[[nodiscard]] SignerReference signer_reference(const SignerIdentity& identity, SignerIdKind kind);

} // namespace ksign::core
