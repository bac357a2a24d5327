// SPDX-License-Identifier: MIT
#include "core/kernel_image.hpp"

#include "core/certificate.hpp"
#include "core/der.hpp"
#include "core/elf_image.hpp"
#include "core/hash.hpp"
#include "core/key_types.hpp"
#include "core/oids.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"
#include "util/strings.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <set>
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

// The wanted symbols of a System.map ("ffffffff81979dc2 D system_extra_cert" lines).
SymbolTable parse_system_map(std::string_view text)
{
  SymbolTable found;
  for_each_system_map_symbol(text, [&](std::uint64_t address, std::string_view name) {
    if (std::ranges::find(k_wanted_symbols, name) != k_wanted_symbols.end()) {
      found.emplace(std::string(name), address);
    }
  });
  return found;
}

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

// ---- certificates ----

constexpr std::uint8_t k_oid_common_name[] = {0x55, 0x04, 0x03};
constexpr std::uint8_t k_oid_organization[] = {0x55, 0x04, 0x0a};
constexpr std::uint8_t k_oid_email[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01};

std::string dotted_oid(ByteView oid)
{
  std::string text;
  std::uint64_t value = 0;
  bool first = true;
  for (const std::uint8_t byte : oid) {
    value = (value << 7) | (byte & 0x7fU);
    if ((byte & 0x80U) != 0) {
      if (value > (std::uint64_t{1} << 56)) {
        return "(unreadable OID)";
      }
      continue;
    }
    if (first) {
      const std::uint64_t top = value < 80 ? value / 40 : 2;
      text = std::to_string(top) + "." + std::to_string(value - top * 40);
      first = false;
    } else {
      text += "." + std::to_string(value);
    }
    value = 0;
  }
  return text;
}

// The name the kernel's X.509 parser gives the key (x509_fabricate_name): the last CN, O and
// emailAddress of the subject; "O: CN" unless the CN starts with the O (or with its first 7
// characters), else whichever exists. The strings' bytes are taken as they are.
struct SubjectNames
{
  std::string kernel_name;
  std::string common_name;
};

SubjectNames subject_names(ByteView subject_name)
{
  std::optional<std::string> common_name;
  std::optional<std::string> organization;
  std::optional<std::string> email;
  der::Reader rdns(subject_name);
  while (!rdns.at_end()) {
    der::Reader rdn(rdns.read(der::k_set, "subject RDN").content);
    while (!rdn.at_end()) {
      der::Reader attribute(rdn.read(der::k_sequence, "subject attribute").content);
      const ByteView type = attribute.read(der::k_oid, "subject attribute type").content;
      const der::Element value = attribute.read_any("subject attribute value");
      const std::string text(value.content.begin(), value.content.end());
      if (is_oid(type, k_oid_common_name)) {
        common_name = text;
      } else if (is_oid(type, k_oid_organization)) {
        organization = text;
      } else if (is_oid(type, k_oid_email)) {
        email = text;
      }
    }
  }
  SubjectNames names;
  names.common_name = common_name.value_or("");
  if (common_name && organization) {
    const std::string& cn = *common_name;
    const std::string& o = *organization;
    const bool cn_starts_with_o = cn.size() >= o.size() && cn.compare(0, o.size(), o) == 0;
    const bool share_seven = cn.size() >= 7 && o.size() >= 7 && cn.compare(0, 7, o, 0, 7) == 0;
    names.kernel_name = cn_starts_with_o || share_seven ? cn : o + ": " + cn;
  } else {
    names.kernel_name = common_name ? *common_name : organization ? *organization : email.value_or("");
  }
  return names;
}

std::string kernel_key_algorithm(const CertificateParts& parts)
{
  if (is_oid(parts.key_algorithm, k_oid_rsa_encryption)) {
    return "rsa";
  }
  if (is_oid(parts.key_algorithm, k_oid_ec_public_key) && parts.key_parameters) {
    const ByteView curve = *parts.key_parameters;
    const NamedCurve* named = named_curve(curve);
    return named != nullptr ? named->kernel_name : "ecdsa (curve " + dotted_oid(curve) + ")";
  }
  const ByteView algorithm = parts.key_algorithm;
  if (algorithm.size() == sizeof(k_oid_nist_sig_prefix) + 1 &&
      std::equal(std::begin(k_oid_nist_sig_prefix), std::end(k_oid_nist_sig_prefix), algorithm.begin())) {
    if (const std::optional<KeyType> type = ml_dsa_of_oid_arc(algorithm.back())) {
      return std::string(ml_dsa_kernel_name(*type));
    }
  }
  return dotted_oid(algorithm);
}

