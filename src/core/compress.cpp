// SPDX-License-Identifier: MIT
// The codec table: each format's magic, names, level range and functions in one row, the way
// kmod's comp_types[] does it. The codecs themselves live in compress_<format>.cpp.
#include "core/compress.hpp"

#include "core/compress_codecs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace ksign::core {

namespace {

struct Codec
{
  Compression type;
  std::string_view name;
  std::string_view suffix;
  std::array<std::uint8_t, k_compression_magic_size> magic;
  std::size_t magic_size;
  LevelRange levels;
  int kernel_level; // what the kernel's Makefile.modinst uses
  Bytes (*compress)(ByteView data, int level);
  Bytes (*decompress)(ByteView data, std::uint64_t limit);
};

// Made on first use: zstd's highest level comes from libzstd at run time, and a table made
// during static initialisation could be read (say, by a command's help text) before it is.
std::span<const Codec> codecs()
{
  static const Codec table[] = {
    {Compression::gzip, "gzip", ".gz", {0x1f, 0x8b, 0x08}, 3, {1, 9}, 6, codec::gzip_compress, codec::gzip_decompress},
    {Compression::xz, "xz", ".xz", {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}, 6, {0, 9}, 6, codec::xz_compress,
     codec::xz_decompress},
    {Compression::zstd, "zstd", ".zst", {0x28, 0xb5, 0x2f, 0xfd}, 4, {1, codec::zstd_max_level()}, 3,
     codec::zstd_compress, codec::zstd_decompress},
  };
  return table;
}

const Codec* find_codec(Compression compression)
{
  for (const Codec& codec : codecs()) {
    if (codec.type == compression) {
      return &codec;
    }
  }
  return nullptr; // Compression::none
}

} // namespace

namespace codec {

void throw_corrupt(Compression compression, const std::string& reason)
{
  throw Error(Errc::format, "corrupt " + std::string(compression_name(compression)) + " data: " + reason);
}


std::size_t initial_output_size(std::size_t input_size, std::optional<std::uint64_t> claimed, std::uint64_t limit)
{
  const std::uint64_t trusted = std::uint64_t{input_size} * k_max_trusted_ratio + k_min_growth;
  const std::uint64_t guess = claimed ? std::min(*claimed, trusted) : std::uint64_t{input_size} * 4 + k_min_growth;
  return static_cast<std::size_t>(std::min(guess, limit));
}

void grow_output(Bytes& out, std::size_t used, std::uint64_t limit)
{
  if (used >= limit) {
    throw OutputLimitReached{};
  }
  // Doubling, but through limit/2 to the limit: growing copies, so the old and the new buffer
  // are alive at once, and this way they never hold more than 1.5 times the limit together.
  std::uint64_t size = std::max<std::uint64_t>(std::uint64_t{out.size()} * 2, used + k_min_growth);
  const std::uint64_t half = limit / 2;
  if (size > half) {
    size = out.size() < half ? half : limit;
  }
  // reserve() takes exactly what is asked; resize() alone may double the capacity again.
  out.reserve(static_cast<std::size_t>(size));
  out.resize(static_cast<std::size_t>(size));
}

} // namespace codec

Compression detect_compression(ByteView data)
{
  for (const Codec& codec : codecs()) {
    if (data.size() >= codec.magic_size && std::equal(codec.magic.begin(), codec.magic.begin() + codec.magic_size,
                                                      data.begin())) {
      return codec.type;
    }
  }
  return Compression::none;
}

std::string_view compression_name(Compression compression)
{
  const Codec* codec = find_codec(compression);
  return codec != nullptr ? codec->name : "none";
}

std::string_view compression_suffix(Compression compression)
{
  const Codec* codec = find_codec(compression);
  return codec != nullptr ? codec->suffix : "";
}

std::vector<std::string> module_suffixes()
{
  std::vector<std::string> suffixes{".ko"};
  for (const Codec& codec : codecs()) {
    suffixes.push_back(".ko" + std::string(codec.suffix));
  }
  return suffixes;
}

int kernel_default_level(Compression compression)
{
  const Codec* codec = find_codec(compression);
  return codec != nullptr ? codec->kernel_level : 0;
}

std::optional<LevelRange> level_range(Compression compression)
{
  const Codec* codec = find_codec(compression);
  return codec != nullptr ? std::optional(codec->levels) : std::nullopt;
}

std::optional<std::string> level_problem(int level)
{
  if (level == k_default_level) {
    return std::nullopt;
  }
  std::string ranges;
  for (const Codec& codec : codecs()) {
    if (level >= codec.levels.lowest && level <= codec.levels.highest) {
      return std::nullopt;
    }
    ranges += (ranges.empty() ? "" : ", ") + std::string(codec.name) + " " + std::to_string(codec.levels.lowest) + "-"
              + std::to_string(codec.levels.highest);
  }
  return "level " + std::to_string(level) + " fits no format (" + ranges + ")";
}

std::optional<std::string> level_problem(int level, Compression compression)
{
  const Codec* codec = find_codec(compression);
  if (codec == nullptr || level == k_default_level
      || (level >= codec->levels.lowest && level <= codec->levels.highest)) {
    return std::nullopt;
  }
  return std::string(codec->name) + " level " + std::to_string(level) + " is out of range ("
         + std::to_string(codec->levels.lowest) + "-" + std::to_string(codec->levels.highest) + ")";
}

std::uint64_t decompressed_size_limit(std::uint64_t compressed_size, std::uint64_t max_size)
{
  // Below max_size, a product that overflows cannot be the smaller one.
  const std::uint64_t by_ratio = compressed_size > (max_size / k_max_compression_ratio)
                                   ? max_size
                                   : compressed_size * k_max_compression_ratio + k_ratio_slack;
  return std::min(by_ratio, max_size);
}

Bytes decompress(Compression compression, ByteView data, std::uint64_t max_size)
{
  const Codec* codec = find_codec(compression);
  if (codec == nullptr) {
    return Bytes(data.begin(), data.end());
  }
  const std::uint64_t limit = decompressed_size_limit(data.size(), max_size);
  try {
    return codec->decompress(data, limit);
  } catch (const codec::OutputLimitReached&) {
    std::string message = std::string(codec->name) + " data decompresses to more than " + util::describe_size(limit);
    if (limit < max_size) {
      message += " (" + std::to_string(k_max_compression_ratio) + " times its compressed size, plus "
                 + util::describe_size(k_ratio_slack) + ")";
    }
    throw Error(Errc::format, message);
  }
}

Bytes compress(Compression compression, ByteView data, int level)
{
  const Codec* codec = find_codec(compression);
  if (codec == nullptr) {
    return Bytes(data.begin(), data.end());
  }
  if (const auto problem = level_problem(level, compression)) {
    throw Error(Errc::failure, *problem);
  }
  return codec->compress(data, level == k_default_level ? codec->kernel_level : level);
}

} // namespace ksign::core
