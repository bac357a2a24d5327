// SPDX-License-Identifier: MIT
#pragma once

#include "core/compress.hpp"
#include "core/elf_image.hpp"
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

// Nothing a kernel image holds comes near this: a hostile file cannot claim more memory.
inline constexpr std::uint64_t k_max_kernel_image_size = std::uint64_t{512} << 20;

// A System.map larger than this is not one (a distribution kernel's has a few hundred thousand
// lines, well under this).
inline constexpr std::uint64_t k_max_system_map_size = std::uint64_t{64} << 20;

enum class ImageFormat { elf, bzimage };

// How the certificates were located.
enum class TrustMethod {
  symbols,    // the ELF's own symbol table
  system_map, // a System.map's addresses
  scan,       // a search of the image for DER certificates: no symbols to say where the list is
};

// "symbols", "System.map", "scan" (stable, for --json).
[[nodiscard]] std::string_view trust_method_name(TrustMethod method);

// Why a certificate is in the list.
enum class CertificateOrigin {
  build_key,     // the first module_cert_size bytes: the build's certs/signing_key.x509
  trusted_keys,  // the rest of system_certificate_list (CONFIG_SYSTEM_TRUSTED_KEYS)
  extra_slot,    // system_extra_cert, filled by insert-sys-cert
  revocation,    // revocation_certificate_list
  found_by_scan, // a certificate found in the image's data (where is unknown)
};

// "build key", "CONFIG_SYSTEM_TRUSTED_KEYS", "extra slot", "revocation list", "found by scan".
[[nodiscard]] std::string_view certificate_origin_name(CertificateOrigin origin);

// One certificate of a kernel's lists, with what the kernel's X.509 parser takes from it.
struct KernelCertificate
{
  Bytes der;
  CertificateOrigin origin = CertificateOrigin::trusted_keys;
  std::uint64_t offset = 0;   // where in the ELF it was found (file offset)
  std::string subject;        // the name the kernel makes of it: "<O>: <CN>", or CN, O, email
  std::string common_name;    // the subject's CN, empty when it has none
  Bytes issuer;               // DER Name, tag and length included
  Bytes serial;               // the serialNumber INTEGER's content octets (modinfo's sig_key)
  Bytes subject_key_id;       // raw octets, empty when the certificate has none
  std::string key_algorithm;  // the kernel's name: "rsa", "ecdsa-nist-p384", "mldsa65", or the OID
  std::string tbs_sha256;     // hex SHA-256 of the tbsCertificate (a 7.x "tbs:" entry; see blacklist_entry_for)
};

// What the kernel's parser takes from one DER certificate (origin trusted_keys, offset 0).
// Throws Error(Errc::format) when it is not a certificate.
[[nodiscard]] KernelCertificate kernel_certificate(ByteView der);

// The name the kernel's X.509 parser makes of a DER Name (tag and length included), as it names
// a certificate's key by its subject: "<O>: <CN>", or CN, O, email. Throws Error(Errc::format).
[[nodiscard]] std::string kernel_subject_name(ByteView name);

// The description the kernel gives the key it makes of `certificate` (as /proc/keys shows
// it): "<subject>: <hex subjectKeyIdentifier>", or the serial's hex when there is no SKID.
[[nodiscard]] std::string kernel_key_description(const KernelCertificate& certificate);

// A certificate-shaped region the kernel would skip when loading the list.
struct UnloadableCertificate
{
  std::uint64_t offset = 0;
  std::string reason;
};

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

// Call `found(address, name)` for each "ffffffff81979dc2 D name" line of a System.map text.
void for_each_system_map_symbol(std::string_view text,
                                const std::function<void(std::uint64_t, std::string_view)>& found);

// The kernel's banner ("Linux version ...", linux_banner) at `address` of `elf`, or nullopt
// when no banner is there (a System.map that is not this image's points elsewhere).
[[nodiscard]] std::optional<std::string> kernel_banner_at(const ElfImage& elf, std::uint64_t address);

// Read what the kernel in `sources` trusts. A System.map is used only when the image has no
// symbols; one that is a stub or does not fit the image is noted and the image scanned.
// Throws Error(Errc::failure) when a file cannot be read, Error(Errc::format) when the image is
// not a kernel image ksign can read (say, a bzImage "compressed with lz4, which ksign cannot
// read") or is larger than k_max_kernel_image_size.
[[nodiscard]] KernelTrust read_kernel_trust(const KernelImageSources& sources);

// The same for an image and System.map already in memory.
[[nodiscard]] KernelTrust read_kernel_trust(ByteView image, std::optional<std::string_view> system_map);

// The uncompressed ELF inside `image` (a bzImage's payload, or `image` itself when it is an
// ELF), with the payload's compression. Throws as read_kernel_trust does.
struct KernelElf
{
  ImageFormat format = ImageFormat::elf;
  Compression compression = Compression::none;
  Bytes elf;
};
[[nodiscard]] KernelElf extract_kernel_elf(ByteView image);

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