// What the kernel's parser takes from one DER certificate; throws Error(Errc::format).
KernelCertificate describe_certificate(ByteView der, CertificateOrigin origin, std::uint64_t offset)
{
  const CertificateParts parts = parse_certificate_parts(der);
  // parse_certificate_parts skips the subject; read it (and the TBS for its hash) here.
  der::Reader outer(der);
  der::Reader certificate(outer.read(der::k_sequence, "certificate").content);
  const der::Element tbs_element = certificate.read(der::k_sequence, "tbsCertificate");
  der::Reader tbs(tbs_element.content);
  (void)tbs.read_optional(der::k_context_0, "certificate version");
  (void)tbs.read(der::k_integer, "certificate serial number");
  (void)tbs.read(der::k_sequence, "certificate signature algorithm");
  (void)tbs.read(der::k_sequence, "certificate issuer");
  (void)tbs.read(der::k_sequence, "certificate validity");
  const ByteView subject = tbs.read(der::k_sequence, "certificate subject").content;

  KernelCertificate cert;
  cert.der.assign(der.begin(), der.end());
  cert.origin = origin;
  cert.offset = offset;
  const SubjectNames names = subject_names(subject);
  cert.subject = names.kernel_name;
  cert.common_name = names.common_name;
  cert.issuer.assign(parts.issuer.begin(), parts.issuer.end());
  der::Reader serial(parts.serial);
  const ByteView serial_octets = serial.read(der::k_integer, "certificate serial number").content;
  cert.serial.assign(serial_octets.begin(), serial_octets.end());
  if (parts.subject_key_id) {
    cert.subject_key_id.assign(parts.subject_key_id->begin(), parts.subject_key_id->end());
  }
  cert.key_algorithm = kernel_key_algorithm(parts);
  cert.tbs_sha256 = util::to_hex(digest_of(HashAlgo::sha256, tbs_element.encoding));
  return cert;
}

struct ParsedList
{
  std::vector<KernelCertificate> certificates;
  std::vector<UnloadableCertificate> unloadable;
};

// Split a certificate list the way the kernel's load_certificate_list does: each entry is a
// SEQUENCE with a two-byte length (30 82 LL LL); a malformed entry stops the list, a
// certificate its parser refuses is skipped. `origin_of` names each entry's origin by offset.
template<typename OriginOf> ParsedList parse_certificate_list(ByteView list, std::uint64_t base, OriginOf origin_of)
{
  ParsedList parsed;
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t left = list.size() - at;
    if (left < 4 || list[at] != 0x30 || list[at + 1] != 0x82) {
      parsed.unloadable.push_back({base + at, "the list is malformed here; the kernel stops loading it"});
      break;
    }
    const std::size_t length = (std::size_t{list[at + 2]} << 8 | list[at + 3]) + 4;
    if (length > left) {
      parsed.unloadable.push_back({base + at, "a certificate runs past the end of the list"});
      break;
    }
    try {
      parsed.certificates.push_back(describe_certificate(list.subspan(at, length), origin_of(at), base + at));
    } catch (const Error& error) {
      parsed.unloadable.push_back({base + at, error.what()});
    }
    at += length;
  }
  return parsed;
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
  ParsedList parsed = parse_certificate_list(list, base, [&](std::size_t at) {
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
    ParsedList parsed_revoked = parse_certificate_list(revoked, elf.offset_of(revocation->second, 1).value_or(0),
                                                       [](std::size_t) { return CertificateOrigin::revocation; });
    *trust.revocation_certificates = std::move(parsed_revoked.certificates);
    trust.unloadable.insert(trust.unloadable.end(), parsed_revoked.unloadable.begin(), parsed_revoked.unloadable.end());
  }
}

// ---- reading by scan ----

