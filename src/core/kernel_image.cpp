// SPDX-License-Identifier: MIT
#include "core/kernel_image.hpp"

#include "core/installed_kernel.hpp"

#include "core/elf_image.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <array>
#include <span>
#include <system_error>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

// ---- symbols the kernel's certs/ directory defines ----

constexpr std::string_view k_list = "system_certificate_list";
constexpr std::string_view k_list_size = "system_certificate_list_size";
constexpr std::string_view k_module_cert_size = "module_cert_size";
constexpr std::string_view k_extra = "system_extra_cert";
constexpr std::string_view k_extra_used = "system_extra_cert_used";
constexpr std::string_view k_blacklist = "blacklist_hashes";
constexpr std::string_view k_revocation = "revocation_certificate_list";
constexpr std::string_view k_revocation_size = "revocation_certificate_list_size";
constexpr std::string_view k_banner = "linux_banner"; // "Linux version ...": proves a System.map fits

constexpr std::array<std::string_view, 9> k_wanted_symbols = {
  k_list, k_list_size, k_module_cert_size, k_extra, k_extra_used, k_blacklist, k_revocation, k_revocation_size, k_banner,
};

// A certificate list of more than this is not one (a distribution kernel's is a few KiB).
constexpr std::uint64_t k_max_list_size = std::uint64_t{16} << 20;
// blacklist_hashes[] entries and the length of one: far beyond any real list.
constexpr std::size_t k_max_blacklist_entries = 1U << 16;
constexpr std::size_t k_max_blacklist_entry = 1024;

[[noreturn]] void throw_format(const std::string& message)
{
  throw Error(Errc::format, message);
}

// ---- System.map ----

// Why `symbols` (from a System.map) do not describe `elf`, or nullopt when they do.
std::optional<std::string> system_map_mismatch(const ElfImage& elf, const SymbolTable& symbols)
{
  if (!symbols.contains(k_list)) {
    return "it lists no system_certificate_list (a stub, or a kernel without a trusted keyring)";
  }
  const auto banner = symbols.find(k_banner);
  if (banner != symbols.end() && !kernel_banner_at(elf, banner->second)) {
    return "it is not the map of this image (linux_banner is elsewhere)";
  }
  if (!elf.offset_of(symbols.at(std::string(k_list)), 1)) {
    return "its system_certificate_list lies outside this image";
  }
  return std::nullopt;
}

// ---- reading by symbols ----

ByteView list_at(const ElfImage& elf, const SymbolTable& symbols, std::string_view start_symbol,
                 std::string_view size_symbol)
{
  const auto start = symbols.find(start_symbol);
  const auto size_entry = symbols.find(size_symbol);
  if (size_entry == symbols.end()) {
    throw_format(std::string(start_symbol) + " has no " + std::string(size_symbol));
  }
  const auto size = elf.uint_at_address(size_entry->second, elf.pointer_size());
  if (!size) {
    throw_format(std::string(size_symbol) + " lies outside the image");
  }
  if (*size == 0) {
    return {};
  }
  if (*size > k_max_list_size) {
    throw_format(std::string(size_symbol) + " says " + std::to_string(*size) + " bytes, more than any certificate list");
  }
  const auto bytes = elf.bytes_at(start->second, *size);
  if (!bytes) {
    throw_format(std::string(start_symbol) + " (" + std::to_string(*size) + " bytes) lies outside the image");
  }
  return *bytes;
}

std::vector<std::string> read_blacklist_hashes(const ElfImage& elf, std::uint64_t address)
{
  std::vector<std::string> hashes;
  const std::size_t pointer = elf.pointer_size();
  for (std::size_t i = 0;; ++i) {
    if (i == k_max_blacklist_entries) {
      throw_format("blacklist_hashes has no end");
    }
    const auto entry = elf.uint_at_address(address + i * pointer, pointer);
    if (!entry) {
      throw_format("blacklist_hashes lies outside the image");
    }
    if (*entry == 0) {
      return hashes;
    }
    std::string text;
    for (std::uint64_t at = *entry;; ++at) {
      const auto byte = elf.bytes_at(at, 1);
      if (!byte) {
        throw_format("a blacklist_hashes entry lies outside the image");
      }
      if ((*byte)[0] == 0) {
        break;
      }
      if (text.size() == k_max_blacklist_entry) {
        throw_format("a blacklist_hashes entry has no end");
      }
      text.push_back(static_cast<char>((*byte)[0]));
    }
    hashes.push_back(std::move(text));
  }
}

