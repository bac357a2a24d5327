// SPDX-License-Identifier: MIT
// xz (liblzma): one stream, CRC32, a dictionary the kernel's xz-embedded can read.
#include "core/compress_codecs.hpp"

#include "util/error.hpp"

#include <lzma.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <string>

namespace ksign::core::codec {

namespace {

// xz-embedded in the kernel handles at most a 1 MiB dictionary (Debian bug 1050582).
constexpr std::uint32_t k_xz_dict_size = 1U << 20;

// Enough for any xz file written with presets up to 9 (64 MiB dictionary).
constexpr std::uint64_t k_xz_decoder_memlimit = std::uint64_t{256} << 20;

} // namespace


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

static std::string lzma_reason(lzma_ret rc)
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
    throw Error(Errc::failure, "liblzma has no preset " + std::to_string(level));
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
    throw Error(Errc::failure, "xz compression failed: " + lzma_reason(rc));
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
      throw Error(Errc::failure, "xz compression failed: " + lzma_reason(rc));
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

// The uncompressed size recorded in the index of the last stream: the whole size of a
// single-stream file, a lower bound with several streams.
std::optional<std::uint64_t> xz_size_hint(ByteView data)
{
  // Stream padding (multiples of four zero bytes) may follow the last stream.
  std::size_t end = data.size();
  while (end >= 4 && data[end - 1] == 0 && data[end - 2] == 0 && data[end - 3] == 0
         && data[end - 4] == 0) {
    end -= 4;
  }
  data = data.first(end);
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

// One stream from `data`, into `sink`; returns the input bytes it took.
static std::size_t xz_decode_stream(ByteView data, OutputSink& sink)
{
  constexpr Compression xz = Compression::xz;
  LzmaStream coder;
  lzma_stream& stream = coder.get();
  // No LZMA_CONCATENATED: one stream at a time, so the first one's size is known.
  lzma_ret rc = lzma_stream_decoder(&stream, k_xz_decoder_memlimit, 0);
  if (rc == LZMA_MEM_ERROR) {
    throw std::bad_alloc();
  }
  if (rc != LZMA_OK) {
    throw Error(Errc::failure, "xz decoder setup failed: " + lzma_reason(rc));
  }
  stream.next_in = data.data();
  stream.avail_in = data.size();
  for (;;) {
    const std::span<std::uint8_t> room = sink.room();
    stream.next_out = room.data();
    stream.avail_out = room.size();
    rc = lzma_code(&stream, LZMA_FINISH);
    sink.wrote(room.size() - stream.avail_out);
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
  return data.size() - stream.avail_in;
}

DecodeResult xz_decode(ByteView data, OutputSink& sink)
{
  constexpr Compression xz = Compression::xz;
  static constexpr std::uint8_t k_magic[] = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00};
  DecodeResult result;
  std::size_t pos = 0;
  // Streams and stream padding, as xz -d and kmod (LZMA_CONCATENATED) read them; the kernel's
  // xz_dec_run stops at the end of the first stream.
  while (pos < data.size()) {
    const std::uint64_t before = sink.total();
    pos += xz_decode_stream(data.subspan(pos), sink);
    const std::uint64_t stream_size = sink.total() - before;
    if (result.parts == 0) {
      result.first_part = stream_size;
    }
    if (stream_size != 0 || result.parts == 0) {
      ++result.parts;
    }
    const std::size_t stream_end = pos;
    while (pos < data.size() && data[pos] == 0) {
      ++pos;
    }
    if ((pos - stream_end) % 4 != 0) {
      throw_corrupt(xz, "stream padding is not a multiple of four bytes");
    }
    const ByteView next = data.subspan(pos);
    if (!next.empty()
        && (next.size() < sizeof k_magic || !std::equal(std::begin(k_magic), std::end(k_magic), next.begin()))) {
      throw_corrupt(xz, "trailing data after the last stream");
    }
  }
  if (result.parts == 0) {
    throw_corrupt(xz, "unexpected end of input");
  }
  result.size = sink.total();
  return result;
}

} // namespace ksign::core::codec
