// SPDX-License-Identifier: MIT
// Whether a kernel's lists hold a signature's signer: the kernel's ids, revocation and blacklist,
// on test certificates and on the testbeds' kernels.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/cms.hpp"
#include "core/der.hpp"
#include "core/hash.hpp"
#include "core/kernel_image.hpp"
#include "core/keys.hpp"
#include "core/module_signer.hpp"
#include "core/signer_match.hpp"
#include "util/strings.hpp"

#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

using namespace ksign;
using ksign::core::CertificateOrigin;

namespace {

core::SignerReference by_issuer_serial(const Bytes& certificate_der)
{
  return core::signer_reference(core::signer_identity(certificate_der), core::SignerIdKind::issuer_and_serial);
}

core::SignerReference by_key_id(const Bytes& certificate_der)
{
  return core::signer_reference(core::signer_identity(certificate_der), core::SignerIdKind::subject_key_id);
}

// The tbsCertificate of `der` as OpenSSL encodes it.
Bytes tbs_of(const Bytes& der)
{
  const X509Ptr certificate = core::parse_certificate(der);
  unsigned char* tbs = nullptr;
  const int length = i2d_re_X509_tbs(certificate.get(), &tbs);
  REQUIRE(length > 0);
  const std::unique_ptr<unsigned char, OpensslFree> owned(tbs);
  return Bytes(tbs, tbs + length);
}

} // namespace

TEST_CASE("core::kernel_signer_id and core::kernel_key_ids are the kernel's key ids", "[signer_match]")
{
  const Bytes der = test::make_key(core::KeyType::ec, "ids").certificate;
  const core::KernelCertificate certificate = core::kernel_certificate(der);
  const core::SignerIdentity& identity = certificate.identity;
  // serial + issuer: the serial's content octets, then the issuer Name's content (no SEQUENCE header).
  core::der::Reader issuer(identity.issuer);
  const ByteView issuer_content = issuer.read(core::der::k_sequence, "issuer").content;
  Bytes serial_issuer = identity.serial;
  serial_issuer.insert(serial_issuer.end(), issuer_content.begin(), issuer_content.end());

  CHECK(core::kernel_signer_id(by_issuer_serial(der)) == serial_issuer);
  CHECK(core::kernel_signer_id_hex(by_issuer_serial(der)) == util::to_hex(serial_issuer));
  CHECK(core::kernel_signer_id(by_key_id(der)) == identity.subject_key_id);
  CHECK(core::kernel_key_ids(certificate) == std::vector<Bytes>{serial_issuer, identity.subject_key_id});
}

TEST_CASE("core::blacklist_entry_for finds a tbs: entry in SHA-256 or the certificate's own hash, any case",
          "[signer_match]")
{
  const Bytes der = test::make_key(core::KeyType::rsa, "listed").certificate;
  const core::KernelCertificate certificate = core::kernel_certificate(der);
  const Bytes tbs = tbs_of(der);
  const std::string sha256 = util::to_hex(core::digest_of(core::HashAlgo::sha256, tbs));
  const std::string sha384 = util::to_hex(core::digest_of(core::HashAlgo::sha384, tbs));
  std::string upper = sha256;
  std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });

  CHECK(core::blacklist_entry_for(certificate, {"tbs:" + sha256}) == "tbs:" + sha256);
  CHECK(core::blacklist_entry_for(certificate, {"bin:00", "tbs:" + sha384}) == "tbs:" + sha384);
  CHECK(core::blacklist_entry_for(certificate, {"tbs:" + upper}) == "tbs:" + upper);
  CHECK_FALSE(core::blacklist_entry_for(certificate, {"bin:" + sha256}).has_value()); // a file hash
  CHECK_FALSE(core::blacklist_entry_for(certificate, {"tbs:" + sha256.substr(2)}).has_value());
  CHECK_FALSE(core::blacklist_entry_for(certificate, {}).has_value());
}

TEST_CASE("core::match_signer: trusted, revoked before trusted, blacklisted, unknown", "[signer_match]")
{
  const Bytes a = test::make_key(core::KeyType::ec, "a").certificate;
  const Bytes b = test::make_key(core::KeyType::ec, "b").certificate;
  const Bytes stranger = test::make_key(core::KeyType::ec, "stranger").certificate;
  core::KernelTrust trust;
  trust.certificates = {core::kernel_certificate(a), core::kernel_certificate(b)};
  trust.blacklist_hashes.emplace();
  trust.revocation_certificates.emplace();

  for (const core::SignerReference& signer : {by_issuer_serial(b), by_key_id(b)}) {
    const core::SignerMatch match = core::match_signer(trust, signer);
    CHECK(match.outcome == core::SignerTrust::trusted);
    CHECK(match.certificate == &trust.certificates[1]);
  }
  const core::SignerMatch unknown = core::match_signer(trust, by_key_id(stranger));
  CHECK(unknown.outcome == core::SignerTrust::unknown);
  CHECK(unknown.certificate == nullptr);
  // The same serial under another issuer (test::make_key gives every key one serial) is not the signer.
  core::SignerReference other_issuer = by_issuer_serial(a);
  other_issuer.identity.issuer = by_issuer_serial(stranger).identity.issuer;
  CHECK(core::match_signer(trust, other_issuer).outcome == core::SignerTrust::unknown);

  core::KernelTrust blacklisting = trust;
  blacklisting.blacklist_hashes->push_back("tbs:" + blacklisting.certificates[0].tbs_sha256);
  const core::SignerMatch blacklisted = core::match_signer(blacklisting, by_key_id(a));
  CHECK(blacklisted.outcome == core::SignerTrust::blacklisted);
  CHECK(blacklisted.blacklist_entry == "tbs:" + blacklisting.certificates[0].tbs_sha256);
  CHECK(core::match_signer(blacklisting, by_key_id(b)).outcome == core::SignerTrust::trusted);

  core::KernelTrust revoking = trust;
  revoking.revocation_certificates->push_back(core::kernel_certificate(b, CertificateOrigin::revocation));
  const core::SignerMatch revoked = core::match_signer(revoking, by_issuer_serial(b));
  CHECK(revoked.outcome == core::SignerTrust::revoked);
  REQUIRE(revoked.certificate != nullptr);
  CHECK(revoked.certificate->origin == CertificateOrigin::revocation);
}

