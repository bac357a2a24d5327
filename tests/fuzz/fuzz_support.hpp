// SPDX-License-Identifier: MIT
#pragma once

// Shared by the libFuzzer targets. Each target makes one or two calls into src/core, so that it
// is re-pointed easily when core functions move.

#include "core/compress.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace ksign::fuzz {

using core::Compression;

inline ByteView input(const std::uint8_t* data, std::size_t size)
{
  return {data, size};
}

// Run `parse`; a typed Error is the expected answer to bad input. Errc::internal says a broken
// invariant, which hostile input must never reach, so it is a finding. Any other exception
// escapes and libFuzzer reports it.
template<typename Parse> void expect_clean_rejection(Parse&& parse)
{
  try {
    parse();
  } catch (const Error& error) {
    if (error.code() == Errc::internal) {
      std::fprintf(stderr, "internal error from hostile input: %s\n", error.what());
      std::abort();
    }
  }
}

// A finding when `condition` does not hold.
inline void require(bool condition, const char* what)
{
  if (!condition) {
    std::fprintf(stderr, "broken property: %s\n", what);
    std::abort();
  }
}

// Largest compressed input a target hands to a decompressor. A decompression bomb is not a
// finding (ksign caps the output at 4 GiB today; issue 13 asks for a tighter cap), so the input
// is cut to keep the worst case near 64 MiB of output: gzip expands at most ~1032:1, xz about
// 9000:1 (LZMA2 rep-matches), zstd 32768:1 (4-byte RLE blocks of 128 KiB).
inline std::size_t max_compressed_input(Compression compression)
{
  switch (compression) {
  case Compression::none:
    break;
  case Compression::gzip:
    return std::size_t{64} << 10;
  case Compression::xz:
    return std::size_t{8} << 10;
  case Compression::zstd:
    return std::size_t{2} << 10;
  }
  return SIZE_MAX;
}

// One decompressor, over input cut as above. Shared by the gzip, xz and zstd targets.
inline int decompress_one(Compression compression, const std::uint8_t* data, std::size_t size)
{
  if (size > max_compressed_input(compression)) {
    return -1; // not added to the corpus
  }
  expect_clean_rejection([&] { (void)core::decompress(compression, input(data, size)); });
  return 0;
}

} // namespace ksign::fuzz
