// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>

namespace ksign::cli {

// Where installed kernels live: $KSIGN_MODULEDIR, else the build-time default
// (meson option moduledir, /usr/lib/modules). Tests point it at a temporary tree.
[[nodiscard]] std::filesystem::path module_root();

// Where boot images and System.maps live (/boot/vmlinuz-KVER): $KSIGN_BOOTDIR, else /boot.
[[nodiscard]] std::filesystem::path boot_root();

} // namespace ksign::cli