// Every DER certificate in `data` shaped as a list entry would be (30 82 LL LL 30 82 ...,
// a version [0] or a serial INTEGER next). Duplicates are reported once.
std::vector<KernelCertificate> scan_for_certificates(ByteView data)
{
  std::vector<KernelCertificate> found;
  std::set<Bytes> seen;
  const std::uint8_t* const begin = data.data();
  const std::uint8_t* const end = begin + data.size();
  const std::uint8_t* p = begin;
  while (end - p >= 16) {
    p = static_cast<const std::uint8_t*>(std::memchr(p, 0x30, static_cast<std::size_t>(end - p - 15)));
    if (p == nullptr) {
      break;
    }
    const bool shaped = p[1] == 0x82 && p[4] == 0x30 && (p[5] == 0x82 || p[5] == 0x81) &&
                        (p[5] == 0x82 ? (p[8] == 0xa0 || p[8] == 0x02) : (p[7] == 0xa0 || p[7] == 0x02));
    if (!shaped) {
      ++p;
      continue;
    }
    const std::size_t length = (std::size_t{p[2]} << 8 | p[3]) + 4;
    // The tbsCertificate must leave room in the certificate for the algorithm and signature:
    // a cheap test that keeps code bytes from reaching the parser (and its exceptions).
    const std::size_t tbs_length = p[5] == 0x82 ? (std::size_t{p[6]} << 8 | p[7]) + 4 : std::size_t{p[6]} + 3;
    if (length > static_cast<std::size_t>(end - p) || tbs_length + 4 + 8 > length) {
      ++p;
      continue;
    }
    const ByteView candidate(p, length);
    try {
      KernelCertificate cert =
        describe_certificate(candidate, CertificateOrigin::found_by_scan, static_cast<std::uint64_t>(p - begin));
      if (seen.insert(cert.der).second) {
        found.push_back(std::move(cert));
      }
      p += length;
    } catch (const Error&) {
      ++p;
    }
  }
  return found;
}

// ---- bzImage ----

constexpr std::size_t k_setup_sects = 0x1f1;
constexpr std::size_t k_header_magic = 0x202;
constexpr std::size_t k_boot_protocol = 0x206;
constexpr std::size_t k_payload_offset = 0x248;
constexpr std::size_t k_payload_length = 0x24c;
constexpr std::uint16_t k_min_payload_protocol = 0x0208; // payload fields exist since 2.08

std::uint32_t le32(ByteView data, std::size_t offset)
{
  return std::uint32_t{data[offset]} | std::uint32_t{data[offset + 1]} << 8 | std::uint32_t{data[offset + 2]} << 16 |
         std::uint32_t{data[offset + 3]} << 24;
}

bool is_bzimage(ByteView image)
{
  return image.size() >= k_payload_length + 4 && std::memcmp(image.data() + k_header_magic, "HdrS", 4) == 0;
}

// The name of a compression the kernel can use for its payload that ksign does not read.
std::optional<std::string_view> unreadable_compression(ByteView payload)
{
  const auto starts = [&](std::initializer_list<std::uint8_t> magic) {
    return payload.size() >= magic.size() && std::equal(magic.begin(), magic.end(), payload.begin());
  };
  if (starts({0x02, 0x21, 0x4c, 0x18}) || starts({0x04, 0x22, 0x4d, 0x18})) {
    return "lz4";
  }
  if (starts({0x89, 0x4c, 0x5a, 0x4f})) {
    return "lzo";
  }
  if (starts({0x42, 0x5a, 0x68})) {
    return "bzip2";
  }
  if (starts({0x5d, 0x00, 0x00})) {
    return "lzma";
  }
  return std::nullopt;
}

