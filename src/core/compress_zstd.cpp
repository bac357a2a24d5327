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

// Magic and size, four bytes each (ZSTD_SKIPPABLEHEADERSIZE is in libzstd's unstable API).
constexpr std::size_t k_skippable_header_size = 8;

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

// The size of the skippable frame `data` starts with, or 0 when it is cut short.
static std::size_t skippable_frame_size(ByteView data)
{
  if (data.size() < k_skippable_header_size) {
    return 0;
  }
  const std::uint64_t content = std::uint64_t{data[4]} | std::uint64_t{data[5]} << 8 | std::uint64_t{data[6]} << 16 |
                                std::uint64_t{data[7]} << 24;
  return content > data.size() - k_skippable_header_size ? 0
                                                         : static_cast<std::size_t>(content) + k_skippable_header_size;
}

std::size_t zstd_skippable_prefix(ByteView data)
{
  std::size_t pos = 0;
  while (is_skippable_frame(data.subspan(pos))) {
    const std::size_t size = skippable_frame_size(data.subspan(pos));
    if (size == 0) {
      break;
    }
    pos += size;
  }
  return pos;
}

std::optional<std::uint64_t> zstd_size_hint(ByteView data)
{
  // The content sizes of all frames, when every frame records one (zstd and the kernel's build
  // write it); decoding checks each against the frame's real content.
  std::uint64_t total = 0;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const ByteView rest = data.subspan(pos);
    const std::size_t frame_size = ZSTD_findFrameCompressedSize(rest.data(), rest.size());
    if (ZSTD_isError(frame_size) || frame_size == 0) {
      return std::nullopt;
    }
    if (!is_skippable_frame(rest)) {
      const unsigned long long size = ZSTD_getFrameContentSize(rest.data(), rest.size());
      if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > (std::uint64_t{1} << 62)) {
        return std::nullopt;
      }
      total += size;
    }
    pos += frame_size;
  }
  return total;
}

DecodeResult zstd_decode(ByteView data, OutputSink& sink)
{
  constexpr Compression zstd = Compression::zstd;
  DecodeResult result;
  ZSTD_DCtx& context = thread_decompression_context();
  std::size_t pos = 0;
  // Frame by frame, as zstd -d and kmod 30 read them (skippable frames skipped); the kernel
  // needs the zstd magic at offset 0 and reads the first frame.
  while (pos < data.size()) {
    const ByteView rest = data.subspan(pos);
    if (is_skippable_frame(rest)) {
      const std::size_t size = skippable_frame_size(rest);
      if (size == 0) {
        throw_corrupt(zstd, "a skippable frame is cut short");
      }
      result.leading_skippable = result.leading_skippable || result.parts == 0;
      pos += size;
      continue;
    }
    if (rest.size() < 4 || rest[0] != 0x28 || rest[1] != 0xb5 || rest[2] != 0x2f || rest[3] != 0xfd) {
      throw_corrupt(zstd, result.parts == 0 ? "not a zstd frame" : "trailing data after the last frame");
    }
    const std::size_t frame_size = ZSTD_findFrameCompressedSize(rest.data(), rest.size());
    if (ZSTD_isError(frame_size)) {
      throw_corrupt(zstd, ZSTD_getErrorName(frame_size));
    }
    const unsigned long long content_size = ZSTD_getFrameContentSize(rest.data(), rest.size());
    if (content_size == ZSTD_CONTENTSIZE_ERROR) {
      throw_corrupt(zstd, "invalid frame header");
    }
    ZSTD_DCtx_reset(&context, ZSTD_reset_session_only);
    ZSTD_inBuffer input{rest.data(), frame_size, 0};
    const std::uint64_t before = sink.total();
    for (;;) {
      const std::span<std::uint8_t> room = sink.room();
      ZSTD_outBuffer output{room.data(), room.size(), 0};
      const std::size_t rc = ZSTD_decompressStream(&context, &output, &input);
      sink.wrote(output.pos);
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
    const std::uint64_t frame_content = sink.total() - before;
    if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && frame_content != content_size) {
      throw_corrupt(zstd, "content size does not match the frame header");
    }
    if (result.parts == 0) {
      result.first_part = frame_content;
    }
    if (frame_content != 0 || result.parts == 0) {
      ++result.parts;
    }
    pos += frame_size;
  }
  if (result.parts == 0) {
    throw_corrupt(zstd, "no zstd frame, only skippable frames");
  }
  result.size = sink.total();
  return result;
}

int zstd_max_level()
{
  return ZSTD_maxCLevel();
}

} // namespace ksign::core::codec
