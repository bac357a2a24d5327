// SPDX-License-Identifier: MIT
// /proc/keys as real kernels wrote it (tests/data/proc-keys: the testbeds and Debian's kernel
// booted in qemu, and this machine), and the running kernel itself: keys added to a keyring of
// the test's own are looked up with keyctl by the ids ksign computes.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/cms.hpp"
#include "core/kernel_image.hpp"
#include "core/keyrings.hpp"
#include "core/signer_match.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/openssl.hpp"

#include <linux/keyctl.h>
#include <openssl/x509v3.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

using namespace ksign;
using core::PlatformFallback;
using core::RunningOutcome;
using core::SystemKeyring;

namespace {

core::ProcKeys recorded(const std::string& name)
{
  return core::parse_proc_keys(test::read_text(test::test_data() / "proc-keys" / name));
}

const core::ProcKeyring* keyring_named(const core::ProcKeys& keys, const std::string& name)
{
  const auto it = std::ranges::find(keys.keyrings, name, &core::ProcKeyring::name);
  return it == keys.keyrings.end() ? nullptr : &*it;
}

// A self-signed certificate with the given subject O and CN (either may be empty) and a SKID.
Bytes certificate_with(const std::string& organization, const std::string& common_name)
{
  // RSA: every kernel with asymmetric keys has it (this machine's has no ECDSA: ENOENT).
  const EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  REQUIRE(key);
  const X509Ptr certificate(X509_new());
  X509* cert = certificate.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 0x5a5a01);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  // A name of our own (OpenSSL 4 makes X509_get_subject_name's result const).
  const std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME_free>> name(X509_NAME_new());
  const auto add = [&](const char* field, const std::string& value) {
    if (!value.empty()) {
      X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
    }
  };
  add("O", organization);
  add("CN", common_name);
  X509_set_subject_name(cert, name.get());
  X509_set_issuer_name(cert, name.get());
  X509_set_pubkey(cert, key.get());
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, NID_subject_key_identifier, "hash");
  REQUIRE(extension != nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  REQUIRE(X509_sign(cert, key.get(), EVP_sha256()) != 0);
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

core::SignerReference issuer_serial_of(const Bytes& der)
{
  return core::signer_reference(core::signer_identity(der), core::SignerIdKind::issuer_and_serial);
}

core::SignerReference key_id_of(const Bytes& der)
{
  return core::signer_reference(core::signer_identity(der), core::SignerIdKind::subject_key_id);
}

// A keyring of the test's own, invalidated at the end.
class TestKeyring
{
public:
  // Names differ: adding a keyring named like one already linked would replace that one.
  explicit TestKeyring(const char* name = "ksign-unit-test")
  {
    m_serial = ::syscall(SYS_add_key, "keyring", name, nullptr, 0, KEY_SPEC_PROCESS_KEYRING);
    m_errno = m_serial < 0 ? errno : 0;
  }
  ~TestKeyring()
  {
    if (m_serial >= 0) {
      ::syscall(SYS_keyctl, KEYCTL_INVALIDATE, m_serial);
    }
  }
  TestKeyring(const TestKeyring&) = delete;
  TestKeyring& operator=(const TestKeyring&) = delete;

  [[nodiscard]] bool usable() const { return m_serial >= 0; }
  [[nodiscard]] int error() const { return m_errno; }
  [[nodiscard]] std::uint32_t serial() const { return static_cast<std::uint32_t>(m_serial); }

  // The serial of the asymmetric key the kernel makes of `der`, or -errno.
  long add_certificate(const Bytes& der) const
  {
    const long key = ::syscall(SYS_add_key, "asymmetric", nullptr, der.data(), der.size(), m_serial);
    return key < 0 ? -errno : key;
  }

private:
  long m_serial = -1;
  int m_errno = 0;
};

} // namespace

