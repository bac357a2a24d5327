// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/repair_plan.hpp"

using namespace ksign;
using namespace ksign::core;

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
