// SPDX-License-Identifier: MIT
#include "core/keystore.hpp"

#include "core/certificate.hpp"
#include "core/kconfig.hpp"
#include "core/keygen.hpp"
#include "util/cleanup.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

KeyFiles current_key_files(const fs::path& store)
{
  KeyFiles files = current_certificate_files(store);
  if (files.key.empty()) {
    throw Error(Errc::failure, "key directory " + util::quote(files.directory) + " has no private key (none of "
                                 + std::string(k_key_pem) + ", " + std::string(k_private_pem) + ", "
                                 + std::string(k_private_key_v1) + ")");
  }
  return files;
}

KeyFiles current_certificate_files(const fs::path& store)
{
  const fs::path link = store / k_current_link;
  std::optional<util::DirFd> opened_store;
  try {
    opened_store.emplace(store);
  } catch (const Error& e) {
    if (e.code() == Errc::permission) {
      throw Error(Errc::permission, "cannot read " + util::quote(store));
    }
    throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
  }
  const std::optional<struct stat> st = opened_store->status(k_current_link);
  if (!st) {
    throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
  }
  // `current` is the one link ksign follows in a store, and only to a key directory inside it:
  // one leading elsewhere would make ksign read (or, as root, trust) a file of anyone's choosing.
  // The key directory is then opened by its name in the store, never through a link.
  std::string name(k_current_link);
  if (S_ISLNK(st->st_mode)) {
    const fs::path target = opened_store->read_link(k_current_link).value_or(std::string());
    std::error_code ec;
    const fs::path directory = fs::canonical(link, ec);
    if (ec == std::errc::no_such_file_or_directory) {
      throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
    }
    if (ec) {
      throw Error(Errc::failure, "cannot resolve " + util::quote(link) + ": " + ec.message());
    }
    const fs::path inside = fs::canonical(store, ec);
    fs::path relative = target.lexically_normal();
    if (!relative.empty() && relative.filename().empty()) {
      relative = relative.parent_path(); // "2025-01-01_00-00-00/"
    }
    // kernel-sign and ksign write a relative name; an absolute link to a directory of this
    // store is taken too.
    const bool one_name = relative.is_relative() && relative.has_filename() && relative == relative.filename()
                          && relative != "." && relative != "..";
    if (ec || directory.parent_path() != inside || !(one_name || target.is_absolute())) {
      throw Error(Errc::failure, util::quote(link) + " leads to " + util::quote(directory)
                                   + ", not to a key directory inside the key store; point it at one (ln -sfn DIR "
                                   + util::quote(link) + ")");
    }
    name = directory.filename().native();
  }
  std::error_code ec;
  const fs::path real = fs::canonical(store, ec);
  std::optional<util::DirFd> key_directory;
  try {
    key_directory = opened_store->open_directory(name);
  } catch (const Error& e) {
    if (e.code() == Errc::permission) {
      throw Error(Errc::permission, "cannot read " + util::quote((ec ? store : real) / name));
    }
    throw Error(Errc::failure, util::quote(link) + " leads to " + util::quote(store / name)
                                 + ", not to a key directory inside the key store (" + e.what()
                                 + "); point it at one (ln -sfn DIR " + util::quote(link) + ")");
  }
  if (!key_directory) {
    throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
  }
  // Named by its real path, as kernel-sign's tools and the configs ksign writes name it.
  return key_directory_files(std::move(*key_directory).named((ec ? store : real) / name));
}

// ---- write side -------------------------------------------------------------------------------