TEST_CASE("keyrings: /proc/keys of the 6.12 testbed", "[keyrings]")
{
  const core::ProcKeys keys = recorded("testbed-6.12.117.txt");
  const core::ProcKeyring* builtin = keyring_named(keys, ".builtin_trusted_keys");
  REQUIRE(builtin != nullptr);
  CHECK(builtin->serial == 0x2df555e8);
  CHECK(builtin->count == 3);
  CHECK(keyring_named(keys, ".secondary_trusted_keys") == nullptr);
  REQUIRE(keys.keys.size() == 3);
  const auto key = std::ranges::find(keys.keys, std::uint32_t{0x0a14488b}, &core::ProcAsymmetricKey::serial);
  REQUIRE(key != keys.keys.end());
  CHECK(key->subject == "ksign testbed: testbed trusted RSA-4096");
  CHECK(key->key_id == "9f65cd414b7ab48c63b1604b14415fe8bb6f727a");
  CHECK(key->algorithm == "X509.rsa");
  CHECK(key->description == "ksign testbed: testbed trusted RSA-4096: 9f65cd414b7ab48c63b1604b14415fe8bb6f727a");
  const auto build = std::ranges::find(keys.keys, std::string("Build time autogenerated kernel key"),
                                       &core::ProcAsymmetricKey::subject);
  REQUIRE(build != keys.keys.end());
  CHECK(build->algorithm == "X509.ecdsa-nist-p384");
}

TEST_CASE("keyrings: /proc/keys of 7.2 (ML-DSA) and of Debian's 6.12 kernel", "[keyrings]")
{
  const core::ProcKeys seven = recorded("testbed-7.2.13.txt");
  REQUIRE(keyring_named(seven, ".builtin_trusted_keys") != nullptr);
  CHECK(keyring_named(seven, ".builtin_trusted_keys")->count == 6);
  CHECK(seven.keys.size() == 6);
  CHECK(std::ranges::count(seven.keys, std::string("X509.mldsa65"), &core::ProcAsymmetricKey::algorithm) == 2);

  // Debian: secondary (linking builtin and machine), machine, platform and blacklist keyrings.
  const core::ProcKeys debian = recorded("debian-6.12.117+deb12-amd64.txt");
  for (const char* name : {".builtin_trusted_keys", ".secondary_trusted_keys", ".machine", ".platform", ".blacklist"}) {
    CHECK(keyring_named(debian, name) != nullptr);
  }
  CHECK(keyring_named(debian, ".secondary_trusted_keys")->count == 2);
  CHECK(keyring_named(debian, ".machine")->count == 0);
  CHECK(keyring_named(debian, ".blacklist")->count == 0);
  REQUIRE(debian.keys.size() == 1); // the "user" key opal-boot-pin is not asymmetric
  CHECK(debian.keys[0].subject == "Build time autogenerated kernel key");
  CHECK(debian.keys[0].key_id == "f8737d2b0cb3acd10f915583dfb07a29db3f1982");
}

TEST_CASE("keyrings: /proc/keys of this machine, and lines that are not /proc/keys", "[keyrings]")
{
  const core::ProcKeys here = recorded("this-vm-6.18.44.txt");
  REQUIRE(keyring_named(here, ".builtin_trusted_keys") != nullptr);
  CHECK(keyring_named(here, ".builtin_trusted_keys")->count == 0);
  CHECK(here.keys.empty());

  CHECK(core::parse_proc_keys("").keys.empty());
  CHECK_THROWS_AS(core::parse_proc_keys("hello world\n"), Error);
  CHECK_THROWS_WITH(core::parse_proc_keys("0305c0c5 I------     1 perm 1f030000     0     0 asymmetri A: 00\nbad\n"),
                    KSIGN_CONTAINS("line 2"));
}

