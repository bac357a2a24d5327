// SPDX-License-Identifier: MIT
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ksign::cli {

// Exit statuses, documented in ksign(1).
enum ExitStatus : int {
  exit_success = 0,
  exit_failure = 1, // something failed (a module did not sign or verify, an I/O error, ...)
  exit_usage = 2,   // bad command line
};

// One subcommand. To add a command:
//   1. write src/cmd/<name>.cpp ending with `const Command cmd_<name> = {...}`;
//   2. declare it in src/cmd/commands.hpp and add it to the table in src/cli/registry.cpp;
//   3. list the file in src/meson.build;
//   4. give it a man page (man/ksign-<name>.1.scd) and completion words (completions/);
//   5. add tests under tests/.
struct Command
{
  std::string_view name;
  std::string_view summary;
  // `args[0]` is the command's name; the rest are its arguments. Returns an ExitStatus.
  // `--help` must print the command's help on stdout and return exit_success.
  int (*run)(std::span<const std::string> args);
};

} // namespace ksign::cli
