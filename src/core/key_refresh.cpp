// SPDX-License-Identifier: MIT
#include "core/key_refresh.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

struct Unit
{
  std::string_view name;
  std::chrono::seconds length;
};

constexpr std::chrono::seconds k_minute{60};
constexpr std::chrono::seconds k_hour{3600};
constexpr std::chrono::seconds k_day{86400};

// Every spelling kernel-sign's --refresh accepts, and the short ones.
const Unit k_units[] = {
  {"s", std::chrono::seconds(1)}, {"sec", std::chrono::seconds(1)}, {"secs", std::chrono::seconds(1)},
  {"second", std::chrono::seconds(1)}, {"seconds", std::chrono::seconds(1)},
  {"m", k_minute}, {"min", k_minute}, {"mins", k_minute}, {"minute", k_minute}, {"minutes", k_minute},
  {"h", k_hour}, {"hour", k_hour}, {"hours", k_hour},
  {"d", k_day}, {"day", k_day}, {"days", k_day},
  {"w", k_day * 7}, {"week", k_day * 7}, {"weeks", k_day * 7},
};

} // namespace

RefreshPolicy parse_refresh_policy(std::string_view text)
{
  const std::string_view trimmed = util::trim(text);
  RefreshPolicy policy;
  if (trimmed == "always") {
    policy.always = true;
    return policy;
  }
  long long count = 0;
  const auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), count);
  if (error != std::errc() || end == trimmed.data() || count < 0) {
    throw Error(Errc::failure, "bad refresh period '" + std::string(text)
                               + "' (use 'always' or a number with s, m, h, d or w, like 30d or 2weeks)");
  }
  std::string unit(util::trim(std::string_view(end, static_cast<std::size_t>(trimmed.data() + trimmed.size() - end))));
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  if (unit.empty()) {
    policy.max_age = k_day * count;
    return policy;
  }
  for (const Unit& candidate : k_units) {
    if (candidate.name == unit) {
      policy.max_age = candidate.length * count;
      return policy;
    }
  }
  throw Error(Errc::failure, "unknown unit '" + unit + "' in refresh period '" + std::string(text)
                             + "' (use s, m, h, d or w)");
}

std::optional<std::string> recorded_refresh_period(const fs::path& store)
{
  std::error_code ec;
  if (!fs::is_directory(store, ec)) {
    return std::nullopt;
  }
  // Read through the store's descriptor, never through a link: a link named .refresh records
  // nothing (the next record replaces the link itself).
  if (fs::is_symlink(store / k_refresh_file, ec)) {
    return std::nullopt;
  }
  const std::optional<Bytes> data = util::DirFd(store).read_regular(k_refresh_file, util::k_small_file_limit);
  if (!data) {
    return std::nullopt;
  }
  return std::string(util::trim({reinterpret_cast<const char*>(data->data()), data->size()}));
}

void record_refresh_period(const fs::path& store, std::string_view period)
{
  // Unchanged: leave the file alone (a repeated run must change nothing in the store).
  if (util::trim(period) == "always" || recorded_refresh_period(store) == util::trim(period)) {
    return;
  }
  util::DirFd(store).replace(k_refresh_file, as_bytes(std::string(period) + "\n"), 0644);
}

std::string refresh_period(const fs::path& store, const std::optional<std::string>& given)
{
  if (given) {
    return *given;
  }
  return recorded_refresh_period(store).value_or(std::string(k_default_refresh_period));
}

std::optional<CurrentKey> current_key(const fs::path& store)
{
  std::error_code ec;
  if (!fs::exists(store / k_current_link, ec)) {
    return std::nullopt;
  }
  const KeyFiles files = current_key_files(store);
  CurrentKey current;
  current.directory = files.directory;
  current.hash = files.hash;
  if (const std::optional<Bytes> type = read_key_directory_file(files, k_type_file)) {
    current.type = parse_key_type(util::trim({reinterpret_cast<const char*>(type->data()), type->size()}));
  }
  if (!current.type) {
    current.type = key_type_of(X509_get0_pubkey(
      parse_certificate(key_directory_certificate(files), "the certificate " + util::quote(files.certificate)).get()));
  }
  current.created = key_directory_key_time(files);
  return current;
}

std::optional<RefreshReason> refresh_reason(const std::optional<CurrentKey>& current, KeyType type, HashAlgo hash,
                                          const RefreshPolicy& policy, fs::file_time_type now)
{
  using Kind = RefreshReason::Kind;
  if (!current) {
    return RefreshReason{Kind::no_key, "there is no current key"};
  }
  if (policy.always) {
    return RefreshReason{Kind::always, "a new key is made every time"};
  }
  if (current->type != type) {
    return RefreshReason{Kind::key_type, "the config asks for a " + std::string(key_type_name(type)) + " key, the current one is "
           + (current->type ? std::string(key_type_name(*current->type)) : std::string("of unknown type"))};
  }
  if (current->hash && *current->hash != hash) {
    return RefreshReason{Kind::hash, "the config asks for " + std::string(hash_name(hash)) + ", the current key is for "
                                       + std::string(hash_name(*current->hash))};
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - current->created);
  if (age >= policy.max_age) {
    return RefreshReason{Kind::age, "the current key is " + util::whole_units(age) + " old"};
  }
  return std::nullopt;
}

} // namespace ksign::core
