// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/elf.hpp"
#include "test_support.hpp"

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::kernel_module_problem", "[elf]")
{
  const Bytes module = test::sample_module();
  CHECK_FALSE(kernel_module_problem(module).has_value());

  CHECK(kernel_module_problem(Bytes(1000, 'x')).value() == "not an ELF file");
  CHECK(kernel_module_problem(Bytes()).value() == "not an ELF file");

  Bytes truncated(module.begin(), module.begin() + static_cast<std::ptrdiff_t>(module.size() / 2));
  CHECK(kernel_module_problem(truncated).value().find("outside the file") != std::string::npos);

  Bytes executable = module;
  executable[16] = 2; // e_type ET_EXEC: not a relocatable object
  CHECK(kernel_module_problem(executable).has_value());
}
