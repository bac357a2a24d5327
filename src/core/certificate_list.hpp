// SPDX-License-Identifier: MIT
#pragma once

#include "core/kernel_certificate.hpp"
#include "util/bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// The certificates of a kernel's lists (system_certificate_list, revocation_certificate_list)
// split as the kernel splits them, and the search for certificates in an image without symbols.
namespace ksign::core {

// A certificate-shaped region the kernel would skip when loading the list.
struct UnloadableCertificate
{
  std::uint64_t offset = 0;
  std::string reason;
};

struct CertificateList
{
  std::vector<KernelCertificate> certificates;
  std::vector<UnloadableCertificate> unloadable;
};

// Split a certificate list the way the kernel's load_certificate_list does: each entry is a
// SEQUENCE with a two-byte length (30 82 LL LL); a malformed entry stops the list, a
// certificate its parser refuses is skipped. `base` is the list's file offset; `origin_of`
// names each entry's origin by its offset in the list.
[[nodiscard]] CertificateList parse_certificate_list(ByteView list, std::uint64_t base,
                                                     const std::function<CertificateOrigin(std::size_t)>& origin_of);

// Every DER certificate in `data` shaped as a list entry would be (30 82 LL LL 30 82 ...,
// a version [0] or a serial INTEGER next), origin found_by_scan. Duplicates are reported once.
[[nodiscard]] std::vector<KernelCertificate> scan_for_certificates(ByteView data);

} // namespace ksign::core
