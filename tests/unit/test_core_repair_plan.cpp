// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "test_support.hpp"

#include "core/repair_plan.hpp"

#include <fstream>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

namespace {

Verification verdict(Verdict v, std::string problem = {}, std::string signer = {})
{
  Verification result;
  result.verdict = v;
  result.problem = std::move(problem);
  result.signer = std::move(signer);
  return result;
}

RepairAction decide(const Verification& kernel, const Verification* known = nullptr,
                    const std::optional<std::string>& not_module = std::nullopt)
{
  std::string problem;
  return decide_repair(kernel, known, not_module, problem);
}

} // namespace

TEST_CASE("core::decide_repair signs only what lacks the right signature", "[repair]")
{
  CHECK(decide(verdict(Verdict::ok)) == RepairAction::keep);
  CHECK(decide(verdict(Verdict::unsigned_module)) == RepairAction::sign);
  CHECK(decide(verdict(Verdict::signed_attributes)) == RepairAction::sign);
  const Verification valid = verdict(Verdict::ok, {}, "other kernel");
  CHECK(decide(verdict(Verdict::unknown_key), &valid) == RepairAction::sign);
  const Verification valid_attributes = verdict(Verdict::signed_attributes);
  CHECK(decide(verdict(Verdict::unknown_key), &valid_attributes) == RepairAction::sign);
}

TEST_CASE("core::decide_repair never blesses a changed module", "[repair]")
{
  // A key the kernel trusts signed other contents.
  CHECK(decide(verdict(Verdict::bad_signature, "the signature does not match")) == RepairAction::tampered);
  // A key ksign knows (another kernel's) signed other contents.
  const Verification changed = verdict(Verdict::bad_signature, "the signature does not match", "kb");
  std::string problem;
  CHECK(decide_repair(verdict(Verdict::unknown_key), &changed, std::nullopt, problem) == RepairAction::tampered);
  CHECK(problem == "the signature does not match (signer 'kb')");
  // A key nobody has a certificate of: cannot be told, so not signed.
  const Verification unknown = verdict(Verdict::unknown_key);
  CHECK(decide(verdict(Verdict::unknown_key), &unknown) == RepairAction::unverifiable);
  CHECK(decide(verdict(Verdict::unknown_key)) == RepairAction::unverifiable);
  CHECK(decide(verdict(Verdict::malformed, "bad trailer")) == RepairAction::damaged);
  const Verification malformed = verdict(Verdict::malformed, "two signers");
  CHECK(decide(verdict(Verdict::unknown_key), &malformed) == RepairAction::damaged);
  // Not a module: never signed, whatever its signature.
  CHECK(decide(verdict(Verdict::unsigned_module), nullptr, std::string("not an ELF file")) == RepairAction::not_module);
  const Verification valid = verdict(Verdict::ok);
  CHECK(decide(verdict(Verdict::unknown_key), &valid, std::string("not an ELF file")) == RepairAction::not_module);
}

TEST_CASE("core::plan_kernel_repair: obstacles and loads_after", "[repair]")
{
  ModuleRepair keep;
  keep.path = "b.ko";
  keep.action = RepairAction::keep;
  ModuleRepair sign;
  sign.path = "a.ko";
  sign.action = RepairAction::sign;

  KernelKeyState none;
  KernelRepairPlan plan = plan_kernel_repair("6.12", none, {keep, sign});
  CHECK(plan.obstacle == KernelObstacle::no_ksign_key);
  CHECK(plan.modules.front().path == "a.ko"); // ordered by path
  CHECK(plan.count(RepairAction::sign) == 1);
  CHECK_FALSE(plan.loads_after());
  CHECK(plan_kernel_repair("6.12", none, {keep}).loads_after()); // nothing to sign: no key needed

  KernelKeyState unreachable;
  unreachable.key = KernelKeyFiles{};
  CHECK(kernel_obstacle(unreachable) == KernelObstacle::key_unreachable);
  KernelKeyState untrusted = unreachable;
  untrusted.reachable = true;
  untrusted.trust = SignerTrust::unknown;
  CHECK(kernel_obstacle(untrusted) == KernelObstacle::key_not_trusted);
  KernelKeyState good = untrusted;
  good.trust = SignerTrust::trusted;
  CHECK(kernel_obstacle(good) == KernelObstacle::none);
  KernelKeyState unknown_image = untrusted;
  unknown_image.trust.reset(); // no image to ask: not an obstacle
  CHECK(kernel_obstacle(unknown_image) == KernelObstacle::none);
  CHECK(plan_kernel_repair("6.12", good, {keep, sign}).loads_after());

  ModuleRepair tampered;
  tampered.action = RepairAction::tampered;
  CHECK_FALSE(plan_kernel_repair("6.12", good, {keep, tampered}).loads_after());
}

