// SPDX-License-Identifier: MIT
#pragma once

#include <cxxopts.hpp>

#include <span>
#include <string>

namespace ksign::cli {

// Parse `args` (args[0] is the command name) with `options`. A cxxopts error becomes
// Error(Errc::usage) so that main reports it once, with exit status 2.
[[nodiscard]] cxxopts::ParseResult parse_options(cxxopts::Options& options,
                                                 std::span<const std::string> args);

// A non-negative count given to --jobs: 0 means "one per CPU".
[[nodiscard]] unsigned job_count(const cxxopts::ParseResult& result, const std::string& name = "jobs");

} // namespace ksign::cli
