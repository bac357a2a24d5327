// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

// The appended module signature, as the kernel reads it (kernel/module/signing.c):
//
//   [ module bytes (ELF)                     ]  <- covered by the signature
//   [ PKCS#7/CMS SignedData, DER, detached   ]  sig_len bytes
//   [ struct module_signature, 12 bytes      ]  algo=0 hash=0 id_type=2 signer_len=0
//   [                                        ]  key_id_len=0 pad[3]=0 sig_len (big-endian u32)
//   [ "~Module signature appended~\n"        ]  28 bytes, no NUL
namespace ksign::core {

inline constexpr std::string_view k_signature_marker = "~Module signature appended~\n";
inline constexpr std::uint8_t k_id_type_pkcs7 = 2;

// The kernel's struct module_signature, field for field. PKCS#7 signatures leave everything
// but id_type and sig_len zero: the signer and algorithms are named inside the CMS.
struct ModuleSignature
{
  std::uint8_t algo = 0;
  std::uint8_t hash = 0;
  std::uint8_t id_type = 0;
  std::uint8_t signer_len = 0;
  std::uint8_t key_id_len = 0;
  std::uint8_t pad[3] = {0, 0, 0};
  std::uint8_t sig_len[4] = {0, 0, 0, 0}; // big-endian

  [[nodiscard]] std::uint32_t signature_length() const;
  void set_signature_length(std::uint32_t length);
};
static_assert(sizeof(ModuleSignature) == 12, "struct module_signature is 12 bytes");

inline constexpr std::size_t k_trailer_size = sizeof(ModuleSignature) + k_signature_marker.size();
using SignatureTrailer = std::array<std::uint8_t, k_trailer_size>;

enum class TrailerStatus { unsigned_module, signed_module, malformed };

// What the end of a module says about its signature.
struct Trailer
{
  TrailerStatus status = TrailerStatus::unsigned_module;
  std::size_t signed_length = 0; // bytes covered by the signature (start of the CMS blob)
  ByteView cms;                  // the SignedData blob, when signed
  std::string problem;           // why it is malformed
};

// Parse the last appended signature of `module` with the kernel's checks (mod_check_sig).
[[nodiscard]] Trailer parse_trailer(ByteView module);

// Length of `module` without any appended signatures (a module signed twice by sign-file
// carries two). Throws Error(Errc::format) when a trailer is malformed.
[[nodiscard]] std::size_t unsigned_length(ByteView module);

// The 40 bytes that follow a CMS blob of `cms_size` bytes.
[[nodiscard]] SignatureTrailer make_trailer(std::size_t cms_size);

// A module image with its signature appended, as the three pieces the file is made of (so an
// uncompressed module is written with one writev, without joining them).
struct SignedImage
{
  ByteView module; // the unsigned image
  ByteView cms;
  SignatureTrailer trailer;

  [[nodiscard]] std::array<ByteView, 3> parts() const { return {module, cms, trailer}; }
};

// `module` (an unsigned image) followed by `cms` and its trailer. Both must outlive the result.
[[nodiscard]] SignedImage append_signature(ByteView module, ByteView cms);

} // namespace ksign::core
