// SPDX-License-Identifier: MIT
#pragma once

#include "cli/command.hpp"

namespace ksign::cmd {

using cli::Command;

extern const Command cmd_keys;
extern const Command cmd_config;
extern const Command cmd_install;
extern const Command cmd_sign;
extern const Command cmd_verify;
extern const Command cmd_sign_file;
extern const Command cmd_status;
extern const Command cmd_repair;

} // namespace ksign::cmd
