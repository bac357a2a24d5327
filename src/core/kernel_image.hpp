// SPDX-License-Identifier: MIT
#pragma once

#include "core/certificate_list.hpp"
#include "core/compress.hpp"
#include "core/kernel_certificate.hpp"
#include "core/kernel_elf.hpp"
#include "core/system_map.hpp"
#include "util/bytes.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What a kernel image trusts for module signatures, read from the image itself:
//  - system_certificate_list (system_certificate_list_size bytes of concatenated DER; the
//    first module_cert_size bytes are the build's own certs/signing_key.x509), which
//    insert-sys-cert extends with the system_extra_cert slot (system_extra_cert_used bytes);
//  - the blacklist: blacklist_hashes[] ("tbs:<hex>", "bin:<hex>") and the revocation
//    certificates revocation_certificate_list / revocation_certificate_list_size.
// An image is an ELF vmlinux or an x86 bzImage whose payload is that ELF, compressed.
// Symbols come from the ELF's .symtab, else from a System.map; without either the image is
// scanned for DER certificates, which finds the list but cannot tell it from other data.
namespace ksign::core {

// How the certificates were located.
enum class TrustMethod {
  symbols,    // the ELF's own symbol table
  system_map, // a System.map's addresses
  scan,       // a search of the image for DER certificates: no symbols to say where the list is
};

// "symbols", "System.map", "scan" (stable, for --json).
[[nodiscard]] std::string_view trust_method_name(TrustMethod method);

struct KernelTrust
{
  ImageFormat format = ImageFormat::elf;
  Compression payload_compression = Compression::none; // bzImage only
  std::uint64_t image_size = 0;                        // the file
  std::uint64_t elf_size = 0;                          // the (decompressed) ELF
  TrustMethod method = TrustMethod::scan;
  bool system_map_used = false;
  // Why the System.map that was offered was not used (a stub, or it does not fit the image).
  std::optional<std::string> system_map_problem;

  // system_certificate_list in the order the kernel loads it (extra slot included).
  std::vector<KernelCertificate> certificates;
  std::vector<UnloadableCertificate> unloadable;
  // The extra slot: its size when the image has one (symbols only), and how much is used.
  std::optional<std::uint64_t> extra_slot_size;
  std::uint64_t extra_slot_used = 0;

  // The blacklist. Unknown (nullopt) after a scan; empty when the kernel has none.
  std::optional<std::vector<std::string>> blacklist_hashes;
  std::optional<std::vector<KernelCertificate>> revocation_certificates;
};

// Where an image comes from: a file and optionally a System.map for it.
struct KernelImageSources
{
  std::filesystem::path image;
  std::optional<std::filesystem::path> system_map;
};

// Read what the kernel in `sources` trusts. A System.map is used only when the image has no
// symbols; one that is a stub or does not fit the image is noted and the image scanned.
// Throws Error(Errc::failure) when a file cannot be read, Error(Errc::format) when the image is
// not a kernel image ksign can read (say, a bzImage "compressed with lz4, which ksign cannot
// read") or is larger than k_max_kernel_image_size.
[[nodiscard]] KernelTrust read_kernel_trust(const KernelImageSources& sources);

// The same for an image and System.map already in memory.
[[nodiscard]] KernelTrust read_kernel_trust(ByteView image, std::optional<std::string_view> system_map);

// The files that may hold an installed kernel's image and System.map, in the order they are
// tried (only those that exist): <moduledir>/KVER/build/vmlinux, <moduledir>/KVER/vmlinuz,
// <boot>/vmlinuz-KVER; <boot>/System.map-KVER, <moduledir>/KVER/build/System.map.
struct KernelImageCandidates
{
  std::vector<std::filesystem::path> images;
  std::vector<std::filesystem::path> system_maps;
};
[[nodiscard]] KernelImageCandidates find_kernel_image(const std::filesystem::path& moduledir, std::string_view release,
                                                      const std::filesystem::path& boot = "/boot");

// What reading an installed kernel's trust came to: the first image that could be read (with
// the System.map that was used, if any) and why the candidates before it could not be.
struct InstalledKernelTrust
{
  std::optional<KernelTrust> trust;
  KernelImageSources sources;
  struct Failure
  {
    std::filesystem::path file;
    std::string reason;
  };
  std::vector<Failure> failures;
};

// Try the candidates of find_kernel_image in order. Each image is read with the first
// System.map that fits it (a scan when none does). Never throws for an unreadable image: it
// becomes a failure, and `trust` stays empty when no image could be read.
[[nodiscard]] InstalledKernelTrust read_installed_kernel_trust(const std::filesystem::path& moduledir,
                                                               std::string_view release,
                                                               const std::filesystem::path& boot = "/boot");

} // namespace ksign::core
