// SPDX-License-Identifier: MIT
#pragma once

#include "core/key_directory.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// A key store's layout (the dated key directories, `current`, the hidden files) and its current
// key. Its other jobs have files of their own: keystore_lock, key_refresh, keystore_write,
// key_pruning, keystore_state, key_install.
namespace ksign::core {

inline constexpr std::string_view k_lock_file = ".lock";
// Hidden names of half-made entries in a key store or an install destination, which
// remove_unfinished_entries tidies after a killed run: ".new-<pid>-<tag>" directories and
// ".current-<pid>-<tag>" links.
inline constexpr std::string_view k_staging_prefix = ".new-";
inline constexpr std::string_view k_link_prefix = ".current-";
inline constexpr std::string_view k_refresh_file = ".refresh"; // the refresh period of the last run
inline constexpr std::string_view k_default_key_store = "certs-local"; // relative to the working directory

// The key store a command uses: --dir `option`, else `environment` ($KSIGN_DIR) when set and not
// empty, else ./certs-local (kernel-sign's place, beside the PKGBUILD).
[[nodiscard]] std::filesystem::path key_store_path(const std::optional<std::string>& option,
                                                   const char* environment);

// The current key of the key store `store` (store/current/...). Throws Error(Errc::failure)
// naming what is missing when there is no usable current key.
[[nodiscard]] KeyFiles current_key_files(const std::filesystem::path& store);

// The same for a key directory that may hold certificates only (ksign install --public): `key`
// is then empty.
[[nodiscard]] KeyFiles current_certificate_files(const std::filesystem::path& store);

// The absolute path of the current key's certificate-only PEM (through the dated directory, not
// through `current`, so a new key changes the config and make rebuilds the kernel's key list).
// Throws Error(Errc::failure) when the store has no current key or the key has no signing_crt.pem.
[[nodiscard]] std::filesystem::path trusted_certificate(const std::filesystem::path& store);

// The key directories of `store`, oldest first (names sort by age). Hidden entries, `current` and
// anything that is not a real directory are not key directories.
[[nodiscard]] std::vector<std::filesystem::path> key_directories(const std::filesystem::path& store);

} // namespace ksign::core
