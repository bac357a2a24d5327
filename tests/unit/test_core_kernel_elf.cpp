// SPDX-License-Identifier: MIT
// The ELF inside a kernel image: testbed-7's bzImage (xz, and recompressed with gzip and zstd),
// and bzImages made hostile.
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/compress.hpp"
#include "core/kernel_elf.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <zstd.h>

using namespace ksign;

namespace {

std::uint32_t le32(const Bytes& data, std::size_t at)
{
  return std::uint32_t{data[at]} | std::uint32_t{data[at + 1]} << 8 | std::uint32_t{data[at + 2]} << 16 |
         std::uint32_t{data[at + 3]} << 24;
}

void put_le32(Bytes& data, std::size_t at, std::uint32_t value)
{
  for (int i = 0; i < 4; ++i) {
    data[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

// `image` (a bzImage) with its payload replaced by `payload`, payload_length fixed.
Bytes with_payload(const Bytes& image, const Bytes& payload)
{
  const std::size_t setup = image[0x1f1] == 0 ? 4 : image[0x1f1];
  const std::size_t start = (setup + 1) * 512 + le32(image, 0x248);
  const std::size_t length = le32(image, 0x24c);
  Bytes out(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(start));
  append(out, payload);
  out.insert(out.end(), image.begin() + static_cast<std::ptrdiff_t>(start + length), image.end());
  put_le32(out, 0x24c, static_cast<std::uint32_t>(payload.size()));
  return out;
}

// The kernel's way: compressed data, then the uncompressed size as 32-bit little-endian.
Bytes kernel_payload(core::Compression compression, const Bytes& elf)
{
  Bytes payload = core::compress(compression, elf, 1);
  const std::size_t at = payload.size();
  payload.resize(at + 4);
  put_le32(payload, at, static_cast<std::uint32_t>(elf.size()));
  return payload;
}

// One zstd frame of `size` zero bytes, without the content size, made without holding them.
Bytes zstd_zeros(std::size_t size)
{
  const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  REQUIRE(context);
  const Bytes chunk(std::size_t{1} << 20, 0);
  Bytes out(ZSTD_CStreamOutSize());
  Bytes frame;
  for (std::size_t done = 0; done <= size; done += chunk.size()) {
    const bool last = done == size;
    ZSTD_inBuffer input{chunk.data(), last ? 0 : chunk.size(), 0};
    for (;;) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      const std::size_t left = ZSTD_compressStream2(context.get(), &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
      REQUIRE_FALSE(ZSTD_isError(left));
      frame.insert(frame.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(output.pos));
      if (last ? left == 0 : input.pos == input.size) {
        break;
      }
    }
  }
  return frame;
}

} // namespace

TEST_CASE("core::extract_kernel_elf: bzImage payloads in xz, gzip and zstd, and the formats ksign does not read",
          "[kernel_elf]")
{
  std::string why;
  const auto testbed = test::testbed_7(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  const Bytes image = test::read_whole(*testbed / "bzImage");
  const core::KernelElf kernel = core::extract_kernel_elf(image);
  CHECK(kernel.format == core::ImageFormat::bzimage);
  CHECK(kernel.compression == core::Compression::xz);
  // The payload is an ELF of the size x86's build appends to it.
  REQUIRE(kernel.elf.size() > 4);
  CHECK(std::string(kernel.elf.begin(), kernel.elf.begin() + 4) == "\x7f" "ELF");
  const std::size_t setup = image[0x1f1] == 0 ? 4 : image[0x1f1];
  const std::size_t payload_end = (setup + 1) * 512 + le32(image, 0x248) + le32(image, 0x24c);
  CHECK(le32(image, payload_end - 4) == kernel.elf.size());

  for (const core::Compression compression : {core::Compression::gzip, core::Compression::zstd}) {
    const Bytes rebuilt = with_payload(image, kernel_payload(compression, kernel.elf));
    const auto start = std::chrono::steady_clock::now();
    const core::KernelElf again = core::extract_kernel_elf(rebuilt);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    INFO("bzImage with a " << core::compression_name(compression) << " payload: " << rebuilt.size() << " bytes in "
                           << took.count() << " s");
    CHECK(again.format == core::ImageFormat::bzimage);
    CHECK(again.compression == compression);
    CHECK(again.elf == kernel.elf);
  }

  const std::vector<std::pair<Bytes, std::string>> others = {
    {{0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0, 0, 0, 0, 0}, "lz4"},
    {{0x89, 0x4c, 0x5a, 0x4f, 0, 0, 0, 0, 0, 0, 0, 0}, "lzo"},
    {{0x42, 0x5a, 0x68, 0x39, 0, 0, 0, 0, 0, 0, 0, 0}, "bzip2"},
    {{0x5d, 0x00, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}, "lzma"},
  };
  for (const auto& [payload, name] : others) {
    CHECK_THROWS_WITH(core::extract_kernel_elf(with_payload(image, payload)),
                      KSIGN_CONTAINS("compressed with " + name + ", which ksign cannot read"));
  }
}

TEST_CASE("core::extract_kernel_elf refuses hostile images plainly", "[kernel_elf]")
{
  std::string why;
  const auto testbed = test::testbed_7(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  const Bytes image = test::read_whole(*testbed / "bzImage");
  SECTION("a payload past the end of the file")
  {
    Bytes bad = image;
    put_le32(bad, 0x24c, 0x7fffffff);
    CHECK_THROWS_WITH(core::extract_kernel_elf(bad), KSIGN_CONTAINS("outside the file"));
  }
  SECTION("a truncated payload")
  {
    const Bytes cut(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(image.size() / 2));
    CHECK_THROWS_AS(core::extract_kernel_elf(cut), Error);
  }
  SECTION("a payload that claims more than 512 MiB")
  {
    const core::KernelElf kernel = core::extract_kernel_elf(image);
    Bytes payload = kernel_payload(core::Compression::zstd, kernel.elf);
    put_le32(payload, payload.size() - 4, 0xf0000000U);
    CHECK_THROWS_WITH(core::extract_kernel_elf(with_payload(image, payload)), KSIGN_CONTAINS("more than ksign reads"));
  }
  SECTION("a payload that decompresses past 512 MiB")
  {
    // 600 MiB of zeros pack into a few KB: the ratio cap stops it long before 512 MiB.
    Bytes payload = zstd_zeros(std::size_t{600} << 20);
    payload.resize(payload.size() + 4); // claims 0 bytes
    CHECK_THROWS_WITH(core::extract_kernel_elf(with_payload(image, payload)),
                      KSIGN_CONTAINS("MiB (16 times its compressed size, plus 32 MiB)"));
  }
  SECTION("not a kernel at all")
  {
    CHECK_THROWS_WITH(core::extract_kernel_elf(as_bytes("just text")), KSIGN_CONTAINS("not a kernel image"));
  }
  SECTION("an ELF is taken as it is")
  {
    const core::KernelElf elf = core::extract_kernel_elf(core::extract_kernel_elf(image).elf);
    CHECK(elf.format == core::ImageFormat::elf);
    CHECK(elf.compression == core::Compression::none);
  }
}
