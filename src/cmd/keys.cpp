// SPDX-License-Identifier: MIT
// `ksign keys`: make or refresh the out-of-tree signing key of a key store (kernel-sign's
// certs-local layout), then make every given kernel config trust the current key.

#include "cli/kernel_rows.hpp"
#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/paths.hpp"
#include "cli/output.hpp"
#include "cli/trust_text.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/kconfig.hpp"
#include "core/key_pruning.hpp"
#include "core/key_refresh.hpp"
#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_state.hpp"
#include "core/keystore_write.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/file.hpp"
#include "util/json_writer.hpp"
#include "util/time.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <fmt/ranges.h> // fmt::join (in ranges.h since fmt 11)

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

void add_keys_options(cxxopts::Options& options)
{
  options.add_options()
    ("config", "kernel config to read and update; a quoted glob like '../config.*' works (repeatable; "
               "the files an unquoted glob expands to are taken too)",
     cxxopts::value<std::vector<std::string>>(), "FILE|GLOB")
    ("refresh", "make a new key when the current one is older: 'always' or a number with s, m, h, d or w "
                "(30d, 30days, 24h, 2weeks; default: the period of the last run that gave one, else 7d; "
                "'always' is not remembered)",
     cxxopts::value<std::string>(), "PERIOD")
    ("keep", "remove the oldest key directories beyond the newest N (never the current one)",
     cxxopts::value<int>(), "N")
    ("show", "describe the current key (type, hash, age, next refresh, key id) and which installed "
             "kernels carry it; changes nothing")
    ("json", "with --show: print it as JSON")
    ("key-files", "print the private key and the certificate kernel KVER's modules are signed with, one "
                  "per line (the DKMS drop-in asks this); nothing when KVER has no ksign key; fails, "
                  "saying what is missing, when its private key cannot be reached",
     cxxopts::value<std::string>(), "KVER");
  cli::add_loose_key_option(options);
}

// The options add_keys_options declares (the loose-key one is read by cli::guard_private_key),
// with the rules that tie them together.
struct KeysOptions
{
  std::vector<std::string> configs; // --config patterns, as given
  std::optional<std::string> refresh;
  std::optional<std::size_t> keep;
  bool show = false;
  bool json = false;
  std::optional<std::string> key_files; // the kernel release
};

KeysOptions read_keys_options(const cxxopts::ParseResult& result)
{
  KeysOptions options;
  options.key_files = cli::optional_string(result, "key-files");
  if (options.key_files) {
    for (const char* other : {"show", "config", "keep", "refresh", "json"}) {
      cli::reject_together(result, "key-files", other);
    }
  }
  options.configs = cli::strings(result, "config");
  options.refresh = cli::optional_string(result, "refresh");
  if (const std::optional<int> keep = cli::optional_int(result, "keep")) {
    const int value = *keep;
    if (value < 1) {
      throw Error(Errc::usage, "--keep must be 1 or more");
    }
    options.keep = static_cast<std::size_t>(value);
  }
  cli::reject_together(result, "show", "config");
  cli::reject_together(result, "show", "keep");
  options.show = cli::given(result, "show");
  options.json = cli::given(result, "json");
  if (options.json && !options.show) {
    throw Error(Errc::usage, "--json goes with --show");
  }
  return options;
}

// The certificate's subject names the host and the day, so `ksign verify` and the kernel's
// keyring listing tell keys apart.
std::string certificate_name()
{
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "localhost");
  }
  return fmt::format("Local out-of-tree module signing key ({}, {})", host,
                     util::utc_text(std::chrono::system_clock::now(), "%Y-%m-%d"));
}

// Without a config: keep what the current key is, else an EC P-384 key with sha512 (the
// choices kernel-sign's documentation recommends).
core::SigningSettings settings_without_config(const std::optional<core::CurrentKey>& current)
{
  core::SigningSettings settings;
  settings.key_type = current && current->type ? *current->type : core::KeyType::ec;
  settings.hash = current && current->hash ? *current->hash : core::k_default_hash;
  return settings;
}

