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

// Run `parse`; a typed Error is the expected answer to bad input. Any other exception escapes
// and libFuzzer reports it.
template<typename Parse> void expect_clean_rejection(Parse&& parse)
{
  try {
    parse();
  } catch (const Error&) {
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

// Largest compressed module the verify target hands to verify_module, which decompresses with
// the module limit: the input is cut to keep the worst case near 64 MiB of output: gzip expands at most ~1032:1, xz about
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

// One decompressor with a 64 MiB output limit. Shared by the gzip, xz and zstd targets.
inline int decompress_one(Compression compression, const std::uint8_t* data, std::size_t size)
{
  // A bomb is not a finding: the decompressor's own size limit must stop it.
  constexpr std::uint64_t output_limit = std::uint64_t{64} << 20;
  expect_clean_rejection([&] { (void)core::decompress(compression, input(data, size), output_limit); });
  return 0;
}

} // namespace ksign::fuzz
