// SPDX-License-Identifier: MIT
#pragma once
// What the codec files (compress_gzip.cpp, compress_xz.cpp, compress_zstd.cpp) share with the
// codec table in compress.cpp. Not for use outside core/compress*.

#include "core/compress.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

namespace ksign::core::codec {

// A size the compressed data claims for itself is believed, for the first allocation, only
// up to this ratio; past it the buffer grows as output really arrives.
inline constexpr std::uint64_t k_max_trusted_ratio = 64;

// Least step by which an output buffer of unknown final size grows.
inline constexpr std::size_t k_min_growth = 64 * 1024;

[[noreturn]] void throw_corrupt(Compression compression, const std::string& reason);
// Thrown by a codec whose output would pass its limit; decompress() words the error, since
// only it knows whether the absolute limit or the ratio cap set that limit.
struct OutputLimitReached
{
};

// First allocation for decompressing `input_size` bytes whose content claims `claimed` bytes.
[[nodiscard]] std::size_t initial_output_size(std::size_t input_size, std::optional<std::uint64_t> claimed,
                                              std::uint64_t limit);

// Make room after `used` bytes of `out`, or throw OutputLimitReached when the output would pass
// `limit`. Growing never holds more than 1.5 times `limit` at once.
void grow_output(Bytes& out, std::size_t used, std::uint64_t limit);

// zlib and liblzma count some lengths in 32 bits; feed them at most this much at once.
[[nodiscard]] inline unsigned clamp_to_uint(std::size_t size)
{
  return static_cast<unsigned>(std::min<std::size_t>(size, UINT_MAX));
}

// One file per codec; `level` is already checked against the codec's range.
[[nodiscard]] Bytes gzip_compress(ByteView data, int level);
[[nodiscard]] Bytes gzip_decompress(ByteView data, std::uint64_t limit);
[[nodiscard]] Bytes xz_compress(ByteView data, int level);
[[nodiscard]] Bytes xz_decompress(ByteView data, std::uint64_t limit);
[[nodiscard]] Bytes zstd_compress(ByteView data, int level);
[[nodiscard]] Bytes zstd_decompress(ByteView data, std::uint64_t limit);
[[nodiscard]] int zstd_max_level();

} // namespace ksign::core::codec
