// SPDX-License-Identifier: MIT
// Placeholder while the core lands.

#include "cmd/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace ksign::cmd {

namespace {

int run_verify(std::span<const std::string> args)
{
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    fmt::print("usage: ksign verify ...\n");
    return cli::exit_success;
  }
  throw Error(Errc::internal, "'ksign verify' is not implemented yet");
}

} // namespace

const Command cmd_verify = {"verify", "(not implemented yet)", run_verify};

} // namespace ksign::cmd
