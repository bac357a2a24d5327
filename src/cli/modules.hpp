// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"
#include "core/module_files.hpp"

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace ksign::cli {

// Whether finding no module at all is an error (modules were asked for) or an answer (an
// installed kernel's tree, which may hold none: after `dkms remove` of its last module).
enum class NoModules { error, answer };

// core::collect_modules, but an empty result is an error that says why (unless `none` is
// NoModules::answer): a directory given without -r/--recursive whose modules are all in
// subdirectories says so. Symbolic links that were not followed are named, one line each, at
// normal verbosity.
[[nodiscard]] std::vector<core::ModuleFile> collect_modules_or_explain(std::span<const std::string> arguments,
                                                                       bool recursive, Output& out,
                                                                       NoModules none = NoModules::error);

// A problem with the module `path` as one message that names it once: "'path': problem", or
// `problem` itself when it names the file already (util::read_file's errors do).
[[nodiscard]] std::string about_module(const std::filesystem::path& path, std::string_view problem);

} // namespace ksign::cli