TEST_CASE("core::names_owner: the modules reported with their package", "[repair]")
{
  CHECK(names_owner(RepairAction::tampered));
  CHECK(names_owner(RepairAction::damaged));
  CHECK(names_owner(RepairAction::not_module));
  CHECK(names_owner(RepairAction::unverifiable));
  CHECK_FALSE(names_owner(RepairAction::keep));
  CHECK_FALSE(names_owner(RepairAction::sign));
  CHECK_FALSE(names_owner(RepairAction::unreadable)); // its problem is reading it, not its package
}

TEST_CASE("core::ModuleRepair: its signer, its bytes as judged", "[repair]")
{
  ModuleRepair module;
  module.before = verdict(Verdict::unknown_key, {}, "issuer in the signature");
  CHECK(module.signer() == "issuer in the signature");
  module.old_signature = verdict(Verdict::ok, {}, "");
  CHECK(module.signer() == "issuer in the signature"); // the known signers named nobody
  module.old_signature = verdict(Verdict::ok, {}, "DKMS module signing key");
  CHECK(module.signer() == "DKMS module signing key");

  const Bytes judged = {0x7f, 'E', 'L', 'F', 1, 2, 3};
  module.file_digest = repair_digest(judged);
  CHECK(module.is_as_judged(judged));
  Bytes changed = judged;
  changed.back() ^= 1;
  CHECK_FALSE(module.is_as_judged(changed));
  CHECK_FALSE(module.is_as_judged(ByteView(judged).first(judged.size() - 1)));
}

namespace {

ModuleRepair repair_of(std::string path, RepairAction action)
{
  ModuleRepair module;
  module.path = std::move(path);
  module.action = action;
  return module;
}

ModuleFile file_of(std::string path, std::uintmax_t size)
{
  ModuleFile file;
  file.path = std::move(path);
  file.size = size;
  return file;
}

KernelKeyState usable_key()
{
  KernelKeyState key;
  key.key = KernelKeyFiles{};
  key.reachable = true;
  key.trust = SignerTrust::trusted;
  return key;
}

} // namespace

TEST_CASE("core::start_repair: files in the plan's order, what it signs, largest first", "[repair]")
{
  const std::vector<ModuleRepair> modules = {repair_of("d.ko", RepairAction::sign), repair_of("a.ko", RepairAction::keep),
                                             repair_of("c.ko", RepairAction::sign), repair_of("b.ko", RepairAction::tampered),
                                             repair_of("e.ko", RepairAction::sign)};
  // collect_modules' order (largest first), not the plan's.
  const std::vector<ModuleFile> files = {file_of("c.ko", 900), file_of("e.ko", 500), file_of("b.ko", 400),
                                         file_of("a.ko", 300), file_of("d.ko", 100)};
  KernelRepair run = start_repair(plan_kernel_repair("6.12", usable_key(), modules), files, false);
  REQUIRE(run.files.size() == 5);
  for (std::size_t i = 0; i < run.files.size(); ++i) {
    CHECK(run.files[i].path == run.plan.modules[i].path); // one index names both
  }
  CHECK(run.plan.modules[0].path == "a.ko");
  CHECK(run.files[2].size == 900); // c.ko
  // Every module to sign is listed, none signed yet.
  CHECK(run.done == std::map<std::size_t, bool>{{2, false}, {3, false}, {4, false}});
  CHECK(run.signed_count() == 0);
  CHECK(run.signing_order() == std::vector<std::size_t>{2, 4, 3}); // c (900), e (500), d (100)
  CHECK_FALSE(run.loads_after()); // not signed yet; b is tampered anyway

  // A dry run signs nothing; nor does a kernel with an obstacle.
  CHECK(start_repair(plan_kernel_repair("6.12", usable_key(), modules), files, true).signing_order().empty());
  KernelKeyState untrusted = usable_key();
  untrusted.trust = SignerTrust::unknown;
  const KernelRepair blocked = start_repair(plan_kernel_repair("6.12", untrusted, modules), files, false);
  CHECK(blocked.signing_order().empty());
  CHECK(blocked.done.size() == 3); // still listed: the plan says they need it
}

