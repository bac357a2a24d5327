// SPDX-License-Identifier: MIT
#include "cli/sign_batch.hpp"

#include "cli/modules.hpp"
#include "util/cleanup.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"
#include "util/strings.hpp"
#include "util/work_queue.hpp"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace ksign::cli {

namespace {

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
                             const std::optional<std::filesystem::path>& output, Output& out)
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

  void report(Output& out) const
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

} // namespace

std::size_t sign_modules(const core::ModuleSigner& signer, const std::vector<core::ModuleFile>& modules,
                         const SignBatch& batch, Output& out)
{
  const std::optional<std::filesystem::path>& output = batch.output;
  tidy_after_killed_runs(modules, output, out);

  std::atomic<std::size_t> failures{0};
  const auto failed = [&](std::size_t index) {
    ++failures;
    if (batch.on_failed) {
      batch.on_failed(index);
    }
  };
  const auto report = [&](std::size_t index, const std::string& problem) {
    out.error("{}", about_module(modules[index].path, problem));
    failed(index);
  };

  // Each module is written to a temporary beside it; a committer thread makes them durable
  // and renames them a batch at a time (one syncfs per batch instead of an fsync per module),
  // while the workers go on signing. When the disk is full (blocks or inodes), what is queued
  // is committed at once, which frees the old modules, and the module is written again: a
  // nearly full disk gets as far as signing one module at a time would.
  std::vector<std::string> descriptions(modules.size());
  ReadOnlyModules read_only;
  out.start_progress(batch.progress_verb, modules.size());
  {
    const auto committed = [&](std::size_t index, const std::string& error) {
      if (!error.empty()) {
        report(index, error);
      } else if (batch.on_signed) {
        batch.on_signed(index, descriptions[index]);
      } else {
        out.detail("signed {}", descriptions[index]);
      }
    };
    // 256 a batch: on btrfs every syncfs commits a transaction, and batches of 64 cost ~0.3 s
    // more over a 4230-module kernel than 256 (4.4 vs 4.1 s); larger gained no more.
    util::StagedCommitter committer(256, committed,
                                    modules.size() > 1 ? util::StagedCommitter::Mode::background
                                                       : util::StagedCommitter::Mode::in_caller);
    util::run_parallel(modules.size(), batch.jobs, [&](std::size_t index) {
      const core::ModuleFile& module = modules[index];
      const std::filesystem::path& path = module.path;
      const std::filesystem::path directory =
        output ? (output->has_parent_path() ? output->parent_path() : std::filesystem::path("."))
               : written_directory(path);
      try {
        if (read_only.known(directory)) {
          failed(index);
        } else {
          // A full disk: what is queued is committed at once, which frees the old modules, and
          // the module is written again (util::StagedCommitter::make_room).
          util::StagedCommitter::Writer writer(committer);
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
          const core::SignOutcome outcome = signer.stage_file(path, output.value_or(path), staged,
                                                              [&] { return committer.make_room(writer); },
                                                              batch.accept ? std::function<void(ByteView)>(
                                                                               [&](ByteView file) { batch.accept(index, file); })
                                                                           : std::function<void(ByteView)>());
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
          failed(index);
        } else {
          report(index, exception_text(e));
        }
      }
      // Per module as it is signed: the committer reports a whole batch at once.
      out.step_progress();
    });
    committer.finish();
  }
  out.finish_progress();
  read_only.report(out);
  return failures;

}

} // namespace ksign::cli
