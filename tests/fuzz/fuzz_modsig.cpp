// SPDX-License-Identifier: MIT
// The appended-signature trailer (src/core/modsig.*): the last trailer, then the whole chain.
#include "fuzz_support.hpp"

#include "core/modsig.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace ksign;
  const ByteView module = fuzz::input(data, size);
  const core::Trailer trailer = core::parse_trailer(module);
  if (trailer.status == core::TrailerStatus::signed_module) {
    // The blob sits between the signed bytes and the 40-byte trailer, inside the buffer.
    fuzz::require(trailer.cms.data() == data + trailer.signed_length, "cms starts at signed_length");
    fuzz::require(trailer.signed_length + trailer.cms.size() + core::k_trailer_size == size,
                  "signed bytes, cms and trailer add up to the file");
  }
  fuzz::expect_clean_rejection([&] {
    const std::size_t length = core::unsigned_length(module);
    fuzz::require(length <= size, "unsigned length within the file");
  });
  return 0;
}
