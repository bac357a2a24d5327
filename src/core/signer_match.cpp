// SPDX-License-Identifier: MIT
#include "core/signer_match.hpp"

#include "core/der.hpp"
#include "core/hash.hpp"
#include "util/error.hpp"
#include "util/openssl.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>

namespace ksign::core {

namespace {

// The content octets of a DER element given whole (tag and length included).
ByteView content_of(ByteView encoding, std::uint8_t tag, const char* what)
{
  der::Reader reader(encoding);
  return reader.read(tag, what).content;
}

Bytes concatenate(ByteView first, ByteView second)
{
  Bytes id(first.begin(), first.end());
  append(id, second);
  return id;
}

ByteView tbs_of(ByteView certificate_der)
{
  der::Reader outer(certificate_der);
  der::Reader certificate(outer.read(der::k_sequence, "certificate").content);
  return certificate.read(der::k_sequence, "tbsCertificate").encoding;
}

std::optional<HashAlgo> hash_for_hex_length(std::size_t length)
{
  switch (length) {
  case 64:
    return HashAlgo::sha256;
  case 96:
    return HashAlgo::sha384;
  case 128:
    return HashAlgo::sha512;
  default:
    return std::nullopt;
  }
}

std::string lower(std::string_view text)
{
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool names_signer(const KernelCertificate& certificate, ByteView signer_id)
{
  const std::vector<Bytes> ids = kernel_key_ids(certificate);
  return std::ranges::any_of(ids, [&](const Bytes& id) { return std::ranges::equal(id, signer_id); });
}

} // namespace

Bytes kernel_signer_id(const SignerReference& signer)
{
  if (signer.kind == SignerIdKind::subject_key_id) {
    return signer.identity.subject_key_id;
  }
  return concatenate(signer.identity.serial, content_of(signer.identity.issuer, der::k_sequence, "signer's issuer"));
}

std::string kernel_signer_id_hex(const SignerReference& signer)
{
  return util::to_hex(kernel_signer_id(signer));
}

std::vector<Bytes> kernel_key_ids(const KernelCertificate& certificate)
{
  std::vector<Bytes> ids;
  const SignerIdentity& identity = certificate.identity;
  ids.push_back(concatenate(identity.serial, content_of(identity.issuer, der::k_sequence, "certificate issuer")));
  if (!identity.subject_key_id.empty()) {
    ids.push_back(identity.subject_key_id);
  }
  return ids;
}

std::optional<std::string> blacklist_entry_for(const KernelCertificate& certificate,
                                               const std::vector<std::string>& blacklist_hashes)
{
  constexpr std::string_view prefix = "tbs:";
  for (const std::string& entry : blacklist_hashes) {
    if (!entry.starts_with(prefix)) {
      continue;
    }
    const std::string hex = lower(std::string_view(entry).substr(prefix.size()));
    const auto hash = hash_for_hex_length(hex.size());
    if (!hash) {
      continue;
    }
    const ByteView tbs = tbs_of(certificate.der);
    if (util::to_hex(digest_of(*hash, tbs)) == hex) {
      return entry;
    }
  }
  return std::nullopt;
}

std::string_view signer_trust_name(SignerTrust trust)
{
  switch (trust) {
  case SignerTrust::trusted:
    return "trusted";
  case SignerTrust::revoked:
    return "revoked";
  case SignerTrust::blacklisted:
    return "blacklisted";
  case SignerTrust::unknown:
    return "unknown";
  }
  throw Error(Errc::failure, "unknown signer trust");
}

SignerMatch match_signer(const KernelTrust& trust, const SignerReference& signer)
{
  const Bytes id = kernel_signer_id(signer);
  SignerMatch match;
  // is_key_on_revocation_list() comes before the trust check in verify_pkcs7_message_sig().
  if (trust.revocation_certificates) {
    for (const KernelCertificate& revoked : *trust.revocation_certificates) {
      if (names_signer(revoked, id)) {
        match.outcome = SignerTrust::revoked;
        match.certificate = &revoked;
        return match;
      }
    }
  }
  static const std::vector<std::string> no_hashes;
  const std::vector<std::string>& hashes = trust.blacklist_hashes ? *trust.blacklist_hashes : no_hashes;
  for (const KernelCertificate& certificate : trust.certificates) {
    if (!names_signer(certificate, id)) {
      continue;
    }
    if (const auto entry = blacklist_entry_for(certificate, hashes)) {
      // Not loaded, so it trusts nothing; another certificate may still be the signer.
      if (match.outcome == SignerTrust::unknown) {
        match.outcome = SignerTrust::blacklisted;
        match.certificate = &certificate;
        match.blacklist_entry = *entry;
      }
      continue;
    }
    match.outcome = SignerTrust::trusted;
    match.certificate = &certificate;
    match.blacklist_entry.clear();
    return match;
  }
  return match;
}

} // namespace ksign::core
