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

// The largest module file ksign reads, and the most one may decompress to, unless the caller
// chooses another limit. No module comes near it: Debian 6.12's largest, amdgpu.ko, is 29 MB
// (a few hundred with debug info); it stops a hostile file from claiming all memory.
inline constexpr std::uint64_t k_default_max_module_size = std::uint64_t{1} << 30;

// Compressed data may grow at most this many times, plus k_ratio_slack, whatever the absolute
// limit: Debian 6.12's 4230 xz modules grow 5.5 times overall, the most (test_bpf.ko, all
// tables) 109 times to 4.9 MB, which the slack covers. A 363 KB zstd bomb of 10 GB of zeros
// stops at 68 MiB instead of at the absolute limit.
inline constexpr std::uint64_t k_max_compression_ratio = 100;
inline constexpr std::uint64_t k_ratio_slack = std::uint64_t{32} << 20;

// The most `compressed_size` bytes may decompress to under `max_size` and the ratio cap.
[[nodiscard]] std::uint64_t decompressed_size_limit(std::uint64_t compressed_size, std::uint64_t max_size);

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
// Error(Errc::format) with a reason, and so does output longer than
// decompressed_size_limit(data.size(), max_size), as soon as decoding passes it: memory stays
// within about 1.5 times that limit.
[[nodiscard]] Bytes decompress(Compression compression, ByteView data,
                               std::uint64_t max_size = k_default_max_module_size);

// Compress `data` the way the kernel's Makefile.modinst does, so the kernel's in-kernel
// decompressor and kmod accept it:
//  - gzip: like `gzip -n`: no name, no mtime, no FEXTRA/FCOMMENT/FHCRC, one member;
//  - xz: one stream, CRC32 check, LZMA2 with a 1 MiB dictionary (`xz --check=crc32 --lzma2=dict=1MiB`);
//  - zstd: one frame with the content size and a checksum (what `zstd` writes).
// `level` is the format's level or k_default_level; one outside level_range() throws Error.
[[nodiscard]] Bytes compress(Compression compression, ByteView data, int level = k_default_level);

} // namespace ksign::core
