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
  if (length <= sizeof(ModuleSignature)) {
    trailer.problem = "signature marker without room for the signature information";
    return trailer;
  }
  ModuleSignature info;
  std::memcpy(&info, module.data() + length - sizeof info, sizeof info);
  const std::uint32_t sig_len = info.signature_length();
  if (sig_len >= length - sizeof info) {
    trailer.problem = "signature length " + std::to_string(sig_len) + " is larger than the module";
    return trailer;
  }
  if (info.id_type != k_id_type_pkcs7) {
    trailer.problem = "signature is not PKCS#7 (id_type " + std::to_string(info.id_type) + ")";
    return trailer;
  }
  if (info.algo != 0 || info.hash != 0 || info.signer_len != 0 || info.key_id_len != 0 || info.pad[0] != 0
      || info.pad[1] != 0 || info.pad[2] != 0) {
    trailer.problem = "PKCS#7 signature information has unexpected non-zero fields";
    return trailer;
  }
  if (sig_len == 0) {
    trailer.problem = "empty signature";
    return trailer;
  }
  trailer.status = TrailerStatus::signed_module;
  trailer.signed_length = length - sizeof(ModuleSignature) - sig_len;
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

std::uint32_t ModuleSignature::signature_length() const
{
  return (std::uint32_t{sig_len[0]} << 24) | (std::uint32_t{sig_len[1]} << 16) | (std::uint32_t{sig_len[2]} << 8)
         | std::uint32_t{sig_len[3]};
}

void ModuleSignature::set_signature_length(std::uint32_t length)
{
  sig_len[0] = static_cast<std::uint8_t>(length >> 24);
  sig_len[1] = static_cast<std::uint8_t>(length >> 16);
  sig_len[2] = static_cast<std::uint8_t>(length >> 8);
  sig_len[3] = static_cast<std::uint8_t>(length);
}

SignatureTrailer make_trailer(std::size_t cms_size)
{
  if (cms_size > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(Errc::failure, "signature too large");
  }
  ModuleSignature info;
  info.id_type = k_id_type_pkcs7;
  info.set_signature_length(static_cast<std::uint32_t>(cms_size));
  SignatureTrailer trailer{};
  std::memcpy(trailer.data(), &info, sizeof info);
  std::memcpy(trailer.data() + sizeof info, k_signature_marker.data(), k_signature_marker.size());
  return trailer;
}

SignedImage append_signature(ByteView module, ByteView cms)
{
  return {module, cms, make_trailer(cms.size())};
}

} // namespace ksign::core
