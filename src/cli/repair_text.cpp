// SPDX-License-Identifier: MIT
#include "cli/repair_text.hpp"

#include "cli/trust_text.hpp"
#include "core/installed_kernel.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

namespace ksign::cli {

namespace fs = std::filesystem;

std::string before_words(const core::ModuleRepair& module)
{
  switch (module.before.verdict) {
  case core::Verdict::ok:
    return "ok";
  case core::Verdict::unsigned_module:
    return "unsigned";
  case core::Verdict::unknown_key:
    return "signed by '" + util::escape(module.signer()) + "', a key this kernel does not trust";
  case core::Verdict::signed_attributes:
    return "signed with signed attributes, which this kernel refuses";
  case core::Verdict::bad_signature:
    return "bad signature";
  case core::Verdict::malformed:
    return "malformed";
  }
  return "malformed";
}

std::string_view action_words(core::RepairAction action)
{
  switch (action) {
  case core::RepairAction::tampered:
    return "tampered";
  case core::RepairAction::damaged:
    return "damaged";
  case core::RepairAction::not_module:
    return "not a module";
  case core::RepairAction::unverifiable:
    return "cannot be checked";
  case core::RepairAction::unreadable:
    return "unreadable";
  case core::RepairAction::keep:
    return "ok";
  case core::RepairAction::sign:
    return "needs a signature";
  }
  return "unreadable";
}

std::string module_fix(core::RepairAction action, const std::optional<std::string>& package)
{
  switch (action) {
  case core::RepairAction::tampered:
  case core::RepairAction::damaged:
    return package ? "reinstall package '" + util::escape(*package) + "'"
                   : "reinstall it (owner unknown: no package manager knows it)";
  case core::RepairAction::not_module:
    return package ? "it belongs to package '" + util::escape(*package) + "'; remove it or reinstall that package"
                   : "remove it, or reinstall what put it there (owner unknown)";
  case core::RepairAction::unverifiable:
    return "give the signer's certificate with --cert FILE, or reinstall it"
           + (package ? " (package '" + util::escape(*package) + "')" : std::string());
  default:
    return {};
  }
}

std::string key_words(const core::KernelKeyFiles& key)
{
  return "key id " + key.key_id + " (" + util::quote(key.certificate) + ")";
}

std::string obstacle_words(const core::KernelRepairPlan& plan)
{
  switch (plan.obstacle) {
  case core::KernelObstacle::no_ksign_key:
    return "it has no ksign key (no " + util::quote(core::kernel_key_store(fs::path(), plan.release).relative_path())
           + " in its headers): make one and install it with its headers (ksign keys, ksign install), or sign with "
             "the key it was built with: ksign sign --key FILE --cert FILE -r <module dir>";
  case core::KernelObstacle::key_unreachable:
    return plan.key.unreachable_reason;
  case core::KernelObstacle::key_not_trusted:
    return "its image does not trust its ksign key" + (plan.key.key ? ", " + key_words(*plan.key.key) : std::string())
           + ": " + untrusted_key_fix();
  case core::KernelObstacle::none:
    break;
  }
  return {};
}

std::string no_image_note(std::string_view release)
{
  return "found no image of kernel " + util::escape(release)
         + ": judged by the certificates on disk it was probably built with (guesses)";
}

std::string signed_line(std::string_view description, const core::ModuleRepair& module)
{
  return fmt::format("signed {} (was {})", description, before_words(module));
}

namespace {

std::optional<std::string> package_of(const core::KernelRepair& repair, std::size_t index)
{
  const auto package = repair.packages.find(index);
  return package == repair.packages.end() ? std::nullopt : std::optional(package->second);
}

} // namespace

std::vector<std::string> kernel_repair_lines(const core::KernelRepair& repair)
{
  const core::KernelRepairPlan& plan = repair.plan;
  const bool blocked = plan.obstacle != core::KernelObstacle::none;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < plan.modules.size(); ++i) {
    const core::ModuleRepair& module = plan.modules[i];
    if (module.action == core::RepairAction::keep || module.action == core::RepairAction::sign) {
      if (module.action == core::RepairAction::sign && (repair.dry_run || blocked)) {
        lines.push_back(fmt::format("{} {} ({})", repair.dry_run && !blocked ? "would sign" : "cannot sign",
                                    util::quote(module.path), before_words(module)));
      }
      continue;
    }
    const std::string fix = module_fix(module.action, package_of(repair, i));
    lines.push_back(fmt::format("{} {}, not signed: {}{}", action_words(module.action), util::quote(module.path),
                                util::escape(module.problem), fix.empty() ? "" : "; " + fix));
  }
  const std::size_t to_sign = plan.count(core::RepairAction::sign);
  std::string summary = fmt::format("kernel {}: {} {}, {} ok", util::escape(plan.release), plan.modules.size(),
                                    plan.modules.size() == 1 ? "module" : "modules", plan.count(core::RepairAction::keep));
  if (to_sign > 0) {
    summary += repair.dry_run ? fmt::format(", {} to sign", to_sign)
               : blocked      ? fmt::format(", {} need a signature", to_sign)
                              : fmt::format(", {} signed", repair.signed_count());
    if (!blocked && plan.key.key) {
      summary += " with its " + key_words(*plan.key.key);
    }
  }
  for (const core::RepairAction action : {core::RepairAction::tampered, core::RepairAction::damaged,
                                          core::RepairAction::not_module, core::RepairAction::unverifiable,
                                          core::RepairAction::unreadable}) {
    if (const std::size_t n = plan.count(action); n > 0) {
      summary += fmt::format(", {} {}", n, action_words(action));
    }
  }
  if (to_sign > 0 && blocked) {
    lines.push_back(summary + "; cannot repair: " + obstacle_words(plan));
  } else {
    lines.push_back(summary + (repair.loads_after() ? (repair.dry_run && to_sign > 0 ? "; every module would load afterwards"
                                                                                     : "; every module would load")
                                                    : "; some modules would still be refused"));
  }
  return lines;
}

