// SPDX-License-Identifier: MIT
// ksign: one binary for signing Linux kernel modules. This file only dispatches:
// argv[0] "sign-file" selects the kernel-compatible signer, otherwise the first
// argument names a command from the table in src/cli/registry.cpp.

#include "cli/command.hpp"
#include "cli/registry.hpp"
#include "cmd/commands.hpp"
#include "cmd/help.hpp"
#include "config.h"
#include "util/error.hpp"
#include "util/openssl.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace ksign;

int exit_status_for(Errc code)
{
  return code == Errc::usage ? cli::exit_usage : cli::exit_failure;
}

int run_command(const cli::Command& command, std::vector<std::string> args)
{
  init_openssl(); // here, not in main: --version and --help need no OpenSSL
  try {
    const int status = command.run(args);
    // A full disk or a closed pipe must not pass for success.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      fmt::print(stderr, "ksign {}: error: write failure on standard output\n", command.name);
      return cli::exit_failure;
    }
    return status;
  } catch (const Error& e) {
    // Core states the fact; how to mend it is the command line's business.
    fmt::print(stderr, "ksign {}: error: {}{}\n", command.name, e.what(),
               e.code() == Errc::no_key ? " (run 'ksign keys' to make or complete it)" : "");
    if (e.code() == Errc::usage) {
      fmt::print(stderr, "Try 'ksign {} --help' for more information.\n", command.name);
    }
    return exit_status_for(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "ksign {}: error: {}\n", command.name, e.what());
    return cli::exit_failure;
  }
}

} // namespace

int main(int argc, char** argv)
{
  std::vector<std::string> args(argv, argv + argc);
  const std::string program = std::filesystem::path(args.empty() ? "ksign" : args[0]).filename();

  // busybox style: a link named sign-file behaves like the kernel's scripts/sign-file.
  if (program == "sign-file") {
    args[0] = "sign-file";
    return run_command(cmd::cmd_sign_file, args);
  }

  if (args.size() < 2) {
    cmd::print_general_help(stderr);
    return cli::exit_usage;
  }
  const std::string& first = args[1];
  if (first == "-h" || first == "--help") {
    cmd::print_general_help(stdout);
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
  const cli::Command* command = cli::find_command(first);
  if (command == nullptr) {
    fmt::print(stderr, "ksign: error: '{}' is not a ksign command\n", first);
    if (const auto suggestion = cli::suggest_command(first)) {
      fmt::print(stderr, "Did you mean 'ksign {}'?\n", *suggestion);
    }
    fmt::print(stderr, "Try 'ksign --help' for the list of commands.\n");
    return cli::exit_usage;
  }
  args.erase(args.begin());
  return run_command(*command, std::move(args));
}
