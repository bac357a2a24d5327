// SPDX-License-Identifier: MIT
// The zstd codec (core/compress_zstd.cpp), through core::compress and core::decompress: what it
// writes (one frame with its content size and checksum), what it reads (skippable frames, frames
// without a content size), and what it refuses.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

constexpr Compression k_zstd = Compression::zstd;

std::optional<Errc> decompress_error(const Bytes& data)
{
  const auto thrown = test::thrown_by([&] { (void)decompress(k_zstd, data); });
  return thrown ? std::optional(thrown->code) : std::nullopt;
}

} // namespace

TEST_CASE("zstd: round trips", "[compress][zstd]")
{
  const Bytes& data = test::module_like_data();
  REQUIRE(data.size() > 300 * 1024);
  const Bytes packed = compress(k_zstd, data);
  CHECK(packed.size() < data.size() / 2);
  CHECK(decompress(k_zstd, packed) == data);
  for (const int level : {1, 19}) {
    INFO("level " << level);
    CHECK(decompress(k_zstd, compress(k_zstd, data, level)) == data);
  }
  // The level changes the output.
  CHECK(compress(k_zstd, data, 1) != compress(k_zstd, data, 19));
  CHECK(decompress(k_zstd, compress(k_zstd, Bytes{})).empty());
  CHECK(decompress(k_zstd, compress(k_zstd, Bytes{42})) == Bytes{42});
}

TEST_CASE("zstd: one frame with content size and checksum", "[compress][zstd]")
{
  const Bytes& data = test::module_like_data();
  for (const int level : {1, 3, 19}) {
    INFO("level " << level);
    const Bytes packed = compress(k_zstd, data, level);
    REQUIRE(packed.size() > 8);
    const std::uint8_t descriptor = packed[4];
    CHECK((descriptor & 0x04) != 0); // Content_Checksum_flag
    CHECK((descriptor & 0xc0) != 0); // a Frame_Content_Size field is present
    CHECK(ZSTD_getFrameContentSize(packed.data(), packed.size()) == data.size());
    CHECK(ZSTD_findFrameCompressedSize(packed.data(), packed.size()) == packed.size());
  }
}

TEST_CASE("zstd: output accepted by the real zstd, and zstd's read by us", "[compress][zstd][tools]")
{
  if (!test::run("command -v zstd >/dev/null 2>&1")) {
    WARN("zstd is not installed: not checked against it");
    return;
  }
  const Bytes& data = test::module_like_data();
  // Ours, read by the tool: it tests clean and gives back the same bytes.
  const Bytes ours = compress(k_zstd, data);
  CHECK(test::filter_through("zstd -t -q", ours).has_value());
  CHECK(test::filter_through("zstd -d -c", ours) == data);
  // The tool's (the kernel's Makefile.modinst settings), read by us.
  const std::optional<Bytes> theirs = test::filter_through("zstd -q -f -c", data);
  REQUIRE(theirs);
  CHECK(detect_compression(*theirs) == k_zstd);
  CHECK(decompress(k_zstd, *theirs) == data);
  // A damaged file of ours is refused by the tool too: the check is one we wrote.
  Bytes damaged = ours;
  damaged[damaged.size() - 2] ^= 0x01;
  CHECK_FALSE(test::filter_through("zstd -t -q", damaged).has_value());
}

TEST_CASE("zstd: corrupt, truncated and trailing data are refused", "[compress][zstd]")
{
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_zstd, data);

  SECTION("a flipped byte")
  {
    // Middle, the last byte of the checksum and a byte of the frame magic.
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
  SECTION("trailing data, zero bytes too: no frame")
  {
    Bytes with_garbage = packed;
    with_garbage.push_back('x');
    CHECK(decompress_error(with_garbage) == Errc::format);
    Bytes zero_padded = packed;
    zero_padded.insert(zero_padded.end(), 4, 0);
    CHECK(decompress_error(zero_padded) == Errc::format);
  }
  SECTION("not zstd at all")
  {
    CHECK(decompress_error(data) == Errc::format);
  }
}

