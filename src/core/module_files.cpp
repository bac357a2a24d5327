// SPDX-License-Identifier: MIT
#include "core/module_files.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

namespace ksign::core {

namespace fs = std::filesystem;

bool has_module_name(const fs::path& path)
{
  static const std::vector<std::string> suffixes = module_suffixes();
  const std::string name = path.filename().string();
  for (const std::string& suffix : suffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return true;
    }
  }
  return false;
}

std::string module_name_patterns()
{
  std::string patterns;
  for (const std::string& suffix : module_suffixes()) {
    patterns += (patterns.empty() ? "*" : ", *") + suffix;
  }
  return patterns;
}

std::vector<fs::path> directories_among(std::span<const std::string> arguments)
{
  std::vector<fs::path> directories;
  for (const std::string& argument : arguments) {
    std::error_code ec;
    if (fs::is_directory(argument, ec)) {
      directories.emplace_back(argument);
    }
  }
  return directories;
}

std::vector<ModuleFile> collect_modules(std::span<const std::string> arguments, bool recursive)
{
  std::vector<ModuleFile> modules;
  std::set<fs::path> seen;
  const auto add = [&](const fs::path& path, std::uintmax_t size) {
    if (seen.insert(path.lexically_normal()).second) {
      modules.push_back({path, size});
    }
  };
  for (const std::string& argument : arguments) {
    const fs::path path(argument);
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      throw Error(Errc::failure, "cannot find " + util::quote(path) + (ec ? ": " + ec.message() : ""));
    }
    if (!fs::is_directory(status)) {
      add(path, fs::file_size(path, ec));
      continue;
    }
    const auto consider = [&](const fs::directory_entry& entry) {
      std::error_code entry_ec;
      if (entry.is_regular_file(entry_ec) && has_module_name(entry.path())) {
        add(entry.path(), entry.file_size(entry_ec));
      }
    };
    if (recursive) {
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        consider(*it);
      }
    } else {
      for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        consider(*it);
      }
    }
    if (ec) {
      throw Error(Errc::failure, "cannot read the directory " + util::quote(path) + ": " + ec.message());
    }
  }
  std::stable_sort(modules.begin(), modules.end(),
                   [](const ModuleFile& a, const ModuleFile& b) { return a.size > b.size; });
  return modules;
}

std::optional<Compression> compression_of_file(const fs::path& path)
{
  // Non-blocking, so a FIFO given as a module cannot stall the check.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return std::nullopt;
  }
  std::array<std::uint8_t, k_compression_magic_size> head{};
  std::size_t length = 0;
  struct stat status{};
  bool readable = ::fstat(fd, &status) == 0 && S_ISREG(status.st_mode);
  while (readable && length < head.size()) {
    const ssize_t got = ::read(fd, head.data() + length, head.size() - length);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    readable = got >= 0;
    if (got <= 0) {
      break;
    }
    length += static_cast<std::size_t>(got);
  }
  ::close(fd);
  if (!readable) {
    return std::nullopt;
  }
  return detect_compression(ByteView(head.data(), length));
}

} // namespace ksign::core
