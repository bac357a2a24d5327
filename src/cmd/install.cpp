// SPDX-License-Identifier: MIT
// `ksign install`: not written yet (see the key-lifecycle issue).

#include "cmd/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace ksign::cmd {

namespace {

int run_install(std::span<const std::string> args)
{
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    fmt::print("usage: ksign install ...\n\nNot implemented yet.\n");
    return cli::exit_success;
  }
  throw Error(Errc::internal, "'ksign install' is not implemented yet");
}

} // namespace

const Command cmd_install = {"install", "(not implemented yet)", run_install};

} // namespace ksign::cmd
