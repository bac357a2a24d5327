// SPDX-License-Identifier: MIT
#include "core/platform_fallback.hpp"

#include "core/elf_image.hpp"
#include "core/kernel_image.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <span>
#include <system_error>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_caller = "mod_verify_sig";
constexpr std::string_view k_callee = "verify_pkcs7_signature";
constexpr std::string_view k_banner = "linux_banner";

// A part of mod_verify_sig: the function itself, or a piece the compiler split off
// ("mod_verify_sig.cold", ".part.0", ".isra.0", ".constprop.0").
bool is_caller_part(std::string_view name)
{
  return name == k_caller || (name.starts_with(k_caller) && name.size() > k_caller.size() && name[k_caller.size()] == '.');
}

struct CodeRange
{
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

// Where the code and its callee are, as the image's symbols or a System.map say.
struct Located
{
  std::vector<CodeRange> caller; // empty: no mod_verify_sig
  std::optional<std::uint64_t> callee;
  std::optional<std::uint64_t> banner;
  bool sized = true; // every part's end is known
};

Located locate_by_symbols(const ElfImage& elf)
{
  Located found;
  for (const ElfSymbol& symbol : elf.symbols_where([](std::string_view name) {
         return is_caller_part(name) || name == k_callee || name == k_banner;
       })) {
    if (symbol.name == k_callee) {
      found.callee = symbol.address;
    } else if (symbol.name == k_banner) {
      found.banner = symbol.address;
    } else {
      found.caller.push_back({symbol.address, symbol.size});
      found.sized = found.sized && symbol.size != 0;
    }
  }
  return found;
}

// A System.map has no sizes: a part ends where the next symbol starts.
Located locate_by_map(std::string_view map)
{
  Located found;
  std::vector<std::uint64_t> addresses;
  for_each_system_map_symbol(map, [&](std::uint64_t address, std::string_view name) {
    addresses.push_back(address);
    if (name == k_callee) {
      found.callee = address;
    } else if (name == k_banner) {
      found.banner = address;
    } else if (is_caller_part(name)) {
      found.caller.push_back({address, 0});
    }
  });
  std::ranges::sort(addresses);
  for (CodeRange& part : found.caller) {
    const auto next = std::ranges::upper_bound(addresses, part.address);
    if (next == addresses.end()) {
      found.sized = false;
    } else {
      part.size = *next - part.address;
    }
  }
  return found;
}

// The direct calls and jumps (e8/e9 rel32) in `code`, which starts at `address`, that land on
// `target`. Bytes inside other instructions may look like e8/e9 too, but only a displacement
// that lands exactly on the callee counts, which data or other code does not do by chance.
std::size_t count_x86_calls(ByteView code, std::uint64_t address, std::uint64_t target, bool is_64)
{
  std::size_t calls = 0;
  for (std::size_t i = 0; i + 5 <= code.size(); ++i) {
    if (code[i] != 0xe8 && code[i] != 0xe9) {
      continue;
    }
    const std::uint32_t raw = std::uint32_t{code[i + 1]} | std::uint32_t{code[i + 2]} << 8 |
                              std::uint32_t{code[i + 3]} << 16 | std::uint32_t{code[i + 4]} << 24;
    const auto displacement = static_cast<std::int64_t>(static_cast<std::int32_t>(raw));
    std::uint64_t landing = address + i + 5 + static_cast<std::uint64_t>(displacement);
    if (!is_64) {
      landing &= 0xffffffffU;
    }
    calls += landing == target ? 1 : 0;
  }
  return calls;
}

PlatformFallbackProbe decide(const ElfImage& elf, const Located& where, std::optional<std::string_view> banner)
{
  PlatformFallbackProbe probe;
  if (banner && where.banner) {
    const auto own = kernel_banner_at(elf, *where.banner);
    if (own && util::trim(*own) != util::trim(*banner)) {
      probe.evidence = FallbackEvidence::other_build;
      return probe;
    }
  }
  if (elf.machine() != EM_X86_64 && elf.machine() != EM_386) {
    probe.evidence = FallbackEvidence::other_architecture;
    return probe;
  }
  if (where.caller.empty() || !where.callee) {
    probe.evidence = FallbackEvidence::no_function;
    return probe;
  }
  if (!where.sized) {
    probe.evidence = FallbackEvidence::no_size;
    return probe;
  }
  for (const CodeRange& part : where.caller) {
    const auto code = elf.bytes_at(part.address, part.size);
    if (!code) {
      probe.evidence = FallbackEvidence::code_outside;
      return probe;
    }
    probe.calls += count_x86_calls(*code, part.address, *where.callee, elf.machine() == EM_X86_64);
  }
  probe.evidence = probe.calls == 1 || probe.calls == 2 ? FallbackEvidence::calls_counted : FallbackEvidence::unexpected_calls;
  probe.fallback = probe.calls == 1 ? PlatformFallback::unused
                   : probe.calls == 2 ? PlatformFallback::used
                                      : PlatformFallback::unknown;
  return probe;
}

// The answer for an ELF kernel, by its symbols, else by the first of `maps` that fits it; sets
// `used_map` to that map's index.
PlatformFallbackProbe probe_elf(const ElfImage& elf, std::span<const std::string_view> maps,
                                std::optional<std::string_view> banner, std::optional<std::size_t>& used_map)
{
  used_map.reset();
  if (elf.has_symbol_table()) {
    const Located where = locate_by_symbols(elf);
    if (!where.caller.empty() || where.callee) {
      return decide(elf, where, banner);
    }
    // A symbol table without the code's names (a BTF-only vmlinux): a System.map may do.
  }
  for (std::size_t i = 0; i < maps.size(); ++i) {
    const Located where = locate_by_map(maps[i]);
    if (!where.banner || !kernel_banner_at(elf, *where.banner)) {
      continue; // not this image's map (or a stub)
    }
    used_map = i;
    return decide(elf, where, banner);
  }
  PlatformFallbackProbe probe;
  probe.evidence = elf.has_symbol_table() ? FallbackEvidence::no_function : FallbackEvidence::no_symbols;
  return probe;
}

// probe_elf on the ELF kernel in `image`: the image itself when it is one (not copied: a debug
// vmlinux is hundreds of MB), else a bzImage's payload.
PlatformFallbackProbe probe_image(ByteView image, std::span<const std::string_view> maps,
                                  std::optional<std::string_view> banner, std::optional<std::size_t>& used_map)
{
  if (image.size() <= k_max_kernel_image_size && image.size() >= SELFMAG &&
      std::equal(image.begin(), image.begin() + SELFMAG, ELFMAG)) {
    return probe_elf(ElfImage(image), maps, banner, used_map);
  }
  const KernelElf kernel = extract_kernel_elf(image);
  return probe_elf(ElfImage(kernel.elf), maps, banner, used_map);
}

bool decided(const PlatformFallbackProbe& probe)
{
  return probe.fallback != PlatformFallback::unknown;
}

} // namespace

