// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "cli/repair_text.hpp"
#include "util/json_writer.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace ksign;
using core::RepairAction;

namespace {

core::Verification verdict(core::Verdict v, std::string signer = {})
{
  core::Verification result;
  result.verdict = v;
  result.signer = std::move(signer);
  return result;
}

core::ModuleRepair module(std::string path, RepairAction action, core::Verdict before, std::string problem = {})
{
  core::ModuleRepair m;
  m.path = std::move(path);
  m.action = action;
  m.before = verdict(before);
  m.problem = std::move(problem);
  return m;
}

core::KernelKeyState key_state(core::SignerTrust trust)
{
  core::KernelKeyState key;
  key.key = core::KernelKeyFiles{};
  key.key->key_id = "1fa2a31d";
  key.key->certificate = "/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt";
  key.reachable = true;
  key.trust = trust;
  return key;
}

// A repair of kernel `release` with `modules`, every file 1 byte.
core::KernelRepair repair(std::string release, core::KernelKeyState key, std::vector<core::ModuleRepair> modules,
                          bool dry_run)
{
  std::vector<core::ModuleFile> files;
  for (const core::ModuleRepair& m : modules) {
    files.push_back({m.path, 1, {}, 1});
  }
  return core::start_repair(core::plan_kernel_repair(std::move(release), std::move(key), std::move(modules)),
                            std::move(files), dry_run);
}

// The modules of the examples below: fine, unsigned, signed by another kernel's key, tampered,
// unreadable.
std::vector<core::ModuleRepair> modules()
{
  core::ModuleRepair other = module("/m/other.ko", RepairAction::sign, core::Verdict::unknown_key);
  other.before.signer = "issuer named in the signature";
  other.old_signature = verdict(core::Verdict::ok, "ksign kb");
  return {module("/m/fine.ko", RepairAction::keep, core::Verdict::ok),
          module("/m/unsigned.ko", RepairAction::sign, core::Verdict::unsigned_module), other,
          module("/m/tampered.ko", RepairAction::tampered, core::Verdict::bad_signature,
                 "the signature does not match the module's contents"),
          module("/m/big.ko", RepairAction::unreadable, core::Verdict::malformed, "'/m/big.ko' is too large")};
}

} // namespace

TEST_CASE("repair_text: a module's state before", "[repair_text]")
{
  CHECK(cli::before_words(module("a.ko", RepairAction::keep, core::Verdict::ok)) == "ok");
  CHECK(cli::before_words(module("a.ko", RepairAction::sign, core::Verdict::unsigned_module)) == "unsigned");
  CHECK(cli::before_words(module("a.ko", RepairAction::sign, core::Verdict::signed_attributes))
        == "signed with signed attributes, which this kernel refuses");
  CHECK(cli::before_words(module("a.ko", RepairAction::tampered, core::Verdict::bad_signature)) == "bad signature");
  CHECK(cli::before_words(module("a.ko", RepairAction::damaged, core::Verdict::malformed)) == "malformed");

  core::ModuleRepair other = module("a.ko", RepairAction::sign, core::Verdict::unknown_key);
  other.before.signer = "issuer named in the signature";
  CHECK(cli::before_words(other) == "signed by 'issuer named in the signature', a key this kernel does not trust");
  // The signer the known certificates found, escaped: it comes from the module.
  other.old_signature = verdict(core::Verdict::ok, "DKMS\033[2J key\n");
  CHECK(cli::before_words(other) == "signed by 'DKMS\\x1b[2J key\\n', a key this kernel does not trust");
}

TEST_CASE("repair_text: actions and the fix for a module left as it is", "[repair_text]")
{
  CHECK(cli::action_words(RepairAction::keep) == "ok");
  CHECK(cli::action_words(RepairAction::sign) == "needs a signature");
  CHECK(cli::action_words(RepairAction::tampered) == "tampered");
  CHECK(cli::action_words(RepairAction::damaged) == "damaged");
  CHECK(cli::action_words(RepairAction::not_module) == "not a module");
  CHECK(cli::action_words(RepairAction::unverifiable) == "cannot be checked");
  CHECK(cli::action_words(RepairAction::unreadable) == "unreadable");

  const std::optional<std::string> package = "linux-image-6.12.9";
  const std::optional<std::string> none;
  CHECK(cli::module_fix(RepairAction::tampered, package) == "reinstall package 'linux-image-6.12.9'");
  CHECK(cli::module_fix(RepairAction::damaged, none) == "reinstall it (owner unknown: no package manager knows it)");
  CHECK(cli::module_fix(RepairAction::not_module, package)
        == "it belongs to package 'linux-image-6.12.9'; remove it or reinstall that package");
  CHECK(cli::module_fix(RepairAction::not_module, none) == "remove it, or reinstall what put it there (owner unknown)");
  CHECK(cli::module_fix(RepairAction::unverifiable, package)
        == "give the signer's certificate with --cert FILE, or reinstall it (package 'linux-image-6.12.9')");
  CHECK(cli::module_fix(RepairAction::unverifiable, none) == "give the signer's certificate with --cert FILE, or reinstall it");
  CHECK(cli::module_fix(RepairAction::sign, package).empty());
  CHECK(cli::module_fix(RepairAction::unreadable, none).empty());
  // A package name is what the package manager printed: escaped.
  CHECK(cli::module_fix(RepairAction::damaged, std::string("evil\033]0;x\007")) == "reinstall package 'evil\\x1b]0;x\\x07'");
}

