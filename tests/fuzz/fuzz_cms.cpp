// SPDX-License-Identifier: MIT
// The PKCS#7/CMS SignedData reader (src/core/cms.*) over a hostile DER blob.
#include "fuzz_support.hpp"

#include "core/cms.hpp"

#include <functional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace ksign;
  const ByteView der = fuzz::input(data, size);
  fuzz::expect_clean_rejection([&] {
    const core::ParsedSignedData parsed = core::parse_signed_data(der);
    // Every view points into the parsed buffer (the signer's identity is a copy of its own).
    for (const ByteView view : {parsed.signed_attributes, parsed.signature}) {
      fuzz::require(view.empty() || (std::less_equal<>()(data, view.data()) &&
                                     std::less_equal<>()(view.data() + view.size(), data + size)),
                    "parsed views stay inside the input");
    }
  });
  return 0;
}