TEST_CASE("zstd: several frames are read whole, and the kernel's reader would stop at the first",
          "[compress][zstd]")
{
  // As zstd -d and kmod's userspace decompression read them: all of them. The kernel's own
  // decompressor reads the first only, so the readers disagree.
  const Bytes& data = test::module_like_data();
  const Bytes packed = compress(k_zstd, data);
  const Bytes more = {1, 2, 3};
  Bytes twice = packed;
  append(twice, compress(k_zstd, more));
  const Decompressed both = decompress_module(k_zstd, twice);
  Bytes joined = data;
  append(joined, more);
  CHECK(both.data == joined);
  CHECK(both.parts == 2);
  CHECK(both.first_part == data.size());
  const auto disagreement = readers_disagree(k_zstd, both);
  REQUIRE(disagreement);
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("2 zstd frames: "));
  CHECK_THAT(*disagreement, KSIGN_CONTAINS("reads only the first, " + std::to_string(data.size()) + " of "));
  // An empty second frame changes nothing: every reader gets the same module.
  Bytes with_empty = packed;
  append(with_empty, compress(k_zstd, Bytes{}));
  const Decompressed one = decompress_module(k_zstd, with_empty);
  CHECK(one.data == data);
  CHECK(one.parts == 1);
  CHECK_FALSE(readers_disagree(k_zstd, one));
  // Output split across the frames: the module is the whole.
  const std::size_t half = data.size() / 2;
  Bytes split = compress(k_zstd, ByteView(data).first(half));
  append(split, compress(k_zstd, ByteView(data).subspan(half)));
  CHECK(decompress(k_zstd, split) == data);
}

TEST_CASE("zstd: skippable frames and frames without a content size", "[compress][zstd]")
{
  const Bytes& data = test::module_like_data();
  // A skippable frame: magic 0x184D2A50 little-endian, 4-byte length, payload.
  const Bytes skippable = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};

  SECTION("skippable frames alone are not a module")
  {
    CHECK(decompress_error(skippable) == Errc::format);
    Bytes cut = skippable;
    cut.pop_back();
    CHECK(decompress_error(cut) == Errc::format);
  }
  SECTION("a skippable frame first: zstd, as libzstd reads it, but the kernel and kmod do not")
  {
    Bytes before = skippable;
    append(before, skippable);
    append(before, compress(k_zstd, data));
    CHECK(detect_compression(before) == k_zstd);
    Bytes before_gzip = skippable;
    append(before_gzip, compress(Compression::gzip, data));
    CHECK(detect_compression(before_gzip) == Compression::none);
    const Decompressed module = decompress_module(k_zstd, before);
    CHECK(module.data == data);
    CHECK(module.leading_skippable);
    const auto disagreement = readers_disagree(k_zstd, module);
    REQUIRE(disagreement);
    CHECK_THAT(*disagreement, KSIGN_CONTAINS("skippable frame comes before the module"));
  }
  SECTION("a skippable frame after the module is skipped by every reader")
  {
    Bytes after = compress(k_zstd, data);
    append(after, skippable);
    const Decompressed module = decompress_module(k_zstd, after);
    CHECK(module.data == data);
    CHECK_FALSE(module.leading_skippable);
    CHECK_FALSE(readers_disagree(k_zstd, module));
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
    CHECK(decompress(k_zstd, packed) == data);
  }
}

TEST_CASE("zstd: output is capped while decoding", "[compress][zstd]")
{
  // 40 MiB of zeros pack into a few KB: far past 16 times plus 32 MiB.
  const Bytes bomb = compress(k_zstd, Bytes(std::size_t{40} << 20));
  REQUIRE(bomb.size() < 80 * 1024);
  const auto ratio = test::thrown_by([&] { (void)decompress(k_zstd, bomb); });
  REQUIRE(ratio);
  CHECK(ratio->code == Errc::format);
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("zstd data decompresses to more than 3"));
  CHECK_THAT(ratio->message, KSIGN_CONTAINS("16 times its compressed size, plus 32 MiB"));
  // A module-like file passes the ratio cap but not a lower absolute limit.
  const Bytes packed = compress(k_zstd, test::module_like_data());
  CHECK(decompress(k_zstd, packed) == test::module_like_data());
  const auto absolute = test::thrown_by([&] { (void)decompress(k_zstd, packed, 256 * 1024); });
  REQUIRE(absolute);
  CHECK(absolute->code == Errc::format);
  CHECK_THAT(absolute->message, KSIGN_CONTAINS("decompresses to more than 262144 bytes"));
  CHECK_THAT(absolute->message, !KSIGN_CONTAINS("times"));
}
