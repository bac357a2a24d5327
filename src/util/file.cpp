// SPDX-License-Identifier: MIT
#include "util/file.hpp"

#include "util/cleanup.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <string_view>

namespace ksign::util {

namespace fs = std::filesystem;

Fd& Fd::operator=(Fd&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.release();
  }
  return *this;
}

Fd::~Fd()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

int Fd::release() noexcept
{
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

std::string quote(const fs::path& path)
{
  // Appended piece by piece: gcc 12 at -O3 warns falsely (-Wrestrict) on "'" + std::string.
  std::string quoted(1, '\'');
  quoted += escape(path.native()); // a file name may hold anything but '/' and NUL
  quoted += '\'';
  return quoted;
}

void throw_errno(const std::string& what, const fs::path& path, int error)
{
  throw Error(Errc::failure, what + " " + quote(path) + ": " + std::strerror(error));
}

std::string describe_size(std::uint64_t bytes)
{
  constexpr std::uint64_t mib = std::uint64_t{1} << 20;
  constexpr std::uint64_t gib = std::uint64_t{1} << 30;
  if (bytes >= gib && bytes % gib == 0) {
    return std::to_string(bytes / gib) + " GiB";
  }
  if (bytes >= mib) {
    return std::to_string(bytes / mib) + " MiB"; // rounded down: "more than" stays true
  }
  return std::to_string(bytes) + " bytes";
}

namespace {

std::string_view file_type_name(mode_t mode)
{
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a regular file";
}

[[noreturn]] void throw_too_large(const fs::path& path, std::uint64_t max_size)
{
  throw Error(Errc::format, quote(path) + " is larger than " + describe_size(max_size) + ", more than ksign reads");
}

} // namespace

Bytes read_file(const fs::path& path, std::uint64_t max_size)
{
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a terminal named as a
  // file must not become ours. Both are cleared once the file is known to be regular.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    throw_errno("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    const std::string_view type = file_type_name(st.st_mode);
    throw Error(Errc::failure, "cannot read " + quote(path) + ": " + std::string(type)
                                 + (type.starts_with("a ") ? ", not a regular file" : ""));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    throw_errno("cannot read", path, errno);
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_size) {
    throw_too_large(path, max_size);
  }
  // One read of the known size (the extra byte sees EOF); a file without a size (/proc)
  // grows in steps, never past max_size + 1.
  const std::uint64_t room_limit = std::min<std::uint64_t>(max_size, SIZE_MAX - 1) + 1;
  Bytes data;
  data.resize(static_cast<std::size_t>(size > 0 ? size + 1 : std::min<std::uint64_t>(room_limit, 65536)));
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) {
      if (used >= room_limit) {
        throw_too_large(path, max_size);
      }
      data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(std::uint64_t{data.size()} * 2, room_limit)));
    }
    const ssize_t n = ::read(fd.get(), data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot read", path, errno);
    }
    if (n == 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  if (used > max_size) {
    throw_too_large(path, max_size);
  }
  data.resize(used);
  return data;
}

