// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <optional>
#include <string>

namespace ksign::core {

// Why `data` is not a kernel module (an ELF relocatable object with a .modinfo section), or
// nullopt when it is one. Only the structure is checked, not the code.
[[nodiscard]] std::optional<std::string> kernel_module_problem(ByteView data);

} // namespace ksign::core
