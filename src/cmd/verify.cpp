// SPDX-License-Identifier: MIT
// `ksign verify`: predict, for each module, what a kernel with module.sig_enforce=1 will say.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "cli/paths.hpp"
#include "core/kernel_trust.hpp"
#include "core/module_files.hpp"
#include "core/module_verifier.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

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
    ("json", "print the results as JSON on stdout");
  cli::add_kernel_option(options);
}

struct ModuleResult
{
  std::filesystem::path path;
  core::Verification verification;
  std::string read_error; // the file could not be read at all
};

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
std::string describe(const core::Verification& v, bool color)
{
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
    return fmt::format("{} ({}, {})", paint(verdict_words(core::Verdict::ok), true, color), signer, hash);
  case core::Verdict::unsigned_module:
    return paint(verdict_words(core::Verdict::unsigned_module), false, color);
  case core::Verdict::unknown_key:
    return fmt::format("{} ({}{}{})", paint(verdict_words(core::Verdict::unknown_key), false, color), signer, signer.empty() ? "" : ", ", hash);
  case core::Verdict::bad_signature:
    return fmt::format("{} ({})", paint(verdict_words(core::Verdict::bad_signature), false, color),
                       util::escape(v.problem));
  case core::Verdict::malformed:
    return fmt::format("{} ({})", paint(verdict_words(core::Verdict::malformed), false, color),
                       util::escape(v.problem));
  }
  return "malformed";
}

void print_json(const std::vector<ModuleResult>& results, const std::map<std::string, std::size_t>& counts)
{
  fmt::print("{{\n  \"modules\": [");
  bool first = true;
  for (const ModuleResult& r : results) {
    const core::Verification& v = r.verification;
    fmt::print("{}\n    {{\"path\": {}, \"status\": {}", first ? "" : ",", util::json_string(r.path.string()),
               util::json_string(r.read_error.empty() ? core::verdict_name(v.verdict) : "unreadable"));
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
  fmt::print("}}\n}}\n");
}

int run_verify(cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  cli::Output& out = invocation.out;
  const bool json = result.count("json") > 0;
  const unsigned jobs = cli::job_count(result);
  const std::uint64_t max_module_size = cli::max_module_size();

  // Audit mode: every module of an installed kernel, against everything it trusts.
  const bool audit = invocation.operands.empty() && result.count("kernel") > 0;
  if (invocation.operands.empty() && !audit) {
    throw Error(Errc::usage, "no module given (or give --kernel KVER alone to audit an installed kernel)");
  }
  std::vector<std::string> arguments;
  std::vector<std::filesystem::path> certificate_files;
  if (audit) {
    const std::string release = result["kernel"].as<std::string>();
    arguments = core::kernel_module_directories(cli::module_root(), release);
    for (const core::TrustSource& source : core::kernel_trust_sources(cli::module_root(), release)) {
      out.info("trusting {} ({})", util::quote(source.file), source.origin);
      certificate_files.push_back(source.file);
    }
    if (result.count("cert") > 0) {
      for (const std::string& name : result["cert"].as<std::vector<std::string>>()) {
        certificate_files.emplace_back(name);
      }
    }
    if (certificate_files.empty()) {
      out.warning("found no certificate that kernel {} trusts; every signed module will show as unknown key",
                  release);
    }
  } else {
    arguments = invocation.operands;
    certificate_files = cli::trusted_certificate_files(invocation);
  }

  core::TrustedKeys trusted;
  for (const std::filesystem::path& file : certificate_files) {
    for (X509Ptr& certificate : core::load_certificates(file)) {
      trusted.add(std::move(certificate));
    }
  }

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
        missing.push_back({argument, {}, e.what()});
      }
    }
  }
  if (!json || (modules.empty() && missing.empty())) {
    modules = cli::collect_modules_or_explain(arguments, recursive);
  }
  std::vector<ModuleResult> results(modules.size());
  out.start_progress("verifying", modules.size());
  util::run_parallel(modules.size(), jobs, [&](std::size_t index) {
    ModuleResult& r = results[index];
    r.path = modules[index].path;
    try {
      const Bytes file = util::read_file(r.path, max_module_size);
      r.verification = core::verify_module(file, trusted, max_module_size);
    } catch (const std::exception& e) { // unreadable, or ksign's own failure (out of memory, OpenSSL)
      r.read_error = cli::about_module(r.path, exception_text(e));
    }
    out.step_progress();
  });
  out.finish_progress();
  results.insert(results.end(), missing.begin(), missing.end());
  // Report in a stable order, whatever order the workers finished in.
  std::sort(results.begin(), results.end(), [](const ModuleResult& a, const ModuleResult& b) { return a.path < b.path; });

  const bool color = cli::use_color(stdout);
  std::map<std::string, std::size_t> counts;
  std::size_t not_ok = 0;
  for (const ModuleResult& r : results) {
    const bool ok = r.read_error.empty() && r.verification.verdict == core::Verdict::ok;
    not_ok += ok ? 0 : 1;
    ++counts[r.read_error.empty() ? std::string(json ? core::verdict_name(r.verification.verdict)
                                                     : verdict_words(r.verification.verdict))
                                  : "unreadable"];
    if (json) {
      continue;
    }
    if (!r.read_error.empty()) {
      out.error("{}", r.read_error);
    } else if (!ok || (out.verbosity() != cli::Verbosity::quiet && (!audit || out.verbosity() == cli::Verbosity::verbose))) {
      // An audit lists only the modules that would not load, unless --verbose.
      out.result(fmt::format("{}: {}", util::escape(r.path.native()), describe(r.verification, color)));
    }
  }
  if (json) {
    print_json(results, counts);
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
                 "every module installed for KVER against everything that kernel trusts. Exit status 0\n"
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
