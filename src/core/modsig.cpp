// SPDX-License-Identifier: MIT
#include "core/modsig.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace ksign::core {

Trailer parse_trailer(ByteView module)
{
  Trailer trailer;
  const std::size_t marker_size = k_signature_marker.size();
  if (module.size() <= marker_size
      || std::memcmp(module.data() + module.size() - marker_size, k_signature_marker.data(), marker_size) != 0) {
    return trailer; // no marker: unsigned
  }
  trailer.status = TrailerStatus::malformed;
  const std::size_t length = module.size() - marker_size;
  if (length <= k_signature_info_size) {
    trailer.problem = "signature marker without room for the signature information";
    return trailer;
  }
  const std::uint8_t* info = module.data() + length - k_signature_info_size;
  const std::uint32_t sig_len = (std::uint32_t{info[8]} << 24) | (std::uint32_t{info[9]} << 16)
                                | (std::uint32_t{info[10]} << 8) | std::uint32_t{info[11]};
  if (sig_len >= length - k_signature_info_size) {
    trailer.problem = "signature length " + std::to_string(sig_len) + " is larger than the module";
    return trailer;
  }
  if (info[2] != k_id_type_pkcs7) {
    trailer.problem = "signature is not PKCS#7 (id_type " + std::to_string(info[2]) + ")";
    return trailer;
  }
  if (info[0] != 0 || info[1] != 0 || info[3] != 0 || info[4] != 0 || info[5] != 0 || info[6] != 0
      || info[7] != 0) {
    trailer.problem = "PKCS#7 signature information has unexpected non-zero fields";
    return trailer;
  }
  if (sig_len == 0) {
    trailer.problem = "empty signature";
    return trailer;
  }
  trailer.status = TrailerStatus::signed_module;
  trailer.signed_length = length - k_signature_info_size - sig_len;
  trailer.cms = module.subspan(trailer.signed_length, sig_len);
  return trailer;
}

std::size_t unsigned_length(ByteView module)
{
  std::size_t length = module.size();
  for (;;) {
    const Trailer trailer = parse_trailer(module.first(length));
    switch (trailer.status) {
    case TrailerStatus::unsigned_module:
      return length;
    case TrailerStatus::malformed:
      throw Error(Errc::format, "malformed signature trailer: " + trailer.problem);
    case TrailerStatus::signed_module:
      length = trailer.signed_length;
      break;
    }
  }
}

std::array<std::uint8_t, k_trailer_size> make_trailer(std::size_t cms_size)
{
  if (cms_size > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(Errc::internal, "signature too large");
  }
  std::array<std::uint8_t, k_trailer_size> trailer{};
  trailer[2] = k_id_type_pkcs7;
  trailer[8] = static_cast<std::uint8_t>(cms_size >> 24);
  trailer[9] = static_cast<std::uint8_t>(cms_size >> 16);
  trailer[10] = static_cast<std::uint8_t>(cms_size >> 8);
  trailer[11] = static_cast<std::uint8_t>(cms_size);
  std::memcpy(trailer.data() + k_signature_info_size, k_signature_marker.data(), k_signature_marker.size());
  return trailer;
}

} // namespace ksign::core
