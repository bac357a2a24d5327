// SPDX-License-Identifier: MIT
#pragma once

#include "core/key_directory.hpp"
#include "core/module_files.hpp"
#include "core/module_verifier.hpp"
#include "core/signer_match.hpp"
#include "util/bytes.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// What `repair` does to an installed kernel's modules, decided as data before anything is
// written: which modules are signed with the kernel's own key, which are left as they are, which
// are reported and why, and whether the kernel can be repaired at all. Nothing here writes.
//
// The one rule: a module is signed only when all it lacks is the right signature: it is
// unsigned, or its signature is valid but made by a key this kernel does not trust (another
// kernel's, an old one, DKMS's MOK key), or valid in a form the kernel refuses (signed
// attributes). A module whose signature does not match its contents was changed after it was
// signed: signing it would bless the change, so it is never signed.
namespace ksign::core {

enum class RepairAction {
  keep,         // the kernel loads it as it is: not touched
  sign,         // signed with the kernel's key (an old signature is replaced)
  tampered,     // its signature names a key ksign can check and does not match its contents
  damaged,      // its trailer, signature or compressed data is malformed
  not_module,   // not a kernel module
  unverifiable, // signed by a key ksign has no certificate of: whether it changed cannot be told
  unreadable,   // the file could not be read
};

// "keep", "sign", "tampered", "damaged", "not_a_module", "unverifiable", "unreadable" (stable,
// used in --json).
[[nodiscard]] std::string_view repair_action_name(RepairAction action);

// Whether a module left as it is for `action` is reported with the package that owns it
// (tampered, damaged, not a module, unverifiable): reinstalling that package is the fix.
[[nodiscard]] bool names_owner(RepairAction action);

// The verdict on one module file, as `verify --kernel` gives it for the kernel being repaired.
using KernelVerdict = std::function<Verification(ByteView file)>;

struct ModuleRepair
{
  std::filesystem::path path;
  RepairAction action = RepairAction::unreadable;
  Verification before; // the kernel's verdict
  // For a signature by a key the kernel does not trust: the same signature checked against the
  // certificates of keys that may have signed modules (known_signers()).
  std::optional<Verification> old_signature;
  std::string problem; // why, for every action but keep and sign
  Bytes file_digest;   // sign: SHA-256 of the file as judged; it is signed only while it still has it

  // Who signed it: the signer its old signature names when the known signers checked it, else
  // the one in the kernel's verdict ("" for an unsigned module).
  [[nodiscard]] const std::string& signer() const;
  // Whether `file` still holds the bytes that were judged (file_digest).
  [[nodiscard]] bool is_as_judged(ByteView file) const;
};

// The action for a module the kernel judged `by_kernel`, whose old signature (for an
// unknown_key verdict) the known signers judged `by_known` (null when not checked), and which
// is a kernel module unless `not_module` says why not. Sets `problem` for a report.
[[nodiscard]] RepairAction decide_repair(const Verification& by_kernel, const Verification* by_known,
                                         const std::optional<std::string>& not_module, std::string& problem);

// Judge one module file: read it once, ask `kernel`, check an untrusted signature against
// `known`, and decide. Never throws for the file's contents; an unreadable file is `unreadable`.
[[nodiscard]] ModuleRepair assess_module(const std::filesystem::path& path, const KernelVerdict& kernel,
                                         const TrustedKeys& known, std::uint64_t max_size);

// SHA-256 of `file`, as ModuleRepair::file_digest holds it.
[[nodiscard]] Bytes repair_digest(ByteView file);

// Why a kernel's modules cannot be signed for it.
enum class KernelObstacle {
  none,
  no_ksign_key,    // no ksign certificate installed with it (build/certs-local)
  key_unreachable, // its certificate is installed, its private key cannot be reached
  key_not_trusted, // its image does not trust its ksign key: signing would not make them load
};

// "none", "no_ksign_key", "key_unreachable", "key_not_trusted" (stable, for --json).
[[nodiscard]] std::string_view kernel_obstacle_name(KernelObstacle obstacle);

// What is known about a kernel's key before its modules are judged.
struct KernelKeyState
{
  std::optional<KernelKeyFiles> key; // nullopt: the kernel has no ksign certificate
  bool reachable = false;            // its private key can be read
  std::string unreachable_reason;    // why not, as the key lookup says it
  // Whether the kernel (its image's lists, else the certificates it is judged by) trusts the
  // key's certificate; nullopt when that was not asked (no certificate).
  std::optional<SignerTrust> trust;
};

struct KernelRepairPlan
{
  std::string release;
  KernelKeyState key;
  KernelObstacle obstacle = KernelObstacle::none;
  std::vector<ModuleRepair> modules; // ordered by path