TEST_CASE("keyrings: sig_enforce and lockdown", "[keyrings]")
{
  CHECK(core::parse_sig_enforce("Y\n") == std::optional<bool>(true));
  CHECK(core::parse_sig_enforce("N\n") == std::optional<bool>(false));
  CHECK_FALSE(core::parse_sig_enforce("maybe").has_value());
  CHECK(core::parse_lockdown("[none] integrity confidentiality\n") == std::optional<std::string>("none"));
  CHECK(core::parse_lockdown("none [integrity] confidentiality\n") == std::optional<std::string>("integrity"));
  CHECK_FALSE(core::parse_lockdown("").has_value());
  test::TempDir dir;
  CHECK_FALSE(core::read_sig_enforce(dir.path() / "missing").has_value());
  test::write_text(dir.path() / "sig_enforce", "Y\n");
  CHECK(core::read_sig_enforce(dir.path() / "sig_enforce") == std::optional<bool>(true));
}

TEST_CASE("keyrings: the running kernel's keyrings", "[keyrings]")
{
  if (!std::filesystem::exists("/proc/keys")) {
    KSIGN_SKIP("no /proc/keys (kernel without CONFIG_KEYS)");
  }
  const core::RunningKeys running = core::read_running_keys();
  const core::ProcKeys parsed = core::parse_proc_keys(test::read_text("/proc/keys"));
  for (const core::RunningKeyring& keyring : running.keyrings) {
    const core::ProcKeyring* line = keyring_named(parsed, std::string(core::system_keyring_name(keyring.which)));
    REQUIRE(line != nullptr);
    CHECK(line->serial == keyring.serial);
    if (::geteuid() == 0) {
      // Root may read the system keyrings: the members are as many as the line counts.
      REQUIRE(keyring.members.has_value());
      CHECK(keyring.members->size() == keyring.count);
    }
  }
}

TEST_CASE("keyrings: the kernel finds keys by the ids ksign computes, and names them as ksign does", "[keyrings]")
{
  TestKeyring keyring;
  if (!keyring.usable()) {
    KSIGN_SKIP(std::string("cannot make a keyring here (keyctl blocked?): ") + std::strerror(keyring.error()));
  }
  const std::vector<std::pair<std::string, std::string>> names = {
    {"", "Plain CN"},                       // CN alone
    {"Example Org", "Signing key"},         // "O: CN"
    {"Example Org", "Example Org key"},     // CN starts with O: CN alone
    {"Examples Inc", "Example Org key"},    // first 7 characters shared: CN alone
    {"Only Organization", ""},              // O alone
  };
  std::vector<Bytes> added;
  for (const auto& [organization, common_name] : names) {
    const Bytes der = certificate_with(organization, common_name);
    const long key = keyring.add_certificate(der);
    if (key == -ENODEV || key == -ENOPKG || key == -EBADMSG || key == -ENOENT) {
      KSIGN_SKIP(std::string("this kernel cannot load X.509 RSA keys: ") + std::strerror(static_cast<int>(-key)));
    }
    REQUIRE(key > 0);
    added.push_back(der);
    const auto by_issuer = core::search_keyring(keyring.serial(), issuer_serial_of(der));
    const auto by_key_id = core::search_keyring(keyring.serial(), key_id_of(der));
    CHECK(by_issuer == std::optional<std::uint32_t>(static_cast<std::uint32_t>(key)));
    CHECK(by_key_id == std::optional<std::uint32_t>(static_cast<std::uint32_t>(key)));
    // /proc/keys shows the key under the name ksign predicts.
    const core::ProcKeys visible = core::parse_proc_keys(test::read_text("/proc/keys"));
    const auto line = std::ranges::find(visible.keys, static_cast<std::uint32_t>(key), &core::ProcAsymmetricKey::serial);
    REQUIRE(line != visible.keys.end());
    CHECK(line->description == core::kernel_key_description(core::kernel_certificate(der)));
    CHECK(line->algorithm == "X509.rsa");
  }
  const auto members = core::keyring_members(keyring.serial());
  REQUIRE(members.has_value());
  CHECK(members->size() == added.size());

  // A certificate not in the keyring, and one whose issuer differs by a byte, are not found.
  const Bytes stranger = certificate_with("", "Stranger");
  CHECK_FALSE(core::search_keyring(keyring.serial(), issuer_serial_of(stranger)).has_value());
  CHECK_FALSE(core::search_keyring(keyring.serial(), key_id_of(stranger)).has_value());
  core::SignerReference wrong_issuer = issuer_serial_of(added[0]);
  wrong_issuer.identity.issuer = issuer_serial_of(stranger).identity.issuer;
  CHECK_FALSE(core::search_keyring(keyring.serial(), wrong_issuer).has_value());
}

