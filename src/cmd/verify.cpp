// SPDX-License-Identifier: MIT
// `ksign verify`: predict, for each module, what a kernel with module.sig_enforce=1 will say.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "cli/paths.hpp"
#include "core/certificate.hpp"
#include "core/kconfig.hpp"
#include "cli/trust_basis.hpp"
#include "core/kernel_trust.hpp"
#include "core/keyrings.hpp"
#include "core/module_files.hpp"
#include "core/module_verifier.hpp"
#include "core/platform_fallback.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <map>

namespace ksign::cmd {

namespace {

void add_verify_options(cxxopts::Options& options)
{
  options.add_options()
    ("c,cert", "trust the certificate(s) in FILE: DER, PEM or a PEM bundle (repeatable)",
     cxxopts::value<std::vector<std::string>>(), "FILE")
    ("r,recursive", "check modules in subdirectories of a directory too")
    ("j,jobs", "check N modules at a time (0: one per CPU)", cxxopts::value<int>()->default_value("0"), "N")
    ("json", "print the results as JSON on stdout")
    ("image", "judge by the certificates compiled into the kernel image FILE (vmlinux or bzImage)",
     cxxopts::value<std::string>(), "FILE")
    ("system-map", "with --image: the System.map that locates its certificate list", cxxopts::value<std::string>(),
     "FILE")
    ("running", "judge by the running kernel's keyrings (/proc/keys)")
    ("config", "judge by the rules of the kernel built from this .config (the ML-DSA waiver); --kernel KVER "
               "reads that kernel's own", cxxopts::value<std::string>(), "FILE")
    // sign's --kernel picks a key; verify's picks what to judge by.
    ("kernel", "judge by installed kernel KVER: the certificates compiled into its image (build/vmlinux, "
               "vmlinuz, /boot/vmlinuz-KVER) and the rules of its .config; with no module given, audit every "
               "module installed for it", cxxopts::value<std::string>(), "KVER");
}

struct ModuleResult
{
  std::filesystem::path path;
  core::Verification verification;
  std::string read_error; // the file could not be read at all
  std::string keyring;    // --running: the keyring that holds the signer
  // --running: the signer is only in .platform, and whether this kernel uses .platform for
  // modules is unknown: not ok, and not an unknown key either.
  bool platform_only = false;
};

// The running kernel's keyrings, and why they cannot decide when they cannot.
struct RunningTrust
{
  core::RunningKeys keys;
  std::string why_none; // "" when the keyrings hold keys the caller can see
  core::PlatformFallbackProbe platform; // does .platform count for modules
};

// What the modules are judged against: certificates (an image's lists, files) or the running
// kernel's keyrings. Gathered once, before any module is read.
struct Trust
{
  std::optional<cli::TrustBasis> basis;
  std::optional<RunningTrust> running;
  core::KernelRules rules; // from the kernel's .config, where it is known
  std::uint64_t max_module_size = core::k_default_max_module_size;

  [[nodiscard]] ModuleResult verify(const std::filesystem::path& path) const;
  // "kernel 6.12.9 trusts: ..." for refusals.
  [[nodiscard]] std::string trusted_text() const;
};

std::string keyring_list(const core::RunningKeys& keys)
{
  std::string text;
  for (const core::RunningKeyring& keyring : keys.keyrings) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", core::system_keyring_name(keyring.which),
                        keyring.count == 0 ? std::string("empty") : std::to_string(keyring.count));
  }
  return text.empty() ? "none" : text;
}

