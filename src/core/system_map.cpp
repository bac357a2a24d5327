// SPDX-License-Identifier: MIT
#include "core/system_map.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace ksign::core {

void for_each_system_map_symbol(std::string_view text,
                                const std::function<void(std::uint64_t, std::string_view)>& found)
{
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    const std::size_t first_space = line.find(' ');
    const std::size_t second_space = first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
    if (second_space == std::string_view::npos) {
      continue;
    }
    std::uint64_t address = 0;
    const std::string_view hex = line.substr(0, first_space);
    const auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), address, 16);
    if (ec == std::errc{} && ptr == hex.data() + hex.size()) {
      found(address, util::trim(line.substr(second_space + 1)));
    }
  }
}

std::optional<std::string> kernel_banner_at(const ElfImage& elf, std::uint64_t address)
{
  constexpr std::string_view expected = "Linux version ";
  constexpr std::size_t k_max_banner = 1024;
  std::string banner;
  for (std::uint64_t at = address; banner.size() < k_max_banner; ++at) {
    const auto byte = elf.bytes_at(at, 1);
    if (!byte || (*byte)[0] == 0) {
      break;
    }
    banner.push_back(static_cast<char>((*byte)[0]));
  }
  if (!banner.starts_with(expected)) {
    return std::nullopt;
  }
  return banner;
}

SymbolTable system_map_symbols(std::string_view text, std::span<const std::string_view> wanted)
{
  SymbolTable found;
  for_each_system_map_symbol(text, [&](std::uint64_t address, std::string_view name) {
    if (std::ranges::find(wanted, name) != wanted.end()) {
      found.emplace(std::string(name), address);
    }
  });
  return found;
}

std::string read_system_map(const std::filesystem::path& path)
{
  const Bytes map = util::read_file(path, k_max_system_map_size);
  return std::string(map.begin(), map.end());
}

} // namespace ksign::core
