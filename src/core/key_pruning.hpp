// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

// Pruning a key store's old key directories, and what keeps one: the configs ksign pointed at a
// key, the registry, installed kernels.
namespace ksign::core {

// The configs ksign pointed at a key of `store` (keys --config, config), remembered in
// store/.configs (absolute paths, one a line) so that pruning keeps the key directories they
// name. `configs` are added to what is recorded; files that no longer exist are dropped.
void record_updated_configs(const std::filesystem::path& store, std::span<const std::filesystem::path> configs);
[[nodiscard]] std::vector<std::filesystem::path> recorded_configs(const std::filesystem::path& store);

// Whether `directory` looks like one ksign or kernel-sign made: named YYYY-MM-DD_HH-MM-SS[_NN]
// (ksign) or YYYYMMDD-HHMM (kernel-sign), holding nothing but the files of a key directory.
[[nodiscard]] bool is_made_key_directory(const std::filesystem::path& directory);

// A key directory pruning left in place, and why.
struct KeptKeyDirectory
{
  enum class Why { current, registered, config, installed_kernel, not_a_key_directory };
  std::filesystem::path directory;
  Why why;
  std::string by; // the keys.d link, the config, or the kernel release that needs it
};

struct PruneResult
{
  std::vector<std::filesystem::path> removed;
  std::vector<KeptKeyDirectory> kept; // older than the newest `keep` but still needed (or not ours)
};

// Remove the oldest key directories beyond the newest `keep`. Only directories ksign or
// kernel-sign made (is_made_key_directory) count and are removed; never the current one, one a
// link in `registry` points at (install --public --register), one a recorded config names
// (CONFIG_SYSTEM_TRUSTED_KEYS) or one whose certificate a kernel under `moduledir` carries.
PruneResult prune_key_directories(const std::filesystem::path& store, std::size_t keep,
                                  const std::filesystem::path& registry, const std::filesystem::path& moduledir);

} // namespace ksign::core