TEST_CASE("keyrings: the order the kernel searches: revocation, secondary (or builtin), platform", "[keyrings]")
{
  TestKeyring trusted("ksign-unit-trusted");
  TestKeyring platform("ksign-unit-platform");
  TestKeyring revoked("ksign-unit-revoked");
  if (!trusted.usable() || !platform.usable() || !revoked.usable()) {
    KSIGN_SKIP(std::string("cannot make a keyring here (keyctl blocked?): ") + std::strerror(trusted.error()));
  }
  const Bytes mine = certificate_with("", "Trusted signer");
  const Bytes uefi = certificate_with("", "Platform signer");
  const Bytes bad = certificate_with("", "Revoked signer");
  const long mine_key = trusted.add_certificate(mine);
  if (mine_key == -ENODEV || mine_key == -ENOPKG || mine_key == -EBADMSG || mine_key == -ENOENT) {
    KSIGN_SKIP(std::string("this kernel cannot load X.509 RSA keys: ") + std::strerror(static_cast<int>(-mine_key)));
  }
  REQUIRE(mine_key > 0);
  REQUIRE(platform.add_certificate(uefi) > 0);
  REQUIRE(revoked.add_certificate(bad) > 0);
  REQUIRE(trusted.add_certificate(bad) > 0); // trusted too, but revocation comes first

  // Our own keyrings stand in for the system ones: the kernel does the searching.
  core::RunningKeys keys;
  keys.keyrings = {
    {SystemKeyring::secondary, trusted.serial(), 2, core::keyring_members(trusted.serial())},
    {SystemKeyring::platform, platform.serial(), 1, core::keyring_members(platform.serial())},
    {SystemKeyring::blacklist, revoked.serial(), 1, core::keyring_members(revoked.serial())},
  };
  keys.keys = core::parse_proc_keys(test::read_text("/proc/keys")).keys;

  const core::RunningMatch direct = core::find_running_signer(keys, issuer_serial_of(mine), PlatformFallback::unknown);
  CHECK(direct.outcome == RunningOutcome::trusted);
  CHECK(direct.keyring == std::optional<SystemKeyring>(SystemKeyring::secondary));
  CHECK(direct.held_by == std::optional<SystemKeyring>(SystemKeyring::secondary));
  CHECK(direct.key == std::optional<std::uint32_t>(static_cast<std::uint32_t>(mine_key)));
  REQUIRE(direct.key_entry != nullptr);
  CHECK(direct.key_entry->subject == "Trusted signer");
  CHECK(keys.keys_in(SystemKeyring::secondary).size() == 2);

  // A signer only .platform holds: trusted only by a kernel that uses .platform for modules.
  const core::RunningMatch patched = core::find_running_signer(keys, key_id_of(uefi), PlatformFallback::used);
  CHECK(patched.outcome == RunningOutcome::trusted);
  CHECK(patched.keyring == std::optional<SystemKeyring>(SystemKeyring::platform));
  const core::RunningMatch mainline = core::find_running_signer(keys, key_id_of(uefi), PlatformFallback::unused);
  CHECK(mainline.outcome == RunningOutcome::platform_refused);
  CHECK(mainline.keyring == std::optional<SystemKeyring>(SystemKeyring::platform));
  REQUIRE(mainline.key_entry != nullptr);
  CHECK(mainline.key_entry->subject == "Platform signer");
  const core::RunningMatch unknown = core::find_running_signer(keys, key_id_of(uefi), PlatformFallback::unknown);
  CHECK(unknown.outcome == RunningOutcome::platform_undecided);

  const core::RunningMatch refused = core::find_running_signer(keys, issuer_serial_of(bad), PlatformFallback::used);
  CHECK(refused.outcome == RunningOutcome::revoked);
  CHECK(refused.keyring == std::optional<SystemKeyring>(SystemKeyring::blacklist));

  const core::RunningMatch none =
    core::find_running_signer(keys, key_id_of(certificate_with("", "Nobody")), PlatformFallback::used);
  CHECK(none.outcome == RunningOutcome::absent);
  CHECK_FALSE(none.keyring.has_value());
}