void read_by_symbols(const ElfImage& elf, const SymbolTable& symbols, KernelTrust& trust)
{
  const auto list_symbol = symbols.find(k_list);
  if (list_symbol == symbols.end()) {
    // A kernel built without a system trusted keyring: it trusts nothing of its own.
    trust.blacklist_hashes.emplace();
    trust.revocation_certificates.emplace();
    return;
  }
  const ByteView list = list_at(elf, symbols, k_list, k_list_size);
  const std::uint64_t list_address = list_symbol->second;
  std::uint64_t build_key_size = 0;
  if (const auto size = symbols.find(k_module_cert_size); size != symbols.end()) {
    build_key_size = elf.uint_at_address(size->second, elf.pointer_size()).value_or(0);
  }
  std::optional<std::uint64_t> extra_offset; // from the list's start
  if (const auto extra = symbols.find(k_extra); extra != symbols.end()) {
    const auto used = symbols.find(k_extra_used);
    if (used != symbols.end()) {
      trust.extra_slot_used = elf.uint_at_address(used->second, 4).value_or(0);
      // The slot fills the space up to system_extra_cert_used, less alignment padding.
      if (used->second > extra->second) {
        trust.extra_slot_size = (used->second - extra->second) & ~std::uint64_t{3};
      }
    }
    if (extra->second >= list_address) {
      extra_offset = extra->second - list_address;
    }
  }
  const std::uint64_t base = elf.offset_of(list_address, 1).value_or(0);
  CertificateList parsed = parse_certificate_list(list, base, [&](std::size_t at) {
    if (extra_offset && at >= *extra_offset) {
      return CertificateOrigin::extra_slot;
    }
    return at < build_key_size ? CertificateOrigin::build_key : CertificateOrigin::trusted_keys;
  });
  trust.certificates = std::move(parsed.certificates);
  trust.unloadable = std::move(parsed.unloadable);

  trust.blacklist_hashes.emplace();
  if (const auto blacklist = symbols.find(k_blacklist); blacklist != symbols.end()) {
    *trust.blacklist_hashes = read_blacklist_hashes(elf, blacklist->second);
  }
  trust.revocation_certificates.emplace();
  if (const auto revocation = symbols.find(k_revocation); revocation != symbols.end()) {
    const ByteView revoked = list_at(elf, symbols, k_revocation, k_revocation_size);
    CertificateList parsed_revoked = parse_certificate_list(revoked, elf.offset_of(revocation->second, 1).value_or(0),
                                                       [](std::size_t) { return CertificateOrigin::revocation; });
    *trust.revocation_certificates = std::move(parsed_revoked.certificates);
    trust.unloadable.insert(trust.unloadable.end(), parsed_revoked.unloadable.begin(), parsed_revoked.unloadable.end());
  }
}

// What `kernel` trusts, located by its symbols, else by the first of `system_maps` that fits
// it, else by a scan. Sets `used_map` to the index of the System.map used.
KernelTrust analyze(const KernelElf& kernel, std::uint64_t image_size, std::span<const std::string_view> system_maps,
                    std::optional<std::size_t>& used_map)
{
  const ElfImage elf(kernel.elf);
  KernelTrust trust;
  trust.format = kernel.format;
  trust.payload_compression = kernel.compression;
  trust.image_size = image_size;
  trust.elf_size = kernel.elf.size();
  used_map.reset();

  if (elf.has_symbol_table()) {
    trust.method = TrustMethod::symbols;
    read_by_symbols(elf, elf.symbols(k_wanted_symbols), trust);
    return trust;
  }
  for (std::size_t i = 0; i < system_maps.size(); ++i) {
    const SymbolTable symbols = system_map_symbols(system_maps[i], k_wanted_symbols);
    std::optional<std::string> problem = system_map_mismatch(elf, symbols);
    if (!problem) {
      try {
        KernelTrust by_map = trust;
        by_map.method = TrustMethod::system_map;
        by_map.system_map_used = true;
        read_by_symbols(elf, symbols, by_map);
        used_map = i;
        return by_map;
      } catch (const Error& error) {
        problem = std::string("its addresses do not fit this image: ") + error.what();
      }
    }
    if (!trust.system_map_problem) {
      trust.system_map_problem = std::move(problem);
    }
  }
  trust.method = TrustMethod::scan;
  trust.certificates = scan_for_certificates(kernel.elf);
  return trust;
}

} // namespace

