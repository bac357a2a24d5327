// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksign::util {

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

// `path` quoted for messages: 'path'.
std::string quote(const std::filesystem::path& path);

// Whole contents of `path`, read with as few system calls as possible.
[[nodiscard]] Bytes read_file(const std::filesystem::path& path);

// How a replaced file's metadata is chosen.
struct ReplaceOptions
{
  // Mode for a file that does not exist yet, less the umask; an existing file keeps its own.
  mode_t new_file_mode = 0666;
  // Copy mode and owner from this file instead of from the target (used for --output).
  std::optional<std::filesystem::path> metadata_from;
  // Force this mode, whatever the existing file had (private keys).
  std::optional<mode_t> force_mode;
};

// Replace `target` by the concatenation of `parts`, atomically: a temporary file in the same
// directory is written with one writev, fsynced, given the old file's mode and owner, and
// renamed over `target`. On any failure `target` is left as it was and the temporary is removed.
void replace_file_atomically(const std::filesystem::path& target, std::span<const ByteView> parts,
                             const ReplaceOptions& options = {});

// Convenience for one buffer.
void replace_file_atomically(const std::filesystem::path& target, ByteView data,
                             const ReplaceOptions& options = {});

} // namespace ksign::util
