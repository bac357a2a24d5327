// SPDX-License-Identifier: MIT
#include "core/keystore_write.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "util/cleanup.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

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
  util::make_directory(staging, 0700);
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
        util::throw_errno("cannot create the key directory", target);
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
    util::throw_errno("cannot create a link in", store);
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    util::throw_errno("cannot switch", link);
  }
}

} // namespace ksign::core
