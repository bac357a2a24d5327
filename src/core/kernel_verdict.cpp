// SPDX-License-Identifier: MIT
#include "core/kernel_verdict.hpp"

#include "core/keys.hpp"
#include "util/error.hpp"

namespace ksign::core {

TrustedKeys loaded_keys(const KernelTrust& trust)
{
  static const std::vector<std::string> no_hashes;
  const std::vector<std::string>& hashes = trust.blacklist_hashes ? *trust.blacklist_hashes : no_hashes;
  TrustedKeys keys;
  for (const KernelCertificate& certificate : trust.certificates) {
    if (blacklist_entry_for(certificate, hashes)) {
      continue;
    }
    try {
      keys.add(parse_certificate(certificate.der));
    } catch (const Error&) {
      // not a key the kernel could load either
    }
  }
  return keys;
}

Verification verify_module_for_kernel(ByteView file, const KernelTrust& trust, const TrustedKeys& loaded,
                                      const KernelRules& rules, std::uint64_t max_size)
{
  Verification result = verify_module(file, loaded, rules, max_size);
  if (!result.reference || (result.verdict != Verdict::ok && result.verdict != Verdict::unknown_key)) {
    return result;
  }
  const SignerMatch match = match_signer(trust, *result.reference);
  if (match.outcome == SignerTrust::revoked) {
    result.verdict = Verdict::unknown_key;
    result.problem = "the kernel's revocation list holds the signer's certificate";
  } else if (match.outcome == SignerTrust::blacklisted && result.verdict == Verdict::unknown_key) {
    result.problem = "the signer's certificate is in the kernel's list but blacklisted (" + match.blacklist_entry + ")";
  }
  return result;
}

SignerTrust certificate_trust(const KernelTrust& trust, ByteView certificate_der)
{
  const KernelCertificate certificate = kernel_certificate(certificate_der);
  return match_signer(trust, signer_reference(certificate.identity, SignerIdKind::issuer_and_serial)).outcome;
}

} // namespace ksign::core
