// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>

namespace ksign::cli {

// Where installed kernels live: $KSIGN_MODULEDIR, else the build-time default
// (meson option moduledir, /usr/lib/modules). Tests point it at a temporary tree.
[[nodiscard]] std::filesystem::path module_root();

// Where boot images and System.maps live (/boot/vmlinuz-KVER): $KSIGN_BOOTDIR, else /boot.
[[nodiscard]] std::filesystem::path boot_root();

// ksign's configuration directory: $KSIGN_CONFIG_DIR, else <sysconfdir>/ksign (/etc/ksign).
[[nodiscard]] std::filesystem::path config_directory();

// Where kernels installed with certificates only find their private key: config_directory()/keys.d
// (see core::register_key_directory).
[[nodiscard]] std::filesystem::path key_registry();

} // namespace ksign::cli
