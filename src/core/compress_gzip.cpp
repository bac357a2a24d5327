// SPDX-License-Identifier: MIT
// gzip (zlib): the gzip -n members the kernel's Makefile.modinst writes.
#include "core/compress_codecs.hpp"

#include "util/error.hpp"

#include <zlib.h>

#include <new>
#include <optional>
#include <string>

namespace ksign::core::codec {

namespace {

// gzip header OS field: Unix, as gzip writes it on Linux.
constexpr int k_gzip_os_unix = 3;

} // namespace


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
      throw Error(Errc::failure, "zlib refused the gzip header");
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
      throw Error(Errc::failure, std::string("gzip compression failed: ") + (stream.msg ? stream.msg : "zlib error"));
    }
  }
  out.resize(out_pos);
  return out;
}

// The ISIZE field of the last member's trailer: the size modulo 2^32 of that member alone,
// so a lower bound of the whole (every limit ksign sets is below 4 GiB).
std::optional<std::uint64_t> gzip_size_hint(ByteView data)
{
  if (data.size() < 18) {
    return std::nullopt;
  }
  const auto* tail = data.data() + data.size() - 4;
  return std::uint64_t{tail[0]} | std::uint64_t{tail[1]} << 8 | std::uint64_t{tail[2]} << 16 |
         std::uint64_t{tail[3]} << 24;
}

DecodeResult gzip_decode(ByteView data, OutputSink& sink)
{
  constexpr Compression gzip = Compression::gzip;
  // The kernel skips a 10-byte header and a file name (module_gzip_header_len), nothing else.
  constexpr std::uint8_t k_fextra = 0x04;
  constexpr std::uint8_t k_fhcrc = 0x02;
  constexpr std::uint8_t k_fcomment = 0x10;
  DecodeResult result;
  if (data.size() > 3 && (data[3] & (k_fextra | k_fhcrc | k_fcomment)) != 0) {
    result.kernel_problem = "the gzip header has an extra field, a comment or a header CRC, which the kernel's "
                            "decompressor does not skip (it reads only a file name)";
  }
  GzipInflater inflater;
  z_stream& stream = inflater.get();
  std::size_t in_pos = 0;
  std::uint64_t member_start = 0;
  for (;;) {
    const std::span<std::uint8_t> room = sink.room();
    const uInt in_chunk = clamp_to_uint(data.size() - in_pos);
    const uInt out_chunk = clamp_to_uint(room.size());
    stream.next_in = const_cast<Bytef*>(data.data() + in_pos); // zlib's API is not const-correct
    stream.avail_in = in_chunk;
    stream.next_out = room.data();
    stream.avail_out = out_chunk;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_pos += in_chunk - stream.avail_in;
    sink.wrote(out_chunk - stream.avail_out);
    if (rc == Z_STREAM_END) {
      const std::uint64_t member_size = sink.total() - member_start;
      if (result.parts == 0) {
        result.first_part = member_size;
      }
      if (member_size != 0 || result.parts == 0) {
        ++result.parts;
      }
      member_start = sink.total();
      if (in_pos == data.size()) {
        break;
      }
      // Another member follows, as gzip -d and zlib's gzread (kmod) read it; anything else after
      // a member is refused: re-signing would drop it.
      if (data.size() - in_pos < 3 || data[in_pos] != 0x1f || data[in_pos + 1] != 0x8b || data[in_pos + 2] != 0x08) {
        throw_corrupt(gzip, "trailing data after the last member");
      }
      if (inflateReset(&stream) != Z_OK) {
        throw_corrupt(gzip, "cannot start the next member");
      }
      continue;
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
  result.size = sink.total();
  return result;
}

} // namespace ksign::core::codec
