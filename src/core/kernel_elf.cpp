// SPDX-License-Identifier: MIT
#include "core/kernel_elf.hpp"

#include "util/error.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace ksign::core {

namespace {

[[noreturn]] void throw_format(const std::string& message)
{
  throw Error(Errc::format, message);
}

constexpr std::size_t k_setup_sects = 0x1f1;
constexpr std::size_t k_header_magic = 0x202;
constexpr std::size_t k_boot_protocol = 0x206;
constexpr std::size_t k_payload_offset = 0x248;
constexpr std::size_t k_payload_length = 0x24c;
constexpr std::uint16_t k_min_payload_protocol = 0x0208; // payload fields exist since 2.08

std::uint32_t le32(ByteView data, std::size_t offset)
{
  return std::uint32_t{data[offset]} | std::uint32_t{data[offset + 1]} << 8 | std::uint32_t{data[offset + 2]} << 16 |
         std::uint32_t{data[offset + 3]} << 24;
}

bool is_bzimage(ByteView image)
{
  return image.size() >= k_payload_length + 4 && std::memcmp(image.data() + k_header_magic, "HdrS", 4) == 0;
}

// The name of a compression the kernel can use for its payload that ksign does not read.
std::optional<std::string_view> unreadable_compression(ByteView payload)
{
  const auto starts = [&](std::initializer_list<std::uint8_t> magic) {
    return payload.size() >= magic.size() && std::equal(magic.begin(), magic.end(), payload.begin());
  };
  if (starts({0x02, 0x21, 0x4c, 0x18}) || starts({0x04, 0x22, 0x4d, 0x18})) {
    return "lz4";
  }
  if (starts({0x89, 0x4c, 0x5a, 0x4f})) {
    return "lzo";
  }
  if (starts({0x42, 0x5a, 0x68})) {
    return "bzip2";
  }
  if (starts({0x5d, 0x00, 0x00})) {
    return "lzma";
  }
  return std::nullopt;
}

KernelElf extract_from_bzimage(ByteView image)
{
  const std::uint16_t protocol = static_cast<std::uint16_t>(image[k_boot_protocol] | image[k_boot_protocol + 1] << 8);
  if (protocol < k_min_payload_protocol) {
    throw_format("the bzImage's boot protocol " + std::to_string(protocol >> 8) + "." +
                 std::to_string(protocol & 0xff) + " is older than 2.08 and does not say where its kernel is");
  }
  const std::size_t setup_sectors = image[k_setup_sects] == 0 ? 4 : image[k_setup_sects];
  const std::uint64_t code_start = (std::uint64_t{setup_sectors} + 1) * 512;
  const std::uint64_t offset = code_start + le32(image, k_payload_offset);
  const std::uint64_t length = le32(image, k_payload_length);
  if (length < 8 || offset > image.size() || length > image.size() - offset) {
    throw_format("the bzImage's payload lies outside the file (truncated image?)");
  }
  const ByteView payload = image.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
  if (const auto other = unreadable_compression(payload)) {
    throw_format("the bzImage's kernel is compressed with " + std::string(*other) + ", which ksign cannot read");
  }
  KernelElf result;
  result.format = ImageFormat::bzimage;
  result.compression = detect_compression(payload);
  if (result.compression == Compression::none) {
    throw_format("the bzImage's payload is in no compression format ksign knows");
  }
  // x86's build appends the uncompressed size (32-bit little-endian) to the compressed data.
  const std::uint32_t claimed = le32(payload, payload.size() - 4);
  if (claimed > k_max_kernel_image_size) {
    throw_format("the bzImage's kernel claims " + std::to_string(claimed >> 20) + " MiB, more than ksign reads (" +
                 std::to_string(k_max_kernel_image_size >> 20) + " MiB)");
  }
  try {
    result.elf = decompress(result.compression, payload.first(payload.size() - 4), k_max_kernel_image_size);
  } catch (const Error& first) {
    // Another architecture's image may not append the size: try the payload as it is, but
    // report the first failure when that does not work either.
    try {
      result.elf = decompress(result.compression, payload, k_max_kernel_image_size);
    } catch (const Error&) {
      throw Error(first.code(), std::string("the bzImage's payload: ") + first.what());
    }
  }
  return result;
}

} // namespace

KernelElf extract_kernel_elf(ByteView image)
{
  if (image.size() > k_max_kernel_image_size) {
    throw_format("the image is larger than " + std::to_string(k_max_kernel_image_size >> 20) + " MiB");
  }
  if (is_bzimage(image)) {
    KernelElf result = extract_from_bzimage(image);
    if (result.elf.size() < SELFMAG || std::memcmp(result.elf.data(), ELFMAG, SELFMAG) != 0) {
      throw_format("the bzImage's payload is not an ELF kernel");
    }
    return result;
  }
  if (image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0) {
    KernelElf result;
    result.elf.assign(image.begin(), image.end());
    return result;
  }
  throw_format("not a kernel image (neither an ELF vmlinux nor a bzImage)");
}

} // namespace ksign::core
