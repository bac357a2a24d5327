// SPDX-License-Identifier: MIT
// The one verdict of core/trust_basis: modules signed with the testbed's real keys judged by the
// /proc/keys that kernel wrote (tests/data/proc-keys), by Debian's kernel with UEFI db in
// .platform, by an installed kernel's image and by the files on disk when it has none.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/kernel_image.hpp"
#include "core/keyrings.hpp"
#include "core/module_signer.hpp"
#include "core/trust_basis.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

using namespace ksign;
using core::ModuleVerdict;
using core::PlatformFallback;
using core::RunningOutcome;
using core::SystemKeyring;
using core::TrustBasis;
using core::Verdict;

namespace fs = std::filesystem;

namespace {

core::PlatformFallbackProbe fallback(PlatformFallback value)
{
  core::PlatformFallbackProbe probe;
  probe.fallback = value;
  probe.evidence = core::FallbackEvidence::calls_counted;
  return probe;
}

// A testbed key: its private key (PEM) and certificate (DER).
std::shared_ptr<const core::SigningKey> testbed_key(const fs::path& bed, const std::string& name)
{
  core::SigningKey key;
  const std::string pem = test::read_text(bed / "keys" / (name + ".pem"));
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  key.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(key.key);
  key.certificate = test::certificates_der(bed / "keys" / (name + ".der")).at(0);
  key.type = EVP_PKEY_base_id(key.key.get()) == EVP_PKEY_RSA ? core::KeyType::rsa : core::KeyType::ec;
  return std::make_shared<const core::SigningKey>(std::move(key));
}

// A key whose certificate's subjectKeyIdentifier is `skid` (hex): a module it signs by key id
// names the signer a recorded kernel holds, though ksign has no such private key.
std::shared_ptr<const core::SigningKey> key_named_by(const std::string& skid)
{
  core::SigningKey key = test::make_key(core::KeyType::ec, "stand-in");
  const X509Ptr certificate = core::parse_certificate(key.certificate);
  X509* cert = certificate.get();
  const int at = X509_get_ext_by_NID(cert, NID_subject_key_identifier, -1);
  REQUIRE(at >= 0);
  X509_EXTENSION_free(X509_delete_ext(cert, at));
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_key_identifier, skid.c_str());
  REQUIRE(extension != nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  REQUIRE(X509_sign(cert, key.key.get(), EVP_sha256()) != 0);
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  key.certificate.assign(der, der + length);
  OPENSSL_free(der);
  return std::make_shared<const core::SigningKey>(std::move(key));
}

Bytes signed_module(const std::shared_ptr<const core::SigningKey>& key, core::SignerIdKind id)
{
  core::SignSettings settings;
  settings.signer_id = id;
  return core::ModuleSigner(key, settings).sign_image(test::sample_module());
}

} // namespace

