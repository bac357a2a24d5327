// SPDX-License-Identifier: MIT
#pragma once

#include "core/compress.hpp"
#include "util/bytes.hpp"

#include <cstdint>

// The ELF kernel inside a kernel image: a vmlinux as it is, or an x86 bzImage's payload
// decompressed (the boot protocol's payload_offset and payload_length, 2.08 and later).
namespace ksign::core {

// Nothing a kernel image holds comes near this: a hostile file cannot claim more memory.
inline constexpr std::uint64_t k_max_kernel_image_size = std::uint64_t{512} << 20;

enum class ImageFormat { elf, bzimage };

// The uncompressed ELF inside `image` (a bzImage's payload, or `image` itself when it is an
// ELF), with the payload's compression. Throws Error(Errc::format) when `image` is neither, is
// larger than k_max_kernel_image_size or its payload cannot be read (say, one "compressed with
// lz4, which ksign cannot read").
struct KernelElf
{
  ImageFormat format = ImageFormat::elf;
  Compression compression = Compression::none;
  Bytes elf;
};
[[nodiscard]] KernelElf extract_kernel_elf(ByteView image);

} // namespace ksign::core
