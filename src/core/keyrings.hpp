// SPDX-License-Identifier: MIT
#pragma once

#include "core/platform_fallback.hpp"
#include "core/signer_match.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The running kernel's keyrings, read from /proc/keys (no crypto needed) and keyctl(2).
//
// /proc/keys lists only the keys the caller may view: the system keyrings and their keys
// belong to uid 0 with no permissions for others (keyrings 1f0b0000, keys 1f030000), so a
// normal user sees none of them, and root sees them all. A line is
//   <serial> <flags> <usage> <expiry> <perm> <uid> <gid> <type, 9 columns> <description>
// where an asymmetric key's description is "<subject>: <hex SKID, or serial>" followed by
// ": X509.<algorithm> <last 4 SKID bytes> []", and a keyring's is "<name>: <count>|empty".
// Which keyring holds a key is not on the line: keyctl(KEYCTL_READ) on the keyring tells.
namespace ksign::core {

// The keyrings a kernel uses for signatures.
enum class SystemKeyring { builtin, secondary, machine, platform, blacklist };

// ".builtin_trusted_keys", ".secondary_trusted_keys", ".machine", ".platform", ".blacklist".
[[nodiscard]] std::string_view system_keyring_name(SystemKeyring keyring);
[[nodiscard]] std::optional<SystemKeyring> parse_system_keyring(std::string_view name);

struct ProcKeyring
{
  std::uint32_t serial = 0;
  std::string name;
  std::size_t count = 0; // what the line says ("empty" is 0); includes linked keyrings
};

struct ProcAsymmetricKey
{
  std::uint32_t serial = 0;
  std::string description; // "<subject>: <hex id>", the key's name in the kernel
  std::string subject;
  std::string key_id;    // lower-case hex: the SKID, or the serial when the certificate has none
  std::string algorithm; // "X509.rsa", "X509.ecdsa-nist-p384", "X509.mldsa65", ...
};

struct ProcKeys
{
  std::vector<ProcKeyring> keyrings;
  std::vector<ProcAsymmetricKey> keys;
};

// Parse /proc/keys text. Lines that are not keyrings or asymmetric keys are left out; lines
// that are not /proc/keys lines at all throw Error(Errc::format).
[[nodiscard]] ProcKeys parse_proc_keys(std::string_view text);

// The serials `keyring` links (keys and keyrings), by keyctl(KEYCTL_READ); nullopt when the
// caller may not read it (not root) or keyctl is not available.
[[nodiscard]] std::optional<std::vector<std::uint32_t>> keyring_members(std::uint32_t keyring);

// The key that `keyctl search <keyring> asymmetric ex:<signer id>` finds (the kernel's own
// lookup, nested keyrings included), or nullopt.
[[nodiscard]] std::optional<std::uint32_t> search_keyring(std::uint32_t keyring, const SignerReference& signer);

struct RunningKeyring
{
  SystemKeyring which = SystemKeyring::builtin;
  std::uint32_t serial = 0;
  std::size_t count = 0;
  std::optional<std::vector<std::uint32_t>> members; // nullopt: could not be read
};

struct RunningKeys
{
  std::vector<RunningKeyring> keyrings;  // the system keyrings this kernel has
  std::vector<ProcAsymmetricKey> keys;   // every asymmetric key the caller can view
  // Certificates some of these keys may be made from (the running kernel's image's lists): a
  // key whose description is a certificate's kernel_key_description has that certificate's
  // ids, which the /proc/keys line does not show all of.
  std::vector<KernelCertificate> certificates;
  [[nodiscard]] const RunningKeyring* find(SystemKeyring which) const;
  // The asymmetric keys `which` holds directly (empty when its members are unknown).
  [[nodiscard]] std::vector<const ProcAsymmetricKey*> keys_in(SystemKeyring which) const;
};

// The running kernel's system keyrings and keys. Throws Error(Errc::failure) when `proc_keys`
// cannot be read (a kernel without CONFIG_KEYS has none).
[[nodiscard]] RunningKeys read_running_keys(const std::filesystem::path& proc_keys = "/proc/keys");

// Whether the /proc/keys line `key` is the key of `signer`, as far as the line tells: its id is
// the certificate's SKID (or its serial when it has none), so a signer named by SKID is
// matched exactly, one named by issuer and serial only when its certificate has no SKID.
[[nodiscard]] bool proc_key_matches(const ProcAsymmetricKey& key, const SignerReference& signer);

// proc_key_matches, or a certificate of `keys.certificates` that the key is made from (the
// same description) has the signer's id: a signer named by issuer and serial is then matched
// too.
[[nodiscard]] bool running_key_matches(const RunningKeys& keys, const ProcAsymmetricKey& key,
                                       const SignerReference& signer);

// The key of `signer` that `keyring` holds, directly or through the system keyrings it links,
// by the members keyring_members read and proc_key_matches.
[[nodiscard]] std::optional<std::uint32_t> find_in_members(const RunningKeys& keys, std::uint32_t keyring,
                                                           const SignerReference& signer);

// How `keyctl search` would look for a signer in a keyring: search_keyring, or a stand-in.
using KeyringSearch = std::function<std::optional<std::uint32_t>(std::uint32_t keyring, const SignerReference& signer)>;

// Where the running kernel would find a module's signer. The .blacklist keyring (revocation
// certificates) refuses it first; then the keyring modules are checked against
// (.secondary_trusted_keys, which links .builtin_trusted_keys and .machine, or
// .builtin_trusted_keys when there is no secondary); then .platform, which counts only for a
// kernel with the distributions' fallback patch (see platform_fallback.hpp).
// `search` asks the kernel first; the system keys do not let even root search them (their
// permissions grant others view and read, not search: EACCES), so what it does not find is
// looked for by find_in_members.
enum class RunningOutcome {
  trusted,            // a keyring the kernel checks modules against holds it (`keyring`)
  revoked,            // .blacklist holds it: refused
  platform_refused,   // only .platform holds it, and this kernel does not use .platform for modules
  platform_undecided, // only .platform holds it, and whether this kernel uses it is unknown
  absent,             // no keyring holds it
};

struct RunningMatch
{
  RunningOutcome outcome = RunningOutcome::absent;
  std::optional<SystemKeyring> keyring;         // the keyring searched that found it
  std::optional<SystemKeyring> held_by;         // the keyring that holds the key itself, if known
  std::optional<std::uint32_t> key;             // its serial
  const ProcAsymmetricKey* key_entry = nullptr; // into RunningKeys::keys, when visible
  // absent, for a signer named by issuer and serial: a key the keyrings modules are checked
  // against (or .platform) that bears the issuer's name (module keys are self-signed), which
  // the /proc/keys line cannot confirm or rule out (it shows the SKID, not the serial).
  const ProcAsymmetricKey* unconfirmed = nullptr;
  std::optional<SystemKeyring> unconfirmed_in;
};
[[nodiscard]] RunningMatch find_running_signer(const RunningKeys& keys, const SignerReference& signer,
                                               PlatformFallback platform, const KeyringSearch& search = search_keyring);

// The X.509 certificates of an EFI_SIGNATURE_LIST sequence (UEFI db, shim's MokList): lists of
// other types (hashes) are skipped, a certificate the kernel's parser would refuse too; a
// malformed list ends the reading.
[[nodiscard]] std::vector<KernelCertificate> parse_efi_signature_lists(ByteView data);

// The certificates the firmware gave the kernel for its .platform and .machine keyrings: UEFI
// db (efivarfs, `db-d719b2cb-...`, after its 4 bytes of attributes) and shim's MOK list
// (`<mok>/MokListRT`, `MokListRT1`, ...). Whatever cannot be read is left out.
[[nodiscard]] std::vector<KernelCertificate> read_firmware_certificates(
  const std::filesystem::path& efivars = "/sys/firmware/efi/efivars",
  const std::filesystem::path& mok = "/sys/firmware/efi/mok-variables");

// /sys/module/module/parameters/sig_enforce: Y/N, nullopt when the kernel has no module
// signing (the file is missing).
[[nodiscard]] std::optional<bool> parse_sig_enforce(std::string_view text);
[[nodiscard]] std::optional<bool> read_sig_enforce(
  const std::filesystem::path& file = "/sys/module/module/parameters/sig_enforce");

// /sys/kernel/security/lockdown: "[none] integrity confidentiality" -> "none" (the bracketed
// mode); nullopt when the file is missing (no lockdown LSM, or securityfs not mounted).
[[nodiscard]] std::optional<std::string> parse_lockdown(std::string_view text);
[[nodiscard]] std::optional<std::string> read_lockdown(const std::filesystem::path& file = "/sys/kernel/security/lockdown");

} // namespace ksign::core