namespace {

[[noreturn]] void throw_errno(const std::string& what, const fs::path& path)
{
  throw Error(Errc::failure, what + " " + util::quote(path) + ": " + std::strerror(errno));
}

// mkdir with exactly `mode`, whatever the umask.
void make_directory(const fs::path& path, mode_t mode)
{
  if (::mkdir(path.c_str(), mode) != 0) {
    throw_errno("cannot create the directory", path);
  }
  if (::chmod(path.c_str(), mode) != 0) {
    throw_errno("cannot set the mode of", path);
  }
}

void write_text(const fs::path& path, std::string_view text, mode_t mode)
{
  util::ReplaceOptions options;
  options.force_mode = mode;
  util::replace_file_atomically(path, as_bytes(text), options);
}

void write_bytes(const fs::path& path, ByteView data, mode_t mode)
{
  util::ReplaceOptions options;
  options.force_mode = mode;
  util::replace_file_atomically(path, data, options);
}


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

fs::path key_store_path(const std::optional<std::string>& option, const char* environment)
{
  if (option) {
    return *option;
  }
  if (environment != nullptr && environment[0] != '\0') {
    return environment;
  }
  return std::string(k_default_key_store);
}

KeyStoreLock::KeyStoreLock(const fs::path& store, std::chrono::milliseconds timeout,
                           const std::function<void(const LockWait&)>& waiting)
{
  std::error_code ec;
  if (!fs::exists(store, ec)) {
    // Explicit modes whatever the umask: parents 0755, the store 0700.
    const fs::path parent = store.parent_path();
    if (!parent.empty()) {
      (void)util::make_directories(parent, 0755);
    }
    if (::mkdir(store.c_str(), 0700) != 0 && errno != EEXIST) {
      throw_errno("cannot create the key store", store);
    }
  }
  const util::DirFd directory(store);
  const fs::path lock_path = store / k_lock_file;
  m_fd = directory.open_lock(k_lock_file, 0600);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      throw_errno("cannot lock", lock_path);
    }
    const std::optional<pid_t> holder = util::flock_holder(m_fd.get());
    if (!told && waiting) {
      waiting(LockWait{lock_path, holder, timeout});
      told = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Errc::failure, "gave up waiting for " + util::quote(lock_path) + " after "
                                   + util::whole_units(std::chrono::duration_cast<std::chrono::seconds>(timeout))
                                   + (holder ? ": process " + std::to_string(*holder) + " still holds it" : ": another process still holds it"));
    }
    ::usleep(100 * 1000);
  }
}

void require_safe_store(const fs::path& store)
{
  // ssh's "invoking user": the effective user, and under sudo the user who ran it (a store in
  // their home, written by `sudo ksign keys`).
  std::vector<uid_t> owners = {0, ::geteuid()};
  const std::optional<uid_t> invoker = util::sudo_invoker(std::getenv("SUDO_UID"));
  if (invoker) {
    owners.push_back(*invoker);
  }
  const std::vector<util::UnsafeDirectory> unsafe = util::unsafe_directories(store, owners, true);
  if (unsafe.empty()) {
    return;
  }
  const util::UnsafeDirectory& first = unsafe.front();
  const std::string at = util::quote(first.directory);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(first.mode));
  const std::string refusing = "refusing to write to the key store " + util::quote(store) + ": ";
  switch (first.why) {
  case util::UnsafeDirectory::Why::foreign_owner: {
    std::string allowed = "root or " + util::user_name(::geteuid());
    if (invoker && *invoker != ::geteuid() && *invoker != 0) {
      allowed = "root, " + util::user_name(::geteuid()) + " or " + util::user_name(*invoker) + " (who ran sudo)";
    }
    throw Error(Errc::failure, refusing + at + " belongs to " + util::user_name(first.owner) + ", not to " + allowed
                                 + ", who could plant links there to make this run overwrite other files; use a key "
                                   "store of your own, or run: chown " + util::user_name(::geteuid()) + " " + at);
  }
  case util::UnsafeDirectory::Why::group_can_write:
    throw Error(Errc::failure, refusing + "group " + util::group_name(first.group) + " can write to " + at + " (mode "
                                 + mode + "), so its members could plant links there to make this run overwrite "
                                   "other files; run: chmod g-w " + at);
  case util::UnsafeDirectory::Why::others_can_write:
    break;
  }
  throw Error(Errc::failure, refusing + "anyone can write to " + at + " (mode " + mode
                               + "), so anyone could plant links there to make this run overwrite other files; run: "
                                 "chmod o-w " + at);
}

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

