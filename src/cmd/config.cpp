// SPDX-License-Identifier: MIT
// `ksign config`: point kernel configs at the current key's certificate, or check their
// module-signing settings.

#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/kconfig.hpp"
#include "core/key_directory.hpp"
#include "core/key_pruning.hpp"
#include "core/key_refresh.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>


namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

// The command line of `ksign config` (besides the key store), declared and read here only.
struct ConfigOptions
{
  bool check = false; // --check
};

void add_config_options(cxxopts::Options& options)
{
  options.add_options()("check", "check the module-signing settings; change nothing");
}

ConfigOptions read_config_options(const cxxopts::ParseResult& result)
{
  return ConfigOptions{.check = cli::given(result, "check")};
}

std::string_view level_name(core::ConfigFinding::Level level)
{
  switch (level) {
  case core::ConfigFinding::Level::ok:
    return "ok";
  case core::ConfigFinding::Level::warning:
    return "warning";
  case core::ConfigFinding::Level::error:
    return "error";
  }
  return "error";
}

int check_configs(const std::vector<fs::path>& configs, const fs::path& store, cli::Output& out)
{
  // The store's current key, when it has one, is what the configs should trust.
  Bytes current;
  if (core::current_key(store)) {
    current = core::key_directory_certificate(core::current_key_files(store));
  }
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (const fs::path& path : configs) {
    const std::vector<core::ConfigFinding> findings = core::check_signing_config(core::KernelConfig::read(path), current);
    out.result(util::escape(path.native()) + ":");
    for (const core::ConfigFinding& finding : findings) {
      errors += finding.level == core::ConfigFinding::Level::error ? 1 : 0;
      warnings += finding.level == core::ConfigFinding::Level::warning ? 1 : 0;
      if (finding.level == core::ConfigFinding::Level::ok && out.verbosity() == cli::Verbosity::quiet) {
        continue;
      }
      const char* fix = finding.fix == core::ConfigFinding::Fix::trust_current_key ? " (run 'ksign config')" : "";
      out.result(fmt::format("  {:<8} {}: {}{}", level_name(finding.level), finding.option, util::escape(finding.message),
                             fix));
    }
  }
  out.info("{} {}, {} {}", errors, errors == 1 ? "error" : "errors", warnings, warnings == 1 ? "warning" : "warnings");
  return errors == 0 ? cli::exit_success : cli::exit_failure;
}

int run_config(cli::Invocation& invocation)
{
  const ConfigOptions options = read_config_options(invocation.options);
  const std::vector<fs::path> configs = core::expand_config_patterns(invocation.operands);
  if (options.check) {
    return check_configs(configs, invocation.key_store, invocation.out);
  }
  // The store remembers which configs name its keys, so that keys --keep keeps those keys.
  core::require_safe_store(invocation.key_store, invocation.sudo_invoker);
  cli::trust_current_key(invocation.key_store, configs, invocation.out);
  core::record_updated_configs(invocation.key_store, configs);
  return cli::exit_success;
}

} // namespace

const Command cmd_config = {
  .name = "config",
  .summary = "point kernel configs at the current key, or check their signing settings",
  .description = "Set CONFIG_SYSTEM_TRUSTED_KEYS in each kernel config to the absolute path of the\n"
                 "current key's certificate (signing_crt.pem), changing nothing else; a config\n"
                 "that is already right is not rewritten. With --check, report the module-signing\n"
                 "settings instead (exit status 1 when one is an error).",
  .operands = "<config>...",
  .min_operands = 1,
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .verbose_help = "also name configs that are already right",
  .quiet_help = "print errors only (with --check: problems only)",
  .add_options = add_config_options,
  .run = run_config,
};

} // namespace ksign::cmd
