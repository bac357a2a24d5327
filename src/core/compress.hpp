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
// limit. Measured on Debian 6.12's 4230 xz modules (482 MiB): they grow 5.5 times overall; the
// largest, amdgpu.ko, is 29 MB from 4.0 MB (7.2 times); the only module past 24 times is
// test_bpf.ko, 4.9 MB from 45 KB (110 times), and no module needs more than the slack alone.
// Debug info compresses about 4 times. So 16 times leaves a margin of two over anything real
// past the slack, and a bomb is refused at what a real module of its size could be: a 9 MB
// gzip of zeros stops at 176 MiB (it stopped at 932 MiB with 100 times).
inline constexpr std::uint64_t k_max_compression_ratio = 16;
inline constexpr std::uint64_t k_ratio_slack = std::uint64_t{32} << 20;

// The most `compressed_size` bytes may decompress to under `max_size` and the ratio cap.
[[nodiscard]] std::uint64_t decompressed_size_limit(std::uint64_t compressed_size, std::uint64_t max_size);

// Use the kernel's level for the format (what `make modules_install` gets).
inline constexpr int k_default_level = -1;

// The format `data` starts with: gzip 1f 8b 08, xz fd 37 7a 58 5a 00, zstd 28 b5 2f fd, also
// after zstd skippable frames (which libzstd skips, though the kernel and kmod look for the zstd
// magic at the very start: see Decompressed).
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

// A module file decompressed, and how the readers of modules see it. Decompressors do not all
// read the same bytes of a file (kernel/module/decompress.c, kmod's libkmod-file*.c):
//  - the kernel's own decompressor (CONFIG_MODULE_DECOMPRESS: finit_module with
//    MODULE_INIT_COMPRESSED_FILE, which kmod 31 and newer use when /sys/module/compression names
//    the file's format) reads the first gzip member / xz stream / zstd frame and ignores the rest;
//    it needs the zstd magic at offset 0 and, for gzip, a header with at most a file name;
//  - kmod's userspace decompression (kmod 30 always, newer kmod for another format, and
//    modinfo and depmod), like gzip -d, xz -d and zstd -d, reads every member / stream / frame
//    and skips xz stream padding and zstd skippable frames; kmod also picks the format by the
//    magic at offset 0, and kmod 34 and newer read a zstd file only as far as its first frame's
//    content size.
// `data` is the second reading; the first is `first_part` bytes of it.
struct Decompressed
{
  Bytes data;
  std::uint64_t first_part = 0;   // bytes of `data` the kernel's decompressor reads
  std::size_t parts = 1;          // members / streams / frames that hold data
  bool leading_skippable = false; // zstd: skippable frames before the first frame
  std::optional<std::string> kernel_problem; // the kernel's decompressor cannot read the file
};

// Decompress `data` the way gzip -d, xz -d, zstd -d and kmod's userspace decompression do.
// Corrupt or truncated data (and data after the last part that is neither padding nor
// a skippable frame) throws Error(Errc::format) with a reason, and so does output longer than
// decompressed_size_limit(data.size(), max_size), before it is held: memory stays within that
// limit (the size the data claims is checked first, and where it is missing or wrong the data
// is decoded twice, counting and then into exactly the room needed).
[[nodiscard]] Decompressed decompress_module(Compression compression, ByteView data,
                                             std::uint64_t max_size = k_default_max_module_size);

// Why the kernel's decompressor or kmod would load something other than `decompressed.data`
// (only the first of several parts, a leading skippable frame, a gzip header the kernel cannot
// skip), or nullopt when every reader gets the same module. ksign signs `data` and writes one
// part, which every reader agrees on.
[[nodiscard]] std::optional<std::string> readers_disagree(Compression compression, const Decompressed& decompressed);

// decompress_module(...).data.
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
