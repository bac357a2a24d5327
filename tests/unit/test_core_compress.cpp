// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

constexpr Compression k_formats[] = {Compression::gzip, Compression::xz, Compression::zstd};

// About 400 KiB that compress like a module: text, tables, zero padding and noise.
Bytes module_like_data()
{
  std::mt19937 random(20240611);
  Bytes data;
  const std::string words[] = {"module_init", "kmalloc", "__this_module", "GPL", "vermagic=", "depends=",
                               "spin_lock_irqsave", ".text", ".rodata", "license=", "srcversion="};
  while (data.size() < 400 * 1024) {
    switch (random() % 4) {
    case 0: // strings, as in .rodata and .modinfo
      for (int i = 0; i < 200; ++i) {
        const std::string& word = words[random() % std::size(words)];
        append(data, as_bytes(word));
        data.push_back(0);
      }
      break;
    case 1: // zero padding and alignment
      data.insert(data.end(), random() % 4096, 0);
      break;
    case 2: // code-like noise
      for (int i = 0; i < 2048; ++i) {
        data.push_back(static_cast<std::uint8_t>(random()));
      }
      break;
    default: // a table of similar records
      for (std::uint32_t i = 0; i < 300; ++i) {
        const std::uint32_t record[] = {i, 0xffffffffU, i * 8, 0x10};
        append(data, ByteView(reinterpret_cast<const std::uint8_t*>(record), sizeof(record)));
      }
      break;
    }
  }
  return data;
}

const Bytes& sample()
{
  static const Bytes data = module_like_data();
  return data;
}

// The Errc of the Error `action` throws, or nullopt when it throws none.
std::optional<Errc> error_of(const std::function<void()>& action)
{
  try {
    action();
  } catch (const Error& error) {
    return error.code();
  }
  return std::nullopt;
}

std::optional<Errc> decompress_error(Compression compression, const Bytes& data)
{
  return error_of([&] { (void)decompress(compression, data); });
}

