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

// The command line of `ksign sign`, declared by add_sign_options and read by read_sign_options
// only; run_sign reads this struct.
struct SignOptions
{
  cli::KeyOptions key;                              // --key, --cert, --kernel, --allow-*-key
  std::optional<std::string> hash;                  // --hash
  bool keyid = false;                               // --keyid
  std::optional<std::filesystem::path> output;      // -o/--output
  bool recursive = false;                           // -r/--recursive
  int jobs = 0;                                     // -j/--jobs (0: one per CPU)
  std::optional<int> compress_level;                // --compress-level
};

void add_sign_options(cxxopts::Options& options)
{
  cli::KeyOptions::declare(options, cli::KeyOptions::Set::signing);
  options.add_options()
    ("hash", "sha256, sha384, sha512, sha3-256, sha3-384 or sha3-512 "
             "(default: the key store's khash, else sha512)", cxxopts::value<std::string>(), "ALGO")
    ("keyid", "name the signer by subjectKeyIdentifier instead of issuer and serial (sign-file -k)")
    ("o,output", "write the signed module to FILE instead of replacing it (one module only)",
     cxxopts::value<std::string>(), "FILE")
    ("r,recursive", "sign modules in subdirectories of a directory too")
    ("j,jobs", "sign N modules at a time (0: one per CPU)", cxxopts::value<int>()->default_value("0"), "N")
    ("compress-level", "level for recompressing " + module_suffix_list(true) + " modules (default: the kernel's)",
     cxxopts::value<int>(), "N");
}

SignOptions read_sign_options(const cxxopts::ParseResult& result)
{
  SignOptions options;
  options.key = cli::KeyOptions::read(result, cli::KeyOptions::Set::signing);
  options.hash = cli::optional_string(result, "hash");
  options.keyid = cli::given(result, "keyid");
  if (const auto output = cli::optional_string(result, "output")) {
    options.output = *output;
  }
  options.recursive = cli::given(result, "recursive");
  options.jobs = *cli::optional_int(result, "jobs");
  options.compress_level = cli::optional_int(result, "compress-level");
  return options;
}

int run_sign(cli::Invocation& invocation)
{
  const SignOptions options = read_sign_options(invocation.options);
  cli::Output& out = invocation.out;
  const std::vector<std::string>& arguments = invocation.operands;

  // Every option value is checked before a key is read or a module touched.
  core::SignSettings settings;
  if (options.compress_level) {
    settings.compression_level = *options.compress_level;
    if (const auto problem = core::level_problem(settings.compression_level)) {
      throw Error(Errc::usage, "--compress-level: " + *problem);
    }
  }
  const unsigned jobs = cli::job_count(options.jobs);
  settings.max_module_size = cli::max_module_size();
  if (options.hash) {
    (void)cli::chosen_hash(options.hash, std::nullopt);
  }
  if (options.output && arguments.size() != 1) {
    throw Error(Errc::usage, "--output takes exactly one module");
  }
  const cli::SigningKeySource source = cli::signing_key_source(options.key, invocation);
  settings.hash = cli::chosen_hash(options.hash, source.recorded_hash);
  settings.signer_id = options.keyid ? core::SignerIdKind::subject_key_id : core::SignerIdKind::issuer_and_serial;

  cli::guard_private_key(source.key, options.key.allow_loose_key, false, out);
  auto key = std::make_shared<core::SigningKey>(
    source.directory ? core::key_directory_signing_key(*source.directory, cli::key_passphrase())
                     : core::load_signing_key(source.key, source.certificate, cli::key_passphrase()));
  cli::warn_if_short_key(key->key.get(), "the key " + core::quoted_key_source(source.key.native()), out);
  cli::require_kernel_usable_key(key->certificate, "the key " + core::quoted_key_source(source.key.native()),
                                 options.key.allow_unsupported_key, out);
  if (core::is_ml_dsa(key->type) && settings.hash != core::HashAlgo::sha512) {
    throw Error(Errc::usage, "--hash: ML-DSA module signatures use sha512");
  }
  if (settings.signer_id == core::SignerIdKind::subject_key_id && !core::has_subject_key_id(key->certificate)) {
    throw Error(Errc::failure, "--keyid: " + std::string(core::k_no_subject_key_id));
  }
  const core::ModuleSigner signer(std::move(key), settings);

  const std::vector<core::ModuleFile> modules =
    cli::collect_modules_or_explain(arguments, options.recursive, out);
  if (options.output && modules.size() != 1) {
    throw Error(Errc::usage, "--output takes exactly one module");
  }
  if (settings.compression_level != core::k_default_level) {
    check_level_fits_modules(settings.compression_level, modules);
  }

  cli::SignBatch batch;
  batch.output = options.output;
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
