// SPDX-License-Identifier: MIT
// `ksign sign`: sign modules in place (or to --output), many at once, with one key load.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
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

// The directory a signed `file` is written to: its own, or a symbolic link's file's.
std::filesystem::path written_directory(const std::filesystem::path& file)
{
  std::error_code ec;
  std::filesystem::path written = file;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(file, ec))) {
    written = std::filesystem::canonical(file, ec); // where a symbolic link's file is written
  }
  return written.has_parent_path() ? written.parent_path() : std::filesystem::path(".");
}

// Temporaries of ksign runs that were killed (their pid is gone and nobody holds them locked)
// in the directories this run writes to: removed, and named with -v.
void tidy_after_killed_runs(const std::vector<core::ModuleFile>& modules,
                             const std::optional<std::filesystem::path>& output, cli::Output& out)
{
  std::set<std::filesystem::path> directories;
  const auto add = [&](const std::filesystem::path& file) {
    directories.insert(file.has_parent_path() ? file.parent_path() : std::filesystem::path("."));
  };
  if (output) {
    add(*output);
  } else {
    for (const core::ModuleFile& module : modules) {
      add(module.path);
      directories.insert(written_directory(module.path));
      for (const std::filesystem::path& name : module.hard_links) {
        add(name);
      }
    }
  }
  const auto module_name = [](std::string_view base) { return core::has_module_name(std::string(base)); };
  for (const std::filesystem::path& directory : directories) {
    for (const std::filesystem::path& removed : util::remove_dead_temporaries(directory, module_name)) {
      out.detail("removed {}, left by an interrupted run", util::quote(removed));
    }
  }
}

// Modules not signed because the file system they are written to is mounted read-only: told
// in one line per file system, not one per module. Safe from the worker threads.
class ReadOnlyModules
{
public:
  // Before trying a module: true (and counted) when its directory is on a file system already
  // found read-only.
  bool known(const std::filesystem::path& directory)
  {
    if (!m_any) {
      return false;
    }
    const std::optional<dev_t> device = util::read_only_device(directory);
    const std::lock_guard lock(m_mutex);
    const auto group = device ? m_groups.find(*device) : m_groups.end();
    if (group == m_groups.end()) {
      return false;
    }
    ++group->second.count;
    return true;
  }

  // After `module` failed: true (and counted) when its directory's file system is read-only.
  bool explains_failure(const std::filesystem::path& module, const std::filesystem::path& directory)
  {
    const std::optional<dev_t> device = util::read_only_device(directory);
    if (!device) {
      return false;
    }
    const std::lock_guard lock(m_mutex);
    Group& group = m_groups[*device];
    if (group.count++ == 0) {
      group.first = module;
      group.directory = directory;
    }
    m_any = true;
    return true;
  }

