// SPDX-License-Identifier: MIT
#include "core/compress.hpp"

#include "util/error.hpp"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>

namespace ksign::core {

namespace {


// A size the compressed data claims for itself is believed, for the first allocation, only
// up to this ratio; past it the buffer grows as output really arrives.
constexpr std::uint64_t k_max_trusted_ratio = 64;

// Least step by which an output buffer of unknown final size grows.
constexpr std::size_t k_min_growth = 64 * 1024;

// xz-embedded in the kernel handles at most a 1 MiB dictionary (Debian bug 1050582).
constexpr std::uint32_t k_xz_dict_size = 1U << 20;

// Enough for any xz file written with presets up to 9 (64 MiB dictionary).
constexpr std::uint64_t k_xz_decoder_memlimit = std::uint64_t{256} << 20;

// gzip header OS field: Unix, as gzip writes it on Linux.
constexpr int k_gzip_os_unix = 3;

constexpr std::array<std::uint8_t, 3> k_gzip_magic = {0x1f, 0x8b, 0x08};
constexpr std::array<std::uint8_t, 6> k_xz_magic = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00};
constexpr std::array<std::uint8_t, 4> k_zstd_magic = {0x28, 0xb5, 0x2f, 0xfd};

template<std::size_t N> bool starts_with(ByteView data, const std::array<std::uint8_t, N>& magic)
{
  return data.size() >= N && std::equal(magic.begin(), magic.end(), data.begin());
}

[[noreturn]] void throw_corrupt(Compression compression, const std::string& reason)
{
  throw Error(Errc::format, "corrupt " + std::string(compression_name(compression)) + " data: " + reason);
}

[[noreturn]] void throw_too_large(Compression compression, std::uint64_t limit)
{
  const bool whole_gib = limit % (std::uint64_t{1} << 30) == 0;
  const std::string size = whole_gib ? std::to_string(limit >> 30) + " GiB" : std::to_string(limit >> 20) + " MiB";
  throw Error(Errc::format, std::string(compression_name(compression)) + " data decompresses to more than " + size);
}

// zlib and liblzma count some lengths in 32 bits; feed them at most this much at once.
uInt clamp_to_uint(std::size_t size)
{
  return static_cast<uInt>(std::min<std::size_t>(size, UINT_MAX));
}

// First allocation for decompressing `input_size` bytes whose content claims `claimed` bytes.
std::size_t initial_output_size(std::size_t input_size, std::optional<std::uint64_t> claimed, std::uint64_t limit)
{
  const std::uint64_t trusted = std::uint64_t{input_size} * k_max_trusted_ratio + k_min_growth;
  const std::uint64_t guess = claimed ? std::min(*claimed, trusted) : std::uint64_t{input_size} * 4 + k_min_growth;
  return static_cast<std::size_t>(std::min(guess, limit));
}

// Make room after `used` bytes of `out`, or throw when the output would pass the size limit.
void grow_output(Bytes& out, std::size_t used, Compression compression, std::uint64_t limit)
{
  if (used >= limit) {
    throw_too_large(compression, limit);
  }
  const std::size_t wanted = std::max(out.size() * 2, used + k_min_growth);
  out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(wanted, limit)));
}

int checked_level(Compression compression, int level)
{
  if (level == k_default_level) {
    return kernel_default_level(compression);
  }
  int lowest = 1;
  int highest = 9;
  switch (compression) {
  case Compression::none:
    return 0;
  case Compression::gzip:
    break;
  case Compression::xz:
    lowest = 0;
    break;
  case Compression::zstd:
    highest = ZSTD_maxCLevel();
    break;
  }
  if (level < lowest || level > highest) {
    throw Error(Errc::usage, std::string(compression_name(compression)) + " level " + std::to_string(level) +
                               " is out of range (" + std::to_string(lowest) + "-" + std::to_string(highest) + ")");
  }
  return level;
}

// ---- gzip (zlib) ----

