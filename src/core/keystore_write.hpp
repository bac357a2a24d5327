// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/keys.hpp"

#include <filesystem>
#include <vector>

// Writing a key store: a new dated key directory, the `current` switch, and tidying what a
// killed run left.
namespace ksign::core {

// Write `key` into a new dated key directory of `store` (0700; private files 0600) and return its
// path. The directory appears complete or not at all (written under a hidden name, then renamed).
// The name is the UTC date and time, YYYY-MM-DD_HH-MM-SS, with _02, _03... when taken.
std::filesystem::path write_key_directory(const std::filesystem::path& store, const SigningKey& key,
                                          HashAlgo hash);

// Remove what runs stopped by SIGKILL or a crash left in `directory` (a key store or an
// install destination), when their process is gone: hidden ".new-<pid>-<tag>" key directories,
// which may hold private keys, ".current-<pid>-<tag>" links and util::temporary_name files.
// With `locked` (the caller holds the store's KeyStoreLock) also the ".new-<tag>" directories
// of versions without pids in the names. Returns what was removed. (Other signals wait for a
// key directory to be complete, so they leave nothing.)
std::vector<std::filesystem::path> remove_unfinished_entries(const std::filesystem::path& directory, bool locked);

// Point store/current at `directory` (a child of `store`): a relative symlink made under a
// temporary name and renamed over `current`, so readers see the old or the new key, never none.
void switch_current(const std::filesystem::path& store, const std::filesystem::path& directory);

} // namespace ksign::core
