// SPDX-License-Identifier: MIT
#include "core/keystore.hpp"

#include "core/keygen.hpp"
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
  const fs::path link = store / k_current_link;
  std::error_code ec;
  if (!fs::exists(link, ec)) {
    throw Error(Errc::no_key, "no current key in " + util::quote(store) + " (" + util::quote(link) + " is missing)");
  }
  KeyFiles files;
  files.directory = fs::canonical(link, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot resolve " + util::quote(link) + ": " + ec.message());
  }
  files.key = files.directory / k_key_pem;
  if (!fs::exists(files.key)) {
    files.key = files.directory / k_private_pem;
  }
  files.certificate = files.directory / k_cert_der;
  if (!fs::exists(files.certificate)) {
    files.certificate = files.directory / k_cert_pem;
  }
  for (const fs::path& needed : {files.key, files.certificate}) {
    if (!fs::exists(needed)) {
      throw Error(Errc::failure, "key directory " + util::quote(files.directory) + " has no "
                                  + needed.filename().string());
    }
  }
  const fs::path hash_path = files.directory / k_hash_file;
  if (fs::exists(hash_path)) {
    const Bytes text = util::read_file(hash_path, util::k_small_file_limit);
    const std::string name = std::string(util::trim({reinterpret_cast<const char*>(text.data()), text.size()}));
    files.hash = parse_hash(name);
    if (!files.hash) {
      throw Error(Errc::failure, "unknown hash '" + name + "' in " + util::quote(hash_path));
    }
  }
  return files;
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
  if (recorded_refresh_period(store) == util::trim(period)) {
    return;
  }
  util::ReplaceOptions options;
  options.force_mode = 0644;
  util::replace_file_atomically(store / k_refresh_file, as_bytes(std::string(period) + "\n"), options);
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

fs::path write_key_directory(const fs::path& store, const SigningKey& key, HashAlgo hash)
{
  const fs::path staging = store / (".new-" + util::random_tag());
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
  const fs::path link = store / k_current_link;
  const fs::path temporary = store / (".current-" + util::random_tag());
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

bool complete_key_directory(const fs::path& directory)
{
  std::error_code ec;
  const fs::path pem = directory / k_cert_pem;
  if (fs::exists(pem, ec)) {
    return false;
  }
  fs::path source = directory / k_cert_der;
  if (!fs::exists(source, ec)) {
    source = directory / k_key_pem;
  }
  const X509Ptr certificate = load_certificate(source);
  write_text(pem, certificate_pem(certificate.get()), 0644);
  return true;
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

fs::path install_current_key(const fs::path& store, const fs::path& destination)
{
  const KeyFiles files = current_key_files(store);
  std::error_code ec;
  fs::create_directories(destination, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot create " + util::quote(destination) + ": " + ec.message());
  }
  struct stat source_dir {};
  if (::stat(files.directory.c_str(), &source_dir) != 0) {
    throw_errno("cannot stat", files.directory);
  }
  // Copy under a hidden name, then rename: the destination never holds half a key directory.
  const fs::path staging = destination / (".new-" + util::random_tag());
  make_directory(staging, source_dir.st_mode & 07777);
  const fs::path target = destination / files.directory.filename();
  try {
    for (const fs::directory_entry& entry : fs::directory_iterator(files.directory)) {
      if (!entry.is_regular_file()) {
        continue; // kernel-sign stores hold only files; anything else is not ours to copy
      }
      // copy_file keeps the permission bits (0600 private keys stay 0600).
      fs::copy_file(entry.path(), staging / entry.path().filename());
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

std::vector<KernelKey> installed_kernel_keys(const fs::path& moduledir)
{
  std::vector<KernelKey> kernels;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(moduledir, ec)) {
    if (!entry.is_directory(ec)) {
      continue;
    }
    KernelKey kernel{entry.path().filename().string(), {}, {}};
    try {
      const KeyFiles files = current_key_files(kernel_key_store(moduledir, kernel.release));
      const X509Ptr certificate = load_certificate(files.certificate);
      kernel.key_id = subject_key_id_hex(certificate.get());
      kernel.fingerprint = fingerprint_sha256(certificate.get());
    } catch (const Error&) {
      // no (readable) ksign key for this kernel
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
