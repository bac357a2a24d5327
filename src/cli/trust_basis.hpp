// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "core/kernel_image.hpp"
#include "core/keyrings.hpp"
#include "core/module_verifier.hpp"
#include "core/platform_fallback.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// What `ksign verify` judges modules against, gathered once and said once: a kernel image's
// own lists (an installed kernel's, or --image), else certificate files.
namespace ksign::cli {

// One certificate the modules are judged against, as a verdict names it.
struct TrustedCertificate
{
  std::string subject; // the kernel's name for it ("<O>: <CN>")
  std::string sig_key; // its serial as modinfo spells sig_key ("4A:F4:...")
  std::string key_id;  // its subjectKeyIdentifier, hex ("" when it has none)
  std::string origin;  // "build key", "extra slot", "CONFIG_SYSTEM_TRUSTED_KEYS", "--cert", ...
};

struct TrustBasis
{
  std::string name;                        // "kernel 6.12.9-custom", "image 'vmlinux'", "the given certificates"
  std::optional<core::KernelTrust> image;  // read from an image: its lists decide
  core::KernelImageSources sources;        // which image (and System.map) it was read from
  bool guessed = false;                    // from files on disk, because no image could be read
  core::TrustedKeys keys;
  std::vector<TrustedCertificate> certificates;

  // The verdict on one module file, by this basis (the image's lists applied when there is one).
  [[nodiscard]] core::Verification verify(ByteView file, const core::KernelRules& rules, std::uint64_t max_size) const;
};

// An installed kernel: the certificates compiled into its image (find_kernel_image's order),
// else, with a warning that calls them guesses, its build key, certs-local and
// CONFIG_SYSTEM_TRUSTED_KEYS. `extra_files` (--cert) are trusted besides. Says on `out` which
// image and method were used, and what could not be read.
[[nodiscard]] TrustBasis installed_kernel_basis(const Paths& paths, std::string_view release,
                                                std::span<const std::filesystem::path> extra_files, Output& out);

// A kernel image that is not installed (--image FILE [--system-map FILE]).
[[nodiscard]] TrustBasis image_basis(const core::KernelImageSources& sources,
                                     std::span<const std::filesystem::path> extra_files, Output& out);

// Certificate files (--cert, the key store's current certificate).
[[nodiscard]] TrustBasis certificate_basis(std::span<const std::filesystem::path> files);

// What the kernel trusts instead, for a refusal: "kernel 6.12.9 trusts: 'A' 4A:F4:..., 'B' ..."
// (serials, as modinfo's sig_key shows them; nothing when it trusts nothing).
[[nodiscard]] std::string trusted_list_text(const TrustBasis& basis);

// The info line that says how an image was read: "read 'FILE' (bzImage, xz; System.map
// 'MAP'): 3 certificates".
[[nodiscard]] std::string image_summary(const core::KernelTrust& trust, const core::KernelImageSources& sources);

// Whether an installed kernel's own image trusts the key of a certificate file (`keys --show`,
// `status`): `trust` is empty when no image could be read, and `problem` says why.
struct ImageKeyTrust
{
  std::optional<core::SignerTrust> trust;
  core::KernelImageSources sources;
  std::optional<core::TrustMethod> method;
  std::string problem;
};
[[nodiscard]] ImageKeyTrust installed_image_trusts(const Paths& paths, std::string_view release,
                                                   const std::filesystem::path& certificate);

// "trusted by its image (vmlinux, symbols)", "NOT trusted by its image ...", "no image to check".
[[nodiscard]] std::string image_key_trust_text(const ImageKeyTrust& trust);

// The running kernel's release (uname -r), "unknown" when uname fails.
[[nodiscard]] std::string running_release();

// The certificates the running kernel's keys may be made from, for RunningKeys::certificates:
// its installed image's (of running_release()) and the firmware's (UEFI db, shim's MOK list).
[[nodiscard]] std::vector<core::KernelCertificate> running_known_certificates(const Paths& paths);

// Whether the running kernel uses its .platform keyring for modules: "no" without such a
// keyring, else what its installed image (of running_release(), under `paths`, or a
// distribution's debug image) shows.
[[nodiscard]] core::PlatformFallbackProbe running_platform_fallback(const Paths& paths, const core::RunningKeys& keys);

// The probe in words, naming the image: "this kernel does not use .platform for modules
// (mod_verify_sig calls verify_pkcs7_signature once in '/usr/lib/modules/6.12.9/build/vmlinux')",
// "cannot tell whether this kernel uses .platform for modules: ...".
[[nodiscard]] std::string platform_fallback_text(const core::PlatformFallbackProbe& probe);

} // namespace ksign::cli