std::string utc_text(std::chrono::system_clock::time_point time)
{
  return util::utc_text(time, "%Y-%m-%d %H:%M:%S UTC");
}

// Why a new key is made, with the flag that asked for it.
std::string reason_text(const core::RefreshReason& reason, const core::RefreshPolicy& policy)
{
  switch (reason.kind) {
  case core::RefreshReason::Kind::always:
    return "--refresh always";
  case core::RefreshReason::Kind::age:
    return reason.text + " (--refresh " + util::whole_units(policy.max_age) + ")";
  default:
    return reason.text;
  }
}

// Where an installed kernel's key comes from: which key of the store it is, and where its
// private key is (in its headers, or through the registry).
struct KernelKeyOrigin
{
  std::string relation;    // "the current key", "key id X, an older key of this store", ...
  std::string private_key; // "private key in its headers 'K'", ...
  std::string store_key;   // JSON: "current", "older", "other" or "none" (the store has no key)
  std::optional<core::KernelKeyFiles> files;
};

KernelKeyOrigin kernel_key_origin(const cli::Paths& paths, const core::KernelKey& kernel,
                                  const core::KeyStoreState& state)
{
  KernelKeyOrigin origin;
  const std::string key_id = "key id " + (kernel.key_id.empty() ? "sha256-" + kernel.fingerprint : kernel.key_id);
  if (kernel.fingerprint == state.fingerprint) {
    origin.relation = "the current key (" + key_id + ")";
    origin.store_key = "current";
  } else if (std::find(state.fingerprints.begin(), state.fingerprints.end(), kernel.fingerprint) != state.fingerprints.end()) {
    origin.relation = key_id + ", an older key of this store";
    origin.store_key = "older";
  } else if (state.current) {
    origin.relation = key_id + ", not from this key store";
    origin.store_key = "other";
  } else {
    origin.relation = key_id;
    origin.store_key = "none";
  }
  try {
    origin.files = core::kernel_key_files(paths.module_root, kernel.release, paths.key_registry());
  } catch (const Error& e) {
    origin.private_key = "private key: " + cli::explained(e);
    return origin;
  }
  if (!origin.files) {
    origin.private_key = "no private key";
  } else if (origin.files->key.empty()) {
    origin.private_key = "no private key: the headers hold the certificate only and " + cli::kernel_key_problem(*origin.files);
  } else if (origin.files->source == core::KernelKeyFiles::Source::registry) {
    origin.private_key = "private key through " + util::quote(origin.files->link);
  } else {
    origin.private_key = "private key in its headers";
  }
  return origin;
}

// `ksign keys --key-files KVER`: the question the DKMS drop-in asks for each kernel. The paths
// go into DKMS's configuration, which DKMS writes out and sources again as shell text.
int print_kernel_key_files(const cli::Invocation& invocation, const std::string& release)
{
  if (!core::is_kernel_release(release)) {
    throw Error(Errc::usage, "--key-files takes a kernel release such as 6.12.1-arch1-1");
  }
  const std::optional<core::KernelKeyFiles> kernel = cli::kernel_signing_key(release, invocation);
  if (!kernel) {
    invocation.out.detail("kernel {} has no ksign key ({})", util::escape(release),
                          util::quote(core::kernel_key_store(invocation.paths.module_root, release)));
    return cli::exit_success;
  }
  // DKMS's sign-file only warns about a loose key (its own mok.key may be 0644): so do we.
  cli::guard_private_key(kernel->key, false, true, invocation.out);
  std::vector<std::string> lines;
  for (const fs::path& file : {kernel->key, kernel->certificate}) {
    const std::string path = fs::absolute(file).lexically_normal().string();
    const bool unsafe = std::any_of(path.begin(), path.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"' || c == '$' || c == '`' || c == '\\';
    });
    if (unsafe) {
      throw Error(Errc::failure, "cannot hand " + util::quote(file)
                                   + " to DKMS: its path holds a control character or one of \" $ ` \\, which "
                                     "DKMS's configuration reader would interpret");
    }
    lines.push_back(path);
  }
  // As they are, not escaped: DKMS reads them as file names, and the check above keeps every
  // control character out of them.
  for (const std::string& line : lines) {
    invocation.out.result_escaped(line);
  }
  return cli::exit_success;
}