namespace {

// A recorded kernel: its /proc/keys and, beside it, what each system keyring linked
// ("<keyring serial>: <member serials>", read with KEYCTL_READ in the same boot).
struct RecordedKernel
{
  core::RunningKeys keys;
  std::map<std::uint32_t, std::vector<std::uint32_t>> links;
};

RecordedKernel recorded_kernel(const std::string& name, const std::string& members)
{
  RecordedKernel kernel;
  const core::ProcKeys parsed = recorded(name);
  kernel.keys.keys = parsed.keys;
  std::istringstream lines(test::read_text(test::test_data() / "proc-keys" / members));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string serial;
    words >> serial;
    std::vector<std::uint32_t>& linked = kernel.links[static_cast<std::uint32_t>(std::stoul(serial, nullptr, 16))];
    for (std::string member; words >> member;) {
      linked.push_back(static_cast<std::uint32_t>(std::stoul(member, nullptr, 16)));
    }
  }
  for (const core::ProcKeyring& keyring : parsed.keyrings) {
    if (const auto which = core::parse_system_keyring(keyring.name)) {
      kernel.keys.keyrings.push_back({*which, keyring.serial, keyring.count, kernel.links.at(keyring.serial)});
    }
  }
  return kernel;
}

// The DER Name "CN=<common_name>".
Bytes name_der(const std::string& common_name)
{
  const std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME_free>> name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  unsigned char* der = nullptr;
  const int length = i2d_X509_NAME(name.get(), &der);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

core::SignerReference skid(const std::string& hex)
{
  Bytes id;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    id.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return {core::SignerIdKind::subject_key_id, {{}, {}, id}};
}

} // namespace

