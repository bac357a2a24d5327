// SPDX-License-Identifier: MIT
// `ksign repair`: sign, with each installed kernel's own key, the modules that kernel would
// refuse only for want of the right signature; report what cannot be repaired and why. The
// decision is core's (core/repair_plan.hpp); this file words it and carries it out through the
// signing path `sign -r` uses (cli/sign_batch.hpp).

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/sign_batch.hpp"
#include "cli/trust_text.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/kernel_trust.hpp"
#include "core/kernel_verdict.hpp"
#include "core/key_directory.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "core/repair_plan.hpp"
#include "core/trust_basis.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_writer.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

// DKMS's own key (mok_signing_key, mok_certificate): modules it signed when it could not reach
// the kernel's key carry its certificate's name.
constexpr std::string_view k_default_dkms_tree = "/var/lib/dkms";

struct RepairOptions
{
  std::vector<std::string> kernels; // --kernel, in the order given; empty: every installed kernel
  bool dry_run = false;
  bool json = false;
  unsigned jobs = 0;
  std::vector<fs::path> certificates; // --cert: keys that may have signed modules
  std::vector<std::string> modules;   // operands: only these files (with one --kernel)
};

void add_repair_options(cxxopts::Options& options)
{
  options.add_options()
    ("kernel", "repair installed kernel KVER (repeatable; default: every installed kernel)",
     cxxopts::value<std::vector<std::string>>(), "KVER")
    ("n,dry-run", "say what would be signed and what cannot be repaired; change nothing")
    ("json", "print the plan and what was done as JSON on stdout")
    ("j,jobs", "check and sign N modules at a time (0: one per CPU)", cxxopts::value<int>()->default_value("0"), "N")
    ("c,cert", "a certificate of a key that may have signed modules (another machine's, an old one): their "
               "signature is checked with it before they are re-signed (repeatable)",
     cxxopts::value<std::vector<std::string>>(), "FILE");
  cli::add_loose_key_option(options);
}

RepairOptions read_repair_options(const cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  RepairOptions options;
  for (const std::string& release : cli::strings(result, "kernel")) {
    if (release.empty() || release.find('/') != std::string::npos || release == "." || release == "..") {
      throw Error(Errc::usage, "--kernel takes a kernel release such as 6.12.1-arch1-1");
    }
    if (std::ranges::find(options.kernels, release) == options.kernels.end()) {
      options.kernels.push_back(release);
    }
  }
  options.dry_run = cli::given(result, "dry-run");
  options.json = cli::given(result, "json");
  options.jobs = cli::job_count(result);
  for (const std::string& name : cli::strings(result, "cert")) {
    options.certificates.emplace_back(name);
  }
  options.modules = invocation.operands;
  if (!options.modules.empty() && options.kernels.size() != 1) {
    throw Error(Errc::usage, "modules given: name their kernel with exactly one --kernel KVER");
  }
  return options;
}

// The modules of one kernel to judge: every module installed for it, or the given files,
// which must be inside its module directory.
std::vector<core::ModuleFile> kernel_modules(const cli::Invocation& invocation, const RepairOptions& options,
                                             const std::string& release)
{
  const fs::path moduledir = invocation.paths.module_root;
  if (options.modules.empty()) {
    const std::vector<std::string> directories = core::kernel_module_directories(moduledir, release);
    return directories.empty() ? std::vector<core::ModuleFile>{} : core::collect_modules(directories, true);
  }
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(core::installed_kernel(moduledir, release), ec);
  for (const std::string& module : options.modules) {
    const fs::path where = fs::weakly_canonical(module, ec);
    const auto [end, _] = std::ranges::mismatch(root, where);
    if (ec || end != root.end()) {
      throw Error(Errc::usage, util::quote(module) + " is not a module of kernel " + util::escape(release) + " ("
                                 + util::quote(root) + ")");
    }
  }
  return core::collect_modules(options.modules, false);
}

