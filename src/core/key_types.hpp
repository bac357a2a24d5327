// SPDX-License-Identifier: MIT
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <string_view>

// The key-type table: each type the kernel accepts with its key-store name and OpenSSL's name.
namespace ksign::core {

// Key types the kernel accepts for module signatures.
enum class KeyType { rsa, ec, ml_dsa_44, ml_dsa_65, ml_dsa_87, other };

// "rsa", "ec", "ml-dsa-44", ...: the spelling of the key store's `ktype` file.
[[nodiscard]] std::string_view key_type_name(KeyType type);
[[nodiscard]] std::optional<KeyType> parse_key_type(std::string_view name);
[[nodiscard]] KeyType key_type_of(const EVP_PKEY* key);

// ML-DSA-44/65/87: signs the module itself, with sha512 named in the signature.
[[nodiscard]] bool is_ml_dsa(KeyType type);

// OpenSSL's name for the key type ("RSA", "EC", "ML-DSA-65"), or nullptr for `other`.
[[nodiscard]] const char* openssl_key_name(KeyType type);

// RSA keys shorter than this can be factored with public effort (NIST SP 800-57 retired them).
inline constexpr int k_min_rsa_bits = 2048;

// An RSA key shorter than k_min_rsa_bits: its length in bits; otherwise (a long enough RSA key,
// any other type) nullopt.
[[nodiscard]] std::optional<int> short_rsa_key_bits(const EVP_PKEY* key);

} // namespace ksign::core
