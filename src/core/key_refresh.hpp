// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/key_types.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

// When `ksign keys` makes a new key: the refresh policy, the period a store is kept with, what the
// current key is and why it is replaced.
namespace ksign::core {

// When `ksign keys` makes a new key: always, or when the current key is older than `max_age`.
struct RefreshPolicy
{
  bool always = false;
  std::chrono::seconds max_age{std::chrono::hours(24 * 7)};
};

// "always", or a number with an optional unit: s, m, h, d, w, also spelled out
// ("30d", "30days", "24h", "2weeks", "90 minutes"); a bare number means days.
// Throws Error for anything else.
[[nodiscard]] RefreshPolicy parse_refresh_policy(std::string_view text);

// Remember `period` (as the user wrote it) as the refresh period `store` is kept with, so that
// later runs without --refresh, and describing the store, use the same period. "always" is a
// one-off request and is not remembered.
void record_refresh_period(const std::filesystem::path& store, std::string_view period);

inline constexpr std::string_view k_default_refresh_period = "7d";

// The one rule for the refresh period of a run on `store`: `given` (--refresh), else the period
// recorded by the last run that gave one, else k_default_refresh_period. Making keys and
// describing the store both use it.
[[nodiscard]] std::string refresh_period(const std::filesystem::path& store, const std::optional<std::string>& given);

// The period recorded by the last record_refresh_period(), or nullopt.
[[nodiscard]] std::optional<std::string> recorded_refresh_period(const std::filesystem::path& store);

// What the store's current key is, as far as the store says.
struct CurrentKey
{
  std::filesystem::path directory;
  std::optional<KeyType> type;  // ktype, else the certificate's key
  std::optional<HashAlgo> hash; // khash
  std::filesystem::file_time_type created; // modification time of the key file
};

// The store's current key, or nullopt when there is none (no `current` link, or it dangles).
[[nodiscard]] std::optional<CurrentKey> current_key(const std::filesystem::path& store);

// Why a new key is made.
struct RefreshReason
{
  enum class Kind { no_key, always, key_type, hash, age };
  Kind kind;
  std::string text; // "the current key is 40 days old", ...
};

// Why a new key is needed for `type` and `hash` under `policy`, or nullopt when the current one will do.
[[nodiscard]] std::optional<RefreshReason> refresh_reason(const std::optional<CurrentKey>& current, KeyType type,
                                                        HashAlgo hash, const RefreshPolicy& policy,
                                                        std::filesystem::file_time_type now);

} // namespace ksign::core
