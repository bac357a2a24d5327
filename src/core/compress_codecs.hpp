// SPDX-License-Identifier: MIT
#pragma once
// What the codec files (compress_gzip.cpp, compress_xz.cpp, compress_zstd.cpp) share with the
// codec table in compress.cpp. Not for use outside core/compress*.

#include "core/compress.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace ksign::core::codec {

[[noreturn]] void throw_corrupt(Compression compression, const std::string& reason);
// Thrown by a codec whose output would pass its limit; decompress() words the error, since
// only it knows whether the absolute limit or the ratio cap set that limit.
struct OutputLimitReached
{
};

// Least step by which a compressor's output buffer grows past its bound (in practice never).
inline constexpr std::size_t k_min_growth = 64 * 1024;

// What decoding a whole file found (core::Decompressed without the data).
struct DecodeResult
{
  std::uint64_t size = 0;       // all members / streams / frames
  std::uint64_t first_part = 0; // the first one alone: what the kernel's decompressor reads
  std::size_t parts = 0;        // members / streams / data frames (not padding or skippable frames)
  bool leading_skippable = false;
  std::optional<std::string> kernel_problem; // why the kernel's decompressor cannot read the first part
};

// Where decoded output goes: into `out` while it fits, after that only counted (through a
// scratch buffer), so that a second pass can decode into exactly the room needed.
class OutputSink
{
public:
  OutputSink(std::span<std::uint8_t> out, std::uint64_t limit) : m_out(out), m_limit(limit) {}
  // Room for the next piece of output: the rest of `out`, else the scratch buffer.
  [[nodiscard]] std::span<std::uint8_t> room();
  // `size` bytes of room() were written; throws OutputLimitReached past the limit.
  void wrote(std::size_t size);
  [[nodiscard]] std::uint64_t total() const noexcept { return m_total; }

private:
  std::span<std::uint8_t> m_out;
  std::uint64_t m_limit;
  std::uint64_t m_total = 0;
  Bytes m_scratch;
};

// zlib and liblzma count some lengths in 32 bits; feed them at most this much at once.
[[nodiscard]] inline unsigned clamp_to_uint(std::size_t size)
{
  return static_cast<unsigned>(std::min<std::size_t>(size, UINT_MAX));
}

// One file per codec; `level` is already checked against the codec's range. A decoder reads
// every member / stream / frame of `data` into `sink` and throws for corrupt data; a size hint
// is the size the data claims for itself (a lower bound when there are several parts).
[[nodiscard]] Bytes gzip_compress(ByteView data, int level);
[[nodiscard]] DecodeResult gzip_decode(ByteView data, OutputSink& sink);
[[nodiscard]] std::optional<std::uint64_t> gzip_size_hint(ByteView data);
[[nodiscard]] Bytes xz_compress(ByteView data, int level);
[[nodiscard]] DecodeResult xz_decode(ByteView data, OutputSink& sink);
[[nodiscard]] std::optional<std::uint64_t> xz_size_hint(ByteView data);
[[nodiscard]] Bytes zstd_compress(ByteView data, int level);
[[nodiscard]] DecodeResult zstd_decode(ByteView data, OutputSink& sink);
[[nodiscard]] std::optional<std::uint64_t> zstd_size_hint(ByteView data);
[[nodiscard]] int zstd_max_level();
// Bytes before the zstd frame magic taken by skippable frames (0 when none come first).
[[nodiscard]] std::size_t zstd_skippable_prefix(ByteView data);

} // namespace ksign::core::codec
