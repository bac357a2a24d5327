// SPDX-License-Identifier: MIT
// The codec table (core/compress.cpp): detection by magic, names, suffixes and levels, the
// dispatch of compress and decompress (Compression::none copies) and the output limits. Each
// codec's own behaviour is in test_core_compress_<format>.cpp.
#include "catch.hpp"
#include "test_support.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"

#include <zstd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

constexpr Compression k_formats[] = {Compression::gzip, Compression::xz, Compression::zstd};

const Bytes& sample()
{
  return test::module_like_data();
}

std::optional<Errc> error_of(const std::function<void()>& action)
{
  const auto thrown = test::thrown_by(action);
  return thrown ? std::optional(thrown->code) : std::nullopt;
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

TEST_CASE("core::compress and core::decompress: none copies", "[compress]")
{
  const Bytes& data = sample();
  CHECK(compress(Compression::none, data) == data);
  CHECK(decompress(Compression::none, data) == data);
  const Decompressed module = decompress_module(Compression::none, data);
  CHECK(module.first_part == data.size());
  CHECK_FALSE(readers_disagree(Compression::none, module));
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

TEST_CASE("core::decompressed_size_limit: a ratio and an absolute limit, without overflow", "[compress]")
{
  CHECK(decompressed_size_limit(1000, k_default_max_module_size) == 16 * 1000 + k_ratio_slack);
  CHECK(decompressed_size_limit(std::uint64_t{64} << 20, k_default_max_module_size) == k_default_max_module_size);
  CHECK(decompressed_size_limit(UINT64_MAX / 2, UINT64_MAX) == UINT64_MAX);
  CHECK(decompressed_size_limit(10, 4096) == 4096);
}