// A deflate stream writing a gzip member. Pinned: zlib's state points back at its z_stream.
class GzipDeflater
{
public:
  explicit GzipDeflater(int level)
  {
    // Window 15 + 16 selects the gzip wrapper; the header then has no name, no mtime and no
    // optional fields, and zlib sets XFL from the level as gzip does (9: 2, 1: 4).
    if (deflateInit2(&m_stream, level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
    m_header.os = k_gzip_os_unix;
    if (deflateSetHeader(&m_stream, &m_header) != Z_OK) {
      deflateEnd(&m_stream);
      throw Error(Errc::internal, "zlib refused the gzip header");
    }
  }
  GzipDeflater(const GzipDeflater&) = delete;
  GzipDeflater& operator=(const GzipDeflater&) = delete;
  ~GzipDeflater() { deflateEnd(&m_stream); }

  z_stream& get() noexcept { return m_stream; }

private:
  z_stream m_stream{};
  gz_header m_header{}; // zlib reads it while writing the header, so it lives as long
};

// An inflate stream reading one gzip member. Pinned like GzipDeflater.
class GzipInflater
{
public:
  GzipInflater()
  {
    if (inflateInit2(&m_stream, MAX_WBITS + 16) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;
  ~GzipInflater() { inflateEnd(&m_stream); }

  z_stream& get() noexcept { return m_stream; }

private:
  z_stream m_stream{};
};

Bytes gzip_compress(ByteView data, int level)
{
  GzipDeflater deflater(level);
  z_stream& stream = deflater.get();
  Bytes out(deflateBound(&stream, data.size()));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      out.resize(out.size() + k_min_growth); // deflateBound makes this unreachable in practice
    }
    const uInt in_chunk = clamp_to_uint(data.size() - in_pos);
    const uInt out_chunk = clamp_to_uint(out.size() - out_pos);
    stream.next_in = const_cast<Bytef*>(data.data() + in_pos); // zlib's API is not const-correct
    stream.avail_in = in_chunk;
    stream.next_out = out.data() + out_pos;
    stream.avail_out = out_chunk;
    const bool last_input = in_pos + in_chunk == data.size();
    const int rc = deflate(&stream, last_input ? Z_FINISH : Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (rc == Z_STREAM_END) {
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw Error(Errc::internal, std::string("gzip compression failed: ") + (stream.msg ? stream.msg : "zlib error"));
    }
  }
  out.resize(out_pos);
  return out;
}

// The ISIZE field of the member's trailer, if `data` is exactly one member.
std::optional<std::uint64_t> gzip_size_hint(ByteView data)
{
  if (data.size() < 18) {
    return std::nullopt;
  }
  const auto* tail = data.data() + data.size() - 4;
  return std::uint64_t{tail[0]} | std::uint64_t{tail[1]} << 8 | std::uint64_t{tail[2]} << 16 |
         std::uint64_t{tail[3]} << 24;
}

Bytes gzip_decompress(ByteView data, std::uint64_t limit)
{
  constexpr Compression gzip = Compression::gzip;
  GzipInflater inflater;
  z_stream& stream = inflater.get();
  Bytes out(initial_output_size(data.size(), gzip_size_hint(data), limit));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      grow_output(out, out_pos, gzip, limit);
    }
    const uInt in_chunk = clamp_to_uint(data.size() - in_pos);
    const uInt out_chunk = clamp_to_uint(out.size() - out_pos);
    stream.next_in = const_cast<Bytef*>(data.data() + in_pos);
    stream.avail_in = in_chunk;
    stream.next_out = out.data() + out_pos;
    stream.avail_out = out_chunk;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
    if (rc == Z_STREAM_END) {
      break;
    }
    if (rc == Z_MEM_ERROR) {
      throw std::bad_alloc();
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw_corrupt(gzip, stream.msg ? stream.msg : "invalid data");
    }
    // All input taken, room left for output, and still no end of member: it was cut short.
    if (in_pos == data.size() && stream.avail_out != 0) {
      throw_corrupt(gzip, "unexpected end of input");
    }
  }
  if (in_pos != data.size()) {
    throw_corrupt(gzip, "trailing data after the first member");
  }
  out.resize(out_pos);
  return out;
}

// ---- xz (liblzma) ----

// One liblzma coder. Pinned, like the zlib streams.
class LzmaStream
{
public:
  LzmaStream() = default;
  LzmaStream(const LzmaStream&) = delete;
  LzmaStream& operator=(const LzmaStream&) = delete;
  ~LzmaStream() { lzma_end(&m_stream); }

