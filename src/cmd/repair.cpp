// SPDX-License-Identifier: MIT
// `ksign repair`: sign, with each installed kernel's own key, the modules that kernel would
// refuse only for want of the right signature; report what cannot be repaired and why. The
// decision is core's (core/repair_plan.hpp), the words cli/repair_text's; this file gathers the
// options, judges each kernel's modules and carries the plan out through the signing path
// `sign -r` uses (cli/sign_batch.hpp).

#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/repair_text.hpp"
#include "cli/sign_batch.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/kernel_verdict.hpp"
#include "core/key_directory.hpp"
#include "core/keys.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "core/repair_plan.hpp"
#include "core/trust_basis.hpp"
#include "util/error.hpp"
#include "util/json_writer.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

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
    if (!core::is_kernel_release(release)) {
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

// What is known of kernel `release`'s key before its modules are judged: its files, whether its
// private key can be reached (why not, as the key lookup says it) and whether `basis`'s image
// trusts its certificate.
core::KernelKeyState kernel_key(const cli::Invocation& invocation, const std::string& release,
                                const core::TrustBasis& basis)
{
  const cli::Paths& paths = invocation.paths;
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
  if (key.key && basis.image) {
    key.trust = core::certificate_trust(*basis.image, core::key_directory_certificate(key.key->installed));
  }
  return key;
}

// Judge every module of kernel `release` and decide what to do.
core::KernelRepair plan_kernel(const cli::Invocation& invocation, const RepairOptions& options,
                               const std::string& release, const core::TrustedKeys& known, cli::Output& out)
{
  const cli::Paths& paths = invocation.paths;
  (void)core::installed_kernel(paths.module_root, release); // "no installed kernel 'X'" first
  core::TrustBasis basis = core::TrustBasis::installed_kernel(paths.module_root, release, paths.boot_root);
  basis.max_module_size = cli::max_module_size();
  const bool no_image = std::ranges::any_of(
    basis.notes, [](const core::TrustNote& note) { return note.kind == core::TrustNote::Kind::no_image; });
  if (no_image) {
    out.warning("{}", cli::no_image_note(release));
  }
  core::KernelKeyState key = kernel_key(invocation, release, basis);

  std::vector<core::ModuleFile> files = kernel_modules(invocation, options, release);
  std::vector<core::ModuleRepair> assessed(files.size());
  const core::KernelVerdict verdict = [&basis](ByteView file) {
    core::ModuleVerdict v = basis.verify_bytes(file);
    if (v.unreadable) {
      throw Error(Errc::failure, *v.unreadable);
    }
    return v.verification;
  };
  out.start_progress("checking", files.size());
  util::run_parallel(files.size(), options.jobs, [&](std::size_t index) {
    assessed[index] = core::assess_module(files[index].path, verdict, known, basis.max_module_size);
    out.step_progress();
  });
  out.finish_progress();
  core::KernelRepair run = core::start_repair(core::plan_kernel_repair(release, std::move(key), std::move(assessed)),
                                              std::move(files), options.dry_run);
  run.no_image = no_image;
  run.packages = core::owning_packages(run.plan);
  return run;
}

// Sign what the plan says, with the kernel's key, through sign's batch path. Each module is
// signed only while its bytes are still the ones judged.
void carry_out(core::KernelRepair& run, const RepairOptions& options, const cli::Invocation& invocation,
               cli::Output& out)
{
  const std::vector<std::size_t> indices = run.signing_order();
  if (indices.empty()) {
    return;
  }
  const core::KernelKeyFiles& key = *run.plan.key.key;
  cli::guard_private_key(key.key, invocation);
  core::SignSettings settings;
  settings.hash = key.hash.value_or(core::k_default_hash);
  settings.max_module_size = cli::max_module_size();
  auto signing_key = std::make_shared<core::SigningKey>(core::load_kernel_signing_key(key, cli::key_passphrase()));
  const core::ModuleSigner signer(std::move(signing_key), settings);

  std::vector<core::ModuleFile> files;
  for (const std::size_t index : indices) {
    files.push_back(run.files[index]);
  }
  cli::SignBatch batch;
  batch.jobs = options.jobs;
  batch.accept = [&](std::size_t at, ByteView file) {
    if (!run.plan.modules[indices[at]].is_as_judged(file)) {
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
      out.result(cli::signed_line(description, run.plan.modules[index]));
    }
  };
  (void)cli::sign_modules(signer, files, batch, out);
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

  // What an untrusted signature is checked with before its module is re-signed: DKMS's own key
  // too, which signs the modules it builds when it cannot reach the kernel's key.
  const core::KnownSignerSources sources{paths.module_root, paths.key_registry(), options.certificates,
                                         paths.dkms_tree};
  for (const fs::path& file : options.certificates) {
    (void)core::load_certificates(file); // a --cert that holds no certificate is an error, not a skip
  }
  const core::KnownSigners known = core::known_signers(sources);
  for (const fs::path& skipped : known.skipped) {
    out.warning("cannot read the certificate {}: signatures by its key cannot be checked", util::quote(skipped));
  }
  out.detail("checking old signatures with {} certificates", known.count);

  std::vector<core::KernelRepair> runs;
  bool ok = true;
  for (const std::string& release : releases) {
    core::KernelRepair run = plan_kernel(invocation, options, release, known.keys, out);
    carry_out(run, options, invocation, out);
    if (!options.json) {
      for (const std::string& line : cli::kernel_repair_lines(run)) {
        out.result(line);
      }
    }
    ok = ok && run.loads_after();
    runs.push_back(std::move(run));
  }
  if (options.json) {
    util::JsonWriter json;
    cli::write_repair_json(json, runs, options.dry_run, ok);
    out.json(json);
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