RunningTrust running_trust(const cli::Paths& paths)
{
  RunningTrust running{core::read_running_keys(), {}, {}};
  running.platform = cli::running_platform_fallback(paths, running.keys);
  // The image's and firmware's certificates tell the serials of their keys, which /proc/keys
  // does not show.
  running.keys.certificates = cli::running_known_certificates(paths);
  bool readable = true;
  std::size_t keys = 0;
  for (const core::RunningKeyring& keyring : running.keys.keyrings) {
    readable = readable && keyring.members.has_value();
    keys += keyring.which == core::SystemKeyring::blacklist ? 0 : keyring.count;
  }
  if (running.keys.keyrings.empty()) {
    running.why_none = ::geteuid() == 0 ? "the running kernel has no system keyrings (no module signing support)"
                                        : "/proc/keys shows this user no system keyrings: only root can read them "
                                          "(run with sudo)";
  } else if (keys == 0) {
    running.why_none = "the running kernel's keyrings hold no keys (" + keyring_list(running.keys) + ")";
  } else if (!readable) {
    running.why_none = "cannot read the running kernel's keyrings: only root can (run with sudo)";
  }
  return running;
}

ModuleResult Trust::verify(const std::filesystem::path& path) const
{
  ModuleResult r;
  r.path = path;
  try {
    const Bytes file = util::read_file(path, max_module_size);
    if (basis) {
      r.verification = basis->verify(file, rules, max_module_size);
      return r;
    }
    // The keyrings hold no public keys to check the signature with: the verdict is the
    // kernel's key lookup, after ksign's own checks of the module's structure.
    static const core::TrustedKeys none;
    r.verification = core::verify_module(file, none, rules, max_module_size);
    core::Verification& v = r.verification;
    if (v.verdict != core::Verdict::unknown_key || !v.reference) {
      return r;
    }
    const core::RunningMatch match = core::find_running_signer(running->keys, *v.reference, running->platform.fallback);
    if (match.key_entry != nullptr) {
      v.signer = match.key_entry->subject;
      v.key_id = match.key_entry->key_id;
    }
    switch (match.outcome) {
    case core::RunningOutcome::revoked:
      v.problem = "the running kernel's .blacklist keyring holds the signer";
      break;
    case core::RunningOutcome::trusted:
      v.verdict = core::Verdict::ok;
      r.keyring = std::string(core::system_keyring_name(match.held_by.value_or(*match.keyring)));
      if (match.keyring == core::SystemKeyring::platform) {
        v.note = cli::platform_fallback_text(running->platform);
      }
      break;
    case core::RunningOutcome::platform_refused:
      v.problem = "the signer is only in .platform, and " + cli::platform_fallback_text(running->platform);
      break;
    case core::RunningOutcome::platform_undecided:
      r.platform_only = true;
      v.problem = "the signer is only in .platform: the module loads only on kernels that use .platform for modules "
                  "(distribution kernels); mainline kernels refuse it; " + cli::platform_fallback_text(running->platform);
      break;
    case core::RunningOutcome::absent:
      if (match.unconfirmed != nullptr) {
        v.problem = fmt::format("'{}' in {} bears the signer's name, but /proc/keys shows its subjectKeyIdentifier, "
                                "not its serial, so ksign cannot tell whether it is the signer's key (a module "
                                "signed with --keyid can be told; --kernel judges by the image's certificates)",
                                util::escape(match.unconfirmed->subject), core::system_keyring_name(*match.unconfirmed_in));
      } else {
        v.problem = running->why_none.empty() ? "no keyring of the running kernel holds the signer (searched "
                                                  + keyring_list(running->keys) + ")"
                                              : running->why_none;
      }
      break;
    }
  } catch (const std::exception& e) { // unreadable, or ksign's own failure (out of memory, OpenSSL)
    r.read_error = cli::about_module(r.path, exception_text(e));
  }
  return r;
}

