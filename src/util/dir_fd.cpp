// SPDX-License-Identifier: MIT
#include "util/dir_fd.hpp"

#include "util/cleanup.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <cerrno>
#include <climits>
#include <memory>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <cstring>

namespace ksign::util {

namespace fs = std::filesystem;

namespace {

// As util::throw_errno, but EACCES is Errc::permission: main then says who may read it.
[[noreturn]] void throw_access_error(const std::string& what, const fs::path& path, int error = errno)
{
  throw Error(error == EACCES ? Errc::permission : Errc::failure, what + " " + quote(path) + ": " + std::strerror(error));
}

// Whether `gid` is the private group of user `owner`: named after the user, with no member but
// the user (the user private groups Debian and Fedora make for each user).
bool is_private_group(gid_t gid, uid_t owner)
{
  const struct group* entry = ::getgrgid(gid);
  const struct passwd* user = ::getpwuid(owner);
  if (entry == nullptr || user == nullptr || entry->gr_name == nullptr || user->pw_name == nullptr
      || std::string_view(entry->gr_name) != user->pw_name || user->pw_gid != gid) {
    return false;
  }
  for (char** member = entry->gr_mem; member != nullptr && *member != nullptr; ++member) {
    if (std::string_view(*member) != user->pw_name) {
      return false;
    }
  }
  return true;
}

} // namespace

DirFd::DirFd(const fs::path& path)
  : m_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)), m_path(path)
{
  if (!m_fd) {
    throw_access_error("cannot open the directory", path);
  }
}