TEST_CASE("core::signer_trust_name is stable", "[signer_match]")
{
  CHECK(core::signer_trust_name(core::SignerTrust::trusted) == "trusted");
  CHECK(core::signer_trust_name(core::SignerTrust::revoked) == "revoked");
  CHECK(core::signer_trust_name(core::SignerTrust::blacklisted) == "blacklisted");
  CHECK(core::signer_trust_name(core::SignerTrust::unknown) == "unknown");
}

TEST_CASE("core::match_signer on the 6.12 testbed: the kernel's ids, revocation and blacklist", "[signer_match]")
{
  std::string why;
  const auto testbed = test::testbed_6(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  const core::KernelTrust trust = core::read_kernel_trust({*testbed / "vmlinux", std::nullopt});
  const Bytes rsa = test::read_whole(*testbed / "keys" / "trusted-rsa.der");
  const Bytes ec = test::read_whole(*testbed / "keys" / "trusted-ec.der");
  const Bytes untrusted = test::read_whole(*testbed / "keys" / "untrusted-ec.der");

  for (const Bytes& der : {rsa, ec}) {
    for (const core::SignerReference& signer : {by_issuer_serial(der), by_key_id(der)}) {
      const core::SignerMatch match = core::match_signer(trust, signer);
      CHECK(match.outcome == core::SignerTrust::trusted);
      REQUIRE(match.certificate != nullptr);
      CHECK(match.certificate->der == der);
    }
  }
  CHECK(core::match_signer(trust, by_issuer_serial(untrusted)).outcome == core::SignerTrust::unknown);
  CHECK(core::match_signer(trust, by_key_id(untrusted)).outcome == core::SignerTrust::unknown);

  SECTION("the issuer must match byte for byte, not only the serial")
  {
    core::SignerReference signer = by_issuer_serial(rsa);
    signer.identity.issuer = by_issuer_serial(ec).identity.issuer;
    CHECK(core::match_signer(trust, signer).outcome == core::SignerTrust::unknown);
  }
  SECTION("a revocation certificate refuses its signer before the trust check")
  {
    core::KernelTrust revoking = trust;
    revoking.revocation_certificates->push_back(trust.certificates[1]); // trusted-rsa
    revoking.revocation_certificates->back().origin = CertificateOrigin::revocation;
    CHECK(core::match_signer(revoking, by_issuer_serial(rsa)).outcome == core::SignerTrust::revoked);
    CHECK(core::match_signer(revoking, by_key_id(rsa)).outcome == core::SignerTrust::revoked);
    CHECK(core::match_signer(revoking, by_key_id(ec)).outcome == core::SignerTrust::trusted);
  }
  SECTION("a blacklisted TBS hash keeps the certificate from being loaded")
  {
    core::KernelTrust blacklisting = trust;
    blacklisting.blacklist_hashes->push_back("tbs:" + trust.certificates[2].tbs_sha256); // trusted-ec
    const core::SignerMatch match = core::match_signer(blacklisting, by_key_id(ec));
    CHECK(match.outcome == core::SignerTrust::blacklisted);
    CHECK(match.blacklist_entry == "tbs:" + trust.certificates[2].tbs_sha256);
    CHECK(core::match_signer(blacklisting, by_key_id(rsa)).outcome == core::SignerTrust::trusted);
  }
}

// The scenario: the kernel trusts key A; a module signed with key B must be unknown.
TEST_CASE("core::match_signer: a module signed by ksign is trusted only when the image holds its key", "[signer_match]")
{
  std::string why;
  const auto testbed = test::testbed_6(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  const core::KernelTrust trust = core::read_kernel_trust({*testbed / "vmlinux", std::nullopt});
  const Bytes module = test::sample_module();
  auto trusted_key = std::make_shared<const core::SigningKey>(core::load_signing_key(
    *testbed / "keys" / "trusted-ec.pem", *testbed / "keys" / "trusted-ec.der", std::nullopt));
  auto other_key = std::make_shared<const core::SigningKey>(test::make_key(core::KeyType::ec, "ksign other key"));
  for (const core::SignerIdKind kind : {core::SignerIdKind::issuer_and_serial, core::SignerIdKind::subject_key_id}) {
    core::SignSettings settings;
    settings.signer_id = kind;
    const Bytes good = core::ModuleSigner(trusted_key, settings).signature_for(module);
    const core::SignerMatch match = core::match_signer(trust, core::parse_signed_data(good).signer);
    CHECK(match.outcome == core::SignerTrust::trusted);
    REQUIRE(match.certificate != nullptr);
    CHECK(match.certificate->der == trusted_key->certificate);

    const Bytes bad = core::ModuleSigner(other_key, settings).signature_for(module);
    CHECK(core::match_signer(trust, core::parse_signed_data(bad).signer).outcome ==
          core::SignerTrust::unknown);
  }
}