TEST_CASE("keyrings: Debian's kernel booted with UEFI db keys in .platform (recorded)", "[keyrings][platform]")
{
  // Debian's 6.12 (the distributions' patch, CONFIG_INTEGRITY_PLATFORM_KEYRING=y) under OVMF with
  // Microsoft's keys enrolled: db's two certificates are in .platform, the build key in builtin.
  const RecordedKernel debian =
    recorded_kernel("debian-6.12.117+deb12-amd64-uefi-db.txt", "debian-6.12.117+deb12-amd64-uefi-db.members");
  const core::KeyringSearch search = test::search_denied;
  REQUIRE(debian.keys.find(SystemKeyring::platform) != nullptr);
  CHECK(debian.keys.find(SystemKeyring::platform)->count == 2);
  REQUIRE(debian.keys.keys_in(SystemKeyring::platform).size() == 2);
  CHECK(debian.keys.keys_in(SystemKeyring::platform)[0]->subject == "Microsoft Windows Production PCA 2011");

  const core::SignerReference microsoft = skid("13adbf4309bd82709c8cd54f316ed522988a1bd4"); // UEFI CA 2011
  const core::SignerReference build = skid("f8737d2b0cb3acd10f915583dfb07a29db3f1982");
  const core::SignerReference stranger = skid("0011223344556677889900112233445566778899");

  // This kernel uses .platform (its image has the second call): a module signed by the UEFI CA loads.
  const core::RunningMatch patched = core::find_running_signer(debian.keys, microsoft, PlatformFallback::used, search);
  CHECK(patched.outcome == RunningOutcome::trusted);
  CHECK(patched.keyring == std::optional<SystemKeyring>(SystemKeyring::platform));
  CHECK(patched.held_by == std::optional<SystemKeyring>(SystemKeyring::platform));
  REQUIRE(patched.key_entry != nullptr);
  CHECK(patched.key_entry->subject == "Microsoft Corporation UEFI CA 2011");

  // The same keyrings on a kernel that does not use .platform for modules (mainline with
  // CONFIG_INTEGRITY_PLATFORM_KEYRING, which loads db for kexec and IMA): refused.
  const core::RunningMatch mainline = core::find_running_signer(debian.keys, microsoft, PlatformFallback::unused, search);
  CHECK(mainline.outcome == RunningOutcome::platform_refused);
  CHECK(mainline.key == patched.key);
  // And where ksign cannot tell which kernel it is: neither ok nor an unknown key.
  CHECK(core::find_running_signer(debian.keys, microsoft, PlatformFallback::unknown, search).outcome ==
        RunningOutcome::platform_undecided);

  // A signer named by issuer and serial: /proc/keys shows the key's SKID, not its serial, so
  // the line cannot confirm it (the kernel's own search, where permitted, can).
  // A key bearing the issuer's name is named as such, not taken for the signer's.
  core::SignerReference by_serial{core::SignerIdKind::issuer_and_serial, {{0x30, 0x00}, {0x61, 0x0a, 0xd1, 0x88}, {}}};
  const core::RunningMatch nameless = core::find_running_signer(debian.keys, by_serial, PlatformFallback::used, search);
  CHECK(nameless.outcome == RunningOutcome::absent);
  CHECK(nameless.unconfirmed == nullptr);
  by_serial.identity.issuer = name_der("Build time autogenerated kernel key");
  const core::RunningMatch named = core::find_running_signer(debian.keys, by_serial, PlatformFallback::used, search);
  CHECK(named.outcome == RunningOutcome::absent);
  REQUIRE(named.unconfirmed != nullptr);
  CHECK(named.unconfirmed->key_id == "f8737d2b0cb3acd10f915583dfb07a29db3f1982");
  CHECK(named.unconfirmed_in == std::optional<SystemKeyring>(SystemKeyring::builtin));

  // The build key: secondary links builtin, which holds it, whatever .platform counts for.
  for (const PlatformFallback platform : {PlatformFallback::used, PlatformFallback::unused, PlatformFallback::unknown}) {
    const core::RunningMatch own = core::find_running_signer(debian.keys, build, platform, search);
    CHECK(own.outcome == RunningOutcome::trusted);
    CHECK(own.keyring == std::optional<SystemKeyring>(SystemKeyring::secondary));
    CHECK(own.held_by == std::optional<SystemKeyring>(SystemKeyring::builtin));
    CHECK(core::find_running_signer(debian.keys, stranger, platform, search).outcome == RunningOutcome::absent);
  }
}

