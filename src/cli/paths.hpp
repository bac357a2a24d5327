// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>

namespace ksign::cli {

// The system paths ksign reads and writes besides those on its command line, resolved once by
// the dispatcher (paths_from_environment) and handed to commands in their Invocation: nothing
// else reads these variables.
struct Paths
{
  // Where installed kernels live: $KSIGN_MODULEDIR, else the build-time default (meson option
  // moduledir, /usr/lib/modules). Tests point it at a temporary tree.
  std::filesystem::path module_root;
  // Where boot images and System.maps live (/boot/vmlinuz-KVER): $KSIGN_BOOTDIR, else /boot.
  std::filesystem::path boot_root;
  // ksign's configuration directory: $KSIGN_CONFIG_DIR, else <sysconfdir>/ksign (/etc/ksign).
  std::filesystem::path config_directory;
  // DKMS's tree, whose mok.pub is the certificate of DKMS's own signing key: $KSIGN_DKMS_TREE,
  // else /var/lib/dkms. (Empty, not a missing initializer, where a test builds Paths without it.)
  std::filesystem::path dkms_tree{};

  // Where kernels installed with certificates only find their private key:
  // config_directory/keys.d (see core::register_key_directory).
  [[nodiscard]] std::filesystem::path key_registry() const { return config_directory / "keys.d"; }
};

// The paths as the environment sets them (an unset or empty variable takes the default).
[[nodiscard]] Paths paths_from_environment();

} // namespace ksign::cli
