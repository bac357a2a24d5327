// SPDX-License-Identifier: MIT
#include "core/key_install.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "core/keystore_write.hpp"
#include "util/cleanup.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

// An exclusive flock(2) on a directory itself, held until destroyed: no lock file is left in
// a package tree.
class DirectoryLock
{
public:
  explicit DirectoryLock(const fs::path& directory)
    : m_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
  {
    if (!m_fd) {
      util::throw_errno("cannot open", directory);
    }
    while (::flock(m_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        util::throw_errno("cannot lock", directory);
      }
    }
  }

private:
  util::Fd m_fd;
};

bool exists_as_anything(const fs::path& path)
{
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

// Put the directory `replacement` at `target`. Whatever `target` was (a directory, a link, a
// file) is exchanged with it in one step, so that a reader finds the old or the new, and is then
// removed from `replacement`'s name (a link is removed itself, never what it points to).
void put_in_place(const fs::path& replacement, const fs::path& target)
{
  if (!exists_as_anything(target)) {
    if (::rename(replacement.c_str(), target.c_str()) != 0) {
      util::throw_errno("cannot create", target);
    }
    return;
  }
  if (::renameat2(AT_FDCWD, replacement.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) {
      util::throw_errno("cannot replace", target);
    }
    // A file system without RENAME_EXCHANGE: move the old one aside first.
    const fs::path aside = target.parent_path() / util::temporary_name("", k_staging_prefix, "");
    if (::rename(target.c_str(), aside.c_str()) != 0) {
      util::throw_errno("cannot move aside", target);
    }
    if (::rename(replacement.c_str(), target.c_str()) != 0) {
      const int saved = errno;
      (void)::rename(aside.c_str(), target.c_str());
      errno = saved;
      util::throw_errno("cannot create", target);
    }
    std::error_code ignored;
    fs::remove_all(aside, ignored);
    return;
  }
  std::error_code ec;
  fs::remove_all(replacement, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot remove the old " + util::quote(target) + " (now " + util::quote(replacement)
                                 + "): " + ec.message());
  }
}

} // namespace

fs::path install_current_key(const KeyFiles& files, const fs::path& destination, InstallWhat what)
{
  fs::path absolute = fs::absolute(destination).lexically_normal();
  if (absolute.filename().empty() && absolute.has_parent_path()) {
    absolute = absolute.parent_path(); // "dest/": the link named dest, not what it points to
  }
  const fs::path parent = absolute.parent_path();
  (void)util::make_directories(parent, 0755);
  // Installs into one destination take turns: two copies exchanged at once would leave one
  // of them half-removed.
  const DirectoryLock lock(parent);
  // Signals wait until the copy is in place (a few milliseconds); SIGKILL leaves a hidden
  // directory, which the next run removes (remove_unfinished_entries).
  const util::SignalsDeferred deferred;
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(absolute, ec))) {
    // Never write through a link: it becomes a directory of its own.
    const fs::path replacement = parent / util::temporary_name("", k_staging_prefix, "");
    util::make_directory(replacement, 0755);
    try {
      put_in_place(replacement, absolute);
    } catch (...) {
      fs::remove_all(replacement, ec);
      throw;
    }
  }
  (void)util::make_directories(destination, 0755);
  // Copy under a hidden name, then exchange: the destination never holds half a key directory.
  // It is world-readable (0755) so that `verify` and `keys --show` read its certificates
  // without root; the private keys in it keep their 0600.
  const fs::path staging = destination / util::temporary_name("", k_staging_prefix, "");
  util::make_directory(staging, 0755);
  const fs::path target = destination / files.directory.filename();
  try {
    // Read through the key directory's descriptor: a link or a FIFO in it is not copied, and
    // nothing outside the key directory is read.
    for (const std::string& name : files.opened->names()) {
      const std::optional<struct stat> st = files.opened->status(name);
      if (!st || !S_ISREG(st->st_mode) || (what == InstallWhat::certificates && is_private_key_name(name))) {
        continue; // kernel-sign stores hold only files; anything else is not ours to copy
      }
      const std::optional<Bytes> data = read_key_directory_file(files, name);
      if (!data) {
        continue;
      }
      // Private keys 0600 whatever their source had; nothing wider than 0755 (no group or other write).
      util::ReplaceOptions options;
      options.force_mode = is_private_key_name(name) ? 0600 : static_cast<mode_t>(st->st_mode & 0755);
      util::replace_file_atomically(staging / name, *data, options);
    }
    put_in_place(staging, target);
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

fs::path register_key_directory(const fs::path& registry, const KeyFiles& key_directory)
{
  std::error_code ec;
  const fs::path absolute = fs::canonical(key_directory.directory, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot resolve " + util::quote(key_directory.directory) + ": " + ec.message());
  }
  const X509Ptr certificate =
    parse_certificate(key_directory_certificate(key_directory), "the certificate " + util::quote(key_directory.certificate));
  (void)util::make_directories(registry, 0755);
  const fs::path link = registry / key_link_name(certificate.get());
  const util::SignalsDeferred deferred;
  const fs::path temporary = registry / util::temporary_name("", k_link_prefix, "");
  const std::size_t token = util::remember_temporary(temporary);
  if (::symlink(absolute.c_str(), temporary.c_str()) != 0) {
    const int saved = errno;
    util::forget_temporary(token);
    errno = saved;
    util::throw_errno("cannot create a link in", registry);
  }
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    util::forget_temporary(token);
    errno = saved;
    util::throw_errno("cannot create", link);
  }
  util::forget_temporary(token);
  return link;
}

std::string key_link_name(const X509* certificate)
{
  const std::string key_id = subject_key_id_hex(certificate);
  return key_id.empty() ? "sha256-" + fingerprint_sha256(certificate) : key_id;
}

} // namespace ksign::core