TEST_CASE("repair_text: why a kernel cannot be repaired", "[repair_text]")
{
  core::KernelRepairPlan plan = core::plan_kernel_repair("6.12.9", {}, {});
  REQUIRE(plan.obstacle == core::KernelObstacle::no_ksign_key);
  CHECK(cli::obstacle_words(plan)
        == "it has no ksign key (no '6.12.9/build/certs-local' in its headers): make one and install it with its "
           "headers (ksign keys, ksign install), or sign with the key it was built with: ksign sign --key FILE "
           "--cert FILE -r <module dir>");

  core::KernelKeyState unreachable = key_state(core::SignerTrust::trusted);
  unreachable.reachable = false;
  unreachable.unreachable_reason = "kernel 6.12.9 has its certificate but no private key";
  plan = core::plan_kernel_repair("6.12.9", unreachable, {});
  CHECK(cli::obstacle_words(plan) == "kernel 6.12.9 has its certificate but no private key");

  plan = core::plan_kernel_repair("6.12.9", key_state(core::SignerTrust::unknown), {});
  CHECK(cli::obstacle_words(plan)
        == "its image does not trust its ksign key, key id 1fa2a31d "
           "('/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt'): rebuild the kernel with that key "
           "(ksign config points CONFIG_SYSTEM_TRUSTED_KEYS at it) or put it into the image with the kernel's "
           "scripts/insert-sys-cert");

  plan = core::plan_kernel_repair("6.12.9", key_state(core::SignerTrust::trusted), {});
  CHECK(cli::obstacle_words(plan).empty());

  CHECK(cli::no_image_note("6.12.9\n")
        == "found no image of kernel 6.12.9\\n: judged by the certificates on disk it was probably built with (guesses)");
}

TEST_CASE("repair_text: a dry run's lines", "[repair_text]")
{
  core::KernelRepair run = repair("6.12.9", key_state(core::SignerTrust::trusted), modules(), true);
  run.packages[3] = "linux-image-6.12.9"; // plan index 3: tampered.ko (by path: big, fine, other, tampered, unsigned)
  REQUIRE(run.plan.modules[3].path == "/m/tampered.ko");
  CHECK(cli::kernel_repair_lines(run)
        == std::vector<std::string>{
          "unreadable '/m/big.ko', not signed: '/m/big.ko' is too large",
          "would sign '/m/other.ko' (signed by 'ksign kb', a key this kernel does not trust)",
          "tampered '/m/tampered.ko', not signed: the signature does not match the module's contents; reinstall "
          "package 'linux-image-6.12.9'",
          "would sign '/m/unsigned.ko' (unsigned)",
          "kernel 6.12.9: 5 modules, 1 ok, 2 to sign with its key id 1fa2a31d "
          "('/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt'), 1 tampered, 1 unreadable; some modules "
          "would still be refused",
        });

  // Only modules to sign, and their kernel could: it would load them all.
  core::KernelRepair fine = repair("6.12.9", key_state(core::SignerTrust::trusted),
                                   {module("/m/unsigned.ko", RepairAction::sign, core::Verdict::unsigned_module)}, true);
  CHECK(cli::kernel_repair_lines(fine).back()
        == "kernel 6.12.9: 1 module, 0 ok, 1 to sign with its key id 1fa2a31d "
           "('/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt'); every module would load afterwards");
}

TEST_CASE("repair_text: a run's lines", "[repair_text]")
{
  std::vector<core::ModuleRepair> list = modules();
  list.erase(list.begin() + 3, list.end()); // fine, unsigned, other
  core::KernelRepair run = repair("6.12.9", key_state(core::SignerTrust::trusted), list, false);
  // The modules signed are said as they are signed (signed_line), not again here.
  run.done[1] = true;
  CHECK(cli::kernel_repair_lines(run)
        == std::vector<std::string>{"kernel 6.12.9: 3 modules, 1 ok, 1 signed with its key id 1fa2a31d "
                                    "('/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt'); some modules "
                                    "would still be refused"});
  run.done[2] = true;
  CHECK(cli::kernel_repair_lines(run).back()
        == "kernel 6.12.9: 3 modules, 1 ok, 2 signed with its key id 1fa2a31d "
           "('/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt'); every module would load");
  CHECK(cli::signed_line("'/m/other.ko' (xz), replacing its old signature", run.plan.modules[1])
        == "signed '/m/other.ko' (xz), replacing its old signature (was signed by 'ksign kb', a key this kernel does "
           "not trust)");

  // Nothing to sign: no key named.
  const core::KernelRepair fine =
    repair("6.12.9", {}, {module("/m/fine.ko", RepairAction::keep, core::Verdict::ok)}, false);
  CHECK(cli::kernel_repair_lines(fine) == std::vector<std::string>{"kernel 6.12.9: 1 module, 1 ok; every module would load"});
}