  [[nodiscard]] std::size_t count(RepairAction action) const;
  // Whether every module would load once the plan is carried out.
  [[nodiscard]] bool loads_after() const;
};

// The obstacle a kernel's key puts in the way, if any (none when it can sign and is trusted).
[[nodiscard]] KernelObstacle kernel_obstacle(const KernelKeyState& key);

// The plan for kernel `release`: its modules (assessed, any order) and its key. Modules whose
// action is `sign` stay `sign` when there is an obstacle: the plan says they need it, and
// loads_after() says it will not happen.
[[nodiscard]] KernelRepairPlan plan_kernel_repair(std::string release, KernelKeyState key,
                                                  std::vector<ModuleRepair> modules);

// One kernel's repair as it is carried out: its plan, the module files in the plan's order, what
// was signed and who owns what is reported. cli/repair_text words it.
struct KernelRepair
{
  KernelRepairPlan plan;
  std::vector<ModuleFile> files;               // by plan index
  std::map<std::size_t, bool> done;            // plan index of every module to sign: signed yet?
  std::map<std::size_t, std::string> packages; // plan index of a names_owner() module: its package
  bool no_image = false; // no image of the kernel: judged by the certificates on disk (guesses)
  bool dry_run = false;

  // The plan indices of the modules this run signs, largest file first (as sign -r takes them,
  // so parallel work ends with short jobs): none on a dry run or when the kernel has an obstacle.
  [[nodiscard]] std::vector<std::size_t> signing_order() const;
  [[nodiscard]] std::size_t signed_count() const;
  // Whether every module loads afterwards (a dry run: would, once the plan is carried out).
  [[nodiscard]] bool loads_after() const;
};

// The repair of `plan` with its module `files` (any order; put in the plan's order, every
// file in the plan): every module to sign not signed yet, no package asked for yet.
[[nodiscard]] KernelRepair start_repair(KernelRepairPlan plan, std::vector<ModuleFile> files, bool dry_run);

// Where certificates of keys that may have signed an installed kernel's modules are found.
struct KnownSignerSources
{
  std::filesystem::path module_root; // every installed kernel's build/certs-local, every dated key
  std::filesystem::path key_registry; // keys.d: the key directories it links to
  std::vector<std::filesystem::path> files; // --cert, ...
  std::filesystem::path dkms_tree; // DKMS's tree: mok.pub, its own key's certificate (after `files`)
};

struct KnownSigners
{
  TrustedKeys keys;
  std::size_t count = 0;
  std::vector<std::filesystem::path> read;     // the certificate files read
  std::vector<std::filesystem::path> skipped;  // files named in `files` that could not be read
};

// The certificates of `sources`: what an untrusted signature is checked against before the
// module is re-signed. Missing files and directories are skipped quietly, except those named
// in `files` and DKMS's mok.pub, which are listed in `skipped` when they exist and cannot be read.
[[nodiscard]] KnownSigners known_signers(const KnownSignerSources& sources);

// The package that owns `path`, asked of the package manager present (dpkg -S, pacman -Qo);
// nullopt when none is present or none owns it.
[[nodiscard]] std::optional<std::string> owning_package(const std::filesystem::path& path);

// The package that owns each module of `plan` that names_owner(), by plan index, asked of the
// package manager (owning_package); modules nobody owns are left out.
[[nodiscard]] std::map<std::size_t, std::string> owning_packages(const KernelRepairPlan& plan);

} // namespace ksign::core
