// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace ksign::core {

// How a module file is compressed, told by its magic bytes (never by its name).
enum class Compression { none, gzip, xz, zstd };

// No module comes near this; it stops a small hostile file from claiming all memory.
inline constexpr std::uint64_t k_max_decompressed_size = std::uint64_t{4} << 30;

// Use the kernel's level for the format (what `make modules_install` gets).
inline constexpr int k_default_level = -1;

// The format `data` starts with: gzip 1f 8b 08, xz fd 37 7a 58 5a 00, zstd 28 b5 2f fd.
[[nodiscard]] Compression detect_compression(ByteView data);

// The most leading bytes detect_compression looks at.
inline constexpr std::size_t k_compression_magic_size = 6;

// "none", "gzip", "xz", "zstd".
[[nodiscard]] std::string_view compression_name(Compression compression);

// The usual file suffix: "", ".gz", ".xz", ".zst".
[[nodiscard]] std::string_view compression_suffix(Compression compression);

// The names modules are installed under: ".ko", ".ko.gz", ".ko.xz", ".ko.zst".
[[nodiscard]] std::vector<std::string> module_suffixes();

// The level the kernel's Makefile.modinst uses for `compression` (gzip 6, xz 6, zstd 3).
[[nodiscard]] int kernel_default_level(Compression compression);

struct LevelRange
{
  int lowest;
  int highest;
};

// The levels `compression` accepts (gzip 1-9, xz 0-9, zstd 1-22); nullopt for none.
[[nodiscard]] std::optional<LevelRange> level_range(Compression compression);

// Why `level` fits no format at all, or nullopt when some format (or k_default_level) takes it.
[[nodiscard]] std::optional<std::string> level_problem(int level);

// Why `compression` cannot take `level` ("gzip level 15 is out of range (1-9)"), or nullopt
// when it can (k_default_level always; Compression::none takes any, having no level).
[[nodiscard]] std::optional<std::string> level_problem(int level, Compression compression);

// The whole decompressed content. Only the first gzip member / xz stream / zstd frame is
// used, as the kernel does; anything after it is an error (the kernel would ignore it and
// our re-signed output would silently drop it). Corrupt or truncated data throws
// Error(Errc::format) with a reason, and so does output longer than `max_size`.
[[nodiscard]] Bytes decompress(Compression compression, ByteView data,
                               std::uint64_t max_size = k_max_decompressed_size);

// Compress `data` the way the kernel's Makefile.modinst does, so the kernel's in-kernel
// decompressor and kmod accept it:
//  - gzip: like `gzip -n`: no name, no mtime, no FEXTRA/FCOMMENT/FHCRC, one member;
//  - xz: one stream, CRC32 check, LZMA2 with a 1 MiB dictionary (`xz --check=crc32 --lzma2=dict=1MiB`);
//  - zstd: one frame with the content size and a checksum (what `zstd` writes).
// `level` is the format's level or k_default_level; one outside level_range() throws Error.
[[nodiscard]] Bytes compress(Compression compression, ByteView data, int level = k_default_level);

} // namespace ksign::core
