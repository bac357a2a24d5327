// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"

#include "util/error.hpp"

#include <cxxopts.hpp>

#include <span>
#include <string>
#include <string_view>

namespace ksign::cli {

// Parse `args` (args[0] is the command name) with `options`. A cxxopts error becomes
// Error(Errc::usage) so that main reports it once, with exit status 2.
[[nodiscard]] cxxopts::ParseResult parse_options(cxxopts::Options& options,
                                                 std::span<const std::string> args);

// When the command line asked for --help: print `options`' help on stdout and return true.
[[nodiscard]] bool print_help_if_asked(const cxxopts::ParseResult& result, cxxopts::Options& options);

// The verbosity -v/--verbose and -q/--quiet ask for (--quiet wins).
[[nodiscard]] Verbosity verbosity(const cxxopts::ParseResult& result);

// A non-negative count given to --jobs: 0 means "one per CPU".
[[nodiscard]] unsigned job_count(const cxxopts::ParseResult& result, const std::string& name = "jobs");

// `parse()`'s value; a core Error from it (a value core cannot take) becomes a usage error that
// names `flag`, the option the value was given to.
template<typename Parse> auto option_value(std::string_view flag, Parse&& parse)
{
  try {
    return parse();
  } catch (const Error& e) {
    throw Error(Errc::usage, std::string(flag) + ": " + e.what());
  }
}

} // namespace ksign::cli
