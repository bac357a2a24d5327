// SPDX-License-Identifier: MIT
#include "cli/paths.hpp"

#include "config.h"

#include <cstdlib>

namespace ksign::cli {

std::filesystem::path module_root()
{
  const char* value = std::getenv("KSIGN_MODULEDIR");
  if (value != nullptr && value[0] != '\0') {
    return value;
  }
  return KSIGN_MODULEDIR;
}

std::filesystem::path boot_root()
{
  const char* value = std::getenv("KSIGN_BOOTDIR");
  if (value != nullptr && value[0] != '\0') {
    return value;
  }
  return "/boot";
}

} // namespace ksign::cli
