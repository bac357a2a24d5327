// SPDX-License-Identifier: MIT
#include "core/keystore.hpp"

#include "core/certificate.hpp"
#include "core/keygen.hpp"
#include "util/cleanup.hpp"
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
  std::error_code ec;
  (void)fs::symlink_status(link, ec);
  if (ec == std::errc::permission_denied) {
    throw Error(Errc::permission, "cannot read " + util::quote(store));
  }
  if (!fs::exists(link, ec)) {
    throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
  }
  const fs::path directory = fs::canonical(link, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot resolve " + util::quote(link) + ": " + ec.message());
  }
  return key_directory_files(directory);
}

fs::path kernel_key_store(const fs::path& moduledir, std::string_view kernel_release)
{
  return moduledir / std::string(kernel_release) / "build" / "certs-local";
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


std::string read_word(const fs::path& path)
{
  const Bytes data = util::read_file(path, util::k_small_file_limit);
  return std::string(util::trim({reinterpret_cast<const char*>(data.data()), data.size()}));
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

KeyStoreLock::KeyStoreLock(const fs::path& store)
{
  std::error_code ec;
  if (!fs::exists(store, ec)) {
    fs::create_directories(store.parent_path().empty() ? fs::path(".") : store.parent_path(), ec);
    if (::mkdir(store.c_str(), 0700) != 0 && errno != EEXIST) {
      throw_errno("cannot create the key store", store);
    }
  }
  const fs::path lock_path = store / k_lock_file;
  m_fd = util::Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!m_fd) {
    throw_errno("cannot open the lock file", lock_path);
  }
  while (::flock(m_fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      throw_errno("cannot lock", lock_path);
    }
  }
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
  if (!fs::is_regular_file(store / k_refresh_file, ec)) {
    return std::nullopt;
  }
  return read_word(store / k_refresh_file);
}

void record_refresh_period(const fs::path& store, std::string_view period)
{
  // Unchanged: leave the file alone (a repeated run must change nothing in the store).
  if (util::trim(period) == "always" || recorded_refresh_period(store) == util::trim(period)) {
    return;
  }
  util::ReplaceOptions options;
  options.force_mode = 0644;
  util::replace_file_atomically(store / k_refresh_file, as_bytes(std::string(period) + "\n"), options);
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
  const fs::path type_path = files.directory / k_type_file;
  if (fs::exists(type_path, ec)) {
    current.type = parse_key_type(read_word(type_path));
  }
  if (!current.type) {
    current.type = key_type_of(X509_get0_pubkey(load_certificate(files.certificate).get()));
  }
  current.created = fs::last_write_time(files.key, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot stat " + util::quote(files.key) + ": " + ec.message());
  }
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

// Hidden names of half-made entries: ".new-<pid>-<tag>" directories, ".current-<pid>-<tag>" links.
constexpr std::string_view k_staging_prefix = ".new-";
constexpr std::string_view k_link_prefix = ".current-";

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
  std::error_code ec;
  if (!fs::is_regular_file(pem, ec)) {
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

std::vector<fs::path> prune_key_directories(const fs::path& store, std::size_t keep)
{
  std::error_code ec;
  const fs::path current = fs::canonical(store / k_current_link, ec);
  const std::vector<fs::path> directories = key_directories(store);
  std::vector<fs::path> removed;
  if (directories.size() <= keep) {
    return removed;
  }
  std::size_t excess = directories.size() - keep;
  for (const fs::path& directory : directories) {
    if (excess == 0) {
      break;
    }
    if (!current.empty() && fs::equivalent(directory, current, ec)) {
      continue;
    }
    fs::remove_all(directory, ec);
    if (ec) {
      throw Error(Errc::failure, "cannot remove " + util::quote(directory) + ": " + ec.message());
    }
    removed.push_back(directory);
    --excess;
  }
  return removed;
}

namespace {

// mkdir -p, each new directory 0755 less the umask: never wider, whatever the umask.
void make_directories(const fs::path& path)
{
  std::error_code ec;
  if (path.empty() || fs::is_directory(path, ec)) {
    return;
  }
  if (path.has_parent_path() && path.parent_path() != path) {
    make_directories(path.parent_path());
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw_errno("cannot create", path);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(Errc::failure, "cannot create " + util::quote(path) + ": not a directory");
  }
  // mkdir applies the umask; a umask of 000 would still give 0755, as asked. Only narrower.
}

} // namespace

fs::path install_current_key(const fs::path& store, const fs::path& destination, InstallWhat what)
{
  const KeyFiles files = current_key_files(store);
  make_directories(destination);
  // Copy under a hidden name, then rename: the destination never holds half a key directory.
  // It is world-readable (0755) so that `verify` and `keys --show` read its certificates
  // without root; the private keys in it keep their 0600.
  const util::SignalsDeferred deferred;
  const fs::path staging = staging_directory(destination);
  make_directory(staging, 0755);
  const fs::path target = destination / files.directory.filename();
  std::error_code ec;
  try {
    for (const fs::directory_entry& entry : fs::directory_iterator(files.directory)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || (what == InstallWhat::certificates && is_private_key_name(name))) {
        continue; // kernel-sign stores hold only files; anything else is not ours to copy
      }
      // Private keys 0600 whatever their source had; nothing wider than 0755 (no group or other write).
      const mode_t mode = is_private_key_name(name) ? 0600 : static_cast<mode_t>(fs::status(entry.path()).permissions()) & 0755;
      write_bytes(staging / name, util::read_file(entry.path(), util::k_small_file_limit), mode);
    }
    if (fs::exists(fs::symlink_status(target, ec))) {
      fs::remove_all(target);
    }
    if (::rename(staging.c_str(), target.c_str()) != 0) {
      throw_errno("cannot create", target);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Error(Errc::failure, "cannot copy " + util::quote(files.directory) + " to " + util::quote(destination) + ": "
                            + e.code().message());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  switch_current(destination, target);
  return target;
}

std::string key_link_name(const X509* certificate)
{
  const std::string key_id = subject_key_id_hex(certificate);
  return key_id.empty() ? "sha256-" + fingerprint_sha256(certificate) : key_id;
}

fs::path register_key_directory(const fs::path& registry, const fs::path& key_directory)
{
  std::error_code ec;
  const fs::path absolute = fs::canonical(key_directory, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot resolve " + util::quote(key_directory) + ": " + ec.message());
  }
  const X509Ptr certificate = load_certificate(absolute / k_cert_der);
  make_directories(registry);
  const fs::path link = registry / key_link_name(certificate.get());
  const util::SignalsDeferred deferred;
  const fs::path temporary = registry / util::temporary_name("", k_link_prefix, "");
  const std::size_t token = util::remember_temporary(temporary);
  if (::symlink(absolute.c_str(), temporary.c_str()) != 0) {
    const int saved = errno;
    util::forget_temporary(token);
    errno = saved;
    throw_errno("cannot create a link in", registry);
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    util::forget_temporary(token);
    errno = saved;
    throw_errno("cannot create", link);
  }
  util::forget_temporary(token);
  return link;
}

std::vector<KernelKey> installed_kernel_keys(const fs::path& moduledir)
{
  std::vector<KernelKey> kernels;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(moduledir, ec)) {
    if (!entry.is_directory(ec)) {
      continue;
    }
    KernelKey kernel{entry.path().filename().string(), {}, {}, {}, std::nullopt};
    try {
      const KeyFiles files = current_certificate_files(kernel_key_store(moduledir, kernel.release));
      const X509Ptr certificate = load_certificate(files.certificate);
      kernel.key_id = subject_key_id_hex(certificate.get());
      kernel.fingerprint = fingerprint_sha256(certificate.get());
      kernel.certificate = files.certificate;
    } catch (const Error& e) {
      // no ksign key for this kernel, or one the caller may not read
      if (e.code() == Errc::permission) {
        kernel.unreadable = e;
      }
    }
    kernels.push_back(std::move(kernel));
  }
  std::sort(kernels.begin(), kernels.end(), [](const KernelKey& a, const KernelKey& b) { return a.release < b.release; });
  return kernels;
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
        state.fingerprints.push_back(fingerprint_sha256(load_certificate(key_directory_files(directory).certificate).get()));
      } catch (const Error&) {
        // not a key directory after all (no certificate): it holds no key a kernel could carry
      }
    }
  }
  if (state.current) {
    const X509Ptr certificate = load_certificate(current_key_files(store).certificate);
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