TEST_CASE("repair_text: a kernel that cannot be repaired, its release and paths escaped", "[repair_text]")
{
  const core::KernelRepair run =
    repair("6.12\0339", key_state(core::SignerTrust::unknown),
           {module("/m/un\nsigned.ko", RepairAction::sign, core::Verdict::unsigned_module)}, false);
  REQUIRE(run.signing_order().empty());
  const std::vector<std::string> lines = cli::kernel_repair_lines(run);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "cannot sign '/m/un\\nsigned.ko' (unsigned)");
  CHECK(lines[1].starts_with("kernel 6.12\\x1b9: 1 module, 0 ok, 1 need a signature; cannot repair: its image does not "
                             "trust its ksign key, key id 1fa2a31d"));
  // A dry run of it says the same modules cannot be signed, and counts them "to sign".
  const core::KernelRepair dry =
    repair("6.12.9", key_state(core::SignerTrust::unknown),
           {module("/m/unsigned.ko", RepairAction::sign, core::Verdict::unsigned_module)}, true);
  CHECK(cli::kernel_repair_lines(dry).front() == "cannot sign '/m/unsigned.ko' (unsigned)");
  CHECK(cli::kernel_repair_lines(dry).back().starts_with("kernel 6.12.9: 1 module, 0 ok, 1 to sign; cannot repair: "));
}

TEST_CASE("repair_text: the --json document", "[repair_text]")
{
  std::vector<core::KernelRepair> runs;
  runs.push_back(repair("6.12.9", key_state(core::SignerTrust::trusted), modules(), false));
  runs.back().done[2] = true; // other.ko signed, unsigned.ko not (changed since it was checked)
  runs.back().packages[3] = "linux-image-6.12.9";
  runs.push_back(repair("6.12.10", {}, {module("/n/unsigned.ko", RepairAction::sign, core::Verdict::unsigned_module)},
                        false));
  runs.back().no_image = true;
  util::JsonWriter json;
  cli::write_repair_json(json, runs, false, false);
  CHECK(json.text()
        == "{\n"
           "  \"dry_run\": false,\n"
           "  \"kernels\": [\n"
           "    {\"release\": \"6.12.9\", \"obstacle\": \"none\", \"key_id\": \"1fa2a31d\", \"certificate\": "
           "\"/lib/modules/6.12.9/build/certs-local/current/signing_crt.crt\", \"image_trusts_key\": \"trusted\", "
           "\"modules\": ["
           "{\"path\": \"/m/big.ko\", \"before\": \"unreadable\", \"action\": \"unreadable\", \"problem\": \"'/m/big.ko' "
           "is too large\", \"package\": null}, "
           "{\"path\": \"/m/other.ko\", \"before\": \"unknown_key\", \"action\": \"sign\", \"signed\": true, \"signer\": "
           "\"ksign kb\"}, "
           "{\"path\": \"/m/tampered.ko\", \"before\": \"bad_signature\", \"action\": \"tampered\", \"problem\": \"the "
           "signature does not match the module's contents\", \"package\": \"linux-image-6.12.9\"}, "
           "{\"path\": \"/m/unsigned.ko\", \"before\": \"unsigned\", \"action\": \"sign\", \"signed\": false}], "
           "\"summary\": {\"total\": 5, \"keep\": 1, \"sign\": 2, \"tampered\": 1, \"damaged\": 0, \"not_a_module\": 0, "
           "\"unverifiable\": 0, \"unreadable\": 1, \"signed\": 1}, \"loads_after\": false},\n"
           "    {\"release\": \"6.12.10\", \"obstacle\": \"no_ksign_key\", \"obstacle_fix\": \"it has no ksign key (no "
           "'6.12.10/build/certs-local' in its headers): make one and install it with its headers (ksign keys, ksign "
           "install), or sign with the key it was built with: ksign sign --key FILE --cert FILE -r <module dir>\", "
           "\"note\": \"found no image of kernel 6.12.10: judged by the certificates on disk it was probably built with "
           "(guesses)\", \"modules\": [{\"path\": \"/n/unsigned.ko\", \"before\": \"unsigned\", \"action\": \"sign\", "
           "\"signed\": false}], \"summary\": {\"total\": 1, \"keep\": 0, \"sign\": 1, \"tampered\": 0, \"damaged\": 0, "
           "\"not_a_module\": 0, \"unverifiable\": 0, \"unreadable\": 0, \"signed\": 0}, \"loads_after\": false}\n"
           "  ],\n"
           "  \"ok\": false\n"
           "}");
}
