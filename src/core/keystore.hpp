// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/keys.hpp"

#include <filesystem>
#include <optional>
#include <string_view>

namespace ksign::core {

// The files of one key directory, compatible with kernel-sign's certs-local layout:
//   DIR/current -> <date-time>/     relative symlink to the newest key directory
//   <date-time>/signing_key.pem     private key + certificate (PEM)
//   <date-time>/signing_prv.pem     private key only (PEM)
//   <date-time>/signing_crt.crt     certificate (DER)
//   <date-time>/signing_crt.pem     certificate (PEM), what CONFIG_SYSTEM_TRUSTED_KEYS names
//   <date-time>/khash, ktype        hash ("sha512") and key type ("ec", "rsa")
inline constexpr std::string_view k_current_link = "current";
inline constexpr std::string_view k_key_pem = "signing_key.pem";
inline constexpr std::string_view k_private_pem = "signing_prv.pem";
inline constexpr std::string_view k_cert_der = "signing_crt.crt";
inline constexpr std::string_view k_cert_pem = "signing_crt.pem";
inline constexpr std::string_view k_hash_file = "khash";
inline constexpr std::string_view k_type_file = "ktype";

struct KeyFiles
{
  std::filesystem::path directory;  // the dated directory `current` points at
  std::filesystem::path key;        // signing_key.pem (or signing_prv.pem when that is all there is)
  std::filesystem::path certificate; // signing_crt.crt (DER), else signing_crt.pem
  std::optional<HashAlgo> hash;     // from khash, when present
};

// The current key of the key store `store` (store/current/...). Throws Error(Errc::config)
// naming what is missing when there is no usable current key.
[[nodiscard]] KeyFiles current_key_files(const std::filesystem::path& store);

// Where an installed kernel keeps its ksign keys: <moduledir>/<kernel_release>/build/certs-local.
[[nodiscard]] std::filesystem::path kernel_key_store(const std::filesystem::path& moduledir,
                                                     std::string_view kernel_release);

} // namespace ksign::core
