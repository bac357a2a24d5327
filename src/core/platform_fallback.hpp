// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Whether a kernel tries the .platform keyring (UEFI db, MOK keys not trusted into .machine)
// for a module whose signer its module keyrings lack.
//
// Mainline kernel/module/signing.c (kernel.org, Arch's linux, most self-built kernels) calls
// verify_pkcs7_signature once, with VERIFY_USE_SECONDARY_KEYRING: .platform does not count for
// modules. Distribution kernels (Debian, Ubuntu, Fedora, RHEL, SUSE) carry a patch ("KEYS: Make
// use of platform keyring for module signature verify") that calls it again with
// VERIFY_USE_PLATFORM_KEYRING when the first call returns -ENOKEY and
// CONFIG_INTEGRITY_PLATFORM_KEYRING is set. No config option or string marks the patch; in the
// machine code it is a second direct call from mod_verify_sig to verify_pkcs7_signature (and
// with CONFIG_INTEGRITY_PLATFORM_KEYRING unset the second call compiles away, which is right:
// such a kernel does not use .platform either). So: find mod_verify_sig by the image's symbols
// (or a System.map that fits it) and count, on x86, the calls (e8 rel32) and jumps (e9 rel32,
// a tail call) in its bytes whose target is verify_pkcs7_signature: one is mainline, two is
// patched, anything else (other architectures, no symbols, inlining) is unknown.
namespace ksign::core {

enum class PlatformFallback {
  used,    // the kernel tries .platform after its module keyrings
  unused,  // it does not: a signer only in .platform is refused
  unknown, // ksign cannot tell
};

// Does .platform count for modules: "yes", "no", "unknown" (stable, for --json).
[[nodiscard]] std::string_view platform_fallback_name(PlatformFallback fallback);

// How the answer was reached, or why there is none.
enum class FallbackEvidence {
  calls_counted,       // mod_verify_sig's calls to verify_pkcs7_signature were counted (`calls`)
  unexpected_calls,    // counted, but neither one nor two (`calls`)
  no_platform_keyring, // the running kernel has no .platform keyring at all
  no_symbols,          // neither the image nor a System.map that fits it locates mod_verify_sig
  no_function,         // the symbols name no mod_verify_sig or no verify_pkcs7_signature
  no_size,             // the symbols do not say where mod_verify_sig ends
  other_architecture,  // not x86: ksign does not decode its calls
  code_outside,        // mod_verify_sig's bytes are not in the image
  other_build,         // the image's linux_banner is not the running kernel's /proc/version
  no_image,            // no image of the kernel could be read (see `failures`)
};

struct PlatformFallbackProbe
{
  PlatformFallback fallback = PlatformFallback::unknown;
  FallbackEvidence evidence = FallbackEvidence::no_image;
  std::size_t calls = 0;                            // calls_counted, unexpected_calls
  std::filesystem::path image;                      // the image the answer comes from
  std::optional<std::filesystem::path> system_map;  // the System.map that located the code
  struct Failure
  {
    std::filesystem::path file;
    std::string reason;
  };
  std::vector<Failure> failures; // images that could not be read
};

// The answer for one kernel image (a vmlinux or bzImage) in memory, located by its own symbols,
// else by `system_map` when that fits it. When `banner` (the running kernel's /proc/version) is
// given and the image's linux_banner is readable and differs, the image is another build:
// other_build. Throws Error(Errc::format) when `image` is no kernel image ksign can read.
[[nodiscard]] PlatformFallbackProbe probe_platform_fallback(ByteView image, std::optional<std::string_view> system_map,
                                                            std::optional<std::string_view> banner = std::nullopt);

// The images worth reading for an installed kernel, in order: find_kernel_image's (the build
// tree's vmlinux, vmlinuz, <boot>/vmlinuz-KVER), then the debug images distributions ship with
// symbols (<debug>/boot/vmlinux-KVER: Debian's -dbg package; <debug>/lib/modules/KVER/vmlinux:
// Fedora's debuginfo). Only those that exist.
[[nodiscard]] std::vector<std::filesystem::path> platform_probe_images(const std::filesystem::path& moduledir,
                                                                       std::string_view release,
                                                                       const std::filesystem::path& boot,
                                                                       const std::filesystem::path& debug);

// The answer for an installed kernel: the first of platform_probe_images that decides (each read
// with the first of find_kernel_image's System.maps that fits it); else the last reason it could
// not. Never throws for an unreadable image: it becomes a failure.
[[nodiscard]] PlatformFallbackProbe probe_installed_platform_fallback(
  const std::filesystem::path& moduledir, std::string_view release, const std::filesystem::path& boot = "/boot",
  const std::filesystem::path& debug = "/usr/lib/debug", std::optional<std::string_view> banner = std::nullopt);

// The running kernel's banner, /proc/version ("Linux version 6.12.9 (...) #1 SMP ...\n"), or
// nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_kernel_banner(const std::filesystem::path& file = "/proc/version");

} // namespace ksign::core
