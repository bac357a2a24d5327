// SPDX-License-Identifier: MIT
// `ksign sign`: sign modules in place (or to --output), many at once, with one key load.

#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <atomic>
#include <memory>

namespace ksign::cmd {

namespace {

cxxopts::Options sign_options()
{
  cxxopts::Options options("ksign sign", "Sign Linux kernel modules (.ko, .ko.gz, .ko.xz, .ko.zst) in place.\n"
                                         "A module that is already signed is re-signed.");
  options.custom_help("[options]");
  options.positional_help("<module|dir>...");
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
    ("compress-level", "level for recompressing .ko.gz/.xz/.zst modules (default: the kernel's)",
     cxxopts::value<int>(), "N")
    ("v,verbose", "name every module signed")
    ("q,quiet", "print errors only")
    ("h,help", "show this help")
    ("modules", "", cxxopts::value<std::vector<std::string>>());
  cli::add_key_store_options(options);
  options.parse_positional({"modules"});
  return options;
}

int run_sign(std::span<const std::string> args)
{
  cxxopts::Options options = sign_options();
  const cxxopts::ParseResult result = cli::parse_options(options, args);
  if (cli::print_help_if_asked(result, options)) {
    return cli::exit_success;
  }
  cli::Output out("sign");
  out.set_verbosity(cli::verbosity(result));
  if (result.count("modules") == 0) {
    throw Error(Errc::usage, "no module given");
  }
  const auto arguments = result["modules"].as<std::vector<std::string>>();
  const cli::SigningKeySource source = cli::signing_key_source(result);

  core::SignSettings settings;
  settings.hash = cli::chosen_hash(result.count("hash") ? std::optional(result["hash"].as<std::string>()) : std::nullopt,
                                   source.recorded_hash);
  settings.signer_id = result.count("keyid") > 0 ? core::SignerIdKind::subject_key_id
                                                 : core::SignerIdKind::issuer_and_serial;
  if (result.count("compress-level") > 0) {
    settings.compression_level = result["compress-level"].as<int>();
  }
  const unsigned jobs = cli::job_count(result);

  auto key = std::make_shared<core::SigningKey>(
    core::load_signing_key(source.key, source.certificate, cli::key_passphrase()));
  const core::ModuleSigner signer(std::move(key), settings);

  const std::vector<core::ModuleFile> modules = core::collect_modules(arguments, result.count("recursive") > 0);
  if (modules.empty()) {
    throw Error(Errc::io, "no modules (*.ko, *.ko.gz, *.ko.xz, *.ko.zst) found");
  }
  std::optional<std::filesystem::path> output;
  if (result.count("output") > 0) {
    if (modules.size() != 1 || arguments.size() != 1) {
      throw Error(Errc::usage, "--output takes exactly one module");
    }
    output = result["output"].as<std::string>();
  }

  std::atomic<std::size_t> failures{0};
  const auto report = [&](const std::filesystem::path& path, const std::string& problem) {
    ++failures;
    out.error("{}: {}", util::quote(path), problem);
  };

  // Each module is written to a temporary beside it; a committer thread makes them durable
  // and renames them a batch at a time (one syncfs per batch instead of an fsync per module),
  // while the workers go on signing.
  std::vector<std::string> descriptions(modules.size());
  out.start_progress("signing", modules.size());
  {
    const auto committed = [&](std::size_t index, const std::string& error) {
      if (!error.empty()) {
        report(modules[index].path, error);
      } else {
        out.detail("signed {}", descriptions[index]);
      }
      out.step_progress();
    };
    // 256 a batch: on btrfs every syncfs commits a transaction, and batches of 64 cost ~0.3 s
    // more over a 4230-module kernel than 256 (4.4 vs 4.1 s); larger gained no more.
    util::StagedCommitter committer(256, committed,
                                    modules.size() > 1 ? util::StagedCommitter::Mode::background
                                                       : util::StagedCommitter::Mode::in_caller);
    util::run_parallel(modules.size(), jobs, [&](std::size_t index) {
      const std::filesystem::path& path = modules[index].path;
      try {
        util::StagedFile staged;
        const core::SignOutcome outcome = signer.stage_file(path, output.value_or(path), staged);
        descriptions[index] = util::quote(path)
                              + (outcome.compression == core::Compression::none
                                   ? std::string()
                                   : " (" + std::string(core::compression_name(outcome.compression)) + ")")
                              + (outcome.was_signed ? ", replacing its old signature" : "");
        committer.add(std::move(staged), index);
      } catch (const std::exception& e) {
        report(path, e.what());
        out.step_progress();
      }
    });
    committer.finish();
  }
  out.finish_progress();

  const std::size_t signed_count = modules.size() - failures;
  if (modules.size() > 1 || failures > 0) {
    out.info("signed {} of {} modules with {}", signed_count, modules.size(), core::hash_name(settings.hash));
  }
  return failures == 0 ? cli::exit_success : cli::exit_failure;
}

} // namespace

const Command cmd_sign = {"sign", "sign kernel modules (.ko, .ko.gz, .ko.xz, .ko.zst)", run_sign};

} // namespace ksign::cmd
