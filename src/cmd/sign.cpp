// SPDX-License-Identifier: MIT
// `ksign sign`: sign modules in place (or to --output), many at once, with one key load.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/sign_batch.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/compress.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "core/pkcs11_key.hpp"
#include "util/cleanup.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <set>
#include <thread>

namespace ksign::cmd {

namespace {

// ".ko, .ko.gz, .ko.xz, .ko.zst" (without ".ko" when `compressed_only`), from the codec table.
std::string module_suffix_list(bool compressed_only)
{
  std::string list;
  for (const std::string& suffix : core::module_suffixes()) {
    if (!(compressed_only && suffix == ".ko")) {
      list += (list.empty() ? "" : ", ") + suffix;
    }
  }
  return list;
}

const std::string k_sign_summary = "sign kernel modules (" + module_suffix_list(false) + ")";
const std::string k_sign_description = "Sign Linux kernel modules (" + module_suffix_list(false) + ") in place.\n"
                                       "A module that is already signed is re-signed. Without --key or --kernel, the current\n"
                                       "key of the key store signs.";

// --compress-level against the format of each module, before any is touched: a level one
// format takes and another does not is refused, not clamped (ksign-sign(1)).
void check_level_fits_modules(int level, const std::vector<core::ModuleFile>& modules)
{
  struct Use
  {
    std::size_t count = 0;
    const std::filesystem::path* first = nullptr;
  };
  std::map<core::Compression, Use> uses;
  for (const core::ModuleFile& module : modules) {
    const std::optional<core::Compression> compression = core::compression_of_file(module.path);
    if (compression && core::level_problem(level, *compression)) {
      Use& use = uses[*compression];
      use.first = use.first != nullptr ? use.first : &module.path;
      ++use.count;
    }
  }
  if (uses.empty()) {
    return;
  }
  const auto& [compression, use] = *uses.begin();
  throw Error(Errc::usage, fmt::format("--compress-level: {}; {} {} {} ({}{})", *core::level_problem(level, compression),
                                       use.count, use.count == 1 ? "module is" : "modules are",
                                       core::compression_name(compression), util::quote(*use.first),
                                       use.count == 1 ? "" : ", ..."));
}

void add_sign_options(cxxopts::Options& options)
{
  options.add_options()
    ("k,key", "PEM private key (may also hold the certificate), or a pkcs11: URI", cxxopts::value<std::string>(), "FILE")
    ("c,cert", "signer's certificate, DER or PEM", cxxopts::value<std::vector<std::string>>(), "FILE")
    ("hash", "sha256, sha384, sha512, sha3-256, sha3-384 or sha3-512 "
             "(default: the key store's khash, else sha512)", cxxopts::value<std::string>(), "ALGO")
    ("keyid", "name the signer by subjectKeyIdentifier instead of issuer and serial (sign-file -k)")
    ("o,output", "write the signed module to FILE instead of replacing it (one module only)",
     cxxopts::value<std::string>(), "FILE")
    ("r,recursive", "sign modules in subdirectories of a directory too")
    ("j,jobs", "sign N modules at a time (0: one per CPU)", cxxopts::value<int>()->default_value("0"), "N")
    ("compress-level", "level for recompressing " + module_suffix_list(true) + " modules (default: the kernel's)",
     cxxopts::value<int>(), "N");
  cli::add_kernel_option(options);
  cli::add_loose_key_option(options);
  cli::add_unsupported_key_option(options);
}

int run_sign(cli::Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  cli::Output& out = invocation.out;
  const std::vector<std::string>& arguments = invocation.operands;

  // Every option value is checked before a key is read or a module touched.
  core::SignSettings settings;
  if (result.count("compress-level") > 0) {
    settings.compression_level = result["compress-level"].as<int>();
    if (const auto problem = core::level_problem(settings.compression_level)) {
      throw Error(Errc::usage, "--compress-level: " + *problem);
    }
  }
  const unsigned jobs = cli::job_count(result);
  settings.max_module_size = cli::max_module_size();
  const std::optional<std::string> hash_name = cli::optional_string(result, "hash");
  if (hash_name) {
    (void)cli::chosen_hash(hash_name, std::nullopt);
  }
  const std::optional<std::string> output_name = cli::optional_string(result, "output");
  if (output_name && arguments.size() != 1) {
    throw Error(Errc::usage, "--output takes exactly one module");
  }
  const cli::SigningKeySource source = cli::signing_key_source(invocation);
  settings.hash = cli::chosen_hash(hash_name, source.recorded_hash);
  settings.signer_id = result.count("keyid") > 0 ? core::SignerIdKind::subject_key_id
                                                 : core::SignerIdKind::issuer_and_serial;

  cli::guard_private_key(source.key, invocation);
  auto key = std::make_shared<core::SigningKey>(
    source.directory ? core::key_directory_signing_key(*source.directory, cli::key_passphrase())
                     : core::load_signing_key(source.key, source.certificate, cli::key_passphrase()));
  cli::warn_if_short_key(key->key.get(), "the key " + core::quoted_key_source(source.key.native()), out);
  cli::require_kernel_usable_key(key->certificate, "the key " + core::quoted_key_source(source.key.native()), invocation);
  if (core::is_ml_dsa(key->type) && settings.hash != core::HashAlgo::sha512) {
    throw Error(Errc::usage, "--hash: ML-DSA module signatures use sha512");
  }
  if (settings.signer_id == core::SignerIdKind::subject_key_id && !core::has_subject_key_id(key->certificate)) {
    throw Error(Errc::failure, "--keyid: " + std::string(core::k_no_subject_key_id));
  }
  const core::ModuleSigner signer(std::move(key), settings);

  const std::vector<core::ModuleFile> modules =
    cli::collect_modules_or_explain(arguments, result.count("recursive") > 0, out);
  std::optional<std::filesystem::path> output;
  if (output_name) {
    if (modules.size() != 1) {
      throw Error(Errc::usage, "--output takes exactly one module");
    }
    output = *output_name;
  }
  if (settings.compression_level != core::k_default_level) {
    check_level_fits_modules(settings.compression_level, modules);
  }

  cli::SignBatch batch;
  batch.output = output;
  batch.jobs = jobs;
  const std::size_t failures = cli::sign_modules(signer, modules, batch, out);

  const std::size_t signed_count = modules.size() - failures;
  if (modules.size() > 1 || failures > 0) {
    out.info("signed {} of {} modules with {}", signed_count, modules.size(), core::hash_name(settings.hash));
  }
  return failures == 0 ? cli::exit_success : cli::exit_failure;
}

} // namespace

const Command cmd_sign = {
  .name = "sign",
  .summary = k_sign_summary,
  .description = k_sign_description,
  .operands = "<module|dir>...",
  .min_operands = 1,
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .verbose_help = "name every module signed",
  .add_options = add_sign_options,
  .run = run_sign,
};

} // namespace ksign::cmd
