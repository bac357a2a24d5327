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
  std::filesystem::path path;
  std::uintmax_t size = 0;
};

// True for the names modules are installed under: *.ko, *.ko.gz, *.ko.xz, *.ko.zst.
[[nodiscard]] bool has_module_name(const std::filesystem::path& path);

// "*.ko, *.ko.gz, *.ko.xz, *.ko.zst", for messages.
[[nodiscard]] std::string module_name_patterns();

// The arguments that name directories (so a caller can explain an empty result).
[[nodiscard]] std::vector<std::filesystem::path> directories_among(std::span<const std::string> arguments);

// The module files named by `arguments`: a file is taken as it is (whatever its name); a
// directory contributes the files with module names directly in it, or below it when
// `recursive`. Symlinks to directories are not followed. The result is ordered largest first
// (so parallel work ends with short jobs), without duplicates. Throws Error(Errc::failure) for an
// argument that does not exist.
[[nodiscard]] std::vector<ModuleFile> collect_modules(std::span<const std::string> arguments, bool recursive);

// The compression the regular file `path` starts with, read from its first bytes only;
// nullopt when it cannot be opened or read, or is not a regular file (whoever reads it whole
// then says why).
[[nodiscard]] std::optional<Compression> compression_of_file(const std::filesystem::path& path);

} // namespace ksign::core
