// SPDX-License-Identifier: MIT
// The whole verify path (src/core/module_verifier.*): a hostile module image, compressed or not,
// judged against one trusted certificate (the one that signed the seed modules).
#include "fuzz_support.hpp"

#include "core/keys.hpp"
#include "core/module_verifier.hpp"

namespace {

ksign::core::TrustedKeys g_trusted;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
  g_trusted.add(ksign::core::load_certificate(KSIGN_FUZZ_TRUSTED_CERT));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace ksign;
  const ByteView file = fuzz::input(data, size);
  // verify_module decompresses: bound the bomb as the codec targets do.
  if (size > fuzz::max_compressed_input(core::detect_compression(file))) {
    return -1;
  }
  // Documented never to throw for a bad module, so nothing is caught here.
  (void)core::verify_module(file, g_trusted);
  return 0;
}
