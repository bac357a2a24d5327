// SPDX-License-Identifier: MIT
// `ksign help [<command>]`: the overview, or a command's own --help text.

#include "cmd/help.hpp"

#include "cli/registry.hpp"
#include "cmd/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <string>
#include <vector>

namespace ksign::cmd {

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
  for (const Command* command : cli::commands()) {
    fmt::print(stream, "  {:<11} {}\n", command->name, command->summary);
  }
  fmt::print(stream,
             "\n"
             "'ksign help <command>' or 'ksign <command> --help' describes one command.\n"
             "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

namespace {

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
  const Command* command = cli::find_command(args[1]);
  if (command == nullptr) {
    std::string message = "'" + args[1] + "' is not a ksign command";
    if (const auto suggestion = cli::suggest_command(args[1])) {
      message += fmt::format("; did you mean '{}'?", *suggestion);
    }
    throw Error(Errc::usage, message);
  }
  const std::vector<std::string> help_args = {std::string(command->name), "--help"};
  return command->run(help_args);
}

} // namespace

const Command cmd_help = {"help", "describe ksign or one of its commands", run_help};

} // namespace ksign::cmd
