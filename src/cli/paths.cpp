// SPDX-License-Identifier: MIT
#include "cli/paths.hpp"

#include "config.h"

#include <cstdlib>

namespace ksign::cli {

namespace {

std::filesystem::path from_environment(const char* name, const std::filesystem::path& fallback)
{
  const char* value = std::getenv(name);
  if (value != nullptr && value[0] != '\0') {
    return value;
  }
  return fallback;
}

} // namespace

Paths paths_from_environment()
{
  return Paths{
    .module_root = from_environment("KSIGN_MODULEDIR", KSIGN_MODULEDIR),
    .boot_root = from_environment("KSIGN_BOOTDIR", "/boot"),
    .config_directory = from_environment("KSIGN_CONFIG_DIR", std::filesystem::path(KSIGN_SYSCONFDIR) / "ksign"),
    .dkms_tree = from_environment("KSIGN_DKMS_TREE", "/var/lib/dkms"),
  };
}

} // namespace ksign::cli