// `ksign keys --show`: read-only, no lock, nothing created.
int show_keys(const cli::Invocation& invocation, const core::RefreshPolicy& policy, bool json)
{
  const cli::Paths& paths = invocation.paths;
  const fs::path& store = invocation.key_store;
  const core::KeyStoreState state = core::key_store_state(store, paths.module_root, policy);
  const std::optional<core::CurrentKey>& current = state.current;
  const std::vector<core::KernelKey>& kernels = state.kernels;
  const std::string& fingerprint = state.fingerprint;
  const std::string& key_id = state.key_id;
  const std::string& subject = state.subject;
  const auto created = state.created;
  const auto& next_refresh = state.next_refresh;
  const auto now = std::chrono::system_clock::now();
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - created);
  const std::string absolute_store = fs::absolute(store).lexically_normal().string();

  cli::Output& out = invocation.out;
  if (json) {
    util::JsonWriter writer;
    writer.begin_object();
    writer.object_string("store", absolute_store);
    if (!current) {
      writer.object_null("current");
    } else {
      writer.object_begin_object("current")
        .object_string("directory", current->directory.string())
        .object_string("key_type", current->type ? core::key_type_name(*current->type) : "unknown")
        .object_string("hash", current->hash ? core::hash_name(*current->hash) : "unknown")
        .object_string("created", utc_text(created))
        .object_int("age_seconds", age.count())
        .object_string_or_null("next_refresh", next_refresh ? std::optional(utc_text(*next_refresh)) : std::nullopt)
        .object_string("subject", subject)
        .object_string("key_id", key_id)
        .object_string("fingerprint_sha256", fingerprint)
        .end();
    }
    writer.object_begin_array("kernels", util::JsonWriter::Layout::lines);
    for (const core::KernelKey& k : kernels) {
      std::optional<core::ImageKeyTrust> trust;
      if (!k.fingerprint.empty()) {
        trust = core::installed_image_trusts(paths.module_root, k.release, paths.boot_root, k.certificate);
      }
      cli::kernel_row_json(writer, k, trust, [&](util::JsonWriter& row) {
        const KernelKeyOrigin origin = kernel_key_origin(paths, k, state);
        row.object_string("fingerprint_sha256", k.fingerprint)
          .object_bool("is_current", k.fingerprint == fingerprint)
          .object_string("store_key", origin.store_key);
        if (origin.files && !origin.files->key.empty()) {
          row.object_string("private_key", origin.files->key.string());
        } else {
          row.object_null("private_key");
        }
        if (!origin.files) {
          row.object_null("private_key_source");
        } else {
          row.object_string("private_key_source",
                            origin.files->source == core::KernelKeyFiles::Source::registry ? "registry" : "headers");
        }
      });
    }
    writer.end().end();
    out.json(writer);
    return cli::exit_success;
  }

  // Every line goes through Output::result, which escapes it: names, the subject and the
  // kernels' releases come from files.
  std::error_code ec;
  out.result("key store:    " + absolute_store + (fs::exists(store, ec) ? "" : " (does not exist)"));
  if (!current) {
    out.result("current key:  none (make one with 'ksign keys')");
  } else {
    out.result("current key:  " + current->directory.filename().native());
    out.result(fmt::format("type, hash:   {}, {}", current->type ? core::key_type_name(*current->type) : "unknown",
                           current->hash ? core::hash_name(*current->hash) : "unknown"));
    out.result(fmt::format("created:      {} ({} ago)", utc_text(created), util::short_duration(age)));
    if (next_refresh) {
      out.result(fmt::format("next refresh: {} ({})", utc_text(*next_refresh),
                             *next_refresh <= now ? "due: the next 'ksign keys' makes a new key"
                                                  : "in " + util::short_duration(std::chrono::duration_cast<std::chrono::seconds>(
                                                              *next_refresh - now))));
    } else {
      out.result("next refresh: at every 'ksign keys' (--refresh always)");
    }
    out.result("subject:      " + subject);
    out.result("key id:       " + key_id);
    out.result("fingerprint:  sha256 " + fingerprint);
  }
  out.result("installed kernels (" + paths.module_root.native() + "):");
  if (kernels.empty()) {
    out.result("  none");
  }
  for (const core::KernelKey& k : kernels) {
    if (k.unreadable || k.fingerprint.empty()) {
      out.result(cli::kernel_row_text(k, "", std::nullopt));
      continue;
    }
    // Which key it carries, where its private key is, and whether the kernel (its image) trusts it.
    const KernelKeyOrigin origin = kernel_key_origin(paths, k, state);
    out.result(cli::kernel_row_text(k, origin.relation + "; " + origin.private_key,
                                    core::installed_image_trusts(paths.module_root, k.release, paths.boot_root, k.certificate)));
  }
  return cli::exit_success;
}

