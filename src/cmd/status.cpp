// SPDX-License-Identifier: MIT
// `ksign status`: what the running kernel enforces and trusts, and whether each installed kernel
// trusts the ksign key it carries (sbctl's `status` is the model). Reads only; needs no key.

#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "cli/trust_basis.hpp"
#include "cmd/commands.hpp"
#include "core/keyrings.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <chrono>
#include <optional>

namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

void add_status_options(cxxopts::Options& options)
{
  options.add_options()("json", "print the status as JSON on stdout");
}

// One installed kernel: its ksign key and whether its image trusts it.
struct KernelStatus
{
  core::KernelKey key;
  std::optional<std::chrono::seconds> key_age;
  std::optional<cli::ImageKeyTrust> trust; // only for a kernel with a readable ksign key
};

struct Status
{
  std::string release;
  std::optional<bool> sig_enforce;
  std::optional<std::string> lockdown;
  std::optional<core::RunningKeys> keys;
  std::string keys_problem; // why /proc/keys could not be read
  core::PlatformFallbackProbe platform; // does .platform count for modules
  std::vector<KernelStatus> kernels;
  std::string verdict;
  bool good = false;
};

Status gather_status()
{
  Status status;
  status.release = cli::running_release();
  status.sig_enforce = core::read_sig_enforce();
  status.lockdown = core::read_lockdown();
  try {
    status.keys = core::read_running_keys();
    status.platform = cli::running_platform_fallback(*status.keys);
  } catch (const Error& e) {
    status.keys_problem = e.what();
  }
  for (core::KernelKey& key : core::installed_kernel_keys(cli::module_root())) {
    KernelStatus kernel{std::move(key), std::nullopt, std::nullopt};
    if (!kernel.key.fingerprint.empty()) {
      if (const auto current = core::current_key(core::kernel_key_store(cli::module_root(), kernel.key.release))) {
        kernel.key_age = std::chrono::duration_cast<std::chrono::seconds>(
          fs::file_time_type::clock::now() - current->created);
      }
      kernel.trust = cli::installed_image_trusts(cli::module_root(), kernel.key.release, kernel.key.certificate);
    }
    status.kernels.push_back(std::move(kernel));
  }

  // One line: the worst thing first.
  // Keys modules can be checked against; .platform's count only for a kernel that uses it.
  std::size_t keys = 0;
  std::size_t platform_keys = 0;
  if (status.keys) {
    for (const core::RunningKeyring& keyring : status.keys->keyrings) {
      if (keyring.which == core::SystemKeyring::platform) {
        platform_keys = keyring.count;
      } else if (keyring.which != core::SystemKeyring::blacklist) {
        keys += keyring.count;
      }
    }
  }
  if (status.platform.fallback == core::PlatformFallback::used) {
    keys += platform_keys;
    platform_keys = 0;
  }
  // .platform keys whose use for modules ksign cannot tell: named, not counted.
  const std::size_t undecided = status.platform.fallback == core::PlatformFallback::unknown ? platform_keys : 0;
  const std::string besides =
    undecided == 0 ? std::string()
                   : fmt::format(" ({} more in .platform count only if this kernel uses .platform for modules, as "
                                 "distribution kernels do and mainline kernels do not: ksign cannot tell)",
                                 undecided);
  std::string untrusted;
  for (const KernelStatus& kernel : status.kernels) {
    if (kernel.trust && kernel.trust->trust && *kernel.trust->trust != core::SignerTrust::trusted) {
      untrusted += (untrusted.empty() ? "" : ", ") + kernel.key.release;
    }
  }
  if (!untrusted.empty()) {
    status.verdict = "kernel " + untrusted + " does not trust the ksign key it carries: its ksign-signed modules would be refused";
  } else if (!status.sig_enforce) {
    status.verdict = "the running kernel does not check module signatures (no module signing): any module loads";
  } else if (!*status.sig_enforce) {
    status.verdict = "module signatures are checked but not enforced (module.sig_enforce=0): unsigned modules load";
  } else if (keys == 0 && undecided == 0) {
    status.verdict = ::geteuid() == 0 ? "signatures are enforced but the running kernel's keyrings hold no keys "
                                        "that count for modules: no signed module loads"
                                      : "signatures are enforced; only root can see the keyrings (run with sudo)";
  } else if (keys == 0) {
    status.verdict = "signatures are enforced but the running kernel holds keys only in .platform" + besides;
  } else {
    status.good = true;
    status.verdict = fmt::format("signatures are enforced; the running kernel trusts {} {}{}", keys,
                                 keys == 1 ? "key" : "keys", besides);
  }
  return status;
}

std::string yes_no(const std::optional<bool>& value, std::string_view missing)
{
  return value ? (*value ? "yes" : "no") : std::string(missing);
}