// What one kernel's repair came to.
struct KernelRun
{
  core::KernelRepairPlan plan;
  std::vector<core::ModuleFile> files;          // by plan index
  std::map<std::size_t, bool> done;             // plan index of a module to sign: signed?
  std::map<std::size_t, std::string> packages;  // plan index: the package that owns a reported module
  std::string basis_note;                       // how its trust was read, when it is a guess
  std::string key_description;                  // "key id ... ('dir')"
  bool dry_run = false;
  // Every module loads afterwards (a dry run: would, once the plan is carried out).
  [[nodiscard]] bool ok() const
  {
    if (!plan.loads_after()) {
      return false;
    }
    return dry_run || std::ranges::all_of(done, [](const auto& entry) { return entry.second; });
  }
};

// The words for a module's state before.
std::string before_words(const core::ModuleRepair& module)
{
  const core::Verification& v = module.before;
  switch (v.verdict) {
  case core::Verdict::ok:
    return "ok";
  case core::Verdict::unsigned_module:
    return "unsigned";
  case core::Verdict::unknown_key:
    return "signed by '" + util::escape(module.old_signature && !module.old_signature->signer.empty()
                                          ? module.old_signature->signer
                                          : v.signer)
           + "', a key this kernel does not trust";
  case core::Verdict::signed_attributes:
    return "signed with signed attributes, which this kernel refuses";
  case core::Verdict::bad_signature:
    return "bad signature";
  case core::Verdict::malformed:
    return "malformed";
  }
  return "malformed";
}

std::string_view action_words(core::RepairAction action)
{
  switch (action) {
  case core::RepairAction::tampered:
    return "tampered";
  case core::RepairAction::damaged:
    return "damaged";
  case core::RepairAction::not_module:
    return "not a module";
  case core::RepairAction::unverifiable:
    return "cannot be checked";
  case core::RepairAction::unreadable:
    return "unreadable";
  case core::RepairAction::keep:
    return "ok";
  case core::RepairAction::sign:
    return "needs a signature";
  }
  return "unreadable";
}

// The fix for a module that is not signed.
std::string module_fix(core::RepairAction action, const std::optional<std::string>& package)
{
  switch (action) {
  case core::RepairAction::tampered:
  case core::RepairAction::damaged:
    return package ? "reinstall package '" + util::escape(*package) + "'"
                   : "reinstall it (owner unknown: no package manager knows it)";
  case core::RepairAction::not_module:
    return package ? "it belongs to package '" + util::escape(*package) + "'; remove it or reinstall that package"
                   : "remove it, or reinstall what put it there (owner unknown)";
  case core::RepairAction::unverifiable:
    return "give the signer's certificate with --cert FILE, or reinstall it"
           + (package ? " (package '" + util::escape(*package) + "')" : std::string());
  default:
    return {};
  }
}

// Why a kernel cannot be repaired, and the fix.
std::string obstacle_words(const KernelRun& run)
{
  const core::KernelRepairPlan& plan = run.plan;
  switch (plan.obstacle) {
  case core::KernelObstacle::no_ksign_key:
    return "it has no ksign key (no " + util::quote(core::kernel_key_store(fs::path(), plan.release).relative_path())
           + " in its headers): make one and install it with its headers (ksign keys, ksign install), or sign with "
             "the key it was built with: ksign sign --key FILE --cert FILE -r <module dir>";
  case core::KernelObstacle::key_unreachable:
    return plan.key.unreachable_reason;
  case core::KernelObstacle::key_not_trusted:
    return "its image does not trust its ksign key " + run.key_description + ": " + cli::untrusted_key_fix();
  case core::KernelObstacle::none:
    break;
  }
  return {};
}