TEST_CASE("trust_basis: verdicts by the 6.12 testbed's recorded keyrings", "[trust_basis][keyrings]")
{
  std::string why;
  const auto bed = test::testbed_6(why);
  if (!bed) {
    KSIGN_SKIP(why);
  }
  core::RunningKeys keys = test::recorded_keyrings("testbed-6.12.117.txt");
  core::PlatformFallbackProbe none;
  none.fallback = PlatformFallback::unused;
  none.evidence = core::FallbackEvidence::no_platform_keyring;
  TrustBasis basis = TrustBasis::keyrings(keys, none, true, test::search_denied);
  REQUIRE(basis.source == TrustBasis::Source::running);
  REQUIRE(basis.running);
  CHECK(basis.running->problem == core::KeyringsProblem::none);
  CHECK(basis.running->held_keys().counted.size() == 3);
  CHECK(basis.running->held_keys().platform_apart.empty());

  const auto rsa = testbed_key(*bed, "trusted-rsa");
  const auto untrusted = testbed_key(*bed, "untrusted-ec");

  // Signed by key id: the /proc/keys line shows it, builtin holds it.
  const ModuleVerdict ok = basis.verify_bytes(signed_module(rsa, core::SignerIdKind::subject_key_id));
  CHECK(ok.loads());
  CHECK(ok.verification.verdict == Verdict::ok);
  CHECK(ok.verification.signer == "ksign testbed: testbed trusted RSA-4096");
  REQUIRE(ok.running);
  CHECK(ok.running->outcome == RunningOutcome::trusted);
  CHECK(ok.running->keyring == std::optional<SystemKeyring>(SystemKeyring::builtin));
  CHECK_FALSE(ok.platform_only());

  // A key the kernel does not hold: an unknown key, whatever the module's own checks said.
  const ModuleVerdict stranger = basis.verify_bytes(signed_module(untrusted, core::SignerIdKind::subject_key_id));
  CHECK_FALSE(stranger.loads());
  CHECK(stranger.verification.verdict == Verdict::unknown_key);
  REQUIRE(stranger.running);
  CHECK(stranger.running->outcome == RunningOutcome::absent);
  CHECK(stranger.running->unconfirmed == nullptr);

  // Signed by issuer and serial (sign-file's default): the line shows the SKID, so the key that
  // bears the issuer's name cannot be confirmed...
  const Bytes by_serial = signed_module(rsa, core::SignerIdKind::issuer_and_serial);
  const ModuleVerdict unconfirmed = basis.verify_bytes(by_serial);
  CHECK(unconfirmed.verification.verdict == Verdict::unknown_key);
  REQUIRE(unconfirmed.running);
  CHECK(unconfirmed.running->outcome == RunningOutcome::absent);
  REQUIRE(unconfirmed.running->unconfirmed != nullptr);
  CHECK(unconfirmed.running->unconfirmed_in == std::optional<SystemKeyring>(SystemKeyring::builtin));
  // ...until the image's certificates, the same keys by description, tell the serial.
  keys.certificates = core::read_kernel_trust(core::KernelImageSources{*bed / "vmlinux", std::nullopt}).certificates;
  const TrustBasis with_image = TrustBasis::keyrings(keys, none, true, test::search_denied);
  CHECK(with_image.verify_bytes(by_serial).loads());

  // The module's own faults come first; the keyrings are not asked.
  const ModuleVerdict bare = basis.verify_bytes(test::sample_module());
  CHECK(bare.verification.verdict == Verdict::unsigned_module);
  CHECK_FALSE(bare.running);
}

TEST_CASE("trust_basis: verdicts by Debian's recorded keyrings with UEFI db in .platform", "[trust_basis][keyrings]")
{
  const core::RunningKeys keys =
    test::recorded_keyrings("debian-6.12.117+deb12-amd64-uefi-db.txt", "debian-6.12.117+deb12-amd64-uefi-db.members");
  // Microsoft Corporation UEFI CA 2011, which db (so .platform) holds, and the build key (builtin).
  const Bytes uefi_ca = signed_module(key_named_by("13ADBF4309BD82709C8CD54F316ED522988A1BD4"), core::SignerIdKind::subject_key_id);
  const Bytes build = signed_module(key_named_by("F8737D2B0CB3ACD10F915583DFB07A29DB3F1982"), core::SignerIdKind::subject_key_id);

  // A kernel that uses .platform for modules (the distributions' patch): the module loads.
  const TrustBasis patched = TrustBasis::keyrings(keys, fallback(PlatformFallback::used), true, test::search_denied);
  CHECK(patched.running->problem == core::KeyringsProblem::none);
  const ModuleVerdict loads = patched.verify_bytes(uefi_ca);
  CHECK(loads.loads());
  REQUIRE(loads.running);
  CHECK(loads.running->keyring == std::optional<SystemKeyring>(SystemKeyring::platform));
  CHECK(loads.verification.signer == "Microsoft Corporation UEFI CA 2011");
  CHECK(patched.running->held_keys().platform_apart.empty());
  CHECK(patched.running->held_keys().counted.size() == 3);

  // Mainline: .platform does not count, the module is refused, and .platform's keys are apart.
  const TrustBasis mainline = TrustBasis::keyrings(keys, fallback(PlatformFallback::unused), true, test::search_denied);
  const ModuleVerdict refused = mainline.verify_bytes(uefi_ca);
  CHECK_FALSE(refused.loads());
  CHECK(refused.verification.verdict == Verdict::unknown_key);
  CHECK(refused.running->outcome == RunningOutcome::platform_refused);
  CHECK_FALSE(refused.platform_only());
  CHECK(mainline.running->held_keys().platform_apart.size() == 2);
  CHECK(mainline.running->held_keys().counted.size() == 1);

  // Unknown which: neither ok nor a plain unknown key.
  const TrustBasis unsure = TrustBasis::keyrings(keys, fallback(PlatformFallback::unknown), true, test::search_denied);
  const ModuleVerdict undecided = unsure.verify_bytes(uefi_ca);
  CHECK_FALSE(undecided.loads());
  CHECK(undecided.verification.verdict == Verdict::unknown_key);
  CHECK(undecided.platform_only());

  // The build key loads on all three, found through .secondary_trusted_keys, held by builtin.
  for (const TrustBasis* basis : {&patched, &mainline, &unsure}) {
    const ModuleVerdict own = basis->verify_bytes(build);
    CHECK(own.loads());
    CHECK(own.running->keyring == std::optional<SystemKeyring>(SystemKeyring::secondary));
    CHECK(own.running->held_by == std::optional<SystemKeyring>(SystemKeyring::builtin));
  }
}