void print_text(const Status& status)
{
  fmt::print("running kernel:  {}\n", status.release);
  fmt::print("sig_enforce:     {}\n", yes_no(status.sig_enforce, "no module signing in this kernel (no sig_enforce parameter)"));
  fmt::print("lockdown:        {}\n", status.lockdown.value_or("unknown (no /sys/kernel/security/lockdown)"));
  fmt::print("keyrings:\n");
  if (!status.keys) {
    fmt::print("  cannot read /proc/keys: {}\n", status.keys_problem);
  } else if (status.keys->keyrings.empty()) {
    fmt::print("  none visible{}\n", ::geteuid() == 0 ? "" : " (only root can see them: run with sudo)");
  } else {
    for (const core::RunningKeyring& keyring : status.keys->keyrings) {
      fmt::print("  {:<24} {}\n", core::system_keyring_name(keyring.which),
                 keyring.count == 0 ? std::string("empty") : fmt::format("{} linked", keyring.count));
      if (keyring.which == core::SystemKeyring::platform) {
        fmt::print("    for modules: {}; {}\n", core::platform_fallback_name(status.platform.fallback),
                   cli::platform_fallback_text(status.platform));
      }
      for (const core::ProcAsymmetricKey* key : status.keys->keys_in(keyring.which)) {
        fmt::print("    '{}' key id {}\n", util::escape(key->subject), util::escape(key->key_id));
      }
    }
  }
  fmt::print("installed kernels ({}):\n", cli::module_root().string());
  if (status.kernels.empty()) {
    fmt::print("  none\n");
  }
  for (const KernelStatus& kernel : status.kernels) {
    if (kernel.key.unreadable) {
      fmt::print("  {:<32} {}\n", kernel.key.release, cli::explained(*kernel.key.unreadable));
    } else if (kernel.key.fingerprint.empty()) {
      fmt::print("  {:<32} no ksign key\n", kernel.key.release);
    } else {
      fmt::print("  {:<32} ksign key {}{}; {}\n", kernel.key.release, kernel.key.key_id,
                 kernel.key_age ? ", " + util::short_duration(*kernel.key_age) + " old" : std::string(),
                 cli::image_key_trust_text(*kernel.trust));
    }
  }
  fmt::print("verdict:         {}\n", status.verdict);
}

void print_json(const Status& status)
{
  fmt::print("{{\n  \"running\": {{\"release\": {}, \"sig_enforce\": {}, \"lockdown\": {}}},\n",
             util::json_string(status.release),
             status.sig_enforce ? (*status.sig_enforce ? "true" : "false") : "null",
             status.lockdown ? util::json_string(*status.lockdown) : "null");
  fmt::print("  \"keyrings\": [");
  if (status.keys) {
    bool first = true;
    for (const core::RunningKeyring& keyring : status.keys->keyrings) {
      fmt::print("{}\n    {{\"name\": {}, \"count\": {}", first ? "" : ",",
                 util::json_string(core::system_keyring_name(keyring.which)), keyring.count);
      if (keyring.which == core::SystemKeyring::platform) {
        fmt::print(", \"used_for_modules\": {}", util::json_string(core::platform_fallback_name(status.platform.fallback)));
      }
      fmt::print(", \"keys\": [");
      first = false;
      bool first_key = true;
      for (const core::ProcAsymmetricKey* key : status.keys->keys_in(keyring.which)) {
        fmt::print("{}{{\"subject\": {}, \"key_id\": {}}}", first_key ? "" : ", ", util::json_string(key->subject),
                   util::json_string(key->key_id));
        first_key = false;
      }
      fmt::print("]}}");
    }
  }
  fmt::print("\n  ],\n");
  if (status.keys) {
    fmt::print("  \"platform_counts\": {},\n  \"platform_evidence\": {},\n",
               util::json_string(core::platform_fallback_name(status.platform.fallback)),
               util::json_string(cli::platform_fallback_text(status.platform)));
  }
  if (!status.keys) {
    fmt::print("  \"keyrings_problem\": {},\n", util::json_string(status.keys_problem));
  }
  fmt::print("  \"kernels\": [");
  for (std::size_t i = 0; i < status.kernels.size(); ++i) {
    const KernelStatus& kernel = status.kernels[i];
    fmt::print("{}\n    {{\"release\": {}, \"has_ksign_key\": {}", i == 0 ? "" : ",", util::json_string(kernel.key.release),
               kernel.key.fingerprint.empty() ? "false" : "true");
    if (!kernel.key.fingerprint.empty()) {
      fmt::print(", \"key_id\": {}", util::json_string(kernel.key.key_id));
      if (kernel.key_age) {
        fmt::print(", \"key_age_seconds\": {}", kernel.key_age->count());
      }
      fmt::print(", \"image_trusts_key\": {}",
                 kernel.trust->trust ? util::json_string(core::signer_trust_name(*kernel.trust->trust)) : "null");
      if (kernel.trust->trust) {
        fmt::print(", \"image\": {}, \"method\": {}", util::json_string(kernel.trust->sources.image.string()),
                   util::json_string(core::trust_method_name(*kernel.trust->method)));
      } else {
        fmt::print(", \"problem\": {}", util::json_string(kernel.trust->problem));
      }
    }
    if (kernel.key.unreadable) {
      fmt::print(", \"problem\": {}", util::json_string(cli::explained(*kernel.key.unreadable)));
    }
    fmt::print("}}");
  }
  fmt::print("\n  ],\n  \"verdict\": {},\n  \"ok\": {}\n}}\n", util::json_string(status.verdict),
             status.good ? "true" : "false");
}

int run_status(cli::Invocation& invocation)
{
  const Status status = gather_status();
  if (invocation.options.count("json") > 0) {
    print_json(status);
  } else {
    print_text(status);
  }
  // Describing is not failing: the verdict says what is wrong.
  return cli::exit_success;
}

} // namespace

const Command cmd_status = {
  .name = "status",
  .summary = "show what the running kernel enforces and trusts",
  .description = "Show the running kernel's release, whether it enforces module signatures\n"
                 "(sig_enforce), its lockdown mode, the keys in its builtin, secondary, machine and\n"
                 "platform keyrings (/proc/keys: only root sees them), and for each installed kernel\n"
                 "its ksign key, that key's age and whether the kernel's image trusts it; then a\n"
                 "one-line verdict. Changes nothing; exit status 0 unless status cannot be read.",
  .add_options = add_status_options,
  .run = run_status,
};

} // namespace ksign::cmd
