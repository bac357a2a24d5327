// SPDX-License-Identifier: MIT
#pragma once

#include "cli/command.hpp"

#include <optional>
#include <span>
#include <string_view>

namespace ksign::cli {

// Every subcommand, in the order `ksign --help` lists them.
[[nodiscard]] std::span<const Command* const> commands();

// The command named `name`, or nullptr.
[[nodiscard]] const Command* find_command(std::string_view name);

// The command name closest to a mistyped `name`, for "did you mean".
[[nodiscard]] std::optional<std::string_view> suggest_command(std::string_view name);

} // namespace ksign::cli
