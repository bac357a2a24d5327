// SPDX-License-Identifier: MIT
#include "core/repair_plan.hpp"

#include "core/certificate.hpp"
#include "core/compress.hpp"
#include "core/elf.hpp"
#include "core/hash.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "core/modsig.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

extern char** environ;

namespace ksign::core {

namespace fs = std::filesystem;

std::string_view repair_action_name(RepairAction action)
{
  switch (action) {
  case RepairAction::keep:
    return "keep";
  case RepairAction::sign:
    return "sign";
  case RepairAction::tampered:
    return "tampered";
  case RepairAction::damaged:
    return "damaged";
  case RepairAction::not_module:
    return "not_a_module";
  case RepairAction::unverifiable:
    return "unverifiable";
  case RepairAction::unreadable:
    return "unreadable";
  }
  return "unreadable";
}

std::string_view kernel_obstacle_name(KernelObstacle obstacle)
{
  switch (obstacle) {
  case KernelObstacle::none:
    return "none";
  case KernelObstacle::no_ksign_key:
    return "no_ksign_key";
  case KernelObstacle::key_unreachable:
    return "key_unreachable";
  case KernelObstacle::key_not_trusted:
    return "key_not_trusted";
  }
  return "none";
}

bool names_owner(RepairAction action)
{
  return action == RepairAction::tampered || action == RepairAction::damaged || action == RepairAction::not_module
         || action == RepairAction::unverifiable;
}

RepairAction decide_repair(const Verification& by_kernel, const Verification* by_known,
                           const std::optional<std::string>& not_module, std::string& problem)
{
  problem.clear();
  switch (by_kernel.verdict) {
  case Verdict::ok:
    return RepairAction::keep;
  case Verdict::malformed:
    problem = by_kernel.problem;
    return RepairAction::damaged;
  case Verdict::bad_signature:
    // A key this kernel trusts signed something else than what the file holds now.
    problem = by_kernel.problem;
    return RepairAction::tampered;
  case Verdict::unsigned_module:
  case Verdict::signed_attributes: // checked cryptographically: valid, in a form the kernel refuses
    break;
  case Verdict::unknown_key:
    if (by_known == nullptr || by_known->verdict == Verdict::unknown_key) {
      problem = "signed by a key ksign has no certificate of, so it cannot tell whether the module changed after "
                "it was signed";
      return RepairAction::unverifiable;
    }
    if (by_known->verdict == Verdict::bad_signature) {
      problem = by_known->problem + " (signer '" + by_known->signer + "')";
      return RepairAction::tampered;
    }
    if (by_known->verdict == Verdict::malformed) {
      problem = by_known->problem;
      return RepairAction::damaged;
    }
    // ok, or a valid signature with signed attributes: only the signer is wrong.
    break;
  }
  if (not_module) {
    problem = *not_module;
    return RepairAction::not_module;
  }
  return RepairAction::sign;
}

Bytes repair_digest(ByteView file)
{
  return digest_of(HashAlgo::sha256, file);
}

const std::string& ModuleRepair::signer() const
{
  return old_signature && !old_signature->signer.empty() ? old_signature->signer : before.signer;
}

bool ModuleRepair::is_as_judged(ByteView file) const
{
  return repair_digest(file) == file_digest;
}

namespace {

// Why the module image inside `file` is not a kernel module, once its compression and
// signatures are taken off; nullopt when it is one, or when its bytes cannot be read that far
// (the verdicts say why).
std::optional<std::string> module_problem(ByteView file, std::uint64_t max_size)
{
  try {
    const Compression compression = detect_compression(file);
    Bytes decompressed;
    ByteView image = file;
    if (compression != Compression::none) {
      decompressed = decompress(compression, file, max_size);
      image = decompressed;
    }
    return kernel_module_problem(image.first(unsigned_length(image)));
  } catch (const Error& e) {
    if (e.code() != Errc::format) {
      throw;
    }
    return std::nullopt;
  }
}

} // namespace

ModuleRepair assess_module(const fs::path& path, const KernelVerdict& kernel, const TrustedKeys& known,
                           std::uint64_t max_size)
{
  ModuleRepair repair;
  repair.path = path;
  Bytes file;
  try {
    file = util::read_file(path, max_size);
  } catch (const std::exception& e) {
    repair.action = RepairAction::unreadable;
    repair.problem = e.what();
    return repair;
  }
  try {
    repair.before = kernel(file);
  } catch (const std::exception& e) {
    repair.action = RepairAction::unreadable;
    repair.problem = e.what();
    return repair;
  }
  if (repair.before.verdict == Verdict::unknown_key) {
    repair.old_signature = verify_module(file, known, {}, max_size);
  }
  std::optional<std::string> not_module;
  if (repair.before.verdict == Verdict::unsigned_module || repair.before.verdict == Verdict::unknown_key
      || repair.before.verdict == Verdict::signed_attributes) {
    not_module = module_problem(file, max_size);
  }
  repair.action = decide_repair(repair.before, repair.old_signature ? &*repair.old_signature : nullptr, not_module,
                                repair.problem);
  if (repair.action == RepairAction::sign) {
    repair.file_digest = repair_digest(file);
  }
  return repair;
}

std::size_t KernelRepairPlan::count(RepairAction action) const
{
  return static_cast<std::size_t>(
    std::ranges::count_if(modules, [action](const ModuleRepair& m) { return m.action == action; }));
}

bool KernelRepairPlan::loads_after() const
{
  return std::ranges::all_of(modules, [this](const ModuleRepair& m) {
    return m.action == RepairAction::keep || (m.action == RepairAction::sign && obstacle == KernelObstacle::none);
  });
}

KernelObstacle kernel_obstacle(const KernelKeyState& key)
{
  if (!key.key) {
    return KernelObstacle::no_ksign_key;
  }
  if (!key.reachable) {
    return KernelObstacle::key_unreachable;
  }
  if (key.trust && *key.trust != SignerTrust::trusted) {
    return KernelObstacle::key_not_trusted;
  }
  return KernelObstacle::none;
}

KernelRepairPlan plan_kernel_repair(std::string release, KernelKeyState key, std::vector<ModuleRepair> modules)
{
  KernelRepairPlan plan;
  plan.release = std::move(release);
  plan.obstacle = kernel_obstacle(key);
  plan.key = std::move(key);
  plan.modules = std::move(modules);
  std::ranges::sort(plan.modules, [](const ModuleRepair& a, const ModuleRepair& b) { return a.path < b.path; });
  return plan;
}

KernelRepair start_repair(KernelRepairPlan plan, std::vector<ModuleFile> files, bool dry_run)
{
  KernelRepair repair;
  repair.plan = std::move(plan);
  repair.dry_run = dry_run;
  // The files in the plan's order, so one index names both.
  std::map<fs::path, ModuleFile> by_path;
  for (ModuleFile& file : files) {
    by_path.emplace(file.path, std::move(file));
  }
  for (std::size_t i = 0; i < repair.plan.modules.size(); ++i) {
    repair.files.push_back(std::move(by_path.at(repair.plan.modules[i].path)));
    if (repair.plan.modules[i].action == RepairAction::sign) {
      repair.done[i] = false;
    }
  }
  return repair;
}

std::vector<std::size_t> KernelRepair::signing_order() const
{
  std::vector<std::size_t> indices;
  if (dry_run || plan.obstacle != KernelObstacle::none) {
    return indices;
  }
  for (std::size_t i = 0; i < plan.modules.size(); ++i) {
    if (plan.modules[i].action == RepairAction::sign) {
      indices.push_back(i);
    }
  }
  std::ranges::sort(indices, [this](std::size_t a, std::size_t b) { return files[a].size > files[b].size; });
  return indices;
}

std::size_t KernelRepair::signed_count() const
{
  return static_cast<std::size_t>(std::ranges::count_if(done, [](const auto& entry) { return entry.second; }));
}

bool KernelRepair::loads_after() const
{
  if (!plan.loads_after()) {
    return false;
  }
  return dry_run || std::ranges::all_of(done, [](const auto& entry) { return entry.second; });
}

namespace {

// Add every certificate of `file` to `known`; false when it cannot be read.
bool add_certificates(KnownSigners& known, std::set<fs::path>& seen, const fs::path& file)
{
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(file, ec);
  if (!seen.insert(ec ? file : canonical).second) {
    return true;
  }
  try {
    for (X509Ptr& certificate : load_certificates(file)) {
      known.keys.add(std::move(certificate));
      ++known.count;
    }
    known.read.push_back(file);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Every dated key directory of a key store (old keys included), and the store's own
// certificate files when it is a key directory itself.
void add_key_store(KnownSigners& known, std::set<fs::path>& seen, const fs::path& store)
{
  std::error_code ec;
  if (!fs::is_directory(store, ec)) {
    return;
  }
  std::vector<fs::path> directories = {store};
  for (fs::directory_iterator it(store, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->path().filename().native().starts_with('.')) {
      directories.push_back(it->path());
    }
  }
  for (const fs::path& directory : directories) {
    try {
      const KeyFiles files = key_directory_files(directory);
      add_certificates(known, seen, files.certificate);
    } catch (const std::exception&) {
      // not a key directory, or one this user cannot read
    }
  }
}

} // namespace

KnownSigners known_signers(const KnownSignerSources& sources)
{
  KnownSigners known;
  std::set<fs::path> seen;
  std::error_code ec;
  if (!sources.module_root.empty() && fs::is_directory(sources.module_root, ec)) {
    std::vector<fs::path> releases;
    for (fs::directory_iterator it(sources.module_root, ec), end; !ec && it != end; it.increment(ec)) {
      releases.push_back(it->path());
    }
    std::ranges::sort(releases);
    for (const fs::path& release : releases) {
      add_key_store(known, seen, kernel_key_store(sources.module_root, release.filename().native()));
    }
  }
  if (!sources.key_registry.empty() && fs::is_directory(sources.key_registry, ec)) {
    for (fs::directory_iterator it(sources.key_registry, ec), end; !ec && it != end; it.increment(ec)) {
      add_key_store(known, seen, it->path());
    }
  }
  std::vector<fs::path> files = sources.files;
  if (!sources.dkms_tree.empty()) {
    files.push_back(sources.dkms_tree / "mok.pub"); // DER, as DKMS writes it
  }
  for (const fs::path& file : files) {
    if (fs::exists(file, ec) && !add_certificates(known, seen, file)) {
      known.skipped.push_back(file);
    }
  }
  return known;
}

namespace {

// The standard output of `argv` (stderr discarded), and whether it exited 0; nullopt when it
// cannot be run.
std::optional<std::pair<std::string, bool>> run_for_output(const std::vector<std::string>& argv)
{
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return std::nullopt;
  }
  std::string output;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n > 0) {
      output.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return std::pair{output, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

std::string first_line(const std::string& text)
{
  return text.substr(0, text.find('\n'));
}

} // namespace

std::optional<std::string> owning_package(const fs::path& path)
{
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  // dpkg lists /lib/modules where /usr/lib/modules is the same directory (merged /usr).
  std::vector<fs::path> names = {absolute};
  const std::string text = absolute.native();
  if (text.starts_with("/usr/lib/")) {
    names.emplace_back(text.substr(4));
  } else if (text.starts_with("/lib/")) {
    names.emplace_back("/usr" + text);
  }
  for (const fs::path& name : names) {
    if (const auto dpkg = run_for_output({"dpkg-query", "-S", name.native()}); dpkg && dpkg->second) {
      const std::string line = first_line(dpkg->first);
      const std::size_t colon = line.find(": ");
      if (colon != std::string::npos) {
        return line.substr(0, colon);
      }
    }
  }
  // pacman -Qo: "/usr/lib/modules/.../x.ko.zst is owned by linux 6.12.9.arch1-1"
  if (const auto pacman = run_for_output({"pacman", "-Qqo", absolute.native()}); pacman && pacman->second) {
    const std::string line = first_line(pacman->first);
    if (!line.empty()) {
      return line;
    }
  }
  return std::nullopt;
}

std::map<std::size_t, std::string> owning_packages(const KernelRepairPlan& plan)
{
  std::map<std::size_t, std::string> packages;
  for (std::size_t i = 0; i < plan.modules.size(); ++i) {
    if (names_owner(plan.modules[i].action)) {
      if (auto package = owning_package(plan.modules[i].path)) {
        packages[i] = std::move(*package);
      }
    }
  }
  return packages;
}

} // namespace ksign::core
