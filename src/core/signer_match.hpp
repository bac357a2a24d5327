// SPDX-License-Identifier: MIT
#pragma once

#include "core/cms.hpp"
#include "core/kernel_image.hpp"
#include "util/bytes.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Whether a kernel's own lists hold the key a module signature names, by the kernel's rules
// (crypto/asymmetric_keys, certs/system_keyring.c, certs/blacklist.c):
//  - a SignerInfo names its signer by issuer and serial or by subjectKeyIdentifier; the
//    kernel turns that into one key id (auth_ids[0]): the serial INTEGER's content octets
//    followed by the issuer Name's content octets, or the SKID's octets;
//  - a certificate's key carries two ids: serial + issuer the same way (id[0]) and its SKID
//    (id[1]); with no certificates in the message (sign-file and ksign never put any in) the
//    signer is found when its id equals either, byte for byte ("ex:" in keyctl's terms);
//  - a signer that matches a revocation certificate is refused before any trust check;
//  - a certificate whose TBS hash is on the blacklist ("tbs:<hex>") is never loaded, so it
//    trusts nothing;
//  - "bin:" entries blacklist file hashes (IMA, kexec): not applied to module signatures here.
namespace ksign::core {

// The key id the kernel looks the signer up by (auth_ids[0]), as raw octets and as the
// lower-case hex that `keyctl search <ring> asymmetric ex:<hex>` takes.
[[nodiscard]] Bytes kernel_signer_id(const SignerReference& signer);
[[nodiscard]] std::string kernel_signer_id_hex(const SignerReference& signer);

// The ids the kernel gives the key of `certificate`: serial + issuer, then the SKID if any.
[[nodiscard]] std::vector<Bytes> kernel_key_ids(const KernelCertificate& certificate);

// The blacklist entry ("tbs:<hex>") that names `certificate`, if one does. The hash is taken
// over the tbsCertificate with the SHA-2 of the entry's length (kernels before 7.x hash with
// the certificate's own signature hash, 7.x with SHA-256; either spelling is found).
[[nodiscard]] std::optional<std::string> blacklist_entry_for(const KernelCertificate& certificate,
                                                             const std::vector<std::string>& blacklist_hashes);

enum class SignerTrust {
  trusted,     // a loaded certificate of system_certificate_list is the signer
  revoked,     // a revocation certificate is the signer: refused
  blacklisted, // the signer's certificate is in the list but its TBS hash is blacklisted
  unknown,     // no certificate of the list is the signer
};

// "trusted", "revoked", "blacklisted", "unknown" (stable, for --json).
[[nodiscard]] std::string_view signer_trust_name(SignerTrust trust);

struct SignerMatch
{
  SignerTrust outcome = SignerTrust::unknown;
  // The certificate that decided (points into the KernelTrust matched against); null for unknown.
  const KernelCertificate* certificate = nullptr;
  std::string blacklist_entry; // for blacklisted
};

// Decide, as the kernel would with `trust` as its builtin keyring, whether `signer` is
// trusted. After a scan (trust.method == TrustMethod::scan) the list may hold certificates
// the kernel does not trust, and the blacklist is unknown: the command must say so.
[[nodiscard]] SignerMatch match_signer(const KernelTrust& trust, const SignerReference& signer);

} // namespace ksign::core
