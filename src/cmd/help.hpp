// SPDX-License-Identifier: MIT
#pragma once

#include <cstdio>

namespace ksign::cmd {

// The overview `ksign --help` prints: usage and every command of the table with its summary.
void print_general_help(std::FILE* stream);

} // namespace ksign::cmd
