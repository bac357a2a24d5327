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
  codec::DecodeResult (*decode)(ByteView data, codec::OutputSink& sink);
  std::optional<std::uint64_t> (*size_hint)(ByteView data);
};

// Made on first use: zstd's highest level comes from libzstd at run time, and a table made
// during static initialisation could be read (say, by a command's help text) before it is.
std::span<const Codec> codecs()
{
  static const Codec table[] = {
    {Compression::gzip, "gzip", ".gz", {0x1f, 0x8b, 0x08}, 3, {1, 9}, 6, codec::gzip_compress, codec::gzip_decode,
     codec::gzip_size_hint},
    {Compression::xz, "xz", ".xz", {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}, 6, {0, 9}, 6, codec::xz_compress,
     codec::xz_decode, codec::xz_size_hint},
    {Compression::zstd, "zstd", ".zst", {0x28, 0xb5, 0x2f, 0xfd}, 4, {1, codec::zstd_max_level()}, 3,
     codec::zstd_compress, codec::zstd_decode, codec::zstd_size_hint},
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


std::span<std::uint8_t> OutputSink::room()
{
  if (m_total < m_out.size()) {
    return m_out.subspan(static_cast<std::size_t>(m_total));
  }
  if (m_scratch.empty()) {
    m_scratch.resize(std::size_t{64} << 10);
  }
  return m_scratch;
}

void OutputSink::wrote(std::size_t size)
{
  m_total += size;
  if (m_total > m_limit) {
    throw OutputLimitReached{};
  }
}

} // namespace codec

Compression detect_compression(ByteView data)
{
  // Skippable frames belong to zstd: only a zstd frame may follow them.
  const std::size_t skipped = std::min(data.size(), codec::zstd_skippable_prefix(data));
  data = data.subspan(skipped);
  for (const Codec& codec : codecs()) {
    const bool may_follow = skipped == 0 || codec.type == Compression::zstd;
    if (may_follow && data.size() >= codec.magic_size
        && std::equal(codec.magic.begin(), codec.magic.begin() + codec.magic_size, data.begin())) {
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

Decompressed decompress_module(Compression compression, ByteView data, std::uint64_t max_size)
{
  Decompressed result;
  const Codec* codec = find_codec(compression);
  if (codec == nullptr) {
    result.data.assign(data.begin(), data.end());
    result.first_part = result.data.size();
    return result;
  }
  const std::uint64_t limit = decompressed_size_limit(data.size(), max_size);
  try {
    // The size the data claims (never less than the truth for valid data) is checked before
    // anything is decoded, and is the room for the first pass; only when it is missing or
    // wrong is the data decoded a second time, into exactly the room the first pass counted.
    const std::optional<std::uint64_t> claimed = codec->size_hint(data);
    if (claimed && *claimed > limit) {
      throw codec::OutputLimitReached{};
    }
    result.data.resize(static_cast<std::size_t>(claimed.value_or(0)));
    codec::OutputSink sink(result.data, limit);
    codec::DecodeResult decoded = codec->decode(data, sink);
    if (decoded.size > result.data.size()) {
      result.data = Bytes(); // freed before the exact room is taken
      result.data.resize(static_cast<std::size_t>(decoded.size));
      codec::OutputSink exact(result.data, decoded.size);
      decoded = codec->decode(data, exact);
    }
    result.data.resize(static_cast<std::size_t>(decoded.size));
    result.first_part = decoded.first_part;
    result.parts = decoded.parts;
    result.leading_skippable = decoded.leading_skippable;
    result.kernel_problem = std::move(decoded.kernel_problem);
  } catch (const codec::OutputLimitReached&) {
    std::string message = std::string(codec->name) + " data decompresses to more than " + util::describe_size(limit);
    if (limit < max_size) {
      message += " (" + std::to_string(k_max_compression_ratio) + " times its compressed size, plus "
                 + util::describe_size(k_ratio_slack) + ")";
    }
    throw Error(Errc::format, message);
  }
  return result;
}

std::optional<std::string> readers_disagree(Compression compression, const Decompressed& decompressed)
{
  const std::string name(compression_name(compression));
  if (decompressed.leading_skippable) {
    return "a zstd skippable frame comes before the module: zstd -d skips it, but neither the kernel nor kmod "
           "finds the zstd magic at the start, so neither loads it ('ksign sign' rewrites it as one frame)";
  }
  if (decompressed.kernel_problem) {
    return *decompressed.kernel_problem + " ('ksign sign' rewrites it as the kernel's build does)";
  }
  if (decompressed.first_part != decompressed.data.size()) {
    const std::string part = compression == Compression::gzip ? "member"
                             : compression == Compression::xz ? "stream"
                                                               : "frame";
    const std::string kmod_34 = compression == Compression::zstd ? ", and kmod 34 and newer refuse them" : "";
    return std::to_string(decompressed.parts) + " " + name + " " + part + "s: kmod's userspace decompression and "
           + name + " -d read them all, but the kernel's own decompressor (CONFIG_MODULE_DECOMPRESS, used by kmod 31 "
           "and newer) reads only the first, " + std::to_string(decompressed.first_part) + " of "
           + std::to_string(decompressed.data.size()) + " bytes" + kmod_34 + " ('ksign sign' rewrites it as one " + part
           + ")";
  }
  return std::nullopt;
}

Bytes decompress(Compression compression, ByteView data, std::uint64_t max_size)
{
  return decompress_module(compression, data, max_size).data;
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