std::string Trust::trusted_text() const
{
  if (basis) {
    return cli::trusted_list_text(*basis);
  }
  if (!running->why_none.empty()) {
    return "the running kernel trusts no key ksign can see: " + running->why_none;
  }
  // The keys of the keyrings modules are checked against; .platform's apart unless it counts.
  const core::PlatformFallback platform = running->platform.fallback;
  std::string trusted;
  std::string platform_only;
  for (const core::RunningKeyring& keyring : running->keys.keyrings) {
    if (keyring.which == core::SystemKeyring::blacklist) {
      continue;
    }
    const bool apart = keyring.which == core::SystemKeyring::platform && platform != core::PlatformFallback::used;
    std::string& list = apart ? platform_only : trusted;
    for (const core::ProcAsymmetricKey* key : running->keys.keys_in(keyring.which)) {
      list += fmt::format("{} '{}' {}", list.empty() ? "" : ",", util::escape(key->subject), util::escape(key->key_id));
    }
  }
  std::string text = "the running kernel trusts:" + (trusted.empty() ? std::string(" nothing") : trusted);
  if (!platform_only.empty()) {
    text += fmt::format("; .platform holds{} ({})", platform_only,
                        platform == core::PlatformFallback::unused
                          ? "which this kernel does not use for modules"
                          : "which counts only on kernels that use .platform for modules: ksign cannot tell");
  }
  return text;
}

// Which certificates or keyrings the modules are judged against (--image, --running,
// --kernel alone: an audit; else --cert, --kernel's or the key store's current key).
Trust gather_trust(cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  cli::Output& out = invocation.out;
  cli::reject_together(result, "image", "running");
  cli::reject_together(result, "image", "kernel");
  cli::reject_together(result, "running", "kernel");
  cli::reject_together(result, "running", "cert");
  if (result.count("system-map") > 0 && result.count("image") == 0) {
    throw Error(Errc::usage, "--system-map goes with --image");
  }
  std::vector<std::filesystem::path> extra;
  if (result.count("cert") > 0) {
    for (const std::string& name : result["cert"].as<std::vector<std::string>>()) {
      extra.emplace_back(name);
    }
  }
  Trust trust;
  // The kernel's own rules where its config is known: --config, else the installed kernel's.
  std::optional<std::filesystem::path> config_file;
  if (result.count("config") > 0) {
    config_file = result["config"].as<std::string>();
  } else if (result.count("kernel") > 0) {
    config_file = core::installed_kernel_config(invocation.paths.module_root, result["kernel"].as<std::string>());
  }
  if (config_file) {
    trust.rules = core::kernel_rules(core::KernelConfig::read(*config_file));
  }
  if (result.count("running") > 0) {
    trust.running = running_trust(invocation.paths);
    if (!trust.running->why_none.empty()) {
      out.warning("{}", trust.running->why_none);
    } else {
      out.info("judging by the running kernel's keyrings: {}", keyring_list(trust.running->keys));
    }
    if (trust.running->keys.find(core::SystemKeyring::platform) != nullptr) {
      out.info("{}", cli::platform_fallback_text(trust.running->platform));
    }
  } else if (result.count("image") > 0) {
    core::KernelImageSources sources{result["image"].as<std::string>(), std::nullopt};
    if (const auto map = cli::optional_string(result, "system-map")) {
      sources.system_map = *map;
    }
    trust.basis = cli::image_basis(sources, extra, out);
  } else if (result.count("kernel") > 0) {
    if (invocation.key_store_given) {
      throw Error(Errc::usage, "--dir and --kernel cannot be used together");
    }
    trust.basis = cli::installed_kernel_basis(invocation.paths, result["kernel"].as<std::string>(), extra, out);
  } else {
    trust.basis = cli::certificate_basis(cli::trusted_certificate_files(invocation));
  }
  return trust;
}

// A module whose signer only .platform holds, where ksign cannot tell whether it counts: the
// words in module lines and the summary, and its --json status.
constexpr std::string_view k_platform_only_words = "only in .platform";
constexpr std::string_view k_platform_only_status = "platform_only";

// The words a verdict is shown with, in module lines and in the summary alike.
std::string_view verdict_words(core::Verdict verdict)
{
  switch (verdict) {
  case core::Verdict::ok:
    return "ok";
  case core::Verdict::unsigned_module:
    return "unsigned";
  case core::Verdict::unknown_key:
    return "unknown key";
  case core::Verdict::bad_signature:
    return "bad signature";
  case core::Verdict::signed_attributes:
    return "signed attributes";
  case core::Verdict::malformed:
    return "malformed";
  }
  return "malformed";
}