TEST_CASE("trust_basis: why recorded keyrings cannot decide", "[trust_basis][keyrings]")
{
  // The development VM's kernel: an empty builtin keyring.
  CHECK(core::keyrings_problem(test::recorded_keyrings("this-vm-6.18.44.txt"), true) == core::KeyringsProblem::no_keys);
  CHECK(core::keyrings_problem(test::recorded_keyrings("testbed-7.2.13.txt"), true) == core::KeyringsProblem::none);
  // What a normal user sees of the same kernels: no system keyrings at all.
  CHECK(core::keyrings_problem(core::RunningKeys{}, false) == core::KeyringsProblem::not_visible);
  CHECK(core::keyrings_problem(core::RunningKeys{}, true) == core::KeyringsProblem::no_keyrings);
  core::RunningKeys hidden = test::recorded_keyrings("testbed-6.12.117.txt");
  hidden.keyrings.front().members.reset();
  CHECK(core::keyrings_problem(hidden, true) == core::KeyringsProblem::members_hidden);
}

TEST_CASE("trust_basis: an installed kernel, by its image or by the files on disk", "[trust_basis]")
{
  std::string why;
  const auto bed = test::testbed_6(why);
  if (!bed) {
    KSIGN_SKIP(why);
  }
  const test::TempDir moduledir;
  const test::TempDir boot;
  const auto ec_key = testbed_key(*bed, "trusted-ec");
  const auto untrusted = testbed_key(*bed, "untrusted-ec");

  // With its build tree's vmlinux and .config: the image's lists and the config's rules decide.
  fs::create_directories(moduledir.path() / "6.12.117-image" / "build");
  fs::create_symlink(*bed / "vmlinux", moduledir.path() / "6.12.117-image" / "build" / "vmlinux");
  fs::copy_file(*bed / "config", moduledir.path() / "6.12.117-image" / "build" / ".config");
  const TrustBasis image = TrustBasis::installed_kernel(moduledir.path(), "6.12.117-image", boot.path());
  CHECK(image.source == TrustBasis::Source::image);
  CHECK(image.release == "6.12.117-image");
  REQUIRE(image.image);
  CHECK(image.certificates.size() == 3);
  CHECK(std::ranges::all_of(image.certificates, [](const core::TrustedCertificate& c) {
    return c.origin == core::TrustOrigin::image;
  }));
  REQUIRE_FALSE(image.notes.empty());
  CHECK(image.notes.front().kind == core::TrustNote::Kind::image_read);
  CHECK(image.rules.mldsa_authattrs_waiver == std::optional<bool>(false));
  CHECK(image.verify_bytes(signed_module(ec_key, core::SignerIdKind::issuer_and_serial)).loads());
  CHECK(image.verify_bytes(signed_module(untrusted, core::SignerIdKind::issuer_and_serial)).verification.verdict ==
        Verdict::unknown_key);

  // A file besides (--cert): trusted too, after the image's.
  const fs::path extra = *bed / "keys" / "untrusted-ec.der";
  const TrustBasis with_extra = TrustBasis::installed_kernel(moduledir.path(), "6.12.117-image", boot.path(),
                                                             std::span(&extra, 1));
  REQUIRE(with_extra.certificates.size() == 4);
  CHECK(with_extra.certificates.back().origin == core::TrustOrigin::extra_file);
  CHECK(with_extra.verify_bytes(signed_module(untrusted, core::SignerIdKind::issuer_and_serial)).loads());

  // No image: its build key on disk is a guess, and said to be one.
  fs::create_directories(moduledir.path() / "6.12.117-bare" / "build" / "certs");
  fs::copy_file(*bed / "keys" / "untrusted-ec.der", moduledir.path() / "6.12.117-bare" / "build" / "certs" / "signing_key.x509");
  const TrustBasis guessed = TrustBasis::installed_kernel(moduledir.path(), "6.12.117-bare", boot.path());
  CHECK(guessed.source == TrustBasis::Source::guessed);
  CHECK_FALSE(guessed.image);
  REQUIRE(guessed.certificates.size() == 1);
  CHECK(guessed.certificates[0].origin == core::TrustOrigin::guess);
  std::vector<core::TrustNote::Kind> kinds;
  std::ranges::transform(guessed.notes, std::back_inserter(kinds), &core::TrustNote::kind);
  CHECK(kinds == std::vector<core::TrustNote::Kind>{core::TrustNote::Kind::no_image, core::TrustNote::Kind::guessed_file});
  CHECK(guessed.verify_bytes(signed_module(untrusted, core::SignerIdKind::issuer_and_serial)).loads());
  CHECK_FALSE(guessed.rules.mldsa_authattrs_waiver);

  // Nothing at all: said so, and every signed module is an unknown key.
  fs::create_directories(moduledir.path() / "6.12.117-empty");
  const TrustBasis empty = TrustBasis::installed_kernel(moduledir.path(), "6.12.117-empty", boot.path());
  CHECK(empty.certificates.empty());
  REQUIRE_FALSE(empty.notes.empty());
  CHECK(empty.notes.back().kind == core::TrustNote::Kind::trusts_nothing);
  CHECK(empty.verify_bytes(signed_module(ec_key, core::SignerIdKind::issuer_and_serial)).verification.verdict ==
        Verdict::unknown_key);

  CHECK_THROWS_AS(TrustBasis::installed_kernel(moduledir.path(), "6.12.117-missing", boot.path()), Error);

  // A module file that cannot be read is a verdict too, not an exception.
  const ModuleVerdict missing = image.verify(moduledir.path() / "no-such.ko");
  CHECK(missing.unreadable);
  CHECK_FALSE(missing.loads());
  CHECK(missing.path == moduledir.path() / "no-such.ko");
}

TEST_CASE("trust_basis: certificate files alone", "[trust_basis]")
{
  const auto key = test::shared_key(test::make_key(core::KeyType::ec, "given"));
  const test::TempDir dir;
  test::write_text(dir.path() / "given.pem", test::certificate_pem(*key));
  const fs::path file = dir.path() / "given.pem";
  const TrustBasis basis = TrustBasis::certificate_files(std::span(&file, 1));
  CHECK(basis.source == TrustBasis::Source::certificates);
  REQUIRE(basis.certificates.size() == 1);
  CHECK(basis.certificates[0].origin == core::TrustOrigin::given_file);
  CHECK(basis.certificates[0].file == file);
  CHECK(basis.notes.empty());
  const ModuleVerdict ok = basis.verify_bytes(signed_module(key, core::SignerIdKind::issuer_and_serial));
  CHECK(ok.loads());
  CHECK_FALSE(ok.running);
}