// Judge every module of kernel `release` and decide what to do.
KernelRun plan_kernel(const cli::Invocation& invocation, const RepairOptions& options, const std::string& release,
                      const core::TrustedKeys& known, cli::Output& out)
{
  const cli::Paths& paths = invocation.paths;
  (void)core::installed_kernel(paths.module_root, release); // "no installed kernel 'X'" first
  core::TrustBasis basis = core::TrustBasis::installed_kernel(paths.module_root, release, paths.boot_root);
  basis.max_module_size = cli::max_module_size();

  KernelRun run;
  run.dry_run = options.dry_run;
  for (const core::TrustNote& note : basis.notes) {
    if (note.kind == core::TrustNote::Kind::no_image) {
      run.basis_note = "found no image of kernel " + util::escape(release)
                       + ": judged by the certificates on disk it was probably built with (guesses)";
      out.warning("{}", run.basis_note);
    }
  }

  core::KernelKeyState key;
  try {
    key.key = cli::kernel_signing_key(release, invocation);
    key.reachable = key.key.has_value();
  } catch (const Error& e) {
    if (e.code() != Errc::failure) {
      throw;
    }
    key.key = core::kernel_key_files(paths.module_root, release, paths.key_registry());
    key.reachable = false;
    key.unreachable_reason = e.what();
  }
  if (key.key) {
    run.key_description = "key id " + key.key->key_id + " (" + util::quote(key.key->certificate) + ")";
    if (basis.image) {
      key.trust = core::certificate_trust(*basis.image, core::key_directory_certificate(key.key->installed));
    }
  }

  run.files = kernel_modules(invocation, options, release);
  std::vector<core::ModuleRepair> assessed(run.files.size());
  const core::KernelVerdict verdict = [&basis](ByteView file) {
    core::ModuleVerdict v = basis.verify_bytes(file);
    if (v.unreadable) {
      throw Error(Errc::failure, *v.unreadable);
    }
    return v.verification;
  };
  out.start_progress("checking", run.files.size());
  util::run_parallel(run.files.size(), options.jobs, [&](std::size_t index) {
    assessed[index] = core::assess_module(run.files[index].path, verdict, known, basis.max_module_size);
    out.step_progress();
  });
  out.finish_progress();
  run.plan = core::plan_kernel_repair(release, std::move(key), std::move(assessed));
  // The files in the plan's order, so one index names both.
  std::map<fs::path, core::ModuleFile> by_path;
  for (core::ModuleFile& file : run.files) {
    by_path.emplace(file.path, std::move(file));
  }
  run.files.clear();
  for (const core::ModuleRepair& module : run.plan.modules) {
    run.files.push_back(std::move(by_path.at(module.path)));
  }
  for (std::size_t i = 0; i < run.plan.modules.size(); ++i) {
    const core::RepairAction action = run.plan.modules[i].action;
    if (action == core::RepairAction::tampered || action == core::RepairAction::damaged
        || action == core::RepairAction::not_module || action == core::RepairAction::unverifiable) {
      if (const auto package = core::owning_package(run.plan.modules[i].path)) {
        run.packages[i] = *package;
      }
    }
  }
  return run;
}

// Sign what the plan says, with the kernel's key, through sign's batch path. Each module is
// signed only while its bytes are still the ones judged.
void carry_out(KernelRun& run, const RepairOptions& options, const cli::Invocation& invocation, cli::Output& out)
{
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < run.plan.modules.size(); ++i) {
    if (run.plan.modules[i].action == core::RepairAction::sign) {
      indices.push_back(i);
      run.done[i] = false;
    }
  }
  if (indices.empty() || run.plan.obstacle != core::KernelObstacle::none || options.dry_run) {
    return;
  }
  const core::KernelKeyFiles& key = *run.plan.key.key;
  cli::guard_private_key(key.key, invocation);
  core::SignSettings settings;
  settings.hash = key.hash.value_or(core::k_default_hash);
  settings.max_module_size = cli::max_module_size();
  auto signing_key = std::make_shared<core::SigningKey>(core::load_signing_key(key.key, key.certificate, cli::key_passphrase()));
  const core::ModuleSigner signer(std::move(signing_key), settings);

  // Largest first, as sign -r takes them.
  std::ranges::sort(indices, [&](std::size_t a, std::size_t b) { return run.files[a].size > run.files[b].size; });
  std::vector<core::ModuleFile> files;
  for (const std::size_t index : indices) {
    files.push_back(run.files[index]);
  }
  cli::SignBatch batch;
  batch.jobs = options.jobs;
  batch.accept = [&](std::size_t at, ByteView file) {
    if (core::repair_digest(file) != run.plan.modules[indices[at]].file_digest) {
      throw Error(Errc::failure, "it changed since it was checked: not signed (run ksign repair again)");
    }
  };
  std::mutex mutex;
  batch.on_signed = [&](std::size_t at, const std::string& description) {
    const std::size_t index = indices[at];
    {
      const std::lock_guard lock(mutex);
      run.done[index] = true;
    }
    if (!options.json) {
      out.result(fmt::format("signed {} (was {})", description, before_words(run.plan.modules[index])));
    }
  };
  (void)cli::sign_modules(signer, files, batch, out);
}

