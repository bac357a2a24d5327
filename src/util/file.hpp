// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksign::util {

// Throws Error(Errc::failure) "<what> 'PATH': <strerror(error)>", for a failed system call.
[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path, int error = errno);

// A file descriptor with an owner.
class Fd
{
public:
  Fd() = default;
  explicit Fd(int fd) noexcept : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  [[nodiscard]] int get() const noexcept { return m_fd; }
  [[nodiscard]] explicit operator bool() const noexcept { return m_fd >= 0; }
  int release() noexcept;

private:
  int m_fd = -1;
};

// `path` quoted for messages: 'path', with control characters escaped (util::escape).
std::string quote(const std::filesystem::path& path);

// The most read_file takes from a key, a certificate, a kernel config or a /proc file: a
// distribution's config is ~300 KB and a bundle of every CA certificate under 1 MiB.
inline constexpr std::uint64_t k_small_file_limit = std::uint64_t{8} << 20;

// "1 GiB", "8 MiB", "4096 bytes": a size limit for messages.
[[nodiscard]] std::string describe_size(std::uint64_t bytes);

// Whole contents of `path`, which must be a regular file of at most `max_size` bytes. It is
// opened without blocking and checked before anything is read: a FIFO, device, directory or
// socket is refused (so a FIFO never hangs ksign and /dev/zero never fills memory), and so is
// a file whose size passes `max_size`. Files that grow while read, or that report no size
// (/proc), are cut off at `max_size` with the same error. Every error names the file.
[[nodiscard]] Bytes read_file(const std::filesystem::path& path, std::uint64_t max_size);

// How a replaced file's metadata is chosen.
struct ReplaceOptions
{
  // Mode for a file that does not exist yet, less the umask; an existing file keeps its own.
  mode_t new_file_mode = 0666;
  // Copy mode and owner from this file instead of from the target (used for --output).
  std::optional<std::filesystem::path> metadata_from;
  // Force this mode, whatever the existing file had (private keys).
  std::optional<mode_t> force_mode;
  // When the owner or group cannot be kept (a user who is not in the file's group): fail, or
  // write the file with the caller's own and say so in StagedFile::owner_kept.
  bool owner_best_effort = false;
  // A `target` that is a symbolic link: replace the file it points to and keep the link (false),
  // or replace the link itself by the new file and leave the file it pointed to as it was (true;
  // the new file takes that file's mode and owner, as metadata_from would give it).
  bool replace_link = false;
  // Called when the disk or the quota is full (ENOSPC, EDQUOT: no blocks or no inodes left)
  // while the temporary is created or written. When it returns true (space may have been
  // freed, e.g. other staged files were committed) the temporary is written again; otherwise,
  // or when it is not set, the failure is thrown.
  std::function<bool()> make_room;
};

// Replace `target` by the concatenation of `parts`, atomically: a temporary file in the same
// directory is written with one writev, fsynced, given the old file's mode and owner, and
// renamed over `target`. On any failure `target` is left as it was and the temporary is removed.
// A `target` that is a symbolic link is kept: the file it points to is replaced (see
// replacement_target), unless ReplaceOptions::replace_link says to replace the link. Temporaries are named by util::temporary_name and removed by the
// cleanup handlers (util/cleanup.hpp) when a signal stops the run.
void replace_file_atomically(const std::filesystem::path& target, std::span<const ByteView> parts,
                             const ReplaceOptions& options = {});

// When a staged file's data is made durable.
enum class Durability {
  now,     // fsync the temporary before returning
  batched, // left to commit_staged(), which syncs many files at once
};

// The file that replacing `path` replaces: `path` itself, or when it is a symbolic link, the
// file it finally points to (the link stays). Throws Error for a link that leads nowhere.
[[nodiscard]] std::filesystem::path replacement_target(const std::filesystem::path& path);

// A temporary file written beside `target`, ready to be renamed over it. Move-only: it holds
// the temporary open with an exclusive flock(2) until it is destroyed, which tells every other
// run, in any PID namespace, that the temporary is live (util::remove_dead_temporaries removes
// only a temporary it can lock itself). Destroy it only after it is committed or discarded.
struct StagedFile
{
  std::filesystem::path temporary;
  std::filesystem::path target;
  bool owner_kept = true; // false: ReplaceOptions::owner_best_effort had to give up the owner
  // Other names (hard links) of the file `target` held: committing links each of them to the
  // new file too, so the names stay one file.
  std::vector<std::filesystem::path> hard_links;
  std::size_t cleanup_token = 0; // util::remember_temporary's, for `temporary`
  Fd fd;                         // the temporary, open and locked
};

// Create `path` (mode 0600, never over an existing name) holding an exclusive flock on it, so
// that no run ever sees it unlocked: it is made unnamed (O_TMPFILE), locked, then linked in
// under `path` (errno EEXIST when the name is taken: try another). Where the file system has
// no O_TMPFILE (or /proc is not mounted), it is created O_EXCL and locked right after: a run
// that removes dead temporaries takes the lock before it unlinks, so a file it removed in
// between is noticed here and an empty Fd returned (errno EEXIST). Other failures return an
// empty Fd with errno set.
[[nodiscard]] Fd create_locked(const std::filesystem::path& path);

// The device of the file system holding `directory` when that file system is mounted
// read-only; nothing otherwise (also when `directory` cannot be looked at).
[[nodiscard]] std::optional<dev_t> read_only_device(const std::filesystem::path& directory);

// The first half of replace_file_atomically: write `parts` to a temporary in `target`'s
// directory with the right mode and owner. `target` is not touched yet.
[[nodiscard]] StagedFile stage_file(const std::filesystem::path& target, std::span<const ByteView> parts,
                                    const ReplaceOptions& options, Durability durability);

// The second half for many files: make them durable (one syncfs per file system), then rename
// each over its target (after linking it to its other names, each through a temporary name
// renamed over the old one). Returns one message per file, empty for those that were replaced;
// a failed file's temporary is removed and its target left as it was. A failure concerns only
// the files it concerns: a temporary that someone else removed fails its own file, a file
// system that cannot be synced the files on it.
[[nodiscard]] std::vector<std::string> commit_staged(std::span<const StagedFile> files);

// Rename one staged file (written with Durability::now) over its target and its hard links;
// on failure the temporary is removed and Error thrown.
void rename_staged(const StagedFile& file);

// Convenience for one buffer.
void replace_file_atomically(const std::filesystem::path& target, ByteView data,
                             const ReplaceOptions& options = {});

} // namespace ksign::util
