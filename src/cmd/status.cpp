// SPDX-License-Identifier: MIT
// `ksign status`: what the running kernel enforces and trusts, and whether each installed kernel
// trusts the ksign key it carries (sbctl's `status` is the model). Reads only; needs no key.

#include "cli/kernel_rows.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "cli/trust_text.hpp"
#include "cmd/commands.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_directory.hpp"
#include "core/keyrings.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/json_writer.hpp"
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

struct StatusOptions
{
  bool json = false;
};

StatusOptions read_status_options(const cxxopts::ParseResult& result)
{
  return {.json = cli::given(result, "json")};
}

// One installed kernel: its ksign key and whether its image trusts it.
struct KernelStatus
{
  core::KernelKey key;
  std::optional<std::chrono::seconds> key_age;
  std::optional<core::ImageKeyTrust> trust; // only for a kernel with a readable ksign key
};

struct Status
{
  std::string release;
  std::filesystem::path module_root; // where its installed kernels were looked for
  std::optional<bool> sig_enforce;
  std::optional<std::string> lockdown;
  std::optional<core::RunningKeys> keys;
  std::string keys_problem; // why /proc/keys could not be read
  core::PlatformFallbackProbe platform; // does .platform count for modules
  std::vector<KernelStatus> kernels;
  std::string verdict;
  bool good = false;
};

Status gather_status(const cli::Paths& paths)
{
  Status status;
  status.module_root = paths.module_root;
  status.release = core::running_release();
  status.sig_enforce = core::read_sig_enforce();
  status.lockdown = core::read_lockdown();
  try {
    status.keys = core::read_running_keys();
    status.platform = core::running_platform_fallback(*status.keys, paths.module_root, paths.boot_root);
  } catch (const Error& e) {
    status.keys_problem = e.what();
  }
  for (core::KernelKey& key : core::installed_kernel_keys(paths.module_root)) {
    KernelStatus kernel{std::move(key), std::nullopt, std::nullopt};
    if (!kernel.key.fingerprint.empty()) {
      // The headers may hold the certificate only (install --public): its age is the key's then.
      const core::KeyFiles carried =
        core::current_certificate_files(core::kernel_key_store(paths.module_root, kernel.key.release));
      kernel.key_age = std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now()
                                                                        - core::key_directory_key_time(carried));
      kernel.trust = core::installed_image_trusts(paths.module_root, kernel.key.release, paths.boot_root, kernel.key.certificate);
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
    status.verdict = "kernel " + untrusted + " does not trust the ksign key it carries: its ksign-signed modules would be "
                     "refused; " + cli::untrusted_key_fix();
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

// Every line goes through Output::result, which escapes it: the keys' subjects, the reason
// /proc/keys could not be read and the kernels' releases come from files.
void print_text(const Status& status, cli::Output& out)
{
  out.result("running kernel:  " + status.release);
  out.result("sig_enforce:     " + yes_no(status.sig_enforce, "no module signing in this kernel (no sig_enforce parameter)"));
  out.result("lockdown:        " + status.lockdown.value_or("unknown (no /sys/kernel/security/lockdown)"));
  out.result("keyrings:");
  if (!status.keys) {
    out.result("  cannot read /proc/keys: " + status.keys_problem);
  } else if (status.keys->keyrings.empty()) {
    out.result(fmt::format("  none visible{}", ::geteuid() == 0 ? "" : " (only root can see them: run with sudo)"));
  } else {
    for (const core::RunningKeyring& keyring : status.keys->keyrings) {
      out.result(fmt::format("  {:<24} {}", core::system_keyring_name(keyring.which),
                             keyring.count == 0 ? std::string("empty") : fmt::format("{} linked", keyring.count)));
      if (keyring.which == core::SystemKeyring::platform) {
        out.result(fmt::format("    for modules: {}; {}", core::platform_fallback_name(status.platform.fallback),
                               cli::platform_fallback_text(status.platform)));
      }
      for (const core::ProcAsymmetricKey* key : status.keys->keys_in(keyring.which)) {
        out.result(fmt::format("    '{}' key id {}", key->subject, key->key_id));
      }
    }
  }
  out.result("installed kernels (" + status.module_root.string() + "):");
  if (status.kernels.empty()) {
    out.result("  none");
  }
  for (const KernelStatus& kernel : status.kernels) {
    out.result(cli::kernel_row_text(
      kernel.key,
      "ksign key " + kernel.key.key_id + (kernel.key_age ? ", " + util::short_duration(*kernel.key_age) + " old" : ""),
      kernel.trust));
  }
  out.result("verdict:         " + status.verdict);
}

void print_json(const Status& status, cli::Output& out)
{
  using Layout = util::JsonWriter::Layout;
  util::JsonWriter json;
  json.begin_object();
  json.object_begin_object("running")
    .object_string("release", status.release)
    .object_bool_or_null("sig_enforce", status.sig_enforce)
    .object_string_or_null("lockdown", status.lockdown)
    .end();
  json.object_begin_array("keyrings", Layout::lines);
  if (status.keys) {
    for (const core::RunningKeyring& keyring : status.keys->keyrings) {
      json.array_begin_object()
        .object_string("name", core::system_keyring_name(keyring.which))
        .object_int("count", keyring.count);
      if (keyring.which == core::SystemKeyring::platform) {
        json.object_string("used_for_modules", core::platform_fallback_name(status.platform.fallback));
      }
      json.object_begin_array("keys");
      for (const core::ProcAsymmetricKey* key : status.keys->keys_in(keyring.which)) {
        json.array_begin_object().object_string("subject", key->subject).object_string("key_id", key->key_id).end();
      }
      json.end().end();
    }
  }
  json.end();
  if (status.keys) {
    json.object_string("platform_counts", core::platform_fallback_name(status.platform.fallback));
    json.object_string("platform_evidence", cli::platform_fallback_text(status.platform));
  } else {
    json.object_string("keyrings_problem", status.keys_problem);
  }
  json.object_begin_array("kernels", Layout::lines);
  for (const KernelStatus& kernel : status.kernels) {
    cli::kernel_row_json(json, kernel.key, kernel.trust, [&](util::JsonWriter& row) {
      if (kernel.key_age) {
        row.object_int("key_age_seconds", kernel.key_age->count());
      }
    });
  }
  json.end();
  json.object_string("verdict", status.verdict);
  json.object_bool("ok", status.good);
  json.end();
  out.json(json);
}

int run_status(cli::Invocation& invocation)
{
  const StatusOptions options = read_status_options(invocation.options);
  const Status status = gather_status(invocation.paths);
  if (options.json) {
    print_json(status, invocation.out);
  } else {
    print_text(status, invocation.out);
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