std::string paint(std::string_view text, bool ok, bool color)
{
  if (!color) {
    return std::string(text);
  }
  return fmt::format("{}{}\033[0m", ok ? "\033[32m" : "\033[1;31m", text);
}

// The verdict part of a module's line. The signer name and the problem come from the module's
// signature, so they are escaped here: the line also carries our colours, and Output prints
// result lines as given.
std::string describe(const ModuleResult& r, bool color)
{
  const core::Verification& v = r.verification;
  std::string hash = v.hash ? std::string(core::hash_name(*v.hash)) : "unknown hash";
  std::string signer;
  if (!v.signer.empty()) {
    signer += "signer '" + util::escape(v.signer) + "'";
  }
  if (!v.key_id.empty()) {
    signer += std::string(signer.empty() ? "" : ", ") + "key id " + util::escape(v.key_id);
  }
  switch (v.verdict) {
  case core::Verdict::ok:
    return fmt::format("{} ({}, {}{}{})", paint(verdict_words(core::Verdict::ok), true, color), signer, hash,
                       v.note.empty() ? "" : "; ", v.note);
  case core::Verdict::unsigned_module:
    return paint(verdict_words(core::Verdict::unsigned_module), false, color);
  case core::Verdict::unknown_key:
    if (!v.sig_key.empty()) {
      signer += std::string(signer.empty() ? "" : ", ") + "sig_key " + v.sig_key;
    }
    return fmt::format("{} ({}{}{}{})",
                       paint(r.platform_only ? k_platform_only_words : verdict_words(core::Verdict::unknown_key), false, color),
                       signer,
                       signer.empty() ? "" : ", ", hash, v.problem.empty() ? "" : "; " + v.problem);
  case core::Verdict::bad_signature:
    return fmt::format("{} ({})", paint(verdict_words(core::Verdict::bad_signature), false, color), util::escape(v.problem));
  case core::Verdict::signed_attributes:
    return fmt::format("{} ({}, {}: {})", paint(verdict_words(core::Verdict::signed_attributes), false, color),
                       signer, hash, util::escape(v.problem));
  case core::Verdict::malformed:
    return fmt::format("{} ({})", paint(verdict_words(core::Verdict::malformed), false, color),
                       util::escape(v.problem));
  }
  return "malformed";
}

// What the modules were judged against, with the fields a refusal names.
void print_trust_json(const Trust& trust)
{
  if (trust.running) {
    fmt::print("{{\"source\": \"running\", \"keyrings\": [");
    bool first = true;
    for (const core::RunningKeyring& keyring : trust.running->keys.keyrings) {
      fmt::print("{}{{\"name\": {}, \"count\": {}}}", first ? "" : ", ",
                 util::json_string(core::system_keyring_name(keyring.which)), keyring.count);
      first = false;
    }
    fmt::print("], \"keys\": [");
    first = true;
    for (const core::ProcAsymmetricKey& key : trust.running->keys.keys) {
      fmt::print("{}{{\"subject\": {}, \"key_id\": {}}}", first ? "" : ", ", util::json_string(key.subject),
                 util::json_string(key.key_id));
      first = false;
    }
    fmt::print("]");
    fmt::print(", \"platform_counts\": {}, \"platform_evidence\": {}",
               util::json_string(core::platform_fallback_name(trust.running->platform.fallback)),
               util::json_string(cli::platform_fallback_text(trust.running->platform)));
    if (!trust.running->why_none.empty()) {
      fmt::print(", \"problem\": {}", util::json_string(trust.running->why_none));
    }
    fmt::print("}}");
    return;
  }
  const cli::TrustBasis& basis = *trust.basis;
  fmt::print("{{\"source\": {}, \"name\": {}", util::json_string(basis.image ? "image" : basis.guessed ? "guessed" : "certificates"),
             util::json_string(basis.name));
  if (basis.image) {
    fmt::print(", \"image\": {}, \"method\": {}", util::json_string(basis.sources.image.string()),
               util::json_string(core::trust_method_name(basis.image->method)));
    if (basis.image->method == core::TrustMethod::system_map && basis.sources.system_map) {
      fmt::print(", \"system_map\": {}", util::json_string(basis.sources.system_map->string()));
    }
  }
  fmt::print(", \"certificates\": [");
  bool first = true;
  for (const cli::TrustedCertificate& certificate : basis.certificates) {
    fmt::print("{}{{\"subject\": {}, \"sig_key\": {}, \"key_id\": {}, \"origin\": {}}}", first ? "" : ", ",
               util::json_string(certificate.subject), util::json_string(certificate.sig_key),
               util::json_string(certificate.key_id), util::json_string(certificate.origin));
    first = false;
  }
  fmt::print("]}}");
}