namespace {

bool no_base(std::string_view /*base*/)
{
  return false;
}

fs::path staging_directory(const fs::path& parent)
{
  return parent / util::temporary_name("", k_staging_prefix, "");
}

// The name the versions before pids were in the names used: ".new-<tag>".
bool is_pidless_staging_name(std::string_view name)
{
  if (!name.starts_with(k_staging_prefix) || name.size() != k_staging_prefix.size() + 8) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(k_staging_prefix.size()), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

} // namespace

std::vector<fs::path> remove_unfinished_entries(const fs::path& directory, bool locked)
{
  std::vector<fs::path> removed = util::remove_dead_temporaries(directory, no_base, k_staging_prefix, "", true);
  for (const std::vector<fs::path>& more :
       {util::remove_dead_temporaries(directory, no_base, k_link_prefix, ""),
        // Files being replaced in the store itself (.refresh): any ksign temporary is ours.
        util::remove_dead_temporaries(directory, [](std::string_view) { return true; })}) {
    removed.insert(removed.end(), more.begin(), more.end());
  }
  if (locked) {
    // Older runs named them without their pid; under the lock none of them is still being written.
    std::error_code ec;
    for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code entry_ec;
      if (is_pidless_staging_name(it->path().filename().native()) && it->is_directory(entry_ec)
          && !it->is_symlink(entry_ec) && fs::remove_all(it->path(), entry_ec) != static_cast<std::uintmax_t>(-1)
          && !entry_ec) {
        removed.push_back(it->path());
      }
    }
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

fs::path write_key_directory(const fs::path& store, const SigningKey& key, HashAlgo hash)
{
  // A signal waits until the directory is complete and renamed (a few milliseconds); SIGKILL
  // leaves the hidden directory, which the next run removes (remove_unfinished_entries).
  const util::SignalsDeferred deferred;
  const fs::path staging = staging_directory(store);
  make_directory(staging, 0700);
  try {
    const std::string private_pem = private_key_pem(key.key.get());
    const std::string cert_pem = certificate_pem(parse_certificate(key.certificate).get());
    write_text(staging / k_key_pem, private_pem + cert_pem, 0600);
    write_text(staging / k_private_pem, private_pem, 0600);
    write_bytes(staging / k_cert_der, key.certificate, 0644);
    write_text(staging / k_cert_pem, cert_pem, 0644);
    write_text(staging / k_hash_file, std::string(hash_name(hash)) + "\n", 0644);
    write_text(staging / k_type_file, std::string(key_type_name(key.type)) + "\n", 0644);

    // Callers hold the store lock, so a free name stays free until the rename.
    const std::string stamp = util::utc_text(std::chrono::system_clock::now(), "%Y-%m-%d_%H-%M-%S");
    std::error_code ec;
    for (int attempt = 1; attempt < 100; ++attempt) {
      const fs::path target =
        store / (attempt == 1 ? stamp : stamp + "_" + (attempt < 10 ? "0" : "") + std::to_string(attempt));
      if (fs::exists(fs::symlink_status(target, ec))) {
        continue;
      }
      if (::rename(staging.c_str(), target.c_str()) != 0) {
        throw_errno("cannot create the key directory", target);
      }
      return target;
    }
    throw Error(Errc::failure, "too many key directories named " + stamp + " in " + util::quote(store));
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
}

void switch_current(const fs::path& store, const fs::path& directory)
{
  const util::SignalsDeferred deferred;
  const fs::path link = store / k_current_link;
  const fs::path temporary = store / util::temporary_name("", k_link_prefix, "");
  if (::symlink(directory.filename().c_str(), temporary.c_str()) != 0) {
    throw_errno("cannot create a link in", store);
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    throw_errno("cannot switch", link);
  }
}

fs::path trusted_certificate(const fs::path& store)
{
  const KeyFiles files = current_key_files(store);
  const fs::path pem = files.directory / k_cert_pem;
  const std::optional<struct stat> st = files.opened->status(k_cert_pem);
  if (!st || !S_ISREG(st->st_mode)) {
    throw Error(Errc::no_key, "key directory " + util::quote(files.directory) + " has no " + std::string(k_cert_pem));
  }
  return fs::absolute(pem);
}

std::vector<fs::path> key_directories(const fs::path& store)
{
  std::vector<fs::path> directories;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(store, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || name == k_current_link) {
      continue;
    }
    std::error_code type_ec;
    if (entry.is_directory(type_ec) && !entry.is_symlink(type_ec)) {
      directories.push_back(entry.path());
    }
  }
  if (ec) {
    throw Error(Errc::failure, "cannot list " + util::quote(store) + ": " + ec.message());
  }
  std::sort(directories.begin(), directories.end());
  return directories;
}

namespace {

constexpr std::string_view k_configs_file = ".configs";

bool digits(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_key_directory_name(std::string_view name)
{
  // kernel-sign: %Y%m%d-%H%M
  if (name.size() == 13 && name[8] == '-' && digits(name.substr(0, 8)) && digits(name.substr(9))) {
    return true;
  }
  // ksign: %Y-%m-%d_%H-%M-%S, then _NN when taken
  if (name.size() != 19 && !(name.size() == 22 && name[19] == '_' && digits(name.substr(20)))) {
    return false;
  }
  const std::string_view stamp = name.substr(0, 19);
  for (std::size_t i = 0; i < stamp.size(); ++i) {
    const char want = i == 4 || i == 7 || i == 13 || i == 16 ? '-' : i == 10 ? '_' : '0';
    if (want == '0' ? !(stamp[i] >= '0' && stamp[i] <= '9') : stamp[i] != want) {
      return false;
    }
  }
  return true;
}

bool same_directory(const fs::path& a, const fs::path& b)
{
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

std::string certificate_fingerprint(const fs::path& directory)
{
  try {
    const KeyFiles files = key_directory_files(directory);
    return fingerprint_sha256(parse_certificate(key_directory_certificate(files)).get());
  } catch (const Error&) {
    return {};
  }
}

} // namespace

bool is_made_key_directory(const fs::path& directory)
{
  if (!is_key_directory_name(directory.filename().native())) {
    return false;
  }
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().native();
    std::error_code type_ec;
    const bool known = is_private_key_name(name) || name == k_cert_der || name == k_cert_pem || name == k_hash_file
                       || name == k_type_file;
    if (!known || !it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
      return false;
    }
  }
  return !ec;
}

std::vector<fs::path> recorded_configs(const fs::path& store)
{
  std::vector<fs::path> configs;
  std::error_code ec;
  if (!fs::is_directory(store, ec)) {
    return configs;
  }
  const std::optional<Bytes> data = util::DirFd(store).read_regular(k_configs_file, util::k_small_file_limit);
  if (!data) {
    return configs;
  }
  const std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.front() == '/') {
      configs.emplace_back(std::string(line));
    }
    at = end + 1;
  }
  return configs;
}

void record_updated_configs(const fs::path& store, std::span<const fs::path> configs)
{
  const std::vector<fs::path> before = recorded_configs(store);
  std::vector<fs::path> after;
  std::error_code ec;
  for (const fs::path& config : before) {
    if (fs::exists(config, ec)) {
      after.push_back(config);
    }
  }
  for (const fs::path& config : configs) {
    const fs::path absolute = fs::absolute(config, ec).lexically_normal();
    if (!ec && absolute.native().find('\n') == std::string::npos) {
      after.push_back(absolute);
    }
  }
  std::sort(after.begin(), after.end());
  after.erase(std::unique(after.begin(), after.end()), after.end());
  if (after == before) {
    return; // a repeated run changes nothing in the store
  }
  std::string text;
  for (const fs::path& config : after) {
    text += config.native() + "\n";
  }
  util::DirFd(store).replace(k_configs_file, as_bytes(text), 0644);
}

PruneResult prune_key_directories(const fs::path& store, std::size_t keep, const fs::path& registry,
                                  const fs::path& moduledir)
{
  PruneResult result;
  std::error_code ec;
  const fs::path current = fs::canonical(store / k_current_link, ec);
  std::vector<fs::path> directories;
  for (const fs::path& directory : key_directories(store)) {
    if (is_made_key_directory(directory)) {
      directories.push_back(directory);
    } else {
      result.kept.push_back({directory, KeptKeyDirectory::Why::not_a_key_directory, {}});
    }
  }
  if (directories.size() <= keep) {
    return result;
  }

  // Who still needs a key directory: links in the registry, recorded configs, installed kernels.
  std::vector<std::pair<fs::path, fs::path>> links; // link, its target
  for (fs::directory_iterator it(registry, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    if (it->is_symlink(link_ec)) {
      const fs::path target = fs::canonical(it->path(), link_ec);
      if (!link_ec) {
        links.emplace_back(it->path(), target);
      }
    }
  }
  std::vector<std::pair<fs::path, fs::path>> named; // config, the directory it names
  for (const fs::path& config : recorded_configs(store)) {
    try {
      std::optional<std::string> value = KernelConfig::read(config).value(k_trusted_keys_option);
      if (value && !value->empty()) {
        named.emplace_back(config, fs::path(*value).parent_path());
      }
    } catch (const Error&) {
      // gone or unreadable: it names nothing we could keep
    }
  }
  std::vector<KernelKey> kernels;
  try {
    kernels = installed_kernel_keys(moduledir);
  } catch (const Error&) {
  }

  std::size_t excess = directories.size() - keep;
  for (const fs::path& directory : directories) {
    if (excess == 0) {
      break;
    }
    std::optional<KeptKeyDirectory> needed;
    if (!current.empty() && same_directory(directory, current)) {
      continue; // the current key never counts as old
    }
    for (const auto& [link, target] : links) {
      if (!needed && same_directory(directory, target)) {
        needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::registered, link.native()};
      }
    }
    for (const auto& [config, where] : named) {
      if (!needed && same_directory(directory, where)) {
        needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::config, config.native()};
      }
    }
    if (!needed && !kernels.empty()) {
      const std::string fingerprint = certificate_fingerprint(directory);
      for (const KernelKey& kernel : kernels) {
        if (!needed && !fingerprint.empty() && kernel.fingerprint == fingerprint) {
          needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::installed_kernel, kernel.release};
        }
      }
    }
    if (needed) {
      result.kept.push_back(std::move(*needed));
      continue;
    }
    fs::remove_all(directory, ec);
    if (ec) {
      throw Error(Errc::failure, "cannot remove " + util::quote(directory) + ": " + ec.message());
    }
    result.removed.push_back(directory);
    --excess;
  }
  return result;
}

