// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/file.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Files opened relative to one directory descriptor: names are single components, links are
// never followed, new files are created with O_EXCL, so nobody who can plant a link or swap a
// directory above redirects a write. And the ssh rule for the directories above a path.
namespace ksign::util {

// An open directory. The path itself may be (or pass through) a link; what is inside is
// reached through the descriptor only.
class DirFd
{
public:
  // Throws Error(Errc::failure) naming `path` when it cannot be opened as a directory
  // (Errc::permission when it may not be).
  explicit DirFd(const std::filesystem::path& path);

  [[nodiscard]] int get() const noexcept { return m_fd.get(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

  // Open `name` (one component) for reading; nullopt when it does not exist. Throws for a link
  // or anything that is not a regular file (a FIFO, a device), Error(Errc::permission) when it
  // may not be read.
  [[nodiscard]] std::optional<Fd> open_regular(std::string_view name) const;

  // The directory `name` (one component), never reached through a link; nullopt when it does
  // not exist. Throws for a link or anything that is not a directory, Error(Errc::permission)
  // when it may not be opened.
  [[nodiscard]] std::optional<DirFd> open_directory(std::string_view name) const;

  // What `name` is, not following a link (fstatat AT_SYMLINK_NOFOLLOW); nullopt when it does
  // not exist. Throws Error(Errc::permission) when this directory may not be searched.
  [[nodiscard]] std::optional<struct stat> status(std::string_view name) const;

  // The text of the link `name`; nullopt when `name` does not exist or is not a link.
  [[nodiscard]] std::optional<std::string> read_link(std::string_view name) const;

  // The names in the directory (without "." and ".."), sorted.
  [[nodiscard]] std::vector<std::string> names() const;

  // The same directory, called `path` in messages (say, its real path).
  [[nodiscard]] DirFd named(std::filesystem::path path) && noexcept { return DirFd(std::move(m_fd), std::move(path)); }

  // The whole small regular file `name` (at most `limit` bytes), or nullopt when it does not
  // exist. A link is refused (Error naming it).
  [[nodiscard]] std::optional<Bytes> read_regular(std::string_view name, std::size_t limit) const;

  // Replace `name` with `data` (mode `mode`, whatever the umask): a new file created with
  // O_CREAT|O_EXCL|O_NOFOLLOW under a temporary name, fsynced and renamed over `name`, so a
  // link named `name` is replaced itself, never what it points at.
  void replace(std::string_view name, ByteView data, mode_t mode) const;

  // Open `name` read-write as a lock file, creating it (O_EXCL, `mode`) when missing; a link or
  // anything but a regular file is refused.
  [[nodiscard]] Fd open_lock(std::string_view name, mode_t mode) const;

private:
  DirFd(Fd fd, std::filesystem::path path) noexcept : m_fd(std::move(fd)), m_path(std::move(path)) {}

  Fd m_fd;
  std::filesystem::path m_path;
};

// mkdir with exactly `mode`, whatever the umask (the directory must not exist yet).
void make_directory(const std::filesystem::path& path, mode_t mode);

// mkdir -p with exactly `mode` for every directory it creates, whatever the umask. Returns the
// directories it created, outermost first.
std::vector<std::filesystem::path> make_directories(const std::filesystem::path& path, mode_t mode);

// A directory above (or at) a path that someone else could use to replace what is below it.
struct UnsafeDirectory
{
  enum class Why { others_can_write, group_can_write, foreign_owner };
  std::filesystem::path directory;
  Why why;
  mode_t mode = 0;
  uid_t owner = 0;
  gid_t group = 0;
};

// The directories from `path` (made absolute, links resolved as far as it exists) up to / that
// anyone can write to without the sticky bit, and, when `owners` is not empty (ssh's rule for
// what ksign writes), also those owned by a user not in `owners` and those a group can write to
// without the sticky bit, unless the group is root's (gid 0: its members can do what root does)
// or the owner's own private group (named after the owner, no other member: Debian's ssh takes
// it too). With `strict_leaf`, the deepest existing one (`path` itself) is unsafe when others
// (or such a group) can write to it even with the sticky bit (they could still create names in
// it). Components that do not exist are skipped.
[[nodiscard]] std::vector<UnsafeDirectory> unsafe_directories(const std::filesystem::path& path,
                                                              std::span<const uid_t> owners = {},
                                                              bool strict_leaf = false);

// The process holding a flock(2) on the file open as `fd`, as /proc/locks tells it; nullopt
// when it does not say.
[[nodiscard]] std::optional<pid_t> flock_holder(int fd);

// The name of user `uid` ("root", "alice"), or "uid N" when it has none.
[[nodiscard]] std::string user_name(uid_t uid);

// The name of group `gid`, or "gid N" when it has none.
[[nodiscard]] std::string group_name(gid_t gid);

// Who ran sudo: SUDO_UID's user when the real user is root and `sudo_uid` (SUDO_UID's value)
// is a decimal uid that names a user; nullopt otherwise.
[[nodiscard]] std::optional<uid_t> sudo_invoker(const char* sudo_uid);

} // namespace ksign::util