std::string_view platform_fallback_name(PlatformFallback fallback)
{
  switch (fallback) {
  case PlatformFallback::used:
    return "yes";
  case PlatformFallback::unused:
    return "no";
  case PlatformFallback::unknown:
    return "unknown";
  }
  throw Error(Errc::failure, "unknown platform fallback");
}

PlatformFallbackProbe probe_platform_fallback(ByteView image, std::optional<std::string_view> system_map,
                                              std::optional<std::string_view> banner)
{
  std::optional<std::size_t> used_map;
  if (system_map) {
    const std::array<std::string_view, 1> maps = {*system_map};
    return probe_image(image, maps, banner, used_map);
  }
  return probe_image(image, {}, banner, used_map);
}

std::vector<fs::path> platform_probe_images(const fs::path& moduledir, std::string_view release, const fs::path& boot,
                                            const fs::path& debug)
{
  std::vector<fs::path> images = find_kernel_image(moduledir, release, boot).images;
  const std::string name(release);
  std::error_code ec;
  for (const fs::path& image : {debug / "boot" / ("vmlinux-" + name), debug / "lib" / "modules" / name / "vmlinux"}) {
    if (fs::exists(image, ec)) {
      images.push_back(image);
    }
  }
  return images;
}

PlatformFallbackProbe probe_installed_platform_fallback(const fs::path& moduledir, std::string_view release,
                                                        const fs::path& boot, const fs::path& debug,
                                                        std::optional<std::string_view> banner)
{
  std::vector<PlatformFallbackProbe::Failure> failures;
  std::vector<std::pair<fs::path, std::string>> maps;
  for (const fs::path& path : find_kernel_image(moduledir, release, boot).system_maps) {
    try {
      const Bytes map = util::read_file(path, k_max_system_map_size);
      maps.emplace_back(path, std::string(map.begin(), map.end()));
    } catch (const Error& error) {
      failures.push_back({path, error.what()});
    }
  }
  std::vector<std::string_view> texts;
  for (const auto& map : maps) {
    texts.push_back(map.second);
  }
  PlatformFallbackProbe best; // no_image until an image is read
  for (const fs::path& path : platform_probe_images(moduledir, release, boot, debug)) {
    try {
      const Bytes image = util::read_file(path, k_max_kernel_image_size);
      std::optional<std::size_t> used_map;
      PlatformFallbackProbe probe = probe_image(image, texts, banner, used_map);
      probe.image = path;
      if (used_map) {
        probe.system_map = maps[*used_map].first;
      }
      // Keep the most telling answer: a decision, else a count, else the last reason.
      if (decided(probe) || best.evidence == FallbackEvidence::no_image ||
          best.evidence != FallbackEvidence::unexpected_calls) {
        best = std::move(probe);
      }
      if (decided(best)) {
        break;
      }
    } catch (const Error& error) {
      failures.push_back({path, error.what()});
    }
  }
  best.failures = std::move(failures);
  return best;
}

std::optional<std::string> read_kernel_banner(const fs::path& file)
{
  try {
    const Bytes text = util::read_file(file, util::k_small_file_limit);
    return std::string(text.begin(), text.end());
  } catch (const Error&) {
    return std::nullopt;
  }
}

} // namespace ksign::core