// A file in the temporary directory, removed at the end of the scope.
class TempFile
{
public:
  explicit TempFile(const std::string& suffix)
    : m_path(std::filesystem::temp_directory_path() /
             ("ksign-unit-compress-" + std::to_string(::getpid()) + "-" + std::to_string(s_counter++) + suffix))
  {
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile()
  {
    std::error_code ignored;
    std::filesystem::remove(m_path, ignored);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::string shell() const { return "'" + m_path.string() + "'"; }

  void write(ByteView data) const
  {
    std::ofstream out(m_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    REQUIRE(out.good());
  }

  [[nodiscard]] Bytes read() const
  {
    std::ifstream in(m_path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

private:
  static inline int s_counter = 0;
  std::filesystem::path m_path;
};

int run(const std::string& command)
{
  return std::system(command.c_str());
}

std::uint32_t little_endian32(const Bytes& data, std::size_t at)
{
  return std::uint32_t{data[at]} | std::uint32_t{data[at + 1]} << 8 | std::uint32_t{data[at + 2]} << 16 |
         std::uint32_t{data[at + 3]} << 24;
}

} // namespace

TEST_CASE("core::detect_compression", "[compress]")
{
  Bytes data(64, 0x55);
  CHECK(detect_compression(data) == Compression::none);
  CHECK(detect_compression(Bytes{}) == Compression::none);

  SECTION("magic bytes decide")
  {
    const Bytes gzip = {0x1f, 0x8b, 0x08, 0x00};
    const Bytes xz = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01};
    const Bytes zstd = {0x28, 0xb5, 0x2f, 0xfd, 0x24};
    CHECK(detect_compression(gzip) == Compression::gzip);
    CHECK(detect_compression(xz) == Compression::xz);
    CHECK(detect_compression(zstd) == Compression::zstd);
  }
  SECTION("a partial or near magic is none")
  {
    CHECK(detect_compression(Bytes{0x1f, 0x8b}) == Compression::none);
    CHECK(detect_compression(Bytes{0x1f, 0x8b, 0x07}) == Compression::none); // not deflate
    CHECK(detect_compression(Bytes{0xfd, 0x37, 0x7a, 0x58, 0x5a}) == Compression::none);
    CHECK(detect_compression(Bytes{0x28, 0xb5, 0x2f}) == Compression::none);
    CHECK(detect_compression(Bytes{0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}) == Compression::none); // skippable
    CHECK(detect_compression(Bytes{0x7f, 'E', 'L', 'F', 2, 1, 1}) == Compression::none);
  }
  SECTION("real compressed data is recognised, whatever it would be named")
  {
    for (const Compression format : k_formats) {
      CHECK(detect_compression(compress(format, sample())) == format);
    }
  }
}

TEST_CASE("core::compression_name and the codec table", "[compress]")
{
  CHECK(compression_name(Compression::none) == "none");
  CHECK(compression_name(Compression::gzip) == "gzip");
  CHECK(compression_name(Compression::xz) == "xz");
  CHECK(compression_name(Compression::zstd) == "zstd");
  CHECK(module_suffixes() == std::vector<std::string>{".ko", ".ko.gz", ".ko.xz", ".ko.zst"});
  CHECK(level_range(Compression::xz)->lowest == 0);
  CHECK(level_range(Compression::zstd)->highest == ZSTD_maxCLevel());
  CHECK_FALSE(level_range(Compression::none).has_value());
  CHECK_FALSE(level_problem(k_default_level).has_value());
  CHECK_FALSE(level_problem(15).has_value()); // zstd takes it
  CHECK(level_problem(99).value() == "level 99 fits no format (gzip 1-9, xz 0-9, zstd 1-" + std::to_string(ZSTD_maxCLevel()) + ")");
  // One format's range, as compress() applies it.
  CHECK(level_problem(15, Compression::gzip).value() == "gzip level 15 is out of range (1-9)");
  CHECK_FALSE(level_problem(15, Compression::zstd).has_value());
  CHECK_FALSE(level_problem(0, Compression::xz).has_value());
  CHECK(level_problem(0, Compression::gzip).has_value());
  CHECK_FALSE(level_problem(k_default_level, Compression::gzip).has_value());
  CHECK_FALSE(level_problem(99, Compression::none).has_value()); // nothing to compress
  CHECK_THROWS_WITH(compress(Compression::gzip, sample(), 15), KSIGN_CONTAINS("gzip level 15 is out of range (1-9)"));
  CHECK(compression_suffix(Compression::none).empty());
  CHECK(compression_suffix(Compression::gzip) == ".gz");
  CHECK(compression_suffix(Compression::xz) == ".xz");
  CHECK(compression_suffix(Compression::zstd) == ".zst");
  CHECK(kernel_default_level(Compression::gzip) == 6);
  CHECK(kernel_default_level(Compression::xz) == 6);
  CHECK(kernel_default_level(Compression::zstd) == 3);
}

TEST_CASE("core::compress round trips", "[compress]")
{
  const Bytes& data = sample();
  REQUIRE(data.size() > 300 * 1024);

  SECTION("kernel default levels")
  {
    for (const Compression format : k_formats) {
      INFO(compression_name(format));
      const Bytes packed = compress(format, data);
      CHECK(packed.size() < data.size() / 2);
      CHECK(decompress(format, packed) == data);
    }
  }
  SECTION("explicit levels")
  {
    const std::pair<Compression, int> cases[] = {
      {Compression::gzip, 1}, {Compression::gzip, 9}, {Compression::xz, 0},
      {Compression::xz, 9},   {Compression::zstd, 1}, {Compression::zstd, 19},
    };
    for (const auto& [format, level] : cases) {
      INFO(compression_name(format) << " level " << level);
      CHECK(decompress(format, compress(format, data, level)) == data);
    }
  }
  SECTION("the level changes the output")
  {
    CHECK(compress(Compression::zstd, data, 1) != compress(Compression::zstd, data, 19));
    CHECK(compress(Compression::xz, data, 0) != compress(Compression::xz, data, 6));
  }
  SECTION("empty and tiny input")
  {
    for (const Compression format : k_formats) {
      INFO(compression_name(format));
      CHECK(decompress(format, compress(format, Bytes{})).empty());
      CHECK(decompress(format, compress(format, Bytes{42})) == Bytes{42});
    }
  }
  SECTION("none copies")
  {
    CHECK(compress(Compression::none, data) == data);
    CHECK(decompress(Compression::none, data) == data);
  }
}

TEST_CASE("core::compress levels out of range", "[compress]")
{
  const Bytes data(100, 1);
  CHECK(error_of([&] { (void)compress(Compression::gzip, data, 0); }) == Errc::failure);
  CHECK(error_of([&] { (void)compress(Compression::gzip, data, 10); }) == Errc::failure);
  CHECK(error_of([&] { (void)compress(Compression::xz, data, 10); }) == Errc::failure);
  CHECK(error_of([&] { (void)compress(Compression::xz, data, -2); }) == Errc::failure);
  CHECK(error_of([&] { (void)compress(Compression::zstd, data, 0); }) == Errc::failure);
  CHECK(error_of([&] { (void)compress(Compression::zstd, data, ZSTD_maxCLevel() + 1); }) == Errc::failure);
  CHECK_FALSE(error_of([&] { (void)compress(Compression::xz, data, 0); }).has_value());
  CHECK_FALSE(error_of([&] { (void)compress(Compression::zstd, data, ZSTD_maxCLevel()); }).has_value());
}

TEST_CASE("core::compress writes what the kernel accepts", "[compress]")
{
  const Bytes& data = sample();

  SECTION("gzip: a plain `gzip -n` header and a correct trailer")
  {
    for (const auto& [level, xfl] : {std::pair{6, 0}, std::pair{1, 4}, std::pair{9, 2}}) {
      INFO("level " << level);
      const Bytes packed = compress(Compression::gzip, data, level);
      REQUIRE(packed.size() > 18);
      // ID1 ID2 CM FLG MTIME(4) XFL OS
      const Bytes header(packed.begin(), packed.begin() + 10);
      CHECK(header == Bytes{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, static_cast<std::uint8_t>(xfl), 0x03});
      const std::size_t trailer = packed.size() - 8;
      CHECK(little_endian32(packed, trailer) == crc32_z(0, data.data(), data.size()));
      CHECK(little_endian32(packed, trailer + 4) == static_cast<std::uint32_t>(data.size()));
    }
  }
  SECTION("xz: one stream, CRC32 check, LZMA2 with a 1 MiB dictionary")
  {
    for (const int level : {0, 6, 9}) {
      INFO("level " << level);
      const Bytes packed = compress(Compression::xz, data, level);
      REQUIRE(packed.size() > 32);
      // Stream header: magic(6), stream flags(2) = 00 01 (CRC32), CRC32(4).
      CHECK(packed[6] == 0x00);
      CHECK(packed[7] == 0x01);
      // Stream footer repeats the flags before its "YZ" magic.
      CHECK(packed[packed.size() - 4] == 0x00);
      CHECK(packed[packed.size() - 3] == 0x01);
      CHECK(packed[packed.size() - 2] == 'Y');
      CHECK(packed[packed.size() - 1] == 'Z');
      // First block header, right after the stream header: size byte, flags, optional
      // sizes, then the filter flags: id 0x21 (LZMA2), property size 1, dictionary byte.
      const std::size_t block = 12;
      const std::uint8_t flags = packed[block + 1];
      CHECK((flags & 0x03) == 0); // one filter
      CHECK((flags & 0xc0) == 0); // the stream encoder records no sizes in the header
      CHECK(packed[block + 2] == 0x21);
      CHECK(packed[block + 3] == 0x01);
      // Dictionary byte d means (2 | (d & 1)) << (d / 2 + 11) bytes: 16 is exactly 1 MiB.
      CHECK(packed[block + 4] == 16);

      // And liblzma, told to take only one stream, reads all of it.
      Bytes out(data.size());
      std::uint64_t memlimit = UINT64_MAX;
      std::size_t in_pos = 0;
      std::size_t out_pos = 0;
      CHECK(lzma_stream_buffer_decode(&memlimit, 0, nullptr, packed.data(), &in_pos, packed.size(), out.data(),
                                      &out_pos, out.size()) == LZMA_OK);
      CHECK(in_pos == packed.size());
      CHECK(out_pos == data.size());
    }
  }
  SECTION("zstd: one frame with content size and checksum")
  {
    for (const int level : {1, 3, 19}) {
      INFO("level " << level);
      const Bytes packed = compress(Compression::zstd, data, level);
      REQUIRE(packed.size() > 8);
      const std::uint8_t descriptor = packed[4];
      CHECK((descriptor & 0x04) != 0); // Content_Checksum_flag
      CHECK((descriptor & 0xc0) != 0); // a Frame_Content_Size field is present
      CHECK(ZSTD_getFrameContentSize(packed.data(), packed.size()) == data.size());
      CHECK(ZSTD_findFrameCompressedSize(packed.data(), packed.size()) == packed.size());
    }
  }
}

TEST_CASE("core::compress output is accepted by the real tools", "[compress][tools]")
{
  const Bytes& data = sample();
  struct Tool
  {
    Compression format;
    const char* program;
    const char* compress_command; // the kernel's Makefile.modinst settings
  };
  const Tool tools[] = {
    {Compression::gzip, "gzip", "gzip -n -f -c"},
    {Compression::xz, "xz", "xz --check=crc32 --lzma2=dict=1MiB -f -c"},
    {Compression::zstd, "zstd", "zstd -q -f -c"},
  };
  const TempFile original(".ko");
  original.write(data);
  for (const Tool& tool : tools) {
    INFO(tool.program);
    if (run(std::string("command -v ") + tool.program + " >/dev/null 2>&1") != 0) {
      WARN(tool.program << " is not installed: not checked against it");
      continue;
    }
    const TempFile packed(std::string(compression_suffix(tool.format)));
    const TempFile unpacked(".out");

    // Ours, read by the tool: it tests clean and gives back the same bytes.
    packed.write(compress(tool.format, data));
    CHECK(run(std::string(tool.program) + " -t -q " + packed.shell()) == 0);
    CHECK(run(std::string(tool.program) + " -d -c " + packed.shell() + " > " + unpacked.shell()) == 0);
    CHECK(unpacked.read() == data);

    // The tool's, read by us.
    CHECK(run(std::string(tool.compress_command) + " " + original.shell() + " > " + packed.shell()) == 0);
    const Bytes theirs = packed.read();
    CHECK(detect_compression(theirs) == tool.format);
    CHECK(decompress(tool.format, theirs) == data);

    // A damaged file of ours is refused by the tool too: the check is one we wrote.
    Bytes damaged = compress(tool.format, data);
    damaged[damaged.size() - 2] ^= 0x01;
    packed.write(damaged);
    CHECK(run(std::string(tool.program) + " -t -q " + packed.shell() + " 2>/dev/null") != 0);
  }
}

TEST_CASE("core::decompress refuses corrupt and truncated data", "[compress]")
{
  const Bytes& data = sample();
  for (const Compression format : k_formats) {
    INFO(compression_name(format));
    const Bytes packed = compress(format, data);

    SECTION(std::string(compression_name(format)) + ": a flipped byte")
    {
      // Middle, trailer (check or size) and a header flags byte; never gzip's MTIME, which nobody checks.
      for (const std::size_t at : {packed.size() / 2, packed.size() / 3, packed.size() - 1, std::size_t{3}}) {
        INFO("byte " << at);
        Bytes damaged = packed;
        damaged[at] ^= 0x40;
        CHECK(decompress_error(format, damaged) == Errc::format);
      }
    }
    SECTION(std::string(compression_name(format)) + ": truncated")
    {
      for (const std::size_t size : {packed.size() - 1, packed.size() - 4, packed.size() / 2, std::size_t{3},
                                     std::size_t{0}}) {
        INFO("cut to " << size << " bytes");
        const Bytes cut(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(size));
        CHECK(decompress_error(format, cut) == Errc::format);
      }
    }
    SECTION(std::string(compression_name(format)) + ": trailing data")
    {
      Bytes with_garbage = packed;
      with_garbage.push_back('x');
      CHECK(decompress_error(format, with_garbage) == Errc::format);

      // Four zero bytes are xz stream padding (xz -d and kmod skip it, the kernel stops before
      // it); for gzip and zstd they are no member or frame.
      Bytes zero_padded = packed;
      zero_padded.insert(zero_padded.end(), 4, 0);
      if (format == Compression::xz) {
        const Decompressed padded = decompress_module(format, zero_padded);
        CHECK(padded.data == data);
        CHECK_FALSE(readers_disagree(format, padded));
        zero_padded.pop_back(); // padding comes in fours
        CHECK(decompress_error(format, zero_padded) == Errc::format);
      } else {
        CHECK(decompress_error(format, zero_padded) == Errc::format);
      }
    }
    SECTION(std::string(compression_name(format)) + ": several members / streams / frames")
    {
      // As gzip -d, xz -d, zstd -d and kmod's userspace decompression read them: all of them.
      // The kernel's own decompressor reads the first only, so the readers disagree.
      const Bytes more = {1, 2, 3};
      Bytes twice = packed;
      append(twice, compress(format, more));
      const Decompressed both = decompress_module(format, twice);
      Bytes joined = data;
      append(joined, more);
      CHECK(both.data == joined);
      CHECK(both.parts == 2);
      CHECK(both.first_part == data.size());
      const auto disagreement = readers_disagree(format, both);
      REQUIRE(disagreement);
      CHECK_THAT(*disagreement, KSIGN_CONTAINS("reads only the first, " + std::to_string(data.size()) + " of "));
      // An empty second part changes nothing: every reader gets the same module.
      Bytes with_empty = packed;
      append(with_empty, compress(format, Bytes{}));
      const Decompressed one = decompress_module(format, with_empty);
      CHECK(one.data == data);
      CHECK(one.parts == 1);
      CHECK_FALSE(readers_disagree(format, one));
      // Output split across the parts: the module is the whole.
      const std::size_t half = data.size() / 2;
      Bytes split = compress(format, ByteView(data).first(half));
      append(split, compress(format, ByteView(data).subspan(half)));
      CHECK(decompress(format, split) == data);
    }
    SECTION(std::string(compression_name(format)) + ": not this format at all")
    {
      CHECK(decompress_error(format, data) == Errc::format);
    }
  }
}

TEST_CASE("core::decompress zstd frames", "[compress]")
{
  const Bytes& data = sample();
  // A skippable frame: magic 0x184D2A50 little-endian, 4-byte length, payload.
  const Bytes skippable = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};

  SECTION("skippable frames alone are not a module")
  {
    CHECK(decompress_error(Compression::zstd, skippable) == Errc::format);
    Bytes cut = skippable;
    cut.pop_back();
    CHECK(decompress_error(Compression::zstd, cut) == Errc::format);
  }
  SECTION("a skippable frame first: zstd, as libzstd reads it, but the kernel and kmod do not")
  {
    Bytes before = skippable;
    append(before, skippable);
    append(before, compress(Compression::zstd, data));
    CHECK(detect_compression(before) == Compression::zstd);
    Bytes before_gzip = skippable;
    append(before_gzip, compress(Compression::gzip, data));
    CHECK(detect_compression(before_gzip) == Compression::none);
    const Decompressed module = decompress_module(Compression::zstd, before);
    CHECK(module.data == data);
    CHECK(module.leading_skippable);
    const auto disagreement = readers_disagree(Compression::zstd, module);
    REQUIRE(disagreement);
    CHECK_THAT(*disagreement, KSIGN_CONTAINS("skippable frame comes before the module"));
  }
  SECTION("a skippable frame after the module is skipped by every reader")
  {
    Bytes after = compress(Compression::zstd, data);
    append(after, skippable);
    const Decompressed module = decompress_module(Compression::zstd, after);
    CHECK(module.data == data);
    CHECK_FALSE(module.leading_skippable);
    CHECK_FALSE(readers_disagree(Compression::zstd, module));
  }
  SECTION("a frame without a content size is decoded by streaming")
  {
    const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
    REQUIRE(context);
    REQUIRE_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(context.get(), ZSTD_c_contentSizeFlag, 0)));
    Bytes packed(ZSTD_compressBound(data.size()));
    const std::size_t size = ZSTD_compress2(context.get(), packed.data(), packed.size(), data.data(), data.size());
    REQUIRE_FALSE(ZSTD_isError(size));
    packed.resize(size);
    REQUIRE(ZSTD_getFrameContentSize(packed.data(), packed.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
    CHECK(decompress(Compression::zstd, packed) == data);
  }
}

TEST_CASE("core::decompress gzip members written by others", "[compress]")
{
  // gzip without -n stores the file name (FNAME); the kernel copes and so do we.
  const Bytes& data = sample();
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  gz_header header{};
  std::string name = "module.ko";
  header.name = reinterpret_cast<Bytef*>(name.data());
  header.os = 3;
  REQUIRE(deflateSetHeader(&stream, &header) == Z_OK);
  Bytes packed(deflateBound(&stream, data.size()) + name.size() + 1);
  stream.next_in = const_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = packed.data();
  stream.avail_out = static_cast<uInt>(packed.size());
  const int rc = deflate(&stream, Z_FINISH);
  packed.resize(stream.total_out);
  deflateEnd(&stream);
  REQUIRE(rc == Z_STREAM_END);
  REQUIRE((packed[3] & 0x08) != 0);
  const Decompressed named = decompress_module(Compression::gzip, packed);
  CHECK(named.data == data);
  CHECK_FALSE(readers_disagree(Compression::gzip, named));

  // A comment (FCOMMENT): zlib and kmod skip it, the kernel's decompressor does not.
  Bytes flagged = packed;
  flagged[3] = 0x10;
  flagged.insert(flagged.begin() + 10, {'h', 'i', 0});
  flagged.erase(flagged.begin() + 13, flagged.begin() + 13 + static_cast<std::ptrdiff_t>(name.size() + 1));
  const Decompressed commented = decompress_module(Compression::gzip, flagged);
  CHECK(commented.data == data);
  const auto disagreement = readers_disagree(Compression::gzip, commented);
  REQUIRE(disagreement);
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("the kernel's decompressor does not skip"));

  // A trailer whose size field lies is corrupt data (zlib checks ISIZE), not a size to trust.
  Bytes lying = packed;
  lying[lying.size() - 4] = 10;
  lying[lying.size() - 3] = 0;
  lying[lying.size() - 2] = 0;
  lying[lying.size() - 1] = 0;
  CHECK(decompress_error(Compression::gzip, lying) == Errc::format);
}

TEST_CASE("core::decompress caps output while decoding: a ratio and an absolute limit", "[compress]")
{
  const auto message_of = [](const std::function<void()>& action) {
    try {
      action();
    } catch (const Error& error) {
      CHECK(error.code() == Errc::format);
      return std::string(error.what());
    }
    return std::string("no error");
  };
  SECTION("the ratio cap arithmetic, without overflow")
  {
    CHECK(decompressed_size_limit(1000, k_default_max_module_size) == 16 * 1000 + k_ratio_slack);
    CHECK(decompressed_size_limit(std::uint64_t{64} << 20, k_default_max_module_size) == k_default_max_module_size);
    CHECK(decompressed_size_limit(UINT64_MAX / 2, UINT64_MAX) == UINT64_MAX);
    CHECK(decompressed_size_limit(10, 4096) == 4096);
  }
  for (const Compression format : k_formats) {
    DYNAMIC_SECTION(compression_name(format))
    {
      // 40 MiB of zeros pack into a few KB: far past 16 times plus 32 MiB.
      const Bytes bomb = compress(format, Bytes(std::size_t{40} << 20));
      REQUIRE(bomb.size() < 80 * 1024);
      const std::string ratio = message_of([&] { (void)decompress(format, bomb); });
      CHECK_THAT(ratio, KSIGN_CONTAINS(std::string(compression_name(format)) + " data decompresses to more than 3"));
      CHECK_THAT(ratio, KSIGN_CONTAINS("16 times its compressed size, plus 32 MiB"));
      // A module-like file passes the ratio cap but not a lower absolute limit.
      const Bytes packed = compress(format, sample());
      CHECK(decompress(format, packed) == sample());
      const std::string absolute = message_of([&] { (void)decompress(format, packed, 256 * 1024); });
      CHECK_THAT(absolute, KSIGN_CONTAINS("decompresses to more than 262144 bytes"));
      CHECK_THAT(absolute, !KSIGN_CONTAINS("times"));
    }
  }
}