void print_text(const KernelRun& run, const RepairOptions& options, cli::Output& out)
{
  const core::KernelRepairPlan& plan = run.plan;
  const std::size_t to_sign = plan.count(core::RepairAction::sign);
  for (std::size_t i = 0; i < plan.modules.size(); ++i) {
    const core::ModuleRepair& module = plan.modules[i];
    if (module.action == core::RepairAction::keep || module.action == core::RepairAction::sign) {
      if (module.action == core::RepairAction::sign && (options.dry_run || plan.obstacle != core::KernelObstacle::none)) {
        out.result(fmt::format("{} {} ({})", options.dry_run && plan.obstacle == core::KernelObstacle::none
                                               ? "would sign" : "cannot sign", util::quote(module.path),
                               before_words(module)));
      }
      continue;
    }
    const auto package = run.packages.find(i);
    out.result(fmt::format("{} {}, not signed: {}; {}", action_words(module.action), util::quote(module.path),
                           util::escape(module.problem),
                           module_fix(module.action, package == run.packages.end() ? std::nullopt
                                                                                  : std::optional(package->second))));
  }
  std::string summary = fmt::format("kernel {}: {} modules, {} ok", util::escape(plan.release), plan.modules.size(),
                                    plan.count(core::RepairAction::keep));
  const std::size_t signed_count =
    static_cast<std::size_t>(std::ranges::count_if(run.done, [](const auto& entry) { return entry.second; }));
  if (to_sign > 0) {
    summary += options.dry_run ? fmt::format(", {} to sign", to_sign)
               : plan.obstacle != core::KernelObstacle::none ? fmt::format(", {} need a signature", to_sign)
                                                             : fmt::format(", {} signed", signed_count);
    if (plan.obstacle == core::KernelObstacle::none) {
      summary += " with its " + run.key_description;
    }
  }
  for (const core::RepairAction action : {core::RepairAction::tampered, core::RepairAction::damaged,
                                          core::RepairAction::not_module, core::RepairAction::unverifiable,
                                          core::RepairAction::unreadable}) {
    if (const std::size_t n = plan.count(action); n > 0) {
      summary += fmt::format(", {} {}", n, action_words(action));
    }
  }
  if (to_sign > 0 && plan.obstacle != core::KernelObstacle::none) {
    out.result(summary + "; cannot repair: " + obstacle_words(run));
  } else {
    out.result(summary + (run.ok() ? (options.dry_run && to_sign > 0 ? "; every module would load afterwards"
                                                                    : "; every module would load")
                                   : "; some modules would still be refused"));
  }
}

void print_json(const std::vector<KernelRun>& runs, const RepairOptions& options, bool ok, cli::Output& out)
{
  util::JsonWriter json;
  json.begin_object();
  json.object_bool("dry_run", options.dry_run);
  json.object_begin_array("kernels", util::JsonWriter::Layout::lines);
  for (const KernelRun& run : runs) {
    const core::KernelRepairPlan& plan = run.plan;
    json.array_begin_object();
    json.object_string("release", plan.release);
    json.object_string("obstacle", core::kernel_obstacle_name(plan.obstacle));
    if (plan.obstacle != core::KernelObstacle::none) {
      json.object_string("obstacle_fix", obstacle_words(run));
    }
    if (plan.key.key) {
      json.object_string("key_id", plan.key.key->key_id);
      json.object_string("certificate", plan.key.key->certificate.string());
    }
    if (plan.key.trust) {
      json.object_string("image_trusts_key", core::signer_trust_name(*plan.key.trust));
    }
    if (!run.basis_note.empty()) {
      json.object_string("note", run.basis_note);
    }
    json.object_begin_array("modules");
    for (std::size_t i = 0; i < plan.modules.size(); ++i) {
      const core::ModuleRepair& module = plan.modules[i];
      if (module.action == core::RepairAction::keep) {
        continue;
      }
      json.array_begin_object();
      json.object_string("path", module.path.string());
      json.object_string("before", module.action == core::RepairAction::unreadable
                                     ? std::string_view("unreadable")
                                     : core::verdict_name(module.before.verdict));
      json.object_string("action", core::repair_action_name(module.action));
      if (const auto done = run.done.find(i); done != run.done.end()) {
        json.object_bool("signed", done->second);
      }
      const std::string& signer = module.old_signature && !module.old_signature->signer.empty()
                                    ? module.old_signature->signer
                                    : module.before.signer;
      if (!signer.empty()) {
        json.object_string("signer", signer);
      }
      if (!module.problem.empty()) {
        json.object_string("problem", module.problem);
      }
      if (const auto package = run.packages.find(i); package != run.packages.end()) {
        json.object_string("package", package->second);
      } else if (module.action != core::RepairAction::sign) {
        json.object_null("package");
      }
      json.end();
    }
    json.end();
    json.object_begin_object("summary");
    json.object_int("total", plan.modules.size());
    for (const core::RepairAction action :
         {core::RepairAction::keep, core::RepairAction::sign, core::RepairAction::tampered, core::RepairAction::damaged,
          core::RepairAction::not_module, core::RepairAction::unverifiable, core::RepairAction::unreadable}) {
      json.object_int(core::repair_action_name(action), plan.count(action));
    }
    json.object_int("signed", static_cast<std::size_t>(
                                std::ranges::count_if(run.done, [](const auto& entry) { return entry.second; })));
    json.end();
    json.object_bool("loads_after", run.ok());
    json.end();
  }
  json.end();
  json.object_bool("ok", ok);
  json.end();
  out.json(json);
}

