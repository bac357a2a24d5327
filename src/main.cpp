// SPDX-License-Identifier: MIT
// ksign: one binary for signing Linux kernel modules. This file is the dispatcher: it holds
// the command table, picks the command (argv[0] "sign-file" selects the kernel-compatible
// signer), parses and checks its command line, answers --help, sets up what the table entry
// asks for (output and verbosity, the key store), calls the command and reports its error once.

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "cmd/commands.hpp"
#include "config.h"
#include "core/keystore.hpp"
#include "util/cleanup.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/openssl.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace ksign;
using cli::Command;

int run_help(std::span<const std::string> args);

const Command cmd_help = {.name = "help",
                          .summary = "describe ksign or one of its commands",
                          .run_own_argv = run_help};

// The only list of commands: dispatch, help, completion and man-page checks all read it.
const std::array<const Command*, 9> k_commands = {
  &cmd::cmd_keys, &cmd::cmd_config, &cmd::cmd_install, &cmd::cmd_sign,
  &cmd::cmd_verify, &cmd::cmd_repair, &cmd::cmd_status, &cmd::cmd_sign_file, &cmd_help,
};

const Command* find_command(std::string_view name)
{
  for (const Command* command : k_commands) {
    if (command->name == name) {
      return command;
    }
  }
  return nullptr;
}

std::optional<std::string_view> suggest_command(std::string_view name)
{
  std::vector<std::string_view> names;
  for (const Command* command : k_commands) {
    names.push_back(command->name);
  }
  return util::closest_match(name, names);
}

void print_general_help(std::FILE* stream)
{
  fmt::print(stream,
             "usage: ksign <command> [<options>] [<args>]\n"
             "       ksign --help | --version\n"
             "       sign-file [-dpk] <hash> <key> <x509> <module> [<dest>]   (as a link named sign-file)\n"
             "\n"
             "Sign Linux kernel modules and manage the keys a self-built kernel trusts.\n"
             "\n"
             "Commands:\n");
  for (const Command* command : k_commands) {
    fmt::print(stream, "  {:<11} {}\n", command->name, command->summary);
  }
  fmt::print(stream,
             "\n"
             "'ksign help <command>' or 'ksign <command> --help' describes one command.\n"
             "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int dispatch(const Command& command, std::span<const std::string> args);

int run_help(std::span<const std::string> args)
{
  if (args.size() < 2) {
    print_general_help(stdout);
    return cli::exit_success;
  }
  if (args[1] == "-h" || args[1] == "--help") {
    fmt::print("usage: ksign help [<command>]\n\nDescribe ksign, or one of its commands.\n");
    return cli::exit_success;
  }
  const Command* command = find_command(args[1]);
  if (command == nullptr) {
    std::string message = "'" + args[1] + "' is not a ksign command";
    if (const auto suggestion = suggest_command(args[1])) {
      message += fmt::format("; did you mean '{}'?", *suggestion);
    }
    throw Error(Errc::usage, message);
  }
  const std::vector<std::string> help_args = {std::string(command->name), "--help"};
  return dispatch(*command, help_args);
}

// git's run_builtin: everything a command would otherwise repeat.
int dispatch(const Command& command, std::span<const std::string> args)
{
  if (command.run_own_argv != nullptr) {
    return command.run_own_argv(args);
  }
  cxxopts::Options options = cli::command_options(command);
  const cxxopts::ParseResult result = cli::parse_options(options, args);
  cli::CommonOptions common = cli::read_common_options(result, command);
  if (common.help) {
    fmt::print("{}", cli::help_text(options));
    return cli::exit_success;
  }
  std::vector<std::string>& operands = common.operands;
  if (operands.size() > command.max_operands) {
    throw Error(Errc::usage, command.max_operands == 0 ? "unexpected argument '" + operands.front() + "'"
                                                       : "too many arguments (expected " + std::string(command.operands)
                                                           + ")");
  }
  if (operands.size() < command.min_operands) {
    throw Error(Errc::usage, "missing " + std::string(command.operands));
  }
  cli::Output out{std::string(command.name)};
  out.set_verbosity(common.verbosity);
  cli::Invocation invocation{result, std::move(operands), out, cli::paths_from_environment(), {}, false,
                             util::sudo_invoker(std::getenv("SUDO_UID"))};
  if (command.takes_key_store) {
    invocation.key_store_given = common.key_store.has_value();
    invocation.key_store = core::key_store_path(common.key_store, std::getenv("KSIGN_DIR"));
  }
  return command.run(invocation);
}

int run_command(const Command& command, std::span<const std::string> args)
{
  init_openssl(); // here, not in main: --version and --help need no OpenSSL
  util::install_cleanup_handlers(); // a signal removes this run's temporaries
  try {
    const int status = dispatch(command, args);
    // A full disk or a closed pipe must not pass for success.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      fmt::print(stderr, "ksign {}: error: write failure on standard output\n", command.name);
      return cli::exit_failure;
    }
    return status;
  } catch (const Error& e) {
    // Core states the fact; how to mend it is the command line's business.
    fmt::print(stderr, "ksign {}: error: {}\n", command.name, util::escape(cli::explained(e)));
    if (e.code() == Errc::usage) {
      fmt::print(stderr, "Try 'ksign {} --help' for more information.\n", command.name);
    }
    return e.code() == Errc::usage ? cli::exit_usage : cli::exit_failure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ksign {}: error: {}\n", command.name, util::escape(exception_text(e)));
    return cli::exit_failure;
  }
}

} // namespace

int main(int argc, char** argv)
{
  util::forbid_core_dumps();       // before any key is read (util/cleanup.hpp)
  util::ignore_file_size_signal(); // ulimit -f: an error naming the file, not a silent death
  std::vector<std::string> args(argv, argv + argc);
  const std::string program = std::filesystem::path(args.empty() ? "ksign" : args[0]).filename();

  // busybox style: a link named sign-file behaves like the kernel's scripts/sign-file.
  if (program == "sign-file") {
    args[0] = "sign-file";
    return run_command(cmd::cmd_sign_file, args);
  }

  if (args.size() < 2) {
    print_general_help(stderr);
    return cli::exit_usage;
  }
  const std::string& first = args[1];
  if (first == "-h" || first == "--help") {
    print_general_help(stdout);
    return cli::exit_success;
  }
  if (first == "-V" || first == "--version") {
    fmt::print("ksign {}\n{}\n", KSIGN_VERSION, KSIGN_FEATURES);
    return cli::exit_success;
  }
  if (!first.empty() && first[0] == '-') {
    fmt::print(stderr, "ksign: error: unknown option '{}'\n", first);
    fmt::print(stderr, "Try 'ksign --help' for more information.\n");
    return cli::exit_usage;
  }
  const Command* command = find_command(first);
  if (command == nullptr) {
    fmt::print(stderr, "ksign: error: '{}' is not a ksign command\n", first);
    if (const auto suggestion = suggest_command(first)) {
      fmt::print(stderr, "Did you mean 'ksign {}'?\n", *suggestion);
    }
    fmt::print(stderr, "Try 'ksign --help' for the list of commands.\n");
    return cli::exit_usage;
  }
  args.erase(args.begin());
  return run_command(*command, args);
}