std::optional<Fd> DirFd::open_regular(std::string_view name) const
{
  const std::string component(name);
  Fd fd(::openat(m_fd.get(), component.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    if (errno == ELOOP) {
      throw Error(Errc::failure, quote(m_path / component) + " is a symbolic link; ksign does not follow it");
    }
    throw_access_error("cannot open", m_path / component);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(Errc::failure, quote(m_path / component) + " is not a regular file");
  }
  return fd;
}

std::optional<DirFd> DirFd::open_directory(std::string_view name) const
{
  const std::string component(name);
  Fd fd(::openat(m_fd.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    // O_NOFOLLOW|O_DIRECTORY answers ENOTDIR for a link (to a directory or not) as for a file.
    const int saved = errno;
    struct stat st {};
    if (saved == ELOOP || (::fstatat(m_fd.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))) {
      throw Error(Errc::failure, quote(m_path / component) + " is a symbolic link; ksign does not follow it");
    }
    if (saved == ENOTDIR) {
      throw Error(Errc::failure, quote(m_path / component) + " is not a directory");
    }
    throw_access_error("cannot open the directory", m_path / component, saved);
  }
  return DirFd(std::move(fd), m_path / component);
}

std::optional<struct stat> DirFd::status(std::string_view name) const
{
  const std::string component(name);
  struct stat st {};
  if (::fstatat(m_fd.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    throw_access_error("cannot look at", m_path / component);
  }
  return st;
}

std::optional<std::string> DirFd::read_link(std::string_view name) const
{
  const std::string component(name);
  std::string target(PATH_MAX, '\0');
  const ssize_t length = ::readlinkat(m_fd.get(), component.c_str(), target.data(), target.size());
  if (length < 0) {
    if (errno == ENOENT || errno == EINVAL || errno == ENOTDIR) {
      return std::nullopt; // missing, or not a link
    }
    throw_access_error("cannot read the link", m_path / component);
  }
  target.resize(static_cast<std::size_t>(length));
  return target;
}

std::vector<std::string> DirFd::names() const
{
  // fdopendir takes the descriptor over: give it a duplicate, rewound.
  const int copy = ::openat(m_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) {
    throw_access_error("cannot list", m_path);
  }
  const std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(copy), ::closedir);
  if (!listing) {
    const int saved = errno;
    ::close(copy);
    throw_access_error("cannot list", m_path, saved);
  }
  std::vector<std::string> found;
  errno = 0;
  while (const struct dirent* entry = ::readdir(listing.get())) {
    const std::string_view entry_name = entry->d_name;
    if (entry_name != "." && entry_name != "..") {
      found.emplace_back(entry_name);
    }
    errno = 0;
  }
  if (errno != 0) {
    throw_access_error("cannot list", m_path);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<Bytes> DirFd::read_regular(std::string_view name, std::size_t limit) const
{
  std::optional<Fd> fd = open_regular(name);
  if (!fd) {
    return std::nullopt;
  }
  Bytes data;
  unsigned char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd->get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_access_error("cannot read", m_path / std::string(name));
    }
    if (got == 0) {
      break;
    }
    data.insert(data.end(), buffer, buffer + got);
    if (data.size() > limit) {
      throw Error(Errc::failure, quote(m_path / std::string(name)) + " is too large");
    }
  }
  return data;
}

void DirFd::replace(std::string_view name, ByteView data, mode_t mode) const
{
  const std::string component(name);
  const std::string temporary = temporary_name(component);
  const std::size_t token = remember_temporary(m_path / temporary);
  const auto fail = [&](const std::string& what) {
    const int saved = errno;
    ::unlinkat(m_fd.get(), temporary.c_str(), 0);
    forget_temporary(token);
    throw_access_error(what, m_path / component, saved);
  };
  Fd fd(::openat(m_fd.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    forget_temporary(token);
    throw_access_error("cannot create a file in", m_path);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t wrote = ::write(fd.get(), data.data() + done, data.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("cannot write");
    }
    done += static_cast<std::size_t>(wrote);
  }
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0) {
    fail("cannot write");
  }
  if (::renameat(m_fd.get(), temporary.c_str(), m_fd.get(), component.c_str()) != 0) {
    fail("cannot replace");
  }
  forget_temporary(token);
}

Fd DirFd::open_lock(std::string_view name, mode_t mode) const
{
  const std::string component(name);
  Fd fd(::openat(m_fd.get(), component.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd && errno == EEXIST) {
    fd = Fd(::openat(m_fd.get(), component.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  }
  if (!fd) {
    if (errno == ELOOP) {
      throw Error(Errc::failure, quote(m_path / component) + " is a symbolic link; ksign does not follow it (remove it)");
    }
    throw_access_error("cannot open the lock file", m_path / component);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(Errc::failure, quote(m_path / component) + " is not a regular file (remove it)");
  }
  return fd;
}

void make_directory(const fs::path& path, mode_t mode)
{
  if (::mkdir(path.c_str(), mode) != 0) {
    throw_access_error("cannot create the directory", path);
  }
  if (::chmod(path.c_str(), mode) != 0) {
    throw_access_error("cannot set the mode of", path);
  }
}

std::vector<fs::path> make_directories(const fs::path& path, mode_t mode)
{
  std::vector<fs::path> created;
  std::error_code ec;
  if (path.empty() || fs::is_directory(path, ec)) {
    return created;
  }
  const fs::path parent = path.parent_path();
  if (!parent.empty() && parent != path) {
    created = make_directories(parent, mode);
  }
  if (::mkdir(path.c_str(), mode) == 0) {
    if (::chmod(path.c_str(), mode) != 0) {
      throw_access_error("cannot set the mode of", path);
    }
    created.push_back(path);
  } else if (errno != EEXIST) {
    throw_access_error("cannot create the directory", path);
  }
  if (!fs::is_directory(path, ec)) {
    throw Error(Errc::failure, "cannot create " + quote(path) + ": not a directory");
  }
  return created;
}

std::vector<UnsafeDirectory> unsafe_directories(const fs::path& path, std::span<const uid_t> owners, bool strict_leaf)
{
  std::vector<UnsafeDirectory> found;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  const fs::path resolved = fs::weakly_canonical(absolute, ec);
  bool leaf = true;
  for (fs::path at = ec ? absolute.lexically_normal() : resolved;; at = at.parent_path()) {
    struct stat st {};
    if (::stat(at.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      const bool sticky_safe = (st.st_mode & S_ISVTX) != 0 && !(strict_leaf && leaf);
      if ((st.st_mode & S_IWOTH) != 0 && !sticky_safe) {
        found.push_back({at, UnsafeDirectory::Why::others_can_write, st.st_mode & 07777, st.st_uid, st.st_gid});
      } else if (!owners.empty() && std::find(owners.begin(), owners.end(), st.st_uid) == owners.end()) {
        found.push_back({at, UnsafeDirectory::Why::foreign_owner, st.st_mode & 07777, st.st_uid, st.st_gid});
      } else if (!owners.empty() && (st.st_mode & S_IWGRP) != 0 && !sticky_safe && st.st_gid != 0
                 && !is_private_group(st.st_gid, st.st_uid)) {
        found.push_back({at, UnsafeDirectory::Why::group_can_write, st.st_mode & 07777, st.st_uid, st.st_gid});
      }
      leaf = false;
    }
    if (at == at.parent_path() || at.empty()) {
      break;
    }
  }
  return found;
}

std::optional<pid_t> flock_holder(int fd)
{
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::nullopt;
  }
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters' lines have "->" after the number.
  char want[64];
  std::snprintf(want, sizeof want, "%02x:%02x:%llu", ::major(st.st_dev), ::minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string number, kind, advisory, access, device;
  long long pid = 0;
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    if (!(fields >> number >> kind) || kind != "FLOCK" || !(fields >> advisory >> access >> pid >> device)) {
      continue;
    }
    if (device == want && pid > 0) {
      return static_cast<pid_t>(pid);
    }
  }
  return std::nullopt;
}

std::string group_name(gid_t gid)
{
  const struct group* entry = ::getgrgid(gid);
  if (entry != nullptr && entry->gr_name != nullptr) {
    return entry->gr_name;
  }
  return "gid " + std::to_string(gid);
}

std::optional<uid_t> sudo_invoker(const char* sudo_uid)
{
  if (::getuid() != 0 || sudo_uid == nullptr || sudo_uid[0] == '\0') {
    return std::nullopt;
  }
  const std::string_view text(sudo_uid);
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > std::numeric_limits<uid_t>::max() - 1
      || ::getpwuid(static_cast<uid_t>(value)) == nullptr) {
    return std::nullopt; // not a number, (uid_t)-1, or no such user
  }
  return static_cast<uid_t>(value);
}

std::string user_name(uid_t uid)
{
  const struct passwd* entry = ::getpwuid(uid);
  if (entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  return "uid " + std::to_string(uid);
}

} // namespace ksign::util