TEST_CASE("keyrings: the 6.12 testbed (no .platform keyring, recorded)", "[keyrings][platform]")
{
  // The testbed's keys are all in builtin (its count); it has no secondary and no .platform.
  const core::ProcKeys parsed = recorded("testbed-6.12.117.txt");
  RecordedKernel testbed;
  testbed.keys.keys = parsed.keys;
  const core::ProcKeyring* builtin = keyring_named(parsed, ".builtin_trusted_keys");
  REQUIRE(builtin != nullptr);
  std::vector<std::uint32_t> members;
  for (const core::ProcAsymmetricKey& key : parsed.keys) {
    members.push_back(key.serial);
  }
  REQUIRE(members.size() == builtin->count);
  testbed.links[builtin->serial] = members;
  testbed.keys.keyrings.push_back({SystemKeyring::builtin, builtin->serial, builtin->count, members});
  const core::KeyringSearch search = test::search_denied;

  const core::RunningMatch rsa =
    core::find_running_signer(testbed.keys, skid("9f65cd414b7ab48c63b1604b14415fe8bb6f727a"), PlatformFallback::unknown, search);
  CHECK(rsa.outcome == RunningOutcome::trusted);
  CHECK(rsa.keyring == std::optional<SystemKeyring>(SystemKeyring::builtin));
  // A signer named by issuer and serial (sign-file's default): the line shows the SKID, so
  // only the image's certificates, the same keys by description, tell the serial.
  std::string why;
  const auto bed = test::testbed_6(why);
  if (!bed) {
    KSIGN_SKIP(why);
  }
  const core::SignerReference by_serial = issuer_serial_of(test::certificates_der(*bed / "keys" / "trusted-rsa.der").at(0));
  const core::RunningMatch unread = core::find_running_signer(testbed.keys, by_serial, PlatformFallback::unknown, search);
  CHECK(unread.outcome == RunningOutcome::absent);
  REQUIRE(unread.unconfirmed != nullptr);
  CHECK(unread.unconfirmed->subject == "ksign testbed: testbed trusted RSA-4096");
  testbed.keys.certificates = core::read_kernel_trust(core::KernelImageSources{*bed / "vmlinux", std::nullopt}).certificates;
  REQUIRE(testbed.keys.certificates.size() == 3);
  const core::RunningMatch read = core::find_running_signer(testbed.keys, by_serial, PlatformFallback::unknown, search);
  CHECK(read.outcome == RunningOutcome::trusted);
  REQUIRE(read.key_entry != nullptr);
  CHECK(read.key_entry->serial == 0x0a14488b);
  // A certificate that is not in the keyring is still not found; nor is any key named like it.
  const core::RunningMatch untrusted = core::find_running_signer(
    testbed.keys, issuer_serial_of(test::certificates_der(*bed / "keys" / "untrusted-ec.der").at(0)),
    PlatformFallback::used, search);
  CHECK(untrusted.outcome == RunningOutcome::absent);
  CHECK(untrusted.unconfirmed == nullptr);

  // Not in builtin, and there is no .platform to fall back to: absent, whatever the kernel's code.
  CHECK(core::find_running_signer(testbed.keys, skid("1fa2a31d18466380cc6c552f8bd6c54756fab088"), PlatformFallback::used,
                                  search)
          .outcome == RunningOutcome::absent);
}

namespace {

// One EFI_SIGNATURE_LIST of `type` whose entries are `owner GUID + data`, each padded to the
// largest.
Bytes signature_list(const std::array<std::uint8_t, 16>& type, const std::vector<Bytes>& entries)
{
  std::size_t data_size = 0;
  for (const Bytes& entry : entries) {
    data_size = std::max(data_size, entry.size());
  }
  const std::uint32_t entry_size = static_cast<std::uint32_t>(16 + data_size);
  const std::uint32_t list_size = static_cast<std::uint32_t>(28 + entries.size() * entry_size);
  Bytes list(type.begin(), type.end());
  for (const std::uint32_t field : {list_size, std::uint32_t{0}, entry_size}) {
    for (int shift = 0; shift < 32; shift += 8) {
      list.push_back(static_cast<std::uint8_t>(field >> shift));
    }
  }
  for (const Bytes& entry : entries) {
    list.insert(list.end(), 16, 0x5a); // owner
    list.insert(list.end(), entry.begin(), entry.end());
    list.insert(list.end(), data_size - entry.size(), 0);
  }
  return list;
}

constexpr std::array<std::uint8_t, 16> k_x509_guid = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                                      0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
constexpr std::array<std::uint8_t, 16> k_sha256_guid = {0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                                        0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28};

void write_bytes(const std::filesystem::path& file, const Bytes& data)
{
  test::write_text(file, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

} // namespace

TEST_CASE("keyrings: the firmware's certificates (UEFI db, shim's MOK list)", "[keyrings]")
{
  const Bytes db_cert = certificate_with("Example Firmware", "db signer");
  const Bytes mok_cert = certificate_with("", "ksign MOK key");
  const Bytes more_cert = certificate_with("", "ksign MOK key 2");
  const Bytes revoked_cert = certificate_with("", "revoked MOK key");

  // A hash list first (skipped), then the certificates; a certificate the parser refuses is
  // skipped like the kernel skips it.
  Bytes lists = signature_list(k_sha256_guid, {Bytes(32, 0xab)});
  const Bytes x509 = signature_list(k_x509_guid, {db_cert, Bytes{0x30, 0x03, 0x02, 0x01, 0x00}});
  lists.insert(lists.end(), x509.begin(), x509.end());
  const std::vector<core::KernelCertificate> parsed = core::parse_efi_signature_lists(lists);
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0].subject == "Example Firmware: db signer");
  // A list that claims more than there is ends the reading.
  Bytes truncated = x509;
  truncated.resize(truncated.size() - 1);
  CHECK(core::parse_efi_signature_lists(truncated).empty());
  CHECK(core::parse_efi_signature_lists({}).empty());