  lzma_stream& get() noexcept { return m_stream; }

private:
  lzma_stream m_stream = LZMA_STREAM_INIT;
};

struct LzmaIndexDeleter
{
  void operator()(lzma_index* index) const noexcept { lzma_index_end(index, nullptr); }
};
using LzmaIndexPtr = std::unique_ptr<lzma_index, LzmaIndexDeleter>;

std::string lzma_reason(lzma_ret rc)
{
  switch (rc) {
  case LZMA_FORMAT_ERROR:
    return "not in the xz format";
  case LZMA_OPTIONS_ERROR:
    return "unsupported options";
  case LZMA_DATA_ERROR:
    return "compressed data is corrupt";
  case LZMA_BUF_ERROR:
    return "unexpected end of input";
  case LZMA_MEMLIMIT_ERROR:
    return "needs more than 256 MiB of memory to decompress";
  default:
    return "liblzma error " + std::to_string(static_cast<int>(rc));
  }
}

Bytes xz_compress(ByteView data, int level)
{
  lzma_options_lzma options{};
  if (lzma_lzma_preset(&options, static_cast<std::uint32_t>(level))) {
    throw Error(Errc::internal, "liblzma has no preset " + std::to_string(level));
  }
  options.dict_size = k_xz_dict_size;
  const std::array<lzma_filter, 2> filters = {{{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}}};

  LzmaStream coder;
  lzma_stream& stream = coder.get();
  lzma_ret rc = lzma_stream_encoder(&stream, filters.data(), LZMA_CHECK_CRC32);
  if (rc == LZMA_MEM_ERROR) {
    throw std::bad_alloc();
  }
  if (rc != LZMA_OK) {
    throw Error(Errc::internal, "xz compression failed: " + lzma_reason(rc));
  }
  Bytes out(lzma_stream_buffer_bound(data.size()));
  stream.next_in = data.data();
  stream.avail_in = data.size();
  stream.next_out = out.data();
  stream.avail_out = out.size();
  for (;;) {
    rc = lzma_code(&stream, LZMA_FINISH);
    if (rc == LZMA_STREAM_END) {
      break;
    }
    if (rc == LZMA_MEM_ERROR) {
      throw std::bad_alloc();
    }
    if (rc != LZMA_OK) {
      throw Error(Errc::internal, "xz compression failed: " + lzma_reason(rc));
    }
    if (stream.avail_out == 0) { // lzma_stream_buffer_bound makes this unreachable in practice
      const std::size_t used = out.size();
      out.resize(used + k_min_growth);
      stream.next_out = out.data() + used;
      stream.avail_out = out.size() - used;
    }
  }
  out.resize(static_cast<std::size_t>(stream.total_out));
  return out;
}

// The uncompressed size recorded in the index of an xz file that is exactly one stream.
std::optional<std::uint64_t> xz_size_hint(ByteView data)
{
  if (data.size() < 2 * LZMA_STREAM_HEADER_SIZE) {
    return std::nullopt;
  }
  lzma_stream_flags footer{};
  if (lzma_stream_footer_decode(&footer, data.data() + data.size() - LZMA_STREAM_HEADER_SIZE) != LZMA_OK ||
      footer.backward_size > data.size() - 2 * LZMA_STREAM_HEADER_SIZE) {
    return std::nullopt;
  }
  const std::size_t index_size = static_cast<std::size_t>(footer.backward_size);
  const std::uint8_t* index_start = data.data() + data.size() - LZMA_STREAM_HEADER_SIZE - index_size;
  lzma_index* raw_index = nullptr;
  std::uint64_t memlimit = std::uint64_t{16} << 20;
  std::size_t pos = 0;
  if (lzma_index_buffer_decode(&raw_index, &memlimit, nullptr, index_start, &pos, index_size) != LZMA_OK) {
    return std::nullopt;
  }
  const LzmaIndexPtr index(raw_index);
  return lzma_index_uncompressed_size(index.get());
}

Bytes xz_decompress(ByteView data, std::uint64_t limit)
{
  constexpr Compression xz = Compression::xz;
  LzmaStream coder;
  lzma_stream& stream = coder.get();
  // No LZMA_CONCATENATED: the decoder stops after the first stream, as the kernel's does.
  lzma_ret rc = lzma_stream_decoder(&stream, k_xz_decoder_memlimit, 0);
  if (rc == LZMA_MEM_ERROR) {
    throw std::bad_alloc();
  }
  if (rc != LZMA_OK) {
    throw Error(Errc::internal, "xz decoder setup failed: " + lzma_reason(rc));
  }
  Bytes out(initial_output_size(data.size(), xz_size_hint(data), limit));
  stream.next_in = data.data();
  stream.avail_in = data.size();
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      grow_output(out, out_pos, xz, limit);
    }
    stream.next_out = out.data() + out_pos;
    stream.avail_out = out.size() - out_pos;
    rc = lzma_code(&stream, LZMA_FINISH);
    out_pos = out.size() - stream.avail_out;
    if (rc == LZMA_STREAM_END) {
      break;
    }
    if (rc == LZMA_MEM_ERROR) {
      throw std::bad_alloc();
    }
    if (rc != LZMA_OK) {
      throw_corrupt(xz, lzma_reason(rc));
    }
    if (stream.avail_in == 0 && stream.avail_out != 0) {
      throw_corrupt(xz, "unexpected end of input");
    }
  }
  if (stream.avail_in != 0) {
    throw_corrupt(xz, "trailing data after the first stream");
  }
  out.resize(out_pos);
  return out;
}