void print_json(const std::vector<ModuleResult>& results, const std::map<std::string, std::size_t>& counts,
                const Trust& trust)
{
  fmt::print("{{\n  \"modules\": [");
  bool first = true;
  for (const ModuleResult& r : results) {
    const core::Verification& v = r.verification;
    fmt::print("{}\n    {{\"path\": {}, \"status\": {}", first ? "" : ",", util::json_string(r.path.string()),
               util::json_string(!r.read_error.empty() ? "unreadable"
                                 : r.platform_only    ? k_platform_only_status
                                                      : core::verdict_name(v.verdict)));
    first = false;
    fmt::print(", \"compression\": {}", util::json_string(core::compression_name(v.compression)));
    if (v.hash) {
      fmt::print(", \"hash\": {}", util::json_string(core::hash_name(*v.hash)));
    }
    if (!v.signer.empty()) {
      fmt::print(", \"signer\": {}", util::json_string(v.signer));
    }
    if (!v.key_id.empty()) {
      fmt::print(", \"key_id\": {}", util::json_string(v.key_id));
    }
    if (!v.note.empty()) {
      fmt::print(", \"note\": {}", util::json_string(v.note));
    }
    if (!v.sig_key.empty()) {
      fmt::print(", \"sig_key\": {}", util::json_string(v.sig_key));
    }
    if (v.reference) {
      fmt::print(", \"kernel_key_id\": {}", util::json_string(core::kernel_signer_id_hex(*v.reference)));
    }
    if (!r.keyring.empty()) {
      fmt::print(", \"keyring\": {}", util::json_string(r.keyring));
    }
    const std::string& problem = r.read_error.empty() ? v.problem : r.read_error;
    if (!problem.empty()) {
      fmt::print(", \"problem\": {}", util::json_string(problem));
    }
    fmt::print("}}");
  }
  fmt::print("\n  ],\n  \"summary\": {{\"total\": {}", results.size());
  for (const auto& [name, count] : counts) {
    fmt::print(", {}: {}", util::json_string(name), count);
  }
  fmt::print("}},\n  \"trust\": ");
  print_trust_json(trust);
  fmt::print("\n}}\n");
}

