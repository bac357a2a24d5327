// SPDX-License-Identifier: MIT
// The gzip codec (core/compress_gzip.cpp), through core::compress and core::decompress: what it
// writes (a `gzip -n` member the kernel reads), what it reads, and what it refuses.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

constexpr Compression k_gzip = Compression::gzip;

std::optional<Errc> decompress_error(const Bytes& data)
{
  const auto thrown = test::thrown_by([&] { (void)decompress(k_gzip, data); });
  return thrown ? std::optional(thrown->code) : std::nullopt;
}

std::uint32_t little_endian32(const Bytes& data, std::size_t at)
{
  return std::uint32_t{data[at]} | std::uint32_t{data[at + 1]} << 8 | std::uint32_t{data[at + 2]} << 16 |
         std::uint32_t{data[at + 3]} << 24;
}

} // namespace

TEST_CASE("gzip: round trips", "[compress][gzip]")
{
  const Bytes& data = test::module_like_data();
  REQUIRE(data.size() > 300 * 1024);
  const Bytes packed = compress(k_gzip, data);
  CHECK(packed.size() < data.size() / 2);
  CHECK(decompress(k_gzip, packed) == data);
  for (const int level : {1, 9}) {
    INFO("level " << level);
    CHECK(decompress(k_gzip, compress(k_gzip, data, level)) == data);
  }
  CHECK(decompress(k_gzip, compress(k_gzip, Bytes{})).empty());
  CHECK(decompress(k_gzip, compress(k_gzip, Bytes{42})) == Bytes{42});
}

TEST_CASE("gzip: a plain `gzip -n` header and a correct trailer", "[compress][gzip]")
{
  const Bytes& data = test::module_like_data();
  for (const auto& [level, xfl] : {std::pair{6, 0}, std::pair{1, 4}, std::pair{9, 2}}) {
    INFO("level " << level);
    const Bytes packed = compress(k_gzip, data, level);
    REQUIRE(packed.size() > 18);
    // ID1 ID2 CM FLG MTIME(4) XFL OS
    const Bytes header(packed.begin(), packed.begin() + 10);
    CHECK(header == Bytes{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, static_cast<std::uint8_t>(xfl), 0x03});
    const std::size_t trailer = packed.size() - 8;
    CHECK(little_endian32(packed, trailer) == crc32_z(0, data.data(), data.size()));
    CHECK(little_endian32(packed, trailer + 4) == static_cast<std::uint32_t>(data.size()));
  }
}

TEST_CASE("gzip: output accepted by the real gzip, and gzip's read by us", "[compress][gzip][tools]")
{
  if (!test::run("command -v gzip >/dev/null 2>&1")) {
    WARN("gzip is not installed: not checked against it");
    return;
  }
  const Bytes& data = test::module_like_data();
  // Ours, read by the tool: it tests clean and gives back the same bytes.
  const Bytes ours = compress(k_gzip, data);
  CHECK(test::filter_through("gzip -t -q", ours).has_value());
  CHECK(test::filter_through("gzip -d -c", ours) == data);
  // The tool's (the kernel's Makefile.modinst settings), read by us.
  const std::optional<Bytes> theirs = test::filter_through("gzip -n -f -c", data);
  REQUIRE(theirs);
  CHECK(detect_compression(*theirs) == k_gzip);
  CHECK(decompress(k_gzip, *theirs) == data);
  // A damaged file of ours is refused by the tool too: the check is one we wrote.
  Bytes damaged = ours;
  damaged[damaged.size() - 2] ^= 0x01;
  CHECK_FALSE(test::filter_through("gzip -t -q", damaged).has_value());
}

TEST_CASE("gzip: corrupt, truncated and trailing data are refused", "[compress][gzip]")
{
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_gzip, data);

  SECTION("a flipped byte")
  {
    // Middle, trailer (ISIZE) and the FLG byte; never MTIME, which nobody checks.
    for (const std::size_t at : {packed.size() / 2, packed.size() / 3, packed.size() - 1, std::size_t{3}}) {
      INFO("byte " << at);
      Bytes damaged = packed;
      damaged[at] ^= 0x40;
      CHECK(decompress_error(damaged) == Errc::format);
    }
  }
  SECTION("truncated")
  {
    for (const std::size_t size : {packed.size() - 1, packed.size() - 4, packed.size() / 2, std::size_t{3},
                                   std::size_t{0}}) {
      INFO("cut to " << size << " bytes");
      const Bytes cut(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(size));
      CHECK(decompress_error(cut) == Errc::format);
    }
  }
  SECTION("trailing data, zero bytes too: no member")
  {
    Bytes with_garbage = packed;
    with_garbage.push_back('x');
    CHECK(decompress_error(with_garbage) == Errc::format);
    Bytes zero_padded = packed;
    zero_padded.insert(zero_padded.end(), 4, 0);
    CHECK(decompress_error(zero_padded) == Errc::format);
  }
  SECTION("not gzip at all")
  {
    CHECK(decompress_error(data) == Errc::format);
  }
}

