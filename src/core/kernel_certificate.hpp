// SPDX-License-Identifier: MIT
#pragma once

#include "core/signer_identity.hpp"
#include "util/bytes.hpp"

#include <cstdint>
#include <string>
#include <string_view>

// What the kernel's X.509 parser (crypto/asymmetric_keys/x509_cert_parser.c) takes from a
// certificate of its lists: the name it gives the key, its ids, its algorithm, the TBS hash the
// blacklist names it by.
namespace ksign::core {

// Why a certificate is in the list.
enum class CertificateOrigin {
  build_key,     // the first module_cert_size bytes: the build's certs/signing_key.x509
  trusted_keys,  // the rest of system_certificate_list (CONFIG_SYSTEM_TRUSTED_KEYS)
  extra_slot,    // system_extra_cert, filled by insert-sys-cert
  revocation,    // revocation_certificate_list
  found_by_scan, // a certificate found in the image's data (where is unknown)
};

// "build key", "CONFIG_SYSTEM_TRUSTED_KEYS", "extra slot", "revocation list", "found by scan".
[[nodiscard]] std::string_view certificate_origin_name(CertificateOrigin origin);

// One certificate of a kernel's lists, with what the kernel's X.509 parser takes from it.
struct KernelCertificate
{
  Bytes der;
  CertificateOrigin origin = CertificateOrigin::trusted_keys;
  std::uint64_t offset = 0;   // where in the ELF it was found (file offset)
  std::string subject;        // the name the kernel makes of it: "<O>: <CN>", or CN, O, email
  std::string common_name;    // the subject's CN, empty when it has none
  SignerIdentity identity;    // issuer, serial (modinfo's sig_key) and subjectKeyIdentifier
  std::string key_algorithm;  // the kernel's name: "rsa", "ecdsa-nist-p384", "mldsa65", or the OID
  std::string tbs_sha256;     // hex SHA-256 of the tbsCertificate (a 7.x "tbs:" entry; see blacklist_entry_for)
};

// What the kernel's parser takes from one DER certificate found at `offset` of an image
// (0: not from an image). Throws Error(Errc::format) when it is not a certificate.
[[nodiscard]] KernelCertificate kernel_certificate(ByteView der, CertificateOrigin origin = CertificateOrigin::trusted_keys,
                                                  std::uint64_t offset = 0);

// The name the kernel's X.509 parser makes of a DER Name (tag and length included), as it names
// a certificate's key by its subject: "<O>: <CN>", or CN, O, email. Throws Error(Errc::format).
[[nodiscard]] std::string kernel_subject_name(ByteView name);

// The description the kernel gives the key it makes of `certificate` (as /proc/keys shows
// it): "<subject>: <hex subjectKeyIdentifier>", or the serial's hex when there is no SKID.
[[nodiscard]] std::string kernel_key_description(const KernelCertificate& certificate);

} // namespace ksign::core