// How long `keys` waits for a store lock another run holds: $KSIGN_LOCK_TIMEOUT seconds, else
// core::k_default_lock_timeout.
std::chrono::milliseconds lock_timeout()
{
  const char* text = std::getenv("KSIGN_LOCK_TIMEOUT");
  if (text == nullptr || text[0] == '\0') {
    return core::k_default_lock_timeout;
  }
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds >= 0) || seconds > 1e9) {
    throw Error(Errc::usage, "KSIGN_LOCK_TIMEOUT must be a number of seconds, not '" + util::escape(text) + "'");
  }
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// Why pruning kept an old key directory.
std::string kept_reason(const core::KeptKeyDirectory& kept)
{
  using Why = core::KeptKeyDirectory::Why;
  switch (kept.why) {
  case Why::current:
    return "it is the current key";
  case Why::registered:
    return "the link " + util::quote(kept.by) + " leads to it (install --public --register): the kernel installed "
           "with its certificate is signed for through it";
  case Why::config:
    return "the config " + util::quote(kept.by) + " names its certificate in CONFIG_SYSTEM_TRUSTED_KEYS";
  case Why::installed_kernel:
    return "installed kernel " + util::escape(kept.by) + " carries its certificate";
  case Why::not_a_key_directory:
    return "not a key directory made by ksign or kernel-sign (other name or other files): --keep leaves it alone";
  }
  return {};
}

