// SPDX-License-Identifier: MIT
// `ksign verify`: predict, for each module, what a kernel with module.sig_enforce=1 will say.
// core::TrustBasis decides; this file gathers the options, picks the basis and words the verdicts.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/trust_text.hpp"
#include "cmd/commands.hpp"
#include "core/kconfig.hpp"
#include "core/kernel_trust.hpp"
#include "core/module_files.hpp"
#include "core/trust_basis.hpp"
#include "util/error.hpp"
#include "util/json_writer.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>

namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

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

// What verify was asked, read once from the options declared above.
struct VerifyOptions
{
  std::vector<fs::path> certificates;      // --cert
  bool recursive = false;                  // -r
  unsigned jobs = 0;                       // -j
  bool json = false;                       // --json
  std::optional<core::KernelImageSources> image; // --image [--system-map]
  bool running = false;                    // --running
  std::optional<fs::path> config;          // --config
  std::optional<std::string> kernel;       // --kernel
};

VerifyOptions read_verify_options(const cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  cli::reject_together(result, "image", "running");
  cli::reject_together(result, "image", "kernel");
  cli::reject_together(result, "running", "kernel");
  cli::reject_together(result, "running", "cert");
  VerifyOptions options;
  std::ranges::copy(cli::strings(result, "cert"), std::back_inserter(options.certificates));
  options.recursive = cli::given(result, "recursive");
  options.jobs = cli::job_count(result);
  options.json = cli::given(result, "json");
  if (const auto image = cli::optional_string(result, "image")) {
    options.image = core::KernelImageSources{*image, cli::optional_string(result, "system-map")};
  } else if (cli::given(result, "system-map")) {
    throw Error(Errc::usage, "--system-map goes with --image");
  }
  options.running = cli::given(result, "running");
  options.config = cli::optional_string(result, "config");
  options.kernel = cli::optional_string(result, "kernel");
  cli::reject_store_with_kernel(invocation, options.kernel);
  return options;
}

// What the modules are judged against, said once, before any module is read: --running, --image,
// --kernel (its image, or its files on disk), else --cert or the key store's current key.
core::TrustBasis gather_basis(cli::Invocation& invocation, const VerifyOptions& options)
{
  const cli::Paths& paths = invocation.paths;
  const std::optional<core::KernelRules> rules =
    options.config ? std::optional(core::kernel_rules(core::KernelConfig::read(*options.config))) : std::nullopt;
  core::TrustBasis basis = options.running ? core::TrustBasis::running_kernel(paths.module_root, paths.boot_root)
                           : options.image ? core::TrustBasis::image_file(*options.image, options.certificates)
                           : options.kernel
                             ? core::TrustBasis::installed_kernel(paths.module_root, *options.kernel, paths.boot_root,
                                                                  options.certificates)
                             : core::TrustBasis::certificate_files(cli::trusted_certificate_files(options.certificates, options.kernel, invocation));
  cli::say_basis(basis, paths.module_root, paths.boot_root, invocation.out);
  basis.rules = rules.value_or(basis.rules);
  basis.max_module_size = cli::max_module_size();
  return basis;
}

void print_json(const std::vector<core::ModuleVerdict>& verdicts, const std::map<std::string, std::size_t>& counts,
                const core::TrustBasis& basis, cli::Output& out)
{
  util::JsonWriter json;
  json.begin_object().object_begin_array("modules", util::JsonWriter::Layout::lines);
  for (const core::ModuleVerdict& verdict : verdicts) {
    json.array_begin_object();
    cli::write_verdict_json(json, verdict, basis);
    json.end();
  }
  json.end().object_begin_object("summary").object_int("total", verdicts.size());
  for (const auto& [name, count] : counts) {
    json.object_int(name, count);
  }
  json.end().object_begin_object("trust");
  cli::write_basis_json(json, basis);
  json.end().end();
  out.json(json);
}

