// SPDX-License-Identifier: MIT
#pragma once

#include "core/module_files.hpp"

#include <span>
#include <string>
#include <vector>

namespace ksign::cli {

// core::collect_modules, but an empty result is an error that says why: a directory given
// without -r/--recursive whose modules are all in subdirectories says so.
[[nodiscard]] std::vector<core::ModuleFile> collect_modules_or_explain(std::span<const std::string> arguments,
                                                                       bool recursive);

} // namespace ksign::cli
