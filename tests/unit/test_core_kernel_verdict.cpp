// SPDX-License-Identifier: MIT
// Module verdicts by a kernel image's own lists (core/kernel_verdict): which certificates the
// kernel loads, and how its revocation list and blacklist change verify_module's verdict. Real
// keys and certificates (OpenSSL) and the repository's sample module, signed by ModuleSigner.
#include "catch.hpp"
#include "test_support.hpp"

#include "core/kernel_certificate.hpp"
#include "core/kernel_image.hpp"
#include "core/kernel_verdict.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "core/signer_match.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;

namespace {

// A kernel whose system_certificate_list holds `listed`, with an empty blacklist and
// revocation list (what an image read by its symbols has when it has none).
using Key = std::shared_ptr<const SigningKey>;

Key new_key(KeyType type, const std::string& common_name)
{
  return test::shared_key(test::make_key(type, common_name));
}

KernelTrust kernel_trusting(const std::vector<Key>& listed)
{
  KernelTrust trust;
  trust.method = TrustMethod::symbols;
  for (const Key& key : listed) {
    trust.certificates.push_back(kernel_certificate(key->certificate));
  }
  trust.blacklist_hashes.emplace();
  trust.revocation_certificates.emplace();
  return trust;
}

Bytes signed_by(const Key& key, SignerIdKind signer_id = SignerIdKind::issuer_and_serial)
{
  SignSettings settings;
  settings.signer_id = signer_id;
  return ModuleSigner(key, settings).sign_image(test::sample_module());
}

} // namespace

TEST_CASE("core::loaded_keys: the list's certificates, less the blacklisted and the unreadable", "[kernel_verdict]")
{
  const Key a = new_key(KeyType::ec, "kernel key a");
  const Key b = new_key(KeyType::rsa, "kernel key b");
  const Bytes module_a = signed_by(a);
  const Bytes module_b = signed_by(b);

  KernelTrust trust = kernel_trusting({a, b});
  const TrustedKeys all = loaded_keys(trust);
  CHECK(verify_module(module_a, all).verdict == Verdict::ok);
  CHECK(verify_module(module_b, all).verdict == Verdict::ok);

  SECTION("a blacklisted certificate is not loaded; the others are")
  {
    trust.blacklist_hashes->push_back("tbs:" + trust.certificates[0].tbs_sha256);
    const TrustedKeys loaded = loaded_keys(trust);
    CHECK(verify_module(module_a, loaded).verdict == Verdict::unknown_key);
    CHECK(verify_module(module_b, loaded).verdict == Verdict::ok);
  }
  SECTION("an unknown blacklist (after a scan) leaves out nothing")
  {
    trust.method = TrustMethod::scan;
    trust.blacklist_hashes.reset();
    const TrustedKeys loaded = loaded_keys(trust);
    CHECK(verify_module(module_a, loaded).verdict == Verdict::ok);
    CHECK(verify_module(module_b, loaded).verdict == Verdict::ok);
  }
  SECTION("a certificate OpenSSL cannot read is left out, not an error")
  {
    trust.certificates[1].der.resize(trust.certificates[1].der.size() / 2);
    TrustedKeys loaded;
    REQUIRE_NOTHROW(loaded = loaded_keys(trust));
    CHECK(verify_module(module_a, loaded).verdict == Verdict::ok);
    CHECK(verify_module(module_b, loaded).verdict == Verdict::unknown_key);
  }
}

