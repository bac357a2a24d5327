// SPDX-License-Identifier: MIT
// The xz codec (core/compress_xz.cpp), through core::compress and core::decompress: what it
// writes (one stream, CRC32, LZMA2 with a 1 MiB dictionary, as the kernel's build writes it),
// what it reads (stream padding too), and what it refuses.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"

#include <lzma.h>

#include <cstdint>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

constexpr Compression k_xz = Compression::xz;

std::optional<Errc> decompress_error(const Bytes& data)
{
  const auto thrown = test::thrown_by([&] { (void)decompress(k_xz, data); });
  return thrown ? std::optional(thrown->code) : std::nullopt;
}

} // namespace

TEST_CASE("xz: round trips", "[compress][xz]")
{
  const Bytes& data = test::module_like_data();
  REQUIRE(data.size() > 300 * 1024);
  const Bytes packed = compress(k_xz, data);
  CHECK(packed.size() < data.size() / 2);
  CHECK(decompress(k_xz, packed) == data);
  for (const int level : {0, 9}) {
    INFO("level " << level);
    CHECK(decompress(k_xz, compress(k_xz, data, level)) == data);
  }
  // The level changes the output.
  CHECK(compress(k_xz, data, 0) != compress(k_xz, data, 6));
  CHECK(decompress(k_xz, compress(k_xz, Bytes{})).empty());
  CHECK(decompress(k_xz, compress(k_xz, Bytes{42})) == Bytes{42});
}

TEST_CASE("xz: one stream, CRC32 check, LZMA2 with a 1 MiB dictionary", "[compress][xz]")
{
  const Bytes& data = test::module_like_data();
  for (const int level : {0, 6, 9}) {
    INFO("level " << level);
    const Bytes packed = compress(k_xz, data, level);
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

TEST_CASE("xz: output accepted by the real xz, and xz's read by us", "[compress][xz][tools]")
{
  if (!test::run("command -v xz >/dev/null 2>&1")) {
    WARN("xz is not installed: not checked against it");
    return;
  }
  const Bytes& data = test::module_like_data();
  // Ours, read by the tool: it tests clean and gives back the same bytes.
  const Bytes ours = compress(k_xz, data);
  CHECK(test::filter_through("xz -t -q", ours).has_value());
  CHECK(test::filter_through("xz -d -c", ours) == data);
  // The tool's (the kernel's Makefile.modinst settings), read by us.
  const std::optional<Bytes> theirs = test::filter_through("xz --check=crc32 --lzma2=dict=1MiB -f -c", data);
  REQUIRE(theirs);
  CHECK(detect_compression(*theirs) == k_xz);
  CHECK(decompress(k_xz, *theirs) == data);
  // A damaged file of ours is refused by the tool too: the check is one we wrote.
  Bytes damaged = ours;
  damaged[damaged.size() - 2] ^= 0x01;
  CHECK_FALSE(test::filter_through("xz -t -q", damaged).has_value());
}

TEST_CASE("xz: corrupt, truncated and trailing data are refused", "[compress][xz]")
{
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_xz, data);

  SECTION("a flipped byte")
  {
    // Middle, the last byte of the stream footer's magic and a byte of the header's magic.
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
  SECTION("trailing data; stream padding (zero bytes in fours) is skipped")
  {
    Bytes with_garbage = packed;
    with_garbage.push_back('x');
    CHECK(decompress_error(with_garbage) == Errc::format);
    // Four zero bytes are xz stream padding (xz -d and kmod skip it, the kernel stops before it).
    Bytes zero_padded = packed;
    zero_padded.insert(zero_padded.end(), 4, 0);
    const Decompressed padded = decompress_module(k_xz, zero_padded);
    CHECK(padded.data == data);
    CHECK_FALSE(readers_disagree(k_xz, padded));
    zero_padded.pop_back(); // padding comes in fours
    CHECK(decompress_error(zero_padded) == Errc::format);
  }
  SECTION("not xz at all")
  {
    CHECK(decompress_error(data) == Errc::format);
  }
}

TEST_CASE("xz: several streams are read whole, and the kernel's reader would stop at the first",
          "[compress][xz]")
{
  // As xz -d and kmod's userspace decompression read them: all of them. The kernel's own
  // decompressor reads the first only, so the readers disagree.
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_xz, data);
  const Bytes more = {1, 2, 3};
  Bytes twice = packed;
  append(twice, compress(k_xz, more));
  const Decompressed both = decompress_module(k_xz, twice);
  Bytes joined = data;
  append(joined, more);
  CHECK(both.data == joined);
  CHECK(both.parts == 2);
  CHECK(both.first_part == data.size());
  const auto disagreement = readers_disagree(k_xz, both);
  REQUIRE(disagreement);
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("2 xz streams: "));
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("reads only the first, " + std::to_string(data.size()) + " of "));
  // An empty second stream changes nothing: every reader gets the same module.
  Bytes with_empty = packed;
  append(with_empty, compress(k_xz, Bytes{}));
  const Decompressed one = decompress_module(k_xz, with_empty);
  CHECK(one.data == data);
  CHECK(one.parts == 1);
  CHECK_FALSE(readers_disagree(k_xz, one));
  // Output split across the streams: the module is the whole.
  const std::size_t half = data.size() / 2;
  Bytes split = compress(k_xz, ByteView(data).first(half));
  append(split, compress(k_xz, ByteView(data).subspan(half)));
  CHECK(decompress(k_xz, split) == data);
}

TEST_CASE("xz: output is capped while decoding", "[compress][xz]")
{
  // 40 MiB of zeros pack into a few KB: far past 16 times plus 32 MiB.
  const Bytes bomb = compress(k_xz, Bytes(std::size_t{40} << 20));
  REQUIRE(bomb.size() < 80 * 1024);
  const auto ratio = test::thrown_by([&] { (void)decompress(k_xz, bomb); });
  REQUIRE(ratio);
  CHECK(ratio->code == Errc::format);
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("xz data decompresses to more than 3"));
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("16 times its compressed size, plus 32 MiB"));
  // A module-like file passes the ratio cap but not a lower absolute limit.
  const Bytes packed = compress(k_xz, test::module_like_data());
  CHECK(decompress(k_xz, packed) == test::module_like_data());
  const auto absolute = test::thrown_by([&] { (void)decompress(k_xz, packed, 256 * 1024); });
  REQUIRE(absolute);
  CHECK(absolute->code == Errc::format);
  CHECK_THAT(absolute->message, KSIGN_CONTAINS("decompresses to more than 262144 bytes"));
  CHECK_THAT(absolute->message, !KSIGN_CONTAINS("times"));
}