namespace {

// The process umask, read without changing it (umask(2) would race with other threads).
mode_t current_umask()
{
  static const mode_t mask = [] {
    mode_t value = 022;
    try {
      const Bytes status = read_file("/proc/self/status", k_small_file_limit);
      const std::string_view text(reinterpret_cast<const char*>(status.data()), status.size());
      const auto at = text.find("\nUmask:");
      if (at != std::string_view::npos) {
        value = static_cast<mode_t>(std::strtoul(std::string(text.substr(at + 8, 12)).c_str(), nullptr, 8));
      }
    } catch (const Error&) {
    }
    return value;
  }();
  return mask;
}

// The disk or the quota is full: no blocks or no inodes left.
bool is_no_space(int err)
{
  return err == ENOSPC || err == EDQUOT;
}

// Write every part; returns 0, or the errno of a full disk (is_no_space) for the caller to
// make room and try again. Other failures throw.
int write_all(int fd, std::span<const ByteView> parts, const fs::path& path)
{
  std::vector<iovec> iov;
  for (const ByteView part : parts) {
    if (!part.empty()) {
      iov.push_back({const_cast<std::uint8_t*>(part.data()), part.size()});
    }
  }
  std::size_t index = 0;
  while (index < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - index, IOV_MAX));
    ssize_t n = ::writev(fd, &iov[index], count);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      // Past RLIMIT_FSIZE (SIGXFSZ is ignored, util/cleanup.hpp): say which limit, as ENOSPC
      // says which disk.
      const int err = errno;
      struct rlimit limit {};
      if (err == EFBIG && ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        throw Error(Errc::failure, "cannot write " + quote(path) + ": the file size limit (ulimit -f) is "
                                     + describe_size(limit.rlim_cur));
      }
      if (is_no_space(err)) {
        return err;
      }
      throw_errno("cannot write", path, err);
    }
    while (n > 0 && index < iov.size()) {
      const auto step = std::min<std::size_t>(static_cast<std::size_t>(n), iov[index].iov_len);
      iov[index].iov_base = static_cast<std::uint8_t*>(iov[index].iov_base) + step;
      iov[index].iov_len -= step;
      n -= static_cast<ssize_t>(step);
      if (iov[index].iov_len == 0) {
        ++index;
      }
    }
  }
  return 0;
}

} // namespace

fs::path replacement_target(const fs::path& path)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    return path;
  }
  std::error_code ec;
  fs::path resolved = fs::canonical(path, ec);
  if (ec) {
    throw Error(Errc::failure, "cannot follow the symbolic link " + quote(path) + ": " + ec.message());
  }
  return resolved;
}

namespace {

// Remove a staged temporary that will not be renamed.
void discard(const StagedFile& file) noexcept
{
  ::unlink(file.temporary.c_str());
  forget_temporary(file.cleanup_token);
}

// Link `file`'s temporary to each of its hard links' names, atomically for each name. Returns
// an error message, empty on success.
std::string relink_hard_links(const StagedFile& file)
{
  for (const fs::path& name : file.hard_links) {
    const fs::path directory = name.has_parent_path() ? name.parent_path() : fs::path(".");
    const fs::path temporary = directory / temporary_name(name.filename().native());
    const std::size_t token = remember_temporary(temporary);
    std::string error;
    if (::link(file.temporary.c_str(), temporary.c_str()) != 0) {
      error = "cannot link " + quote(name) + " to the signed file: " + std::strerror(errno);
    } else if (::rename(temporary.c_str(), name.c_str()) != 0) {
      error = "cannot replace " + quote(name) + ": " + std::strerror(errno);
      ::unlink(temporary.c_str());
    }
    forget_temporary(token);
    if (!error.empty()) {
      return error;
    }
  }
  return {};
}

} // namespace

