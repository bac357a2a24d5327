// SPDX-License-Identifier: MIT
#pragma once

#include <openssl/evp.h>

#include <cstdint>
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

// An ML-DSA type's OID is k_oid_nist_sig_prefix followed by this arc (17, 18, 19); 0 for the
// other types. ml_dsa_of_oid_arc is its inverse.
[[nodiscard]] std::uint8_t ml_dsa_oid_arc(KeyType type);
[[nodiscard]] std::optional<KeyType> ml_dsa_of_oid_arc(std::uint8_t arc);

// The kernel's name for an ML-DSA type ("mldsa65", as in /proc/keys); empty for the others.
[[nodiscard]] std::string_view ml_dsa_kernel_name(KeyType type);

// OpenSSL's name for the key type ("RSA", "EC", "ML-DSA-65"), or nullptr for `other`.
[[nodiscard]] const char* openssl_key_name(KeyType type);

// RSA keys shorter than this can be factored with public effort (NIST SP 800-57 retired them).
inline constexpr int k_min_rsa_bits = 2048;

// An RSA key shorter than k_min_rsa_bits: its length in bits; otherwise (a long enough RSA key,
// any other type) nullopt.
[[nodiscard]] std::optional<int> short_rsa_key_bits(const EVP_PKEY* key);

} // namespace ksign::core
