// SPDX-License-Identifier: MIT
#include "core/certificate_list.hpp"

#include "util/error.hpp"

#include <cstring>
#include <set>

namespace ksign::core {

CertificateList parse_certificate_list(ByteView list, std::uint64_t base,
                                       const std::function<CertificateOrigin(std::size_t)>& origin_of)
{
  CertificateList parsed;
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
      parsed.certificates.push_back(kernel_certificate(list.subspan(at, length), origin_of(at), base + at));
    } catch (const Error& error) {
      parsed.unloadable.push_back({base + at, error.what()});
    }
    at += length;
  }
  return parsed;
}

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
        kernel_certificate(candidate, CertificateOrigin::found_by_scan, static_cast<std::uint64_t>(p - begin));
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

} // namespace ksign::core
