// SPDX-License-Identifier: MIT
#include "core/kernel_certificate.hpp"

#include "core/certificate.hpp"
#include "core/der.hpp"
#include "core/hash.hpp"
#include "core/key_types.hpp"
#include "core/oids.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <optional>

namespace ksign::core {

namespace {

constexpr std::uint8_t k_oid_common_name[] = {0x55, 0x04, 0x03};
constexpr std::uint8_t k_oid_organization[] = {0x55, 0x04, 0x0a};
constexpr std::uint8_t k_oid_email[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01};

// The name the kernel's X.509 parser gives the key (x509_fabricate_name): the last CN, O and
// emailAddress of the subject; "O: CN" unless the CN starts with the O (or with its first 7
// characters), else whichever exists. The strings' bytes are taken as they are.
struct SubjectNames
{
  std::string kernel_name;
  std::string common_name;
};

SubjectNames subject_names(ByteView subject_name)
{
  std::optional<std::string> common_name;
  std::optional<std::string> organization;
  std::optional<std::string> email;
  der::Reader rdns(subject_name);
  while (!rdns.at_end()) {
    der::Reader rdn(rdns.read(der::k_set, "subject RDN").content);
    while (!rdn.at_end()) {
      der::Reader attribute(rdn.read(der::k_sequence, "subject attribute").content);
      const ByteView type = attribute.read(der::k_oid, "subject attribute type").content;
      const der::Element value = attribute.read_any("subject attribute value");
      const std::string text(value.content.begin(), value.content.end());
      if (is_oid(type, k_oid_common_name)) {
        common_name = text;
      } else if (is_oid(type, k_oid_organization)) {
        organization = text;
      } else if (is_oid(type, k_oid_email)) {
        email = text;
      }
    }
  }
  SubjectNames names;
  names.common_name = common_name.value_or("");
  if (common_name && organization) {
    const std::string& cn = *common_name;
    const std::string& o = *organization;
    const bool cn_starts_with_o = cn.size() >= o.size() && cn.compare(0, o.size(), o) == 0;
    const bool share_seven = cn.size() >= 7 && o.size() >= 7 && cn.compare(0, 7, o, 0, 7) == 0;
    names.kernel_name = cn_starts_with_o || share_seven ? cn : o + ": " + cn;
  } else {
    names.kernel_name = common_name ? *common_name : organization ? *organization : email.value_or("");
  }
  return names;
}

std::string kernel_key_algorithm(const CertificateParts& parts)
{
  if (is_oid(parts.key_algorithm, k_oid_rsa_encryption)) {
    return "rsa";
  }
  if (is_oid(parts.key_algorithm, k_oid_ec_public_key) && parts.key_parameters) {
    const ByteView curve = *parts.key_parameters;
    const NamedCurve* named = named_curve(curve);
    return named != nullptr ? named->kernel_name : "ecdsa (curve " + oid_text(curve) + ")";
  }
  const ByteView algorithm = parts.key_algorithm;
  if (algorithm.size() == sizeof(k_oid_nist_sig_prefix) + 1 &&
      std::equal(std::begin(k_oid_nist_sig_prefix), std::end(k_oid_nist_sig_prefix), algorithm.begin())) {
    if (const std::optional<KeyType> type = ml_dsa_of_oid_arc(algorithm.back())) {
      return std::string(ml_dsa_kernel_name(*type));
    }
  }
  return oid_text(algorithm);
}

} // namespace

KernelCertificate kernel_certificate(ByteView der, CertificateOrigin origin, std::uint64_t offset)
{
  const CertificateParts parts = parse_certificate_parts(der);
  // parse_certificate_parts skips the subject; read it (and the TBS for its hash) here.
  der::Reader outer(der);
  der::Reader certificate(outer.read(der::k_sequence, "certificate").content);
  const der::Element tbs_element = certificate.read(der::k_sequence, "tbsCertificate");
  der::Reader tbs(tbs_element.content);
  (void)tbs.read_optional(der::k_context_0, "certificate version");
  (void)tbs.read(der::k_integer, "certificate serial number");
  (void)tbs.read(der::k_sequence, "certificate signature algorithm");
  (void)tbs.read(der::k_sequence, "certificate issuer");
  (void)tbs.read(der::k_sequence, "certificate validity");
  const ByteView subject = tbs.read(der::k_sequence, "certificate subject").content;

  KernelCertificate cert;
  cert.der.assign(der.begin(), der.end());
  cert.origin = origin;
  cert.offset = offset;
  const SubjectNames names = subject_names(subject);
  cert.subject = names.kernel_name;
  cert.common_name = names.common_name;
  cert.identity = signer_identity(parts);
  cert.key_algorithm = kernel_key_algorithm(parts);
  cert.tbs_sha256 = util::to_hex(digest_of(HashAlgo::sha256, tbs_element.encoding));
  return cert;
}

std::string_view certificate_origin_name(CertificateOrigin origin)
{
  switch (origin) {
  case CertificateOrigin::build_key:
    return "build key";
  case CertificateOrigin::trusted_keys:
    return "CONFIG_SYSTEM_TRUSTED_KEYS";
  case CertificateOrigin::extra_slot:
    return "extra slot";
  case CertificateOrigin::revocation:
    return "revocation list";
  case CertificateOrigin::found_by_scan:
    return "found by scan";
  }
  throw Error(Errc::failure, "unknown certificate origin");
}

std::string kernel_subject_name(ByteView name)
{
  der::Reader outer(name);
  return subject_names(outer.read(der::k_sequence, "name").content).kernel_name;
}

std::string kernel_key_description(const KernelCertificate& certificate)
{
  const SignerIdentity& identity = certificate.identity;
  const Bytes& id = identity.subject_key_id.empty() ? identity.serial : identity.subject_key_id;
  return certificate.subject + ": " + util::to_hex(id);
}

} // namespace ksign::core
