// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"
#include "cli/paths.hpp"

#include <sys/types.h>

#include <cxxopts.hpp>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::cli {

// Exit statuses, documented in ksign(1).
enum ExitStatus : int {
  exit_success = 0,
  exit_failure = 1, // something failed (a module did not sign or verify, an I/O error, ...)
  exit_usage = 2,   // bad command line
};

// What the dispatcher hands a command once the command line is parsed and checked.
struct Invocation
{
  // The parsed command line: only the command's read_<name>_options reads it (see Command).
  const cxxopts::ParseResult& options;
  std::vector<std::string> operands; // the arguments that are not options
  Output& out;                       // verbosity already set from -v/-q
  Paths paths;                       // the module directory and the others, resolved once
  // The key store (commands with Command::takes_key_store): -d/--dir (alias --keydir), else
  // $KSIGN_DIR, else ./certs-local. `key_store_given` says whether the command line named it.
  std::filesystem::path key_store;
  bool key_store_given = false;
  std::optional<uid_t> sudo_invoker; // who ran sudo (SUDO_UID, util::sudo_invoker), read once
};

// One subcommand. To add a command:
//   1. write src/cmd/<name>.cpp ending with `const Command cmd_<name> = {...}`. Its options go
//      into one struct, declared and read side by side, as git's parse-options does:
//        struct <Name>Options { ... };                       // one field per option
//        void add_<name>_options(cxxopts::Options&);        // declares them (.add_options)
//        <Name>Options read_<name>_options(const cxxopts::ParseResult&); // reads them, with
//          cli::given/optional_string/strings/optional_int, which throw for an undeclared name;
//      `run` calls read_<name>_options first and reads the struct only. Key options come from
//      cli::KeyOptions (declare and read), paths from Invocation::paths, never the environment;
//   2. declare it in src/cmd/commands.hpp and add it to the table in src/main.cpp;
//   3. list the file in src/meson.build;
//   4. give it a man page (man/ksign-<name>.1.scd) and completion words (completions/);
//   5. add tests under tests/.
// The dispatcher adds -h/--help, -v/--verbose, -q/--quiet and, with `takes_key_store`,
// -d/--dir; it parses, answers --help and checks operand counts before calling `run`.
struct Command
{
  std::string_view name = {};
  std::string_view summary = {};     // one line for `ksign --help`
  std::string_view description = {}; // the top of `ksign <name> --help`
  std::string_view operands = {};    // "<module|dir>...", shown in the usage line
  std::size_t min_operands = 0;
  std::size_t max_operands = 0; // k_any: no limit
  bool takes_key_store = false;
  std::string_view verbose_help = "say more";
  std::string_view quiet_help = "print errors only";
  void (*add_options)(cxxopts::Options& options) = nullptr;
  int (*run)(Invocation& invocation) = nullptr;
  // Commands with a command line of their own (sign-file's is the kernel's) take it whole:
  // `args[0]` is the command's name. The dispatcher does no set-up for them.
  int (*run_own_argv)(std::span<const std::string> args) = nullptr;
};

inline constexpr std::size_t k_any = static_cast<std::size_t>(-1);

} // namespace ksign::cli