int run_repair(cli::Invocation& invocation)
{
  const RepairOptions options = read_repair_options(invocation);
  cli::Output& out = invocation.out;
  const cli::Paths& paths = invocation.paths;

  const std::vector<std::string> releases =
    options.kernels.empty() ? core::installed_kernel_releases(paths.module_root) : options.kernels;
  for (const std::string& release : releases) {
    (void)core::installed_kernel(paths.module_root, release);
  }
  if (releases.empty()) {
    out.info("no installed kernels in {}", util::quote(paths.module_root));
  }

  // What an untrusted signature is checked with before its module is re-signed.
  core::KnownSignerSources sources{paths.module_root, paths.key_registry(), options.certificates};
  const char* dkms_tree = std::getenv("KSIGN_DKMS_TREE");
  const fs::path dkms = dkms_tree != nullptr && *dkms_tree != '\0' ? fs::path(dkms_tree) : fs::path(k_default_dkms_tree);
  sources.files.push_back(dkms / "mok.pub");
  for (const fs::path& file : options.certificates) {
    (void)core::load_certificates(file); // a --cert that holds no certificate is an error, not a skip
  }
  const core::KnownSigners known = core::known_signers(sources);
  for (const fs::path& skipped : known.skipped) {
    out.warning("cannot read the certificate {}: signatures by its key cannot be checked", util::quote(skipped));
  }
  out.detail("checking old signatures with {} certificates", known.count);

  std::vector<KernelRun> runs;
  bool ok = true;
  for (const std::string& release : releases) {
    KernelRun run = plan_kernel(invocation, options, release, known.keys, out);
    carry_out(run, options, invocation, out);
    if (!options.json) {
      print_text(run, options, out);
    }
    ok = ok && run.ok();
    runs.push_back(std::move(run));
  }
  if (options.json) {
    print_json(runs, options, ok, out);
  }
  return ok ? cli::exit_success : cli::exit_failure;
}

} // namespace

const Command cmd_repair = {
  .name = "repair",
  .summary = "sign, with each installed kernel's own key, the modules it would refuse",
  .description = "For each installed kernel (all, or --kernel KVER), find the modules it would refuse with\n"
                 "module.sig_enforce=1 (as 'verify --kernel' does) and sign, with the kernel's own ksign key,\n"
                 "those that only lack the right signature: unsigned, or validly signed by a key the kernel\n"
                 "does not trust. A module whose signature does not match its contents (tampered), or is\n"
                 "malformed, is never signed: it is reported with the package that owns it. Modules the\n"
                 "kernel already loads are not touched. Exit status 0 when every module of the kernels\n"
                 "looked at would load afterwards.",
  .operands = "[<module>...]",
  .max_operands = cli::k_any,
  .verbose_help = "say more",
  .add_options = add_repair_options,
  .run = run_repair,
};

} // namespace ksign::cmd