std::string_view trust_method_name(TrustMethod method)
{
  switch (method) {
  case TrustMethod::symbols:
    return "symbols";
  case TrustMethod::system_map:
    return "System.map";
  case TrustMethod::scan:
    return "scan";
  }
  throw Error(Errc::failure, "unknown trust method");
}

KernelTrust read_kernel_trust(ByteView image, std::optional<std::string_view> system_map)
{
  const KernelElf kernel = extract_kernel_elf(image);
  std::optional<std::size_t> used_map;
  if (system_map) {
    const std::array<std::string_view, 1> maps = {*system_map};
    return analyze(kernel, image.size(), maps, used_map);
  }
  return analyze(kernel, image.size(), {}, used_map);
}

KernelTrust read_kernel_trust(const KernelImageSources& sources)
{
  const Bytes image = util::read_file(sources.image, k_max_kernel_image_size);
  std::optional<std::string> map;
  if (sources.system_map) {
    map = read_system_map(*sources.system_map);
  }
  try {
    return read_kernel_trust(image, map ? std::optional<std::string_view>(*map) : std::nullopt);
  } catch (const Error& error) {
    if (error.code() == Errc::format) {
      throw Error(Errc::format, util::quote(sources.image) + ": " + error.what());
    }
    throw;
  }
}

KernelImageCandidates find_kernel_image(const fs::path& moduledir, std::string_view release, const fs::path& boot)
{
  const InstalledKernelLayout layout = installed_kernel_layout(moduledir, release, boot);
  KernelImageCandidates candidates;
  std::error_code ec;
  for (const fs::path& image : layout.images) {
    if (fs::exists(image, ec)) {
      candidates.images.push_back(image);
    }
  }
  for (const fs::path& map : layout.system_maps) {
    if (fs::exists(map, ec)) {
      candidates.system_maps.push_back(map);
    }
  }
  return candidates;
}

InstalledKernelTrust read_installed_kernel_trust(const fs::path& moduledir, std::string_view release,
                                                 const fs::path& boot)
{
  const KernelImageCandidates candidates = find_kernel_image(moduledir, release, boot);
  InstalledKernelTrust result;
  std::vector<std::pair<fs::path, std::string>> maps;
  for (const fs::path& path : candidates.system_maps) {
    try {
      maps.emplace_back(path, read_system_map(path));
    } catch (const Error& error) {
      result.failures.push_back({path, error.what()});
    }
  }
  std::vector<std::string_view> texts;
  for (const auto& map : maps) {
    texts.push_back(map.second);
  }
  for (const fs::path& path : candidates.images) {
    try {
      const Bytes image = util::read_file(path, k_max_kernel_image_size);
      const KernelElf kernel = extract_kernel_elf(image);
      std::optional<std::size_t> used_map;
      result.trust = analyze(kernel, image.size(), texts, used_map);
      if (result.trust->certificates.empty()) {
        // Every kernel holds at least its build key: this is no boot image (Debian's headers
        // ship a vmlinux for BTF only).
        result.trust.reset();
        throw Error(Errc::format, "holds no certificate list (not the kernel's boot image)");
      }
      result.sources.image = path;
      if (used_map) {
        result.sources.system_map = maps[*used_map].first;
      }
      return result;
    } catch (const Error& error) {
      result.failures.push_back({path, error.what()});
    }
  }
  return result;
}

} // namespace ksign::core