TEST_CASE("gzip: several members are read whole, and the kernel's reader would stop at the first",
          "[compress][gzip]")
{
  // As gzip -d and kmod's userspace decompression read them: all of them. The kernel's own
  // decompressor reads the first only, so the readers disagree.
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_gzip, data);
  const Bytes more = {1, 2, 3};
  Bytes twice = packed;
  append(twice, compress(k_gzip, more));
  const Decompressed both = decompress_module(k_gzip, twice);
  Bytes joined = data;
  append(joined, more);
  CHECK(both.data == joined);
  CHECK(both.parts == 2);
  CHECK(both.first_part == data.size());
  const auto disagreement = readers_disagree(k_gzip, both);
  REQUIRE(disagreement);
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("2 gzip members: "));
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("reads only the first, " + std::to_string(data.size()) + " of "));
  // An empty second member changes nothing: every reader gets the same module.
  Bytes with_empty = packed;
  append(with_empty, compress(k_gzip, Bytes{}));
  const Decompressed one = decompress_module(k_gzip, with_empty);
  CHECK(one.data == data);
  CHECK(one.parts == 1);
  CHECK_FALSE(readers_disagree(k_gzip, one));
  // Output split across the members: the module is the whole.
  const std::size_t half = data.size() / 2;
  Bytes split = compress(k_gzip, ByteView(data).first(half));
  append(split, compress(k_gzip, ByteView(data).subspan(half)));
  CHECK(decompress(k_gzip, split) == data);
}

TEST_CASE("gzip: members written by others", "[compress][gzip]")
{
  // gzip without -n stores the file name (FNAME); the kernel copes and so do we.
  const Bytes& data = test::module_like_data();
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
  const Decompressed named = decompress_module(k_gzip, packed);
  CHECK(named.data == data);
  CHECK_FALSE(readers_disagree(k_gzip, named));

  // A comment (FCOMMENT): zlib and kmod skip it, the kernel's decompressor does not.
  Bytes flagged = packed;
  flagged[3] = 0x10;
  flagged.insert(flagged.begin() + 10, {'h', 'i', 0});
  flagged.erase(flagged.begin() + 13, flagged.begin() + 13 + static_cast<std::ptrdiff_t>(name.size() + 1));
  const Decompressed commented = decompress_module(k_gzip, flagged);
  CHECK(commented.data == data);
  const auto disagreement = readers_disagree(k_gzip, commented);
  REQUIRE(disagreement);
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("the kernel's decompressor does not skip"));

  // A trailer whose size field lies is corrupt data (zlib checks ISIZE), not a size to trust.
  Bytes lying = packed;
  lying[lying.size() - 4] = 10;
  lying[lying.size() - 3] = 0;
  lying[lying.size() - 2] = 0;
  lying[lying.size() - 1] = 0;
  CHECK(decompress_error(lying) == Errc::format);
}

TEST_CASE("gzip: output is capped while decoding", "[compress][gzip]")
{
  // 40 MiB of zeros pack into a few KB: far past 16 times plus 32 MiB.
  const Bytes bomb = compress(k_gzip, Bytes(std::size_t{40} << 20));
  REQUIRE(bomb.size() < 80 * 1024);
  const auto ratio = test::thrown_by([&] { (void)decompress(k_gzip, bomb); });
  REQUIRE(ratio);
  CHECK(ratio->code == Errc::format);
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("gzip data decompresses to more than 3"));
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("16 times its compressed size, plus 32 MiB"));
  // A module-like file passes the ratio cap but not a lower absolute limit.
  const Bytes packed = compress(k_gzip, test::module_like_data());
  CHECK(decompress(k_gzip, packed) == test::module_like_data());
  const auto absolute = test::thrown_by([&] { (void)decompress(k_gzip, packed, 256 * 1024); });
  REQUIRE(absolute);
  CHECK(absolute->code == Errc::format);
  CHECK_THAT(absolute->message, KSIGN_CONTAINS("decompresses to more than 262144 bytes"));
  CHECK_THAT(absolute->message, !KSIGN_CONTAINS("times"));
}
