// SPDX-License-Identifier: MIT
#pragma once

#include "cli/command.hpp"
#include "util/error.hpp"

#include <cxxopts.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::cli {

// Options accepted under an old name but not shown by --help.
inline constexpr std::string_view k_alias_group = "aliases";

// The --help text of `options`, without the aliases.
[[nodiscard]] std::string help_text(const cxxopts::Options& options);

// The options `command` takes: its own and the shared ones the dispatcher adds.
[[nodiscard]] cxxopts::Options command_options(const Command& command);

// Parse `args` (args[0] is the command name) with `options`. An unknown option gets "did you
// mean"; a bad value names its option; both are Error(Errc::usage), exit status 2.
[[nodiscard]] cxxopts::ParseResult parse_options(cxxopts::Options& options, std::span<const std::string> args);

// What the dispatcher reads of the options command_options adds to every command.
struct CommonOptions
{
  bool help = false;                     // -h/--help
  Verbosity verbosity = Verbosity::normal; // -v/--verbose, -q/--quiet (--quiet wins)
  std::vector<std::string> operands;     // the arguments that are not options
  std::optional<std::string> key_store;  // -d/--dir (or --keydir), with Command::takes_key_store
};
[[nodiscard]] CommonOptions read_common_options(const cxxopts::ParseResult& result, const Command& command);

// Reading a parsed command line, the one way to do it: each command reads its options into a
// struct in one function beside the one that declares them (read_<name>_options,
// KeyOptions::read), and nothing else reads an option by name. A name that was never declared
// is a bug in ksign, not "not given" as cxxopts's count() answers: these throw
// std::logic_error naming it (exit status 1), so a missed declaration fails at once.
[[nodiscard]] bool given(const cxxopts::ParseResult& result, const std::string& name);
[[nodiscard]] std::vector<std::string> strings(const cxxopts::ParseResult& result, const std::string& name);
[[nodiscard]] std::optional<int> optional_int(const cxxopts::ParseResult& result, const std::string& name);

// Throws Error(usage) "--a and --b cannot be used together" when both were given.
void reject_together(const cxxopts::ParseResult& result, std::string_view a, std::string_view b);

// An Error's message with what the command line adds to it: how to make a key (no_key), who
// may read a file (permission: "cannot read 'X': only root can (run with sudo)").
[[nodiscard]] std::string explained(const Error& error);

// The value of option `name` when given.
[[nodiscard]] std::optional<std::string> optional_string(const cxxopts::ParseResult& result, const std::string& name);

// A non-negative count given to --jobs: 0 means "one per CPU".
[[nodiscard]] unsigned job_count(const cxxopts::ParseResult& result, const std::string& name = "jobs");
[[nodiscard]] unsigned job_count(int jobs, std::string_view flag = "--jobs");

// The largest module ksign reads (and the most one may decompress to): $KSIGN_MAX_MODULE_SIZE,
// a byte count with an optional K, M or G suffix (powers of 1024), else 1 GiB. A value that
// is not a size is a usage error.
[[nodiscard]] std::uint64_t max_module_size();

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