int run_keys(cli::Invocation& invocation)
{
  const KeysOptions options = read_keys_options(invocation.options);
  cli::Output& out = invocation.out;
  const fs::path& store = invocation.key_store;
  // An unquoted --config glob reaches us as one --config and the rest as arguments.
  if (!invocation.operands.empty() && options.configs.empty()) {
    throw Error(Errc::usage, "unexpected argument '" + invocation.operands.front()
                               + "' (a glob for --config must be quoted: --config 'config.*')");
  }
  if (options.key_files) {
    if (invocation.key_store_given) {
      throw Error(Errc::usage, "--key-files and --dir cannot be used together (it reads the kernel's own key)");
    }
    return print_kernel_key_files(invocation, *options.key_files);
  }
  // One rule (core::refresh_period): the period given, else the last run's, else 7 days, so
  // that what --show calls the next refresh is what the next run does.
  const std::string period = core::refresh_period(store, options.refresh);
  const core::RefreshPolicy policy = cli::option_value("--refresh", [&] { return core::parse_refresh_policy(period); });
  if (options.show) {
    return show_keys(invocation, policy, options.json);
  }

  // Everything that can fail on bad input fails here, before the store or a config changes.
  std::vector<fs::path> configs;
  std::optional<core::SigningSettings> from_configs;
  if (!options.configs.empty()) {
    std::vector<std::string> patterns = options.configs;
    patterns.insert(patterns.end(), invocation.operands.begin(), invocation.operands.end());
    configs = core::expand_config_patterns(patterns);
    from_configs = core::agreed_signing_settings(configs);
    // The certificate's path goes into each config: one that would break the line fails now.
    core::require_config_value(core::k_trusted_keys_option, fs::absolute(store).lexically_normal().native());
    core::require_can_generate(from_configs->key_type);
  }

  cli::guard_key_directory(store, invocation);
  core::require_safe_store(store, invocation.sudo_invoker);
  const core::KeyStoreLock lock(store, lock_timeout(), [&](const core::LockWait& wait) {
    out.warning("waiting for {}{} (giving up after {})", util::quote(wait.lock),
                wait.holder ? fmt::format(", held by process {}", *wait.holder) : std::string(", held by another process"),
                util::whole_units(std::chrono::duration_cast<std::chrono::seconds>(wait.timeout)));
  });
  for (const fs::path& removed : core::remove_unfinished_entries(store, true)) {
    out.info("removed {}, left unfinished by an interrupted run", util::quote(removed));
  }
  if (options.refresh) {
    core::record_refresh_period(store, *options.refresh);
  }
  const std::optional<core::CurrentKey> current = core::current_key(store);
  const core::SigningSettings wanted = from_configs ? *from_configs : settings_without_config(current);
  const std::optional<core::RefreshReason> reason =
    core::refresh_reason(current, wanted.key_type, wanted.hash, policy, fs::file_time_type::clock::now());
  if (reason) {
    const core::SigningKey key = core::generate_signing_key(wanted.key_type, wanted.hash, certificate_name());
    const fs::path directory = core::write_key_directory(store, key, wanted.hash);
    core::switch_current(store, directory);
    out.info("new {} key ({}) in {}: {}", core::key_type_name(wanted.key_type), core::hash_name(wanted.hash),
             util::quote(directory), reason_text(*reason, policy));
  } else {
    for (const std::string_view name : core::k_private_key_names) {
      cli::guard_private_key(current->directory / name, invocation);
    }
    const core::KeyFiles files = core::current_key_files(store);
    // A key directory made by kernel-sign (or copied by hand) is adopted: its private keys must
    // fit its certificate, and what ksign's layout has beside them is added.
    core::check_key_directory(files, cli::key_passphrase());
    cli::warn_if_short_key(X509_get0_pubkey(core::load_certificate(files.certificate).get()),
                           "the current key " + util::quote(files.key), out);
    out.detail("keeping the current key {}", util::quote(current->directory));
    const std::vector<std::string> added = core::complete_key_directory(current->directory);
    if (!added.empty()) {
      out.info("added {} to {}", fmt::join(added, ", "), util::quote(current->directory));
    }
  }

  if (!configs.empty()) {
    cli::trust_current_key(store, configs, out);
    core::record_updated_configs(store, configs);
  }

  if (options.keep) {
    const core::PruneResult pruned = core::prune_key_directories(store, *options.keep, invocation.paths.key_registry(), invocation.paths.module_root);
    for (const fs::path& removed : pruned.removed) {
      out.info("removed the old key directory {}", util::quote(removed));
    }
    for (const core::KeptKeyDirectory& kept : pruned.kept) {
      out.info("kept {}: {}", util::quote(kept.directory), kept_reason(kept));
    }
  }
  return cli::exit_success;
}

} // namespace

const Command cmd_keys = {
  .name = "keys",
  .summary = "make or refresh the signing key and point kernel configs at it",
  .description = "Make or refresh the module-signing key of a key store, then point every given\n"
                 "kernel config's CONFIG_SYSTEM_TRUSTED_KEYS at the current certificate.\n"
                 "Key type and hash come from the configs (CONFIG_MODULE_SIG_KEY_TYPE_*,\n"
                 "CONFIG_MODULE_SIG_HASH); without a config: EC P-384 and sha512.",
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .verbose_help = "say what is kept as well as what changes",
  .add_options = add_keys_options,
  .run = run_keys,
};

} // namespace ksign::cmd