namespace {

// create_locked's way without a window: an unnamed file, locked, then named. nullopt when the
// file system or the missing /proc cannot do it (the caller falls back); else the file, or an
// empty Fd with errno set (EEXIST: the name is taken).
std::optional<Fd> create_locked_unnamed(const fs::path& path)
{
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  Fd fd(::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd) {
    return std::nullopt; // EOPNOTSUPP, EISDIR (no O_TMPFILE), or a failure the fallback reports
  }
  int locked = 0;
  while ((locked = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (locked != 0) {
    return std::nullopt; // no flock here (ENOLCK): the fallback goes by the pid in the name
  }
  // The documented way to name an O_TMPFILE file without CAP_DAC_READ_SEARCH.
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    return fd;
  }
  const int err = errno;
  if (err == EEXIST || is_no_space(err)) {
    errno = err;
    return Fd();
  }
  return std::nullopt; // no /proc, or a file system that cannot link it: the fallback says why
}

} // namespace

Fd create_locked(const fs::path& path)
{
  if (std::optional<Fd> unnamed = create_locked_unnamed(path)) {
    return std::move(*unnamed);
  }
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    return fd;
  }
  // Waits only while a run that removes dead temporaries holds the lock: it unlinks the file
  // and lets go at once. A file system without flock (ENOLCK) keeps the file unlocked: the
  // other runs then go by the pid in its name alone.
  int locked = 0;
  while ((locked = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
  }
  struct stat mine {};
  struct stat named {};
  if (locked == 0 && (::fstat(fd.get(), &mine) != 0 || ::lstat(path.c_str(), &named) != 0
                      || mine.st_ino != named.st_ino || mine.st_dev != named.st_dev)) {
    errno = EEXIST; // removed between open and flock: try another name
    return Fd();
  }
  return fd;
}

std::optional<dev_t> read_only_device(const fs::path& directory)
{
  struct statvfs vfs {};
  struct stat st {};
  if (::statvfs(directory.c_str(), &vfs) != 0 || (vfs.f_flag & ST_RDONLY) == 0 || ::stat(directory.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return st.st_dev;
}

StagedFile stage_file(const fs::path& given_target, std::span<const ByteView> parts, const ReplaceOptions& options,
                      Durability durability)
{
  const fs::path target = options.replace_link ? given_target : replacement_target(given_target);
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");

  // Mode and owner: from the reference file, else from the target (stat follows a link that is
  // to be replaced to the file it points to), else new.
  struct stat reference {};
  bool have_reference = false;
  const fs::path& reference_path = options.metadata_from ? *options.metadata_from : target;
  if (::stat(reference_path.c_str(), &reference) == 0) {
    have_reference = true;
  } else if (errno != ENOENT) {
    throw_errno("cannot stat", reference_path, errno);
  }

  fs::path temporary;
  bool owner_kept = true;
  Fd fd;
  std::size_t token = 0;
  const auto give_up = [&] {
    ::unlink(temporary.c_str());
    forget_temporary(token);
    fd = Fd();
  };
  for (int collisions = 0;;) {
    temporary = directory / temporary_name(target.filename().native());
    // Remembered before it exists: a signal between open and remember would leave it behind.
    token = remember_temporary(temporary);
    fd = create_locked(temporary);
    if (!fd) {
      const int err = errno;
      forget_temporary(token);
      if (err == EEXIST && ++collisions < 100) {
        continue;
      }
      if (is_no_space(err) && options.make_room && options.make_room()) {
        continue;
      }
      if (err == EEXIST) {
        throw Error(Errc::failure, "cannot create a temporary file in " + quote(directory));
      }
      throw_errno("cannot create a temporary file in", directory, err);
    }
    if (cleanup_started()) {
      // The cleanup handler may have swept before the file existed; the process is ending.
      ::unlink(temporary.c_str());
      throw Error(Errc::failure, "interrupted");
    }
    int err = 0;
    try {
      err = write_all(fd.get(), parts, temporary);
    } catch (...) {
      give_up();
      throw;
    }
    if (err == 0) {
      break;
    }
    // The disk is full: this temporary goes (its blocks with it), and once room is made the
    // file is written again.
    give_up();
    if (!(options.make_room && options.make_room())) {
      throw_errno("cannot write", temporary, err);
    }
  }

  try {
    // A new file gets the umask applied; only then is it looked up (it costs a /proc read).
    const mode_t mode = options.force_mode ? *options.force_mode
                        : have_reference   ? reference.st_mode & 07777
                                           : options.new_file_mode & ~current_umask();
    if (have_reference && !options.force_mode) {
      struct stat mine {};
      if (::fstat(fd.get(), &mine) != 0) {
        throw_errno("cannot stat", temporary, errno);
      }
      if ((mine.st_uid != reference.st_uid || mine.st_gid != reference.st_gid)
          && ::fchown(fd.get(), reference.st_uid, reference.st_gid) != 0) {
        if (!options.owner_best_effort || errno != EPERM) {
          throw_errno("cannot keep the owner of", target, errno);
        }
        owner_kept = false;
      }
    }
    if (::fchmod(fd.get(), mode) != 0) {
      throw_errno("cannot set the mode of", temporary, errno);
    }
    if (durability == Durability::now && ::fsync(fd.get()) != 0) {
      throw_errno("cannot sync", temporary, errno);
    }
    // The file stays open: its lock tells other runs it is live (StagedFile).
  } catch (...) {
    give_up();
    throw;
  }
  StagedFile staged{temporary, target, owner_kept, {}, token, std::move(fd)};
  return staged;
}

void replace_file_atomically(const fs::path& target, std::span<const ByteView> parts,
                             const ReplaceOptions& options)
{
  rename_staged(stage_file(target, parts, options, Durability::now));
  // The directory is not fsynced: after a crash the name holds either the old or the new
  // file, both complete, which is all atomic replacement promises (and it saves ~5 ms a file).
}

namespace {

// Empty when `file`'s temporary still names the file it holds open, else why not: another
// program (an older ksign, a cleaner) removed or replaced it.
std::string lost_temporary(const StagedFile& file)
{
  struct stat mine {};
  struct stat named {};
  if (::fstat(file.fd.get(), &mine) == 0 && ::lstat(file.temporary.c_str(), &named) == 0
      && mine.st_ino == named.st_ino && mine.st_dev == named.st_dev) {
    return {};
  }
  return "its signed temporary " + quote(file.temporary) + " was removed by another program before it could "
         "replace the file, which is left as it was";
}

} // namespace

std::vector<std::string> commit_staged(std::span<const StagedFile> files)
{
  std::vector<std::string> errors(files.size());
  // One syncfs per file system makes every staged file durable at once; fsync per file
  // costs about a millisecond each on common disks, more than signing the module. A file
  // system that fails to sync fails only the files on it.
  struct Synced
  {
    dev_t device;
    std::string error;
  };
  std::vector<Synced> synced;
  // A lone file is cheaper to fsync than its whole file system.
  const bool one_file = files.size() == 1;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const StagedFile& file = files[i];
    struct stat st {};
    if (::fstat(file.fd.get(), &st) != 0) {
      errors[i] = "cannot sync " + quote(file.temporary) + ": " + std::strerror(errno);
    } else if (one_file) {
      if (::fsync(file.fd.get()) != 0) {
        errors[i] = "cannot sync " + quote(file.temporary) + ": " + std::strerror(errno);
      }
    } else {
      auto done = std::find_if(synced.begin(), synced.end(), [&](const Synced& s) { return s.device == st.st_dev; });
      if (done == synced.end()) {
        synced.push_back({st.st_dev, ::syncfs(file.fd.get()) == 0
                                       ? std::string()
                                       : std::string("cannot sync the file system: ") + std::strerror(errno)});
        done = synced.end() - 1;
      }
      errors[i] = done->error;
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string& error = errors[i];
    if (error.empty()) {
      error = lost_temporary(files[i]);
    }
    if (error.empty()) {
      error = relink_hard_links(files[i]);
    }
    if (error.empty() && ::rename(files[i].temporary.c_str(), files[i].target.c_str()) != 0) {
      error = "cannot replace " + quote(files[i].target) + ": " + std::strerror(errno);
    }
    if (error.empty()) {
      forget_temporary(files[i].cleanup_token);
    } else {
      discard(files[i]);
    }
  }
  return errors;
}

void rename_staged(const StagedFile& file)
{
  std::string error = lost_temporary(file);
  if (error.empty()) {
    error = relink_hard_links(file);
  }
  if (!error.empty()) {
    discard(file);
    throw Error(Errc::failure, error);
  }
  if (::rename(file.temporary.c_str(), file.target.c_str()) != 0) {
    const int err = errno;
    discard(file);
    throw_errno("cannot replace", file.target, err);
  }
  forget_temporary(file.cleanup_token);
}

void replace_file_atomically(const fs::path& target, ByteView data, const ReplaceOptions& options)
{
  const ByteView parts[] = {data};
  replace_file_atomically(target, parts, options);
}

} // namespace ksign::util