TEST_CASE("core::KernelRepair::loads_after: what was signed, or on a dry run what would be", "[repair]")
{
  const std::vector<ModuleRepair> modules = {repair_of("a.ko", RepairAction::keep), repair_of("b.ko", RepairAction::sign),
                                             repair_of("c.ko", RepairAction::sign)};
  const std::vector<ModuleFile> files = {file_of("a.ko", 1), file_of("b.ko", 2), file_of("c.ko", 3)};
  KernelRepair run = start_repair(plan_kernel_repair("6.12", usable_key(), modules), files, false);
  run.done[1] = true;
  CHECK(run.signed_count() == 1);
  CHECK_FALSE(run.loads_after()); // c.ko was not signed (it changed since it was checked)
  run.done[2] = true;
  CHECK(run.signed_count() == 2);
  CHECK(run.loads_after());

  CHECK(start_repair(plan_kernel_repair("6.12", usable_key(), modules), files, true).loads_after());
  CHECK_FALSE(start_repair(plan_kernel_repair("6.12", KernelKeyState{}, modules), files, true).loads_after());
}

TEST_CASE("core::owning_packages asks only about the modules reported with their owner", "[repair]")
{
  // A file the host's package manager knows stands in for a module it installed.
  const std::filesystem::path owned = "/usr/bin/dpkg-query";
  const std::optional<std::string> owner = owning_package(owned);
  if (!owner) {
    WARN("no dpkg here to own " + owned.string() + ": not checked");
    return;
  }
  CHECK(*owner == "dpkg");
  const KernelRepairPlan plan = plan_kernel_repair(
    "6.12", usable_key(),
    {repair_of(owned.string(), RepairAction::tampered), repair_of("/nonexistent/ksign/b.ko", RepairAction::damaged),
     repair_of("/usr/bin/dpkg", RepairAction::sign)});
  // By plan index (ordered by path): the tampered one is named, the one nobody owns is left out,
  // and the one to sign, though dpkg owns it too, is not asked about (no package in its fix).
  CHECK(owning_packages(plan) == std::map<std::size_t, std::string>{{2, "dpkg"}});
}

TEST_CASE("core::known_signers: DKMS's own key from its tree, after the given files", "[repair]")
{
  const test::TempDir dir;
  const fs::path given = dir.path() / "other.pem";
  test::write_text(given, test::certificate_pem(test::make_key(KeyType::ec, "another machine")));
  const fs::path dkms = dir.path() / "dkms";
  fs::create_directories(dkms);
  const Bytes mok = test::certificate_der(test::make_key(KeyType::rsa, "DKMS module signing key"));
  std::ofstream(dkms / "mok.pub", std::ios::binary).write(reinterpret_cast<const char*>(mok.data()),
                                                         static_cast<std::streamsize>(mok.size()));

  KnownSignerSources sources;
  sources.files = {given};
  sources.dkms_tree = dkms;
  KnownSigners known = known_signers(sources);
  CHECK(known.count == 2);
  CHECK(known.read == std::vector<fs::path>{given, dkms / "mok.pub"});
  CHECK(known.skipped.empty());

  // A mok.pub that holds no certificate is named; a tree without one is not.
  test::write_text(dkms / "mok.pub", "not a certificate");
  known = known_signers(sources);
  CHECK(known.count == 1);
  CHECK(known.skipped == std::vector<fs::path>{dkms / "mok.pub"});
  fs::remove(dkms / "mok.pub");
  CHECK(known_signers(sources).skipped.empty());
}
