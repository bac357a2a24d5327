// SPDX-License-Identifier: MIT
#pragma once

#include "core/installed_kernel.hpp"
#include "core/key_refresh.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ksign::core {

// What describing a key store shows (`ksign keys --show`): read-only, no lock, nothing created.
struct KeyStoreState
{
  std::optional<CurrentKey> current;
  std::string fingerprint; // of the current certificate (sha256, hex)
  std::string key_id;
  std::string subject;
  std::chrono::system_clock::time_point created;
  std::optional<std::chrono::system_clock::time_point> next_refresh; // nullopt: refreshed every run
  std::vector<std::string> fingerprints; // of every key directory's certificate, oldest first
  std::vector<KernelKey> kernels;
};

[[nodiscard]] KeyStoreState key_store_state(const std::filesystem::path& store, const std::filesystem::path& moduledir,
                                            const RefreshPolicy& policy);

} // namespace ksign::core