// ---- zstd ----

struct ZstdCCtxDeleter
{
  void operator()(ZSTD_CCtx* context) const noexcept { ZSTD_freeCCtx(context); }
};
struct ZstdDCtxDeleter
{
  void operator()(ZSTD_DCtx* context) const noexcept { ZSTD_freeDCtx(context); }
};
using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter>;
using ZstdDCtxPtr = std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter>;

// zstd contexts are meant to be reused: one per thread saves the workspace allocation per
// module when a worker compresses thousands of them. Each use starts with a full reset.
ZSTD_CCtx& thread_compression_context()
{
  thread_local const ZstdCCtxPtr context(ZSTD_createCCtx());
  if (!context) {
    throw std::bad_alloc();
  }
  ZSTD_CCtx_reset(context.get(), ZSTD_reset_session_and_parameters);
  return *context;
}

ZSTD_DCtx& thread_decompression_context()
{
  thread_local const ZstdDCtxPtr context(ZSTD_createDCtx());
  if (!context) {
    throw std::bad_alloc();
  }
  ZSTD_DCtx_reset(context.get(), ZSTD_reset_session_and_parameters);
  return *context;
}

void check_zstd_setting(std::size_t rc)
{
  if (ZSTD_isError(rc)) {
    throw Error(Errc::internal, std::string("zstd refused a setting: ") + ZSTD_getErrorName(rc));
  }
}

Bytes zstd_compress(ByteView data, int level)
{
  ZSTD_CCtx& context = thread_compression_context();
  check_zstd_setting(ZSTD_CCtx_setParameter(&context, ZSTD_c_compressionLevel, level));
  check_zstd_setting(ZSTD_CCtx_setParameter(&context, ZSTD_c_checksumFlag, 1));
  check_zstd_setting(ZSTD_CCtx_setParameter(&context, ZSTD_c_contentSizeFlag, 1));
  Bytes out(ZSTD_compressBound(data.size()));
  const std::size_t size = ZSTD_compress2(&context, out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(size)) {
    throw Error(Errc::internal, std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  }
  out.resize(size);
  return out;
}

bool is_skippable_frame(ByteView data)
{
  if (data.size() < 4) {
    return false;
  }
  const std::uint32_t magic = std::uint32_t{data[0]} | std::uint32_t{data[1]} << 8 | std::uint32_t{data[2]} << 16 |
                              std::uint32_t{data[3]} << 24;
  return (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

// Decode a frame whose content size is unknown or not believed, growing the output.
Bytes zstd_decompress_streaming(ZSTD_DCtx& context, ByteView data, std::optional<std::uint64_t> claimed,
                                std::uint64_t limit)
{
  constexpr Compression zstd = Compression::zstd;
  Bytes out(initial_output_size(data.size(), claimed, limit));
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      grow_output(out, out_pos, zstd, limit);
    }
    ZSTD_outBuffer output{out.data(), out.size(), out_pos};
    const std::size_t rc = ZSTD_decompressStream(&context, &output, &input);
    out_pos = output.pos;
    if (ZSTD_isError(rc)) {
      throw_corrupt(zstd, ZSTD_getErrorName(rc));
    }
    if (rc == 0) {
      break;
    }
    if (input.pos == input.size && output.pos < output.size) {
      throw_corrupt(zstd, "unexpected end of input");
    }
  }
  if (input.pos != input.size) {
    throw_corrupt(zstd, "trailing data after the first frame");
  }
  out.resize(out_pos);
  return out;
}

Bytes zstd_decompress(ByteView data, std::uint64_t limit)
{
  constexpr Compression zstd = Compression::zstd;
  if (!starts_with(data, k_zstd_magic)) {
    throw_corrupt(zstd, is_skippable_frame(data) ? "a skippable frame where a zstd frame should be"
                                                 : "not a zstd frame");
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(data.data(), data.size());
  if (ZSTD_isError(frame_size)) {
    throw_corrupt(zstd, ZSTD_getErrorName(frame_size));
  }
  if (frame_size != data.size()) {
    throw_corrupt(zstd, "trailing data after the first frame");
  }
  const unsigned long long content_size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) {
    throw_corrupt(zstd, "invalid frame header");
  }
  ZSTD_DCtx& context = thread_decompression_context();
  if (content_size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return zstd_decompress_streaming(context, data, std::nullopt, limit);
  }
  if (content_size > limit) {
    throw_too_large(zstd, limit);
  }
  if (content_size > std::uint64_t{data.size()} * k_max_trusted_ratio + k_min_growth) {
    return zstd_decompress_streaming(context, data, content_size, limit);
  }
  // The usual case: the size is known and plausible, so decode in one call into exact room.
  Bytes out(static_cast<std::size_t>(content_size));
  const std::size_t size = ZSTD_decompressDCtx(&context, out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(size)) {
    throw_corrupt(zstd, ZSTD_getErrorName(size));
  }
  if (size != out.size()) {
    throw_corrupt(zstd, "content size does not match the frame header");
  }
  return out;
}

} // namespace

