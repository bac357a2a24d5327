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

std::filesystem::path config_directory()
{
  const char* value = std::getenv("KSIGN_CONFIG_DIR");
  if (value != nullptr && value[0] != '\0') {
    return value;
  }
  return std::filesystem::path(KSIGN_SYSCONFDIR) / "ksign";
}

std::filesystem::path key_registry()
{
  return config_directory() / "keys.d";
}

} // namespace ksign::cli
