// SPDX-License-Identifier: MIT
#pragma once

#include "core/repair_plan.hpp"
#include "util/json_writer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The words for what core/repair_plan decides: a module's state before, why one is not signed and
// the fix, why a kernel cannot be repaired, each kernel's summary, and --json's document. Nothing
// here decides. Text from files (paths, signer names, packages) is escaped.
namespace ksign::cli {

// A module's state before, as its lines say it: "unsigned", "signed by 'X', a key this kernel
// does not trust", "bad signature", ...
[[nodiscard]] std::string before_words(const core::ModuleRepair& module);

// An action as module lines and summaries count it: "tampered", "not a module", "cannot be
// checked", "needs a signature", ...
[[nodiscard]] std::string_view action_words(core::RepairAction action);

// The fix for a module left as it is for `action` (core::names_owner), naming the package that
// owns it, if any: "reinstall package 'linux-image-6.12'"; "" for the other actions.
[[nodiscard]] std::string module_fix(core::RepairAction action, const std::optional<std::string>& package);

// A kernel's key: "key id 1fa2... ('/usr/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt')".
[[nodiscard]] std::string key_words(const core::KernelKeyFiles& key);

// Why a kernel cannot be repaired, and the fix ("" when nothing is in the way).
[[nodiscard]] std::string obstacle_words(const core::KernelRepairPlan& plan);

// The warning for a kernel judged without an image (core::KernelRepair::no_image).
[[nodiscard]] std::string no_image_note(std::string_view release);

// The line for a module just signed: "signed 'PATH' (xz), replacing its old signature (was signed
// by 'X', a key this kernel does not trust)", `description` as the signing batch gives it.
[[nodiscard]] std::string signed_line(std::string_view description, const core::ModuleRepair& module);

// A kernel's result lines, after the modules it signed: one per module to sign on a dry run or
// when the kernel cannot be repaired ("would sign", "cannot sign"), one per module left as it is
// with the fix ("tampered 'PATH', not signed: why; reinstall package 'P'"), and the summary
// ("kernel 6.12.9: 14 modules, 1 ok, 8 signed with its key id ...; every module would load").
[[nodiscard]] std::vector<std::string> kernel_repair_lines(const core::KernelRepair& repair);

// The --json document: "dry_run", "kernels" (one object per kernel: release, obstacle and its
// fix, key, image trust, note, the modules not kept, summary, loads_after) and "ok".
void write_repair_json(util::JsonWriter& json, const std::vector<core::KernelRepair>& repairs, bool dry_run, bool ok);

} // namespace ksign::cli
