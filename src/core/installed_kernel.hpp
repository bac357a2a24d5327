// SPDX-License-Identifier: MIT
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The one home of an installed kernel's layout: where a release's modules, headers, image,
// System.map and ksign key are, and the kernels installed under a module root.
//   <moduledir>/<release>/                   its modules (kernel/, extra/, updates/, ...), and
//                                            on Arch and Fedora its image, vmlinuz
//   <moduledir>/<release>/build/             its headers (a link on Debian): .config, vmlinux,
//                                            System.map, certs/signing_key.x509
//   <moduledir>/<release>/build/certs-local  the ksign key installed with it (`ksign install`)
//   <boot>/vmlinuz-<release>, <boot>/System.map-<release>   Debian's image and map
namespace ksign::core {

struct InstalledKernelLayout
{
  std::filesystem::path root;      // <moduledir>/<release>
  std::filesystem::path build;     // root/build
  std::filesystem::path key_store; // build/certs-local
  std::filesystem::path config;    // build/.config
  std::filesystem::path build_key; // build/certs/signing_key.x509: the key its own modules were signed with
  std::vector<std::filesystem::path> images;      // where its image may be, in the order to try
  std::vector<std::filesystem::path> system_maps; // where its System.map may be, in the order to try
};

// Where the files of kernel `release` under `moduledir` (with `boot` for /boot) are; nothing is
// looked at.
[[nodiscard]] InstalledKernelLayout installed_kernel_layout(const std::filesystem::path& moduledir,
                                                            std::string_view release,
                                                            const std::filesystem::path& boot = "/boot");

// Where an installed kernel keeps its ksign keys: <moduledir>/<kernel_release>/build/certs-local.
[[nodiscard]] std::filesystem::path kernel_key_store(const std::filesystem::path& moduledir,
                                                     std::string_view kernel_release);

// Whether `release` can name an installed kernel (one directory under the module root): not
// empty, no '/', not "." or "..".
[[nodiscard]] bool is_kernel_release(std::string_view release);

// <moduledir>/<release>. Throws Error(Errc::failure) "no installed kernel 'X' in 'moduledir'"
// when it is not a directory (or `release` cannot name one).
[[nodiscard]] std::filesystem::path installed_kernel(const std::filesystem::path& moduledir, std::string_view release);

// The .config an installed kernel was built with (<moduledir>/<release>/build/.config), when
// its headers ship it.
[[nodiscard]] std::optional<std::filesystem::path> installed_kernel_config(const std::filesystem::path& moduledir,
                                                                         std::string_view release);

// The directories of an installed kernel that hold modules (kernel/, extra/, updates/, DKMS's
// updates/dkms/, ...): every subdirectory of <moduledir>/<release> except build and source.
[[nodiscard]] std::vector<std::string> kernel_module_directories(const std::filesystem::path& moduledir,
                                                                 std::string_view release);

// The ksign key an installed kernel carries in its build/certs-local.
struct KernelKey
{
  std::string release;
  std::string key_id;      // empty: no ksign key installed with that kernel
  std::string fingerprint;
  std::filesystem::path certificate;       // the installed key's certificate file
  std::optional<Error> unreadable;         // Errc::permission: its key store cannot be read
};

// The installed kernels under `moduledir`, in order: its directories that hold a kernel (a
// build/ or kernel/ directory, modules.order, modules.dep or vmlinuz), not Arch's shared
// extramodules-* directories or other leftovers.
[[nodiscard]] std::vector<std::string> installed_kernel_releases(const std::filesystem::path& moduledir);

// Every kernel release under `moduledir` (installed_kernel_releases) with the key it carries, ordered by release.
[[nodiscard]] std::vector<KernelKey> installed_kernel_keys(const std::filesystem::path& moduledir);

} // namespace ksign::core
