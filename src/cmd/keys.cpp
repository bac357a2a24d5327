// SPDX-License-Identifier: MIT
// `ksign keys`: not written yet (see the key-lifecycle issue).

#include "cmd/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace ksign::cmd {

namespace {

int run_keys(std::span<const std::string> args)
{
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    fmt::print("usage: ksign keys ...\n\nNot implemented yet.\n");
    return cli::exit_success;
  }
  throw Error(Errc::internal, "'ksign keys' is not implemented yet");
}

} // namespace

const Command cmd_keys = {"keys", "(not implemented yet)", run_keys};

} // namespace ksign::cmd
