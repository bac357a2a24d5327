// SPDX-License-Identifier: MIT
// The gzip decompressor over hostile data (src/core/compress.*), output bounded by fuzz_support.hpp.
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  return ksign::fuzz::decompress_one(ksign::core::Compression::gzip, data, size);
}