  void report(cli::Output& out) const
  {
    for (const auto& [device, group] : m_groups) {
      out.error("{} not signed ({}{}): {} is on a file system mounted read-only",
                group.count == 1 ? std::string("1 module") : fmt::format("{} modules", group.count),
                util::quote(group.first), group.count == 1 ? "" : ", ...", util::quote(group.directory));
    }
  }

private:
  struct Group
  {
    std::size_t count = 0;
    std::filesystem::path first;
    std::filesystem::path directory;
  };
  std::mutex m_mutex;
  std::map<dev_t, Group> m_groups;
  std::atomic<bool> m_any{false};
};

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
    core::load_signing_key(source.key, source.certificate, cli::key_passphrase()));
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

  tidy_after_killed_runs(modules, output, out);

  std::atomic<std::size_t> failures{0};
  const auto report = [&](const std::filesystem::path& path, const std::string& problem) {
    ++failures;
    out.error("{}", cli::about_module(path, problem));
  };

  // Each module is written to a temporary beside it; a committer thread makes them durable
  // and renames them a batch at a time (one syncfs per batch instead of an fsync per module),
  // while the workers go on signing. When the disk is full (blocks or inodes), what is queued
  // is committed at once, which frees the old modules, and the module is written again: a
  // nearly full disk gets as far as signing one module at a time would.
  std::vector<std::string> descriptions(modules.size());
  ReadOnlyModules read_only;
  out.start_progress("signing", modules.size());
  {
    const auto committed = [&](std::size_t index, const std::string& error) {
      if (!error.empty()) {
        report(modules[index].path, error);
      } else {
        out.detail("signed {}", descriptions[index]);
      }
    };
    // 256 a batch: on btrfs every syncfs commits a transaction, and batches of 64 cost ~0.3 s
    // more over a 4230-module kernel than 256 (4.4 vs 4.1 s); larger gained no more.
    util::StagedCommitter committer(256, committed,
                                    modules.size() > 1 ? util::StagedCommitter::Mode::background
                                                       : util::StagedCommitter::Mode::in_caller);
    // Workers between reading a module and queueing it, and those of them waiting for room:
    // while another worker may still queue a file, waiting for it can free room. `released`
    // counts temporaries given up for a full disk: one given up after this worker's failure
    // is room this worker did not have (a few retries a module, so that two modules that
    // each do not fit cannot take turns for ever).
    std::atomic<unsigned> staging{0};
    std::atomic<unsigned> waiting{0};
    std::atomic<std::uint64_t> released{0};
    static thread_local unsigned retries_without_commit = 0;
    // Once the disk was full, one worker writes at a time: two half-written temporaries can
    // each keep the other from fitting.
    std::atomic<bool> disk_full{false};
    std::mutex one_writer;
    const auto make_room = [&] {
      disk_full = true;
      const std::uint64_t seen = ++released; // this worker's temporary is gone
      ++waiting;
      bool again = false;
      for (int round = 0; round < 400 && !again; ++round) {
        if (committer.commit_now()) {
          again = true;
        } else if (released.load() != seen && retries_without_commit < 3) {
          ++retries_without_commit;
          again = true;
        } else if (staging.load() <= waiting.load()) {
          break; // nothing queued, nobody else writing: the disk is as empty as it gets
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
      --waiting;
      return again;
    };
    util::run_parallel(modules.size(), jobs, [&](std::size_t index) {
      const core::ModuleFile& module = modules[index];
      const std::filesystem::path& path = module.path;
      const std::filesystem::path directory =
        output ? (output->has_parent_path() ? output->parent_path() : std::filesystem::path("."))
               : written_directory(path);
      struct Staging
      {
        std::atomic<unsigned>& count;
        explicit Staging(std::atomic<unsigned>& c) : count(c) { ++count; }
        ~Staging() { --count; }
        Staging(const Staging&) = delete;
        Staging& operator=(const Staging&) = delete;
      };
      try {
        if (read_only.known(directory)) {
          ++failures;
        } else {
          std::unique_lock alone(one_writer, std::defer_lock);
          if (disk_full) {
            alone.lock();
          }
          const Staging busy(staging);
          retries_without_commit = 0;
          if (!output && module.link_count > 1 + module.hard_links.size()) {
            // Renaming a signed file over one name would leave the other names unsigned.
            throw Error(Errc::failure, fmt::format(
              "it has {} names (hard links) and only {} of them {} among the modules given; ksign signs every "
              "name of a file or none: give them all (their directory, with -r), or make this one a file of "
              "its own ('cp {} tmp && mv tmp {}')",
              module.link_count, 1 + module.hard_links.size(), module.hard_links.empty() ? "is" : "are",
              path.string(), path.string()));
          }
          util::StagedFile staged;
          const core::SignOutcome outcome = signer.stage_file(path, output.value_or(path), staged, make_room);
          if (!output) {
            staged.hard_links = module.hard_links;
          }
          descriptions[index] = util::quote(path)
                                + (module.hard_links.empty() || output
                                     ? std::string()
                                     : fmt::format(" and its {} other names", module.hard_links.size()))
                                + (outcome.compression == core::Compression::none
                                     ? std::string()
                                     : " (" + std::string(core::compression_name(outcome.compression)) + ")")
                                + (outcome.was_signed ? ", replacing its old signature" : "");
          committer.add(std::move(staged), index);
        }
      } catch (const std::exception& e) {
        if (read_only.explains_failure(path, directory)) {
          ++failures;
        } else {
          report(path, exception_text(e));
        }
      }
      // Per module as it is signed: the committer reports a whole batch at once.
      out.step_progress();
    });
    committer.finish();
  }
  out.finish_progress();
  read_only.report(out);

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
