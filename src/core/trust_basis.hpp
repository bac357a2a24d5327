// SPDX-License-Identifier: MIT
#pragma once

#include "core/kernel_image.hpp"
#include "core/keyrings.hpp"
#include "core/module_verifier.hpp"
#include "core/platform_fallback.hpp"
#include "core/signer_match.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// What modules are judged against, gathered once, and the one verdict by it: the lists
// compiled into a kernel image (an installed kernel's, or any image file), certificate files,
// or the running kernel's keyrings. Nothing here prints: what could not be read, and what is a
// guess, is in `notes`, for the command to word.
//
// The verdict of each module of installed kernel KVER, as `ksign verify --kernel KVER` gives it:
//
//   const core::TrustBasis basis = core::TrustBasis::installed_kernel(moduledir, kver, boot);
//   for (const std::string& dir : core::kernel_module_directories(moduledir, kver)) {
//     for (const core::ModuleFile& module : core::collect_modules(std::span(&dir, 1), true)) {
//       const core::ModuleVerdict verdict = basis.verify(module.path);
//       // verdict.loads(): the kernel would load it with module.sig_enforce=1; else
//       // verdict.unreadable, or verdict.verification.verdict and .problem say why not.
//     }
//   }
//
// `basis.rules` are the rules of the kernel's own .config (when its headers ship one);
// `basis.max_module_size` is the largest module read (set it from KSIGN_MAX_MODULE_SIZE).
namespace ksign::core {

// Where a certificate the modules are judged against comes from.
enum class TrustOrigin {
  image,      // the image's system_certificate_list (`image_origin` says which part)
  guess,      // a file on disk an installed kernel without a readable image may have been built with
  extra_file, // a file given besides an image or an installed kernel
  given_file, // a file given alone (the basis is only files)
};

struct TrustedCertificate
{
  std::string subject; // the kernel's name for it ("<O>: <CN>")
  std::string sig_key; // its serial as modinfo spells sig_key ("4A:F4:..."; "" when unreadable)
  std::string key_id;  // its subjectKeyIdentifier, hex ("" when it has none)
  TrustOrigin origin = TrustOrigin::given_file;
  CertificateOrigin image_origin = CertificateOrigin::build_key; // origin == image
  std::string guess;                                           // origin == guess: TrustSource::origin
  std::filesystem::path file;                                  // every origin but image
};

// Something the command should say about how the basis was gathered, in the order it happened.
struct TrustNote
{
  enum class Kind {
    image_unreadable,       // `file` is an image that could not be read: `reason`
    image_read,             // the image was read (TrustBasis::image, ::sources say how)
    system_map_unused,      // the System.map offered was not used: `reason`
    scanned,                // `file` has no symbols and no fitting System.map: certificates found by
                            // scanning, some may not be trusted, the blacklist is unknown
    certificate_unloadable, // a certificate at `offset` of the list would not load: `reason`
    no_image,               // an installed kernel with no readable image: the certificates are guesses
    unreadable_key_store,   // a key store beside the kernel the caller may not read: `code`, `reason`
    guessed_file,           // trusting `file` (`reason`: its TrustSource::origin)
    trusts_nothing,         // an installed kernel's basis holds no certificate
  };
  Kind kind = Kind::image_read;
  std::filesystem::path file;
  std::string reason;
  std::size_t offset = 0;
  Errc code = Errc::failure;
};

// Why the running kernel's keyrings cannot decide.
enum class KeyringsProblem {
  none,
  no_keyrings,     // /proc/keys shows root no system keyrings: no module signing support
  not_visible,     // /proc/keys shows this (non-root) user no system keyrings
  no_keys,         // the keyrings hold no keys
  members_hidden,  // which keyring holds which key cannot be read (not root)
};

// The running kernel's keyrings as the modules are judged against them.
struct RunningTrust
{
  RunningKeys keys;
  PlatformFallbackProbe platform; // does .platform count for modules
  KeyringsProblem problem = KeyringsProblem::none;

  // The keys of the keyrings modules are checked against (`counted`), and those only .platform
  // holds when it does not surely count (`platform_apart`); the blacklist is left out.
  struct Held
  {
    std::vector<const ProcAsymmetricKey*> counted;
    std::vector<const ProcAsymmetricKey*> platform_apart;
  };
  [[nodiscard]] Held held_keys() const;
};

// The problem with `keys` as a basis (root: whether the caller is root).
[[nodiscard]] KeyringsProblem keyrings_problem(const RunningKeys& keys, bool root);

// One module's verdict.
struct ModuleVerdict
{
  std::filesystem::path path;
  Verification verification;
  std::optional<std::string> unreadable; // the file could not be read at all (or ksign failed)
  // By keyrings: where the kernel's lookup found (or did not find) the signer. For every outcome
  // but `trusted` the verdict is unknown_key and `verification.problem` is left to the caller to
  // word from this.
  std::optional<RunningMatch> running;

