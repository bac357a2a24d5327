// SPDX-License-Identifier: MIT
#pragma once

#include "core/signer_identity.hpp"
#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// X.509 certificates: read from files, their fields, their names, written out again.
namespace ksign::core {

// ---- fields read straight from the DER ----
// OpenSSL's d2i_X509 also decodes the public key through a decoder context, which costs a
// third of a millisecond per start (DKMS starts ksign once per module): signing reads only these.

struct CertificateParts
{
  ByteView serial;           // the serialNumber INTEGER's content octets (DER: see der::integer_content)
  ByteView issuer;           // the issuer Name, tag and length included
  ByteView key_algorithm;    // OID content of the subjectPublicKeyInfo algorithm
  std::optional<ByteView> key_parameters; // its parameters when they are an OID (EC curves)
  ByteView public_key;       // the subjectPublicKey BIT STRING content, unused-bits octet dropped
  std::optional<ByteView> subject_key_id; // the subjectKeyIdentifier's octets
};

// Throws Error(Errc::format) when `der` is not a certificate's structure.
[[nodiscard]] CertificateParts parse_certificate_parts(ByteView der);

// Why the kernel cannot load the public key of the DER certificate `der`, as its X.509 parser
// and crypto/rsa.c decide (x509_extract_key_data, rsa_check_key_length): "an RSA key of 8192
// bits; the kernel takes ...", "an EC key on the curve secp256k1; ...". nullopt when it can (RSA,
// EC on a curve it knows, ML-DSA). Throws as parse_certificate_parts. Such a certificate is
// never loaded into a keyring, so no module signed with its key loads.
[[nodiscard]] std::optional<std::string> kernel_key_refusal(ByteView der);

// Whether the DER certificate carries a subjectKeyIdentifier (what signing by key id needs).
[[nodiscard]] bool has_subject_key_id(ByteView der);

// ---- files ----

// Every certificate in `file`: one DER certificate, or any number of PEM certificates
// (other PEM blocks, such as a private key, are skipped). Throws when there are none.
[[nodiscard]] std::vector<X509Ptr> load_certificates(const std::filesystem::path& file);

// Whether `file` holds a certificate (DER, or a PEM certificate block). Throws when unreadable.
[[nodiscard]] bool holds_certificate(const std::filesystem::path& file);

// The first certificate of `file` (see load_certificates).
[[nodiscard]] X509Ptr load_certificate(const std::filesystem::path& file);

// The first certificate of `file`, as DER, not parsed beyond finding it.
[[nodiscard]] Bytes load_certificate_der(const std::filesystem::path& file);

// The same for the bytes `data` of `file`, read already (through a directory descriptor).
[[nodiscard]] Bytes certificate_der_in(Bytes data, const std::filesystem::path& file);

// OpenSSL's view of a DER certificate; throws Error(Errc::failure) naming `what` (say, "the
// certificate 'x.pem'") when it cannot parse it.
[[nodiscard]] X509Ptr parse_certificate(ByteView der, const std::string& what = "the certificate");

// PEM and DER of a certificate.
[[nodiscard]] std::string certificate_pem(const X509* certificate);
[[nodiscard]] Bytes certificate_der(const X509* certificate);

// ---- names ----

// The commonName of `name` (or the whole name, one line, when it has no CN).
[[nodiscard]] std::string common_name(const X509_NAME* name);

// Subject commonName of `cert` (or the whole subject when it has no CN).
[[nodiscard]] std::string subject_name(const X509* cert);

// subjectKeyIdentifier of `cert` as lower-case hex, empty when it has none.
[[nodiscard]] std::string subject_key_id_hex(const X509* cert);

// SHA-256 fingerprint of the DER certificate, lower-case hex without separators.
[[nodiscard]] std::string fingerprint_sha256(const X509* cert);

} // namespace ksign::core
