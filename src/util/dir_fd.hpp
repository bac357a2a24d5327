// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/file.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  // Throws Error(Errc::failure) naming `path` when it cannot be opened as a directory.
  explicit DirFd(const std::filesystem::path& path);

  [[nodiscard]] int get() const noexcept { return m_fd.get(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

  // Open `name` (one component) for reading; nullopt when it does not exist. Throws for a link
  // or anything that is not a regular file.
  [[nodiscard]] std::optional<Fd> open_regular(std::string_view name) const;

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
  Fd m_fd;
  std::filesystem::path m_path;
};

// mkdir -p with exactly `mode` for every directory it creates, whatever the umask. Returns the
// directories it created, outermost first.
std::vector<std::filesystem::path> make_directories(const std::filesystem::path& path, mode_t mode);

// A directory above (or at) a path that someone else could use to replace what is below it.
struct UnsafeDirectory
{
  enum class Why { others_can_write, foreign_owner };
  std::filesystem::path directory;
  Why why;
  mode_t mode = 0;
  uid_t owner = 0;
};

// The directories from `path` (made absolute, links resolved as far as it exists) up to / that
// anyone can write to without the sticky bit, and, when `owners` is not empty, those owned by
// a user not in `owners`. With `strict_leaf`, the deepest existing one (`path` itself) is unsafe
// when others can write to it even with the sticky bit (they could still create names in it).
// Components that do not exist are skipped.
[[nodiscard]] std::vector<UnsafeDirectory> unsafe_directories(const std::filesystem::path& path,
                                                              std::span<const uid_t> owners = {},
                                                              bool strict_leaf = false);

// The process holding a flock(2) on the file open as `fd`, as /proc/locks tells it; nullopt
// when it does not say.
[[nodiscard]] std::optional<pid_t> flock_holder(int fd);

// The name of user `uid` ("root", "alice"), or "uid N" when it has none.
[[nodiscard]] std::string user_name(uid_t uid);

} // namespace ksign::util
