// SPDX-License-Identifier: MIT
#include "cli/registry.hpp"

#include "cmd/commands.hpp"
#include "util/strings.hpp"

#include <array>
#include <vector>

namespace ksign::cli {

namespace {

// The only list of commands: dispatch, help, completion and man-page checks all read it.
const std::array<const Command*, 7> k_commands = {
  &cmd::cmd_keys,
  &cmd::cmd_config,
  &cmd::cmd_install,
  &cmd::cmd_sign,
  &cmd::cmd_verify,
  &cmd::cmd_sign_file,
  &cmd::cmd_help,
};

} // namespace

std::span<const Command* const> commands()
{
  return k_commands;
}

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

} // namespace ksign::cli
