// SPDX-License-Identifier: MIT
// The kernel-module ELF check (src/core/elf.*) over hostile bytes.
#include "fuzz_support.hpp"

#include "core/elf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  ksign::fuzz::expect_clean_rejection(
    [&] { (void)ksign::core::kernel_module_problem(ksign::fuzz::input(data, size)); });
  return 0;
}