int run_verify(cli::Invocation& invocation)
{
  const VerifyOptions options = read_verify_options(invocation);
  cli::Output& out = invocation.out;
  // Audit mode: every module of an installed kernel, against everything it trusts.
  const bool audit = invocation.operands.empty() && options.kernel;
  if (invocation.operands.empty() && !audit) {
    throw Error(Errc::usage, "no module given (or give --kernel KVER alone to audit an installed kernel)");
  }
  const core::TrustBasis basis = gather_basis(invocation, options);
  const std::vector<std::string> arguments =
    audit ? core::kernel_module_directories(invocation.paths.module_root, *options.kernel) : invocation.operands;

  const bool recursive = audit || options.recursive;
  std::vector<core::ModuleFile> modules;
  std::vector<core::ModuleVerdict> missing; // with --json, a missing file is a result like any other
  for (const std::string& argument : options.json ? arguments : std::vector<std::string>{}) {
    try {
      std::ranges::move(core::collect_modules(std::span(&argument, 1), recursive), std::back_inserter(modules));
    } catch (const Error& e) {
      missing.push_back({argument, {}, e.what(), {}});
    }
  }
  if (!options.json || (modules.empty() && missing.empty())) {
    modules = cli::collect_modules_or_explain(arguments, recursive, out, audit ? cli::NoModules::answer : cli::NoModules::error);
  }
  std::vector<core::ModuleVerdict> verdicts(modules.size());
  out.start_progress("verifying", modules.size());
  util::run_parallel(modules.size(), options.jobs, [&](std::size_t index) {
    verdicts[index] = basis.verify(modules[index].path);
    if (verdicts[index].unreadable) {
      verdicts[index].unreadable = cli::about_module(modules[index].path, *verdicts[index].unreadable);
    }
    out.step_progress();
  });
  out.finish_progress();
  std::ranges::move(missing, std::back_inserter(verdicts));
  // Report in a stable order, whatever order the workers finished in.
  std::ranges::sort(verdicts, {}, &core::ModuleVerdict::path);

  const bool color = cli::use_color(stdout);
  const bool listed = out.verbosity() != cli::Verbosity::quiet && (!audit || out.verbosity() == cli::Verbosity::verbose);
  std::map<std::string, std::size_t> counts;
  std::size_t not_ok = 0;
  std::size_t unknown = 0;
  for (const core::ModuleVerdict& verdict : verdicts) {
    not_ok += verdict.loads() ? 0 : 1;
    unknown += !verdict.unreadable && verdict.verification.verdict == core::Verdict::unknown_key ? 1 : 0;
    ++counts[options.json ? cli::verdict_status(verdict) : cli::verdict_words(verdict)];
    if (options.json) {
      continue;
    }
    if (verdict.unreadable) {
      out.error("{}", *verdict.unreadable);
    } else if (!verdict.loads() || listed) { // an audit lists only the modules that would not load, unless -v
      const std::string keyring = cli::verdict_keyring(verdict);
      out.result_escaped(fmt::format("{}: {}{}", util::escape(verdict.path.native()), cli::describe_verdict(verdict, basis, color),
                             keyring.empty() ? "" : " in " + keyring));
    }
  }
  if (options.json) {
    print_json(verdicts, counts, basis, out);
    return not_ok == 0 ? cli::exit_success : cli::exit_failure;
  }
  if (unknown > 0) { // what the kernel would have taken instead, once for all the refusals above
    out.result(cli::trusted_list_text(basis));
  }
  if (audit && verdicts.empty()) { // nothing installed to refuse: `dkms remove` of its last module
    out.info("kernel {} has no modules installed: nothing to check", util::escape(*options.kernel));
  }
  if (verdicts.size() > 1) {
    std::string summary;
    for (const auto& [name, count] : counts) {
      summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, name);
    }
    out.info("{} modules: {}", verdicts.size(), summary);
    if (audit && not_ok == 0) {
      out.info("all modules would load with module.sig_enforce=1");
    } else if (audit) {
      out.info("{} {} would fail to load with module.sig_enforce=1 (listed above)", not_ok, not_ok == 1 ? "module" : "modules");
      out.info("to sign, with this kernel's own key, those that lack only the right signature: ksign repair --kernel {}",
               *options.kernel);
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