namespace {

void write_module_json(util::JsonWriter& json, const core::KernelRepair& repair, std::size_t index)
{
  const core::ModuleRepair& module = repair.plan.modules[index];
  json.array_begin_object();
  json.object_string("path", module.path.string());
  json.object_string("before", module.action == core::RepairAction::unreadable ? std::string_view("unreadable")
                                                                               : core::verdict_name(module.before.verdict));
  json.object_string("action", core::repair_action_name(module.action));
  if (const auto done = repair.done.find(index); done != repair.done.end()) {
    json.object_bool("signed", done->second);
  }
  if (!module.signer().empty()) {
    json.object_string("signer", module.signer());
  }
  if (!module.problem.empty()) {
    json.object_string("problem", module.problem);
  }
  if (const auto package = package_of(repair, index)) {
    json.object_string("package", *package);
  } else if (module.action != core::RepairAction::sign) {
    json.object_null("package");
  }
  json.end();
}

void write_kernel_json(util::JsonWriter& json, const core::KernelRepair& repair)
{
  const core::KernelRepairPlan& plan = repair.plan;
  json.array_begin_object();
  json.object_string("release", plan.release);
  json.object_string("obstacle", core::kernel_obstacle_name(plan.obstacle));
  if (plan.obstacle != core::KernelObstacle::none) {
    json.object_string("obstacle_fix", obstacle_words(plan));
  }
  if (plan.key.key) {
    json.object_string("key_id", plan.key.key->key_id);
    json.object_string("certificate", plan.key.key->certificate.string());
  }
  if (plan.key.trust) {
    json.object_string("image_trusts_key", core::signer_trust_name(*plan.key.trust));
  }
  if (repair.no_image) {
    json.object_string("note", no_image_note(plan.release));
  }
  json.object_begin_array("modules");
  for (std::size_t i = 0; i < plan.modules.size(); ++i) {
    if (plan.modules[i].action != core::RepairAction::keep) {
      write_module_json(json, repair, i);
    }
  }
  json.end();
  json.object_begin_object("summary");
  json.object_int("total", plan.modules.size());
  for (const core::RepairAction action :
       {core::RepairAction::keep, core::RepairAction::sign, core::RepairAction::tampered, core::RepairAction::damaged,
        core::RepairAction::not_module, core::RepairAction::unverifiable, core::RepairAction::unreadable}) {
    json.object_int(core::repair_action_name(action), plan.count(action));
  }
  json.object_int("signed", repair.signed_count());
  json.end();
  json.object_bool("loads_after", repair.loads_after());
  json.end();
}

} // namespace

void write_repair_json(util::JsonWriter& json, const std::vector<core::KernelRepair>& repairs, bool dry_run, bool ok)
{
  json.begin_object();
  json.object_bool("dry_run", dry_run);
  json.object_begin_array("kernels", util::JsonWriter::Layout::lines);
  for (const core::KernelRepair& repair : repairs) {
    write_kernel_json(json, repair);
  }
  json.end();
  json.object_bool("ok", ok);
  json.end();
}

} // namespace ksign::cli