std::string key_link_name(const X509* certificate)
{
  const std::string key_id = subject_key_id_hex(certificate);
  return key_id.empty() ? "sha256-" + fingerprint_sha256(certificate) : key_id;
}

KeyStoreState key_store_state(const fs::path& store, const fs::path& moduledir, const RefreshPolicy& policy)
{
  KeyStoreState state;
  state.current = current_key(store);
  state.kernels = installed_kernel_keys(moduledir);
  std::error_code ec;
  if (fs::is_directory(store, ec)) {
    for (const fs::path& directory : key_directories(store)) {
      try {
        state.fingerprints.push_back(fingerprint_sha256(parse_certificate(key_directory_certificate(key_directory_files(directory))).get()));
      } catch (const Error&) {
        // not a key directory after all (no certificate): it holds no key a kernel could carry
      }
    }
  }
  if (state.current) {
    const KeyFiles files = current_certificate_files(store);
    const X509Ptr certificate = parse_certificate(key_directory_certificate(files), "the certificate " + util::quote(files.certificate));
    state.fingerprint = fingerprint_sha256(certificate.get());
    state.key_id = subject_key_id_hex(certificate.get());
    state.subject = subject_name(certificate.get());
    state.created = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(state.current->created));
    if (!policy.always) {
      state.next_refresh = state.created + policy.max_age;
    }
  }
  return state;
}

} // namespace ksign::core
