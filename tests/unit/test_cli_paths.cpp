// SPDX-License-Identifier: MIT
// The system paths (cli/paths): from the environment, else the build-time defaults.
#include "catch.hpp"

#include "cli/paths.hpp"
#include "test_support.hpp"

#include "config.h"

#include <filesystem>

using namespace ksign;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_variables[] = {"KSIGN_MODULEDIR", "KSIGN_BOOTDIR", "KSIGN_CONFIG_DIR", "KSIGN_DKMS_TREE"};

} // namespace

TEST_CASE("cli::paths_from_environment: unset or empty variables take the defaults", "[paths]")
{
  for (const char* value : {static_cast<const char*>(nullptr), ""}) {
    INFO("value " << (value == nullptr ? "unset" : "empty"));
    const test::ScopedEnv moduledir(k_variables[0], value);
    const test::ScopedEnv bootdir(k_variables[1], value);
    const test::ScopedEnv configdir(k_variables[2], value);
    const test::ScopedEnv dkms_tree(k_variables[3], value);
    const cli::Paths paths = cli::paths_from_environment();
    CHECK(paths.module_root == fs::path(KSIGN_MODULEDIR));
    CHECK(paths.boot_root == fs::path("/boot"));
    CHECK(paths.config_directory == fs::path(KSIGN_SYSCONFDIR) / "ksign");
    CHECK(paths.key_registry() == fs::path(KSIGN_SYSCONFDIR) / "ksign/keys.d");
    CHECK(paths.dkms_tree == fs::path("/var/lib/dkms"));
  }
}

TEST_CASE("cli::paths_from_environment: each variable sets its own path", "[paths]")
{
  const test::ScopedEnv moduledir("KSIGN_MODULEDIR", "/t/modules");
  const test::ScopedEnv bootdir("KSIGN_BOOTDIR", "/t/boot");
  const test::ScopedEnv configdir("KSIGN_CONFIG_DIR", "/t/etc");
  const test::ScopedEnv dkms_tree("KSIGN_DKMS_TREE", "/t/dkms");
  const cli::Paths paths = cli::paths_from_environment();
  CHECK(paths.module_root == fs::path("/t/modules"));
  CHECK(paths.boot_root == fs::path("/t/boot"));
  CHECK(paths.config_directory == fs::path("/t/etc"));
  CHECK(paths.key_registry() == fs::path("/t/etc/keys.d"));
  CHECK(paths.dkms_tree == fs::path("/t/dkms"));
  {
    // One variable does not move the others.
    const test::ScopedEnv only_boot("KSIGN_BOOTDIR", nullptr);
    const cli::Paths again = cli::paths_from_environment();
    CHECK(again.module_root == fs::path("/t/modules"));
    CHECK(again.boot_root == fs::path("/boot"));
    CHECK(again.config_directory == fs::path("/t/etc"));
  }
}