TEST_CASE("core::verify_module_for_kernel applies the kernel's revocation list and blacklist", "[kernel_verdict]")
{
  const Key trusted = new_key(KeyType::ec, "kernel key");
  const Key other = new_key(KeyType::ec, "other key");
  const Key stranger = new_key(KeyType::ec, "stranger");
  const Bytes by_trusted = signed_by(trusted);
  KernelTrust trust = kernel_trusting({trusted, other});

  SECTION("a listed signer is ok; a stranger and an unsigned module keep verify_module's verdict")
  {
    const TrustedKeys loaded = loaded_keys(trust);
    const Verification ok = verify_module_for_kernel(by_trusted, trust, loaded);
    CHECK(ok.verdict == Verdict::ok);
    CHECK(ok.signer == "kernel key");
    CHECK(ok.problem.empty());

    const Bytes by_stranger = signed_by(stranger);
    const Verification unknown = verify_module_for_kernel(by_stranger, trust, loaded);
    const Verification plain = verify_module(by_stranger, loaded);
    CHECK(unknown.verdict == Verdict::unknown_key);
    CHECK(unknown.problem == plain.problem);
    CHECK_THAT(unknown.problem, !KSIGN_CONTAINS("revocation") && !KSIGN_CONTAINS("blacklisted"));

    const Verification unsigned_module = verify_module_for_kernel(test::sample_module(), trust, loaded);
    CHECK(unsigned_module.verdict == Verdict::unsigned_module);
  }
  SECTION("a signer on the revocation list is refused although its key is loaded")
  {
    trust.revocation_certificates->push_back(kernel_certificate(trusted->certificate, CertificateOrigin::revocation));
    const TrustedKeys loaded = loaded_keys(trust);
    REQUIRE(verify_module(by_trusted, loaded).verdict == Verdict::ok); // the list alone trusts it
    for (const SignerIdKind kind : {SignerIdKind::issuer_and_serial, SignerIdKind::subject_key_id}) {
      const Verification revoked = verify_module_for_kernel(signed_by(trusted, kind), trust, loaded);
      CHECK(revoked.verdict == Verdict::unknown_key);
      CHECK(revoked.problem == "the kernel's revocation list holds the signer's certificate");
    }
    // Another listed key is untouched.
    CHECK(verify_module_for_kernel(signed_by(other), trust, loaded).verdict == Verdict::ok);
  }
  SECTION("a blacklisted signer: unknown key, and the problem names the blacklist entry")
  {
    const std::string entry = "tbs:" + trust.certificates[0].tbs_sha256;
    trust.blacklist_hashes->push_back(entry);
    const TrustedKeys loaded = loaded_keys(trust);
    for (const SignerIdKind kind : {SignerIdKind::issuer_and_serial, SignerIdKind::subject_key_id}) {
      const Verification blacklisted = verify_module_for_kernel(signed_by(trusted, kind), trust, loaded);
      CHECK(blacklisted.verdict == Verdict::unknown_key);
      CHECK(blacklisted.problem
            == "the signer's certificate is in the kernel's list but blacklisted (" + entry + ")");
    }
  }
  SECTION("a broken signature stays a broken signature, whoever signed it")
  {
    trust.revocation_certificates->push_back(kernel_certificate(trusted->certificate, CertificateOrigin::revocation));
    const TrustedKeys loaded = loaded_keys(trust);
    Bytes tampered = by_trusted;
    tampered[100] ^= 0x01;
    const Verification broken = verify_module_for_kernel(tampered, trust, loaded);
    CHECK(broken.verdict == Verdict::bad_signature);
    CHECK(broken.problem != "the kernel's revocation list holds the signer's certificate");
  }
  SECTION("the verdict is by `loaded`: keys left out of it are unknown even when listed")
  {
    const TrustedKeys none;
    const Verification unknown = verify_module_for_kernel(by_trusted, trust, none);
    CHECK(unknown.verdict == Verdict::unknown_key);
    CHECK(unknown.problem == verify_module(by_trusted, none).problem);
  }
}

TEST_CASE("core::certificate_trust: would the kernel accept modules signed with this certificate's key",
          "[kernel_verdict]")
{
  const Key listed = new_key(KeyType::rsa, "listed");
  const Key stranger = new_key(KeyType::ec, "stranger");
  KernelTrust trust = kernel_trusting({listed});

  CHECK(certificate_trust(trust, listed->certificate) == SignerTrust::trusted);
  CHECK(certificate_trust(trust, stranger->certificate) == SignerTrust::unknown);

  KernelTrust blacklisting = trust;
  blacklisting.blacklist_hashes->push_back("tbs:" + blacklisting.certificates[0].tbs_sha256);
  CHECK(certificate_trust(blacklisting, listed->certificate) == SignerTrust::blacklisted);

  KernelTrust revoking = trust;
  revoking.revocation_certificates->push_back(kernel_certificate(listed->certificate, CertificateOrigin::revocation));
  CHECK(certificate_trust(revoking, listed->certificate) == SignerTrust::revoked);
  // A revocation certificate for a key the list does not hold still refuses it.
  revoking.revocation_certificates->push_back(kernel_certificate(stranger->certificate, CertificateOrigin::revocation));
  CHECK(certificate_trust(revoking, stranger->certificate) == SignerTrust::revoked);
}
