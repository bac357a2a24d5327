// SPDX-License-Identifier: MIT
#include "core/keystore.hpp"

#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <system_error>

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

} // namespace ksign::core
