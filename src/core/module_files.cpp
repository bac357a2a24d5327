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
#include <map>

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

namespace {

// A name of a file, comparable however it was spelled: its directory resolved.
fs::path name_key(const fs::path& path)
{
  std::error_code ec;
  const fs::path parent = fs::canonical(path.has_parent_path() ? path.parent_path() : fs::path("."), ec);
  return ec ? path.lexically_normal() : parent / path.filename();
}

bool is_inside(const fs::path& path, const fs::path& directory)
{
  const fs::path relative = path.lexically_relative(directory);
  return !relative.empty() && *relative.begin() != "..";
}

} // namespace

std::vector<ModuleFile> collect_modules(std::span<const std::string> arguments, bool recursive,
                                        std::vector<SkippedLink>* skipped)
{
  std::vector<ModuleFile> modules;
  std::map<std::pair<dev_t, ino_t>, std::size_t> by_file; // (device, inode) -> index in modules
  std::vector<std::vector<fs::path>> names;               // per module, the names it was found by
  // `path` names a file; `real_name` is the directory entry holding it (path itself, or where
  // the symbolic link `path` finally leads). Names are compared resolved (name_key) only when
  // a file turns up a second time: resolving every module's directory would cost a readlink per
  // path component, for each of thousands of modules.
  const auto add = [&](const fs::path& path, const fs::path& real_name) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return;
    }
    const auto [it, is_new] = by_file.try_emplace({st.st_dev, st.st_ino}, modules.size());
    if (is_new) {
      modules.push_back({path, static_cast<std::uintmax_t>(st.st_size), {}, static_cast<std::uintmax_t>(st.st_nlink)});
      names.push_back({real_name});
      return;
    }
    std::vector<fs::path>& seen = names[it->second];
    const fs::path key = name_key(real_name);
    const bool known = std::any_of(seen.begin(), seen.end(), [&](const fs::path& name) { return name_key(name) == key; });
    if (!known) {
      seen.push_back(real_name);
      modules[it->second].hard_links.push_back(real_name);
    } else if (path == real_name && fs::is_symlink(fs::symlink_status(modules[it->second].path))) {
      modules[it->second].path = path; // found through a link first: named by the file itself
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
      add(path, fs::is_symlink(fs::symlink_status(path, ec)) ? fs::canonical(path, ec) : path);
      continue;
    }
    const fs::path tree = fs::canonical(path, ec);
    const auto consider = [&](const fs::directory_entry& entry) {
      std::error_code entry_ec;
      // The entry's type comes with the directory listing: only a link costs a stat here.
      if (!entry.is_regular_file(entry_ec) || !has_module_name(entry.path())) {
        return;
      }
      if (!entry.is_symlink(entry_ec)) {
        add(entry.path(), entry.path());
        return;
      }
      const fs::path target = fs::canonical(entry.path(), entry_ec);
      if (entry_ec) {
        return;
      }
      if (!is_inside(target, tree)) {
        if (skipped != nullptr) {
          skipped->push_back({entry.path(), target, path});
        }
        return;
      }
      add(entry.path(), target);
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