Compression detect_compression(ByteView data)
{
  if (starts_with(data, k_gzip_magic)) {
    return Compression::gzip;
  }
  if (starts_with(data, k_xz_magic)) {
    return Compression::xz;
  }
  if (starts_with(data, k_zstd_magic)) {
    return Compression::zstd;
  }
  return Compression::none;
}

std::string_view compression_name(Compression compression)
{
  switch (compression) {
  case Compression::none:
    return "none";
  case Compression::gzip:
    return "gzip";
  case Compression::xz:
    return "xz";
  case Compression::zstd:
    return "zstd";
  }
  throw Error(Errc::internal, "unknown compression");
}

std::string_view compression_suffix(Compression compression)
{
  switch (compression) {
  case Compression::none:
    return "";
  case Compression::gzip:
    return ".gz";
  case Compression::xz:
    return ".xz";
  case Compression::zstd:
    return ".zst";
  }
  throw Error(Errc::internal, "unknown compression");
}

std::optional<Compression> parse_compression(std::string_view name)
{
  if (name == "none") {
    return Compression::none;
  }
  if (name == "gzip" || name == "gz") {
    return Compression::gzip;
  }
  if (name == "xz") {
    return Compression::xz;
  }
  if (name == "zstd" || name == "zst") {
    return Compression::zstd;
  }
  return std::nullopt;
}

int kernel_default_level(Compression compression)
{
  switch (compression) {
  case Compression::none:
    return 0;
  case Compression::gzip:
  case Compression::xz:
    return 6;
  case Compression::zstd:
    return 3;
  }
  throw Error(Errc::internal, "unknown compression");
}

Bytes decompress(Compression compression, ByteView data, std::uint64_t max_size)
{
  switch (compression) {
  case Compression::none:
    return Bytes(data.begin(), data.end());
  case Compression::gzip:
    return gzip_decompress(data, max_size);
  case Compression::xz:
    return xz_decompress(data, max_size);
  case Compression::zstd:
    return zstd_decompress(data, max_size);
  }
  throw Error(Errc::internal, "unknown compression");
}

Bytes compress(Compression compression, ByteView data, int level)
{
  const int checked = checked_level(compression, level);
  switch (compression) {
  case Compression::none:
    return Bytes(data.begin(), data.end());
  case Compression::gzip:
    return gzip_compress(data, checked);
  case Compression::xz:
    return xz_compress(data, checked);
  case Compression::zstd:
    return zstd_compress(data, checked);
  }
  throw Error(Errc::internal, "unknown compression");
}

} // namespace ksign::core
