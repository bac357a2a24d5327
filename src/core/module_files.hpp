// SPDX-License-Identifier: MIT
#pragma once

#include "core/compress.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksign::core {

struct ModuleFile
{
  std::filesystem::path path; // as found (a symbolic link given as an argument stays one)
  std::uintmax_t size = 0;
  // The file's other names (hard links) among the arguments: one file, signed once, whose every
  // name must be put back on the signed file.
  std::vector<std::filesystem::path> hard_links;
  std::uintmax_t link_count = 1; // st_nlink: more than 1 + hard_links.size() means names elsewhere
};

// A symbolic link in a directory that was not followed: its target is outside that directory.
struct SkippedLink
{
  std::filesystem::path link;
  std::filesystem::path target;
  std::filesystem::path directory;
};

// True for the names modules are installed under: *.ko, *.ko.gz, *.ko.xz, *.ko.zst.
[[nodiscard]] bool has_module_name(const std::filesystem::path& path);

// "*.ko, *.ko.gz, *.ko.xz, *.ko.zst", for messages.
[[nodiscard]] std::string module_name_patterns();

// The arguments that name directories (so a caller can explain an empty result).
[[nodiscard]] std::vector<std::filesystem::path> directories_among(std::span<const std::string> arguments);

// The module files named by `arguments`: a file is taken as it is (whatever its name, and a
// symbolic link wherever it points); a directory contributes the files with module names
// directly in it, or below it when `recursive`. Inside a directory, symbolic links to files are
// followed only when the file is inside that directory too (the others go to `skipped`);
// symbolic links to directories are not followed. Each file appears once however many names
// (links) lead to it. The result is ordered largest first (so parallel work ends with short
// jobs). Throws Error(Errc::failure) for an argument that does not exist.
[[nodiscard]] std::vector<ModuleFile> collect_modules(std::span<const std::string> arguments, bool recursive,
                                                      std::vector<SkippedLink>* skipped = nullptr);

// The compression the regular file `path` starts with, read from its first bytes only;
// nullopt when it cannot be opened or read, or is not a regular file (whoever reads it whole
// then says why).
[[nodiscard]] std::optional<Compression> compression_of_file(const std::filesystem::path& path);

} // namespace ksign::core