KernelElf extract_from_bzimage(ByteView image)
{
  const std::uint16_t protocol = static_cast<std::uint16_t>(image[k_boot_protocol] | image[k_boot_protocol + 1] << 8);
  if (protocol < k_min_payload_protocol) {
    throw_format("the bzImage's boot protocol " + std::to_string(protocol >> 8) + "." +
                 std::to_string(protocol & 0xff) + " is older than 2.08 and does not say where its kernel is");
  }
  const std::size_t setup_sectors = image[k_setup_sects] == 0 ? 4 : image[k_setup_sects];
  const std::uint64_t code_start = (std::uint64_t{setup_sectors} + 1) * 512;
  const std::uint64_t offset = code_start + le32(image, k_payload_offset);
  const std::uint64_t length = le32(image, k_payload_length);
  if (length < 8 || offset > image.size() || length > image.size() - offset) {
    throw_format("the bzImage's payload lies outside the file (truncated image?)");
  }
  const ByteView payload = image.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
  if (const auto other = unreadable_compression(payload)) {
    throw_format("the bzImage's kernel is compressed with " + std::string(*other) + ", which ksign cannot read");
  }
  KernelElf result;
  result.format = ImageFormat::bzimage;
  result.compression = detect_compression(payload);
  if (result.compression == Compression::none) {
    throw_format("the bzImage's payload is in no compression format ksign knows");
  }
  // x86's build appends the uncompressed size (32-bit little-endian) to the compressed data.
  const std::uint32_t claimed = le32(payload, payload.size() - 4);
  if (claimed > k_max_kernel_image_size) {
    throw_format("the bzImage's kernel claims " + std::to_string(claimed >> 20) + " MiB, more than ksign reads (" +
                 std::to_string(k_max_kernel_image_size >> 20) + " MiB)");
  }
  try {
    result.elf = decompress(result.compression, payload.first(payload.size() - 4), k_max_kernel_image_size);
  } catch (const Error& first) {
    // Another architecture's image may not append the size: try the payload as it is, but
    // report the first failure when that does not work either.
    try {
      result.elf = decompress(result.compression, payload, k_max_kernel_image_size);
    } catch (const Error&) {
      throw Error(first.code(), std::string("the bzImage's payload: ") + first.what());
    }
  }
  return result;
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
    const SymbolTable symbols = parse_system_map(system_maps[i]);
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

std::string_view certificate_origin_name(CertificateOrigin origin)
{
  switch (origin) {
  case CertificateOrigin::build_key:
    return "build key";
  case CertificateOrigin::trusted_keys:
    return "CONFIG_SYSTEM_TRUSTED_KEYS";
  case CertificateOrigin::extra_slot:
    return "extra slot";
  case CertificateOrigin::revocation:
    return "revocation list";
  case CertificateOrigin::found_by_scan:
    return "found by scan";
  }
  throw Error(Errc::failure, "unknown certificate origin");
}

KernelCertificate kernel_certificate(ByteView der)
{
  return describe_certificate(der, CertificateOrigin::trusted_keys, 0);
}

std::string kernel_subject_name(ByteView name)
{
  der::Reader outer(name);
  return subject_names(outer.read(der::k_sequence, "name").content).kernel_name;
}

std::string kernel_key_description(const KernelCertificate& certificate)
{
  const Bytes& id = certificate.subject_key_id.empty() ? certificate.serial : certificate.subject_key_id;
  return certificate.subject + ": " + util::to_hex(id);
}

KernelElf extract_kernel_elf(ByteView image)
{
  if (image.size() > k_max_kernel_image_size) {
    throw_format("the image is larger than " + std::to_string(k_max_kernel_image_size >> 20) + " MiB");
  }
  if (is_bzimage(image)) {
    KernelElf result = extract_from_bzimage(image);
    if (result.elf.size() < SELFMAG || std::memcmp(result.elf.data(), ELFMAG, SELFMAG) != 0) {
      throw_format("the bzImage's payload is not an ELF kernel");
    }
    return result;
  }
  if (image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0) {
    KernelElf result;
    result.elf.assign(image.begin(), image.end());
    return result;
  }
  throw_format("not a kernel image (neither an ELF vmlinux nor a bzImage)");
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

namespace {

std::string read_system_map(const fs::path& path)
{
  const Bytes map = util::read_file(path, k_max_system_map_size);
  return std::string(map.begin(), map.end());
}

} // namespace

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
  const fs::path tree = moduledir / std::string(release);
  const std::string name(release);
  KernelImageCandidates candidates;
  std::error_code ec;
  for (const fs::path& image : {tree / "build" / "vmlinux", tree / "vmlinuz", boot / ("vmlinuz-" + name)}) {
    if (fs::exists(image, ec)) {
      candidates.images.push_back(image);
    }
  }
  for (const fs::path& map : {boot / ("System.map-" + name), tree / "build" / "System.map"}) {
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
