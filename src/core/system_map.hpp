// SPDX-License-Identifier: MIT
#pragma once

#include "core/elf_image.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// A System.map: the addresses of a kernel's symbols when its image has no symbol table, and the
// banner that tells whether a map is the image's own.
namespace ksign::core {

// A System.map larger than this is not one (a distribution kernel's has a few hundred thousand
// lines, well under this).
inline constexpr std::uint64_t k_max_system_map_size = std::uint64_t{64} << 20;

// Call `found(address, name)` for each "ffffffff81979dc2 D name" line of a System.map text.
void for_each_system_map_symbol(std::string_view text,
                                const std::function<void(std::uint64_t, std::string_view)>& found);

// The kernel's banner ("Linux version ...", linux_banner) at `address` of `elf`, or nullopt
// when no banner is there (a System.map that is not this image's points elsewhere).
[[nodiscard]] std::optional<std::string> kernel_banner_at(const ElfImage& elf, std::uint64_t address);

// The addresses of those of `wanted` that a System.map text lists.
[[nodiscard]] SymbolTable system_map_symbols(std::string_view text, std::span<const std::string_view> wanted);

// The text of the System.map `path`; throws Error(Errc::failure) when it cannot be read or is
// larger than k_max_system_map_size.
[[nodiscard]] std::string read_system_map(const std::filesystem::path& path);

} // namespace ksign::core
