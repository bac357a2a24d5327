// SPDX-License-Identifier: MIT
// zstd: one frame with content size and checksum, as the zstd tool writes it.
#include "core/compress_codecs.hpp"

#include "util/error.hpp"

#include <zstd.h>

#include <memory>
#include <new>
#include <optional>
#include <string>

namespace ksign::core::codec {

namespace {


} // namespace


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
static ZSTD_CCtx& thread_compression_context()
{
  thread_local const ZstdCCtxPtr context(ZSTD_createCCtx());
  if (!context) {
    throw std::bad_alloc();
  }
  ZSTD_CCtx_reset(context.get(), ZSTD_reset_session_and_parameters);
  return *context;
}

static ZSTD_DCtx& thread_decompression_context()
{
  thread_local const ZstdDCtxPtr context(ZSTD_createDCtx());
  if (!context) {
    throw std::bad_alloc();
  }
  ZSTD_DCtx_reset(context.get(), ZSTD_reset_session_and_parameters);
  return *context;
}

static void check_zstd_setting(std::size_t rc)
{
  if (ZSTD_isError(rc)) {
    throw Error(Errc::failure, std::string("zstd refused a setting: ") + ZSTD_getErrorName(rc));
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
    throw Error(Errc::failure, std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  }
  out.resize(size);
  return out;
}

static bool is_skippable_frame(ByteView data)
{
  if (data.size() < 4) {
    return false;
  }
  const std::uint32_t magic = std::uint32_t{data[0]} | std::uint32_t{data[1]} << 8 | std::uint32_t{data[2]} << 16 |
                              std::uint32_t{data[3]} << 24;
  return (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

// Decode a frame whose content size is unknown or not believed, growing the output.
static Bytes zstd_decompress_streaming(ZSTD_DCtx& context, ByteView data, std::optional<std::uint64_t> claimed,
                                       std::uint64_t limit)
{
  constexpr Compression zstd = Compression::zstd;
  Bytes out(initial_output_size(data.size(), claimed, limit));
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      grow_output(out, out_pos, limit);
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
  if (detect_compression(data) != zstd) {
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
    throw OutputLimitReached{};
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


int zstd_max_level()
{
  return ZSTD_maxCLevel();
}

} // namespace ksign::core::codec