  test::TempDir dir;
  const std::filesystem::path efivars = dir.path() / "efivars";
  const std::filesystem::path mok = dir.path() / "mok-variables";
  std::filesystem::create_directories(efivars);
  std::filesystem::create_directories(mok);
  CHECK(core::read_firmware_certificates(efivars, mok).empty());
  // efivarfs: the 4 attribute bytes first. (Built by copy: gcc 16 warns, wrongly, of an
  // out-of-bounds memcpy when a 4-byte vector made from a list is appended to.)
  Bytes db(4 + x509.size());
  db[0] = 0x07;
  std::copy(x509.begin(), x509.end(), db.begin() + 4);
  write_bytes(efivars / "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", db);
  write_bytes(mok / "MokListRT", signature_list(k_x509_guid, {mok_cert}));
  write_bytes(mok / "MokListRT1", signature_list(k_x509_guid, {more_cert}));
  write_bytes(mok / "MokListXRT", signature_list(k_x509_guid, {revoked_cert})); // revoked, not trusted
  write_bytes(mok / "MokListTrustedRT", Bytes{1});
  const std::vector<core::KernelCertificate> firmware = core::read_firmware_certificates(efivars, mok);
  std::vector<std::string> subjects;
  for (const core::KernelCertificate& certificate : firmware) {
    subjects.push_back(certificate.subject);
  }
  CHECK(subjects == std::vector<std::string>{"Example Firmware: db signer", "ksign MOK key", "ksign MOK key 2"});

  // A MOK key in .platform, named by issuer and serial: the MOK list's certificate tells its
  // serial, which its /proc/keys line does not.
  core::RunningKeys keys;
  const core::KernelCertificate mok_key = core::kernel_certificate(mok_cert);
  keys.keys = {{0x1234, core::kernel_key_description(mok_key), mok_key.subject, util::to_hex(mok_key.identity.subject_key_id),
                "X509.rsa"}};
  keys.keyrings = {{SystemKeyring::platform, 0x99, 1, std::vector<std::uint32_t>{0x1234}}};
  const core::KeyringSearch denied = [](std::uint32_t, const core::SignerReference&) { return std::nullopt; };
  CHECK(core::find_running_signer(keys, issuer_serial_of(mok_cert), PlatformFallback::used, denied).outcome ==
        RunningOutcome::absent);
  keys.certificates = firmware;
  const core::RunningMatch found = core::find_running_signer(keys, issuer_serial_of(mok_cert), PlatformFallback::used, denied);
  CHECK(found.outcome == RunningOutcome::trusted);
  CHECK(found.keyring == std::optional<SystemKeyring>(SystemKeyring::platform));
  CHECK(core::find_running_signer(keys, issuer_serial_of(mok_cert), PlatformFallback::unused, denied).outcome ==
        RunningOutcome::platform_refused);
}