  // The kernel would load it (with module.sig_enforce=1).
  [[nodiscard]] bool loads() const { return !unreadable && verification.verdict == Verdict::ok; }
  // The signer is only in .platform, and whether this kernel uses .platform is unknown.
  [[nodiscard]] bool platform_only() const
  {
    return !unreadable && running && running->outcome == RunningOutcome::platform_undecided;
  }
};

class TrustBasis
{
public:
  enum class Source {
    image,        // an image's lists decide (an installed kernel's or an image file's)
    guessed,      // an installed kernel whose image could not be read: files on disk
    certificates, // certificate files
    running,      // the running kernel's keyrings
  };

  // Installed kernel `release` under `moduledir`: the certificates compiled into its image
  // (find_kernel_image's order, `boot` for /boot), else its build key, certs-local and
  // CONFIG_SYSTEM_TRUSTED_KEYS as guesses; `extra_files` trusted besides. `rules` are its
  // .config's. Throws Error(Errc::failure) when there is no such kernel, and for an extra file
  // that holds no certificate.
  [[nodiscard]] static TrustBasis installed_kernel(const std::filesystem::path& moduledir, std::string_view release,
                                                   const std::filesystem::path& boot,
                                                   std::span<const std::filesystem::path> extra_files = {});
  // A kernel image that is not installed. Throws when it cannot be read.
  [[nodiscard]] static TrustBasis image_file(const KernelImageSources& sources,
                                             std::span<const std::filesystem::path> extra_files = {});
  // Certificate files alone.
  [[nodiscard]] static TrustBasis certificate_files(std::span<const std::filesystem::path> files);
  // Keyrings as read (`running_keys`), with whether .platform counts; `root`: whether the
  // caller is root (what /proc/keys shows depends on it).
  [[nodiscard]] static TrustBasis keyrings(RunningKeys keys, PlatformFallbackProbe platform, bool root,
                                           KeyringSearch search = search_keyring);
  // The running kernel's keyrings (/proc/keys), with the certificates of its installed image
  // (of running_release() under `moduledir`, `boot`) and the firmware's, which tell the serials
  // of their keys. Throws Error(Errc::failure) when /proc/keys cannot be read.
  [[nodiscard]] static TrustBasis running_kernel(const std::filesystem::path& moduledir,
                                                 const std::filesystem::path& boot);

  Source source = Source::certificates;
  std::string release;                        // installed_kernel: the release
  std::optional<KernelTrust> image;           // Source::image: what the image holds
  KernelImageSources sources;                 // Source::image: which image (and System.map)
  std::vector<TrustedCertificate> certificates;
  std::optional<RunningTrust> running;        // Source::running
  std::vector<TrustNote> notes;
  KernelRules rules;                          // the kernel's .config rules, where known
  std::uint64_t max_module_size = k_default_max_module_size;

  // The verdict on module file `path` (read here, at most max_module_size bytes). Never throws:
  // a file that cannot be read is `unreadable`.
  [[nodiscard]] ModuleVerdict verify(const std::filesystem::path& path) const;
  // The verdict on a module's bytes.
  [[nodiscard]] ModuleVerdict verify_bytes(ByteView file) const;

private:
  TrustedKeys m_keys;
  KeyringSearch m_search;
};

// The running kernel's release (uname -r), "unknown" when uname fails.
[[nodiscard]] std::string running_release();

// The certificates the running kernel's keys may be made from, for RunningKeys::certificates:
// its installed image's (of running_release()) and the firmware's (UEFI db, shim's MOK list).
[[nodiscard]] std::vector<KernelCertificate> running_known_certificates(const std::filesystem::path& moduledir,
                                                                        const std::filesystem::path& boot);

// Whether the running kernel uses its .platform keyring for modules: "no" without such a
// keyring, else what its installed image (of running_release(), or a distribution's debug
// image) shows.
[[nodiscard]] PlatformFallbackProbe running_platform_fallback(const RunningKeys& keys,
                                                              const std::filesystem::path& moduledir,
                                                              const std::filesystem::path& boot);

// Whether an installed kernel's own image trusts the key of a certificate file (`keys --show`,
// `status`): `trust` is empty when no image could be read, and `problem` says why.
struct ImageKeyTrust
{
  std::optional<SignerTrust> trust;
  KernelImageSources sources;
  std::optional<TrustMethod> method;
  std::string problem;
};
[[nodiscard]] ImageKeyTrust installed_image_trusts(const std::filesystem::path& moduledir, std::string_view release,
                                                   const std::filesystem::path& boot,
                                                   const std::filesystem::path& certificate);

} // namespace ksign::core