int run_verify(cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  cli::Output& out = invocation.out;
  const bool json = result.count("json") > 0;
  const unsigned jobs = cli::job_count(result);

  // Audit mode: every module of an installed kernel, against everything it trusts.
  const bool audit = invocation.operands.empty() && result.count("kernel") > 0;
  if (invocation.operands.empty() && !audit) {
    throw Error(Errc::usage, "no module given (or give --kernel KVER alone to audit an installed kernel)");
  }
  Trust trust = gather_trust(invocation);
  trust.max_module_size = cli::max_module_size();
  const std::vector<std::string> arguments =
    audit ? core::kernel_module_directories(invocation.paths.module_root, result["kernel"].as<std::string>()) : invocation.operands;

  const bool recursive = audit || result.count("recursive") > 0;
  std::vector<core::ModuleFile> modules;
  std::vector<ModuleResult> missing; // with --json, a missing file is a result like any other
  if (json) {
    for (const std::string& argument : arguments) {
      try {
        for (core::ModuleFile& module : core::collect_modules(std::span(&argument, 1), recursive)) {
          modules.push_back(std::move(module));
        }
      } catch (const Error& e) {
        missing.push_back({argument, {}, e.what(), {}, false});
      }
    }
  }
  if (!json || (modules.empty() && missing.empty())) {
    modules = cli::collect_modules_or_explain(arguments, recursive, out);
  }
  std::vector<ModuleResult> results(modules.size());
  out.start_progress("verifying", modules.size());
  util::run_parallel(modules.size(), jobs, [&](std::size_t index) {
    results[index] = trust.verify(modules[index].path);
    out.step_progress();
  });
  out.finish_progress();
  results.insert(results.end(), missing.begin(), missing.end());
  // Report in a stable order, whatever order the workers finished in.
  std::sort(results.begin(), results.end(), [](const ModuleResult& a, const ModuleResult& b) { return a.path < b.path; });

  const bool color = cli::use_color(stdout);
  std::map<std::string, std::size_t> counts;
  std::size_t not_ok = 0;
  std::size_t unknown = 0;
  for (const ModuleResult& r : results) {
    const bool ok = r.read_error.empty() && r.verification.verdict == core::Verdict::ok;
    not_ok += ok ? 0 : 1;
    unknown += r.read_error.empty() && r.verification.verdict == core::Verdict::unknown_key ? 1 : 0;
    ++counts[!r.read_error.empty() ? std::string("unreadable")
             : r.platform_only    ? std::string(json ? k_platform_only_status : k_platform_only_words)
                                  : std::string(json ? core::verdict_name(r.verification.verdict)
                                                     : verdict_words(r.verification.verdict))];
    if (json) {
      continue;
    }
    if (!r.read_error.empty()) {
      out.error("{}", r.read_error);
    } else if (!ok || (out.verbosity() != cli::Verbosity::quiet && (!audit || out.verbosity() == cli::Verbosity::verbose))) {
      // An audit lists only the modules that would not load, unless --verbose.
      out.result_escaped(fmt::format("{}: {}{}", util::escape(r.path.native()), describe(r, color),
                             r.keyring.empty() ? "" : " in " + r.keyring));
    }
  }
  if (!json && unknown > 0) {
    // What the kernel would have taken instead, once for all the refusals above.
    out.result(trust.trusted_text());
  }
  if (json) {
    print_json(results, counts, trust);
  } else if (results.size() > 1) {
    std::string summary;
    for (const auto& [name, count] : counts) {
      summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, name);
    }
    out.info("{} modules: {}", results.size(), summary);
    if (audit) {
      if (not_ok == 0) {
        out.info("all modules would load with module.sig_enforce=1");
      } else {
        out.info("{} {} would fail to load with module.sig_enforce=1 (listed above)", not_ok,
                 not_ok == 1 ? "module" : "modules");
        out.info("to sign, with this kernel's own key, those that lack only the right signature: ksign repair --kernel {}",
                 result["kernel"].as<std::string>());
      }
    }
  }
  return not_ok == 0 ? cli::exit_success : cli::exit_failure;
}

} // namespace

const Command cmd_verify = {
  .name = "verify",
  .summary = "check module signatures the way the kernel will",
  .description = "Check module signatures the way the kernel does, against trusted certificates (--cert,\n"
                 "else the key store's current certificate). With --kernel KVER and no modules: audit\n"
                 "every module installed for KVER against the certificates compiled into its image\n"
                 "(build/vmlinux, vmlinuz, /boot/vmlinuz-KVER). --image FILE judges by a kernel image\n"
                 "that is not installed yet, --running by the running kernel's keyrings. Exit status 0\n"
                 "only when every module is ok.",
  .operands = "<module|dir>...",
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .verbose_help = "more detail per module",
  .quiet_help = "print only the modules that are not ok",
  .add_options = add_verify_options,
  .run = run_verify,
};

} // namespace ksign::cmd
