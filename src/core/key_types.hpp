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

// Whether the kernel loads an RSA public key with a modulus of `bits` bits (crypto/rsa.c,
// rsa_check_key_length): 2048, 3072 or 4096, and outside FIPS mode 512, 1024 or 1536. The kernel
// counts the modulus in whole 64-bit limbs (mpi_get_size), so `bits` is rounded up to a
// multiple of 64 first, as a 64-bit kernel does. Anything else fails with -EINVAL: the
// certificate is not loaded and no module signed with its key loads.
[[nodiscard]] bool kernel_takes_rsa_bits(int bits);
inline constexpr std::string_view k_kernel_rsa_sizes = "2048, 3072 or 4096 bits (512, 1024 or 1536 outside FIPS mode)";
// The curves the kernel's X.509 parser knows (x509_extract_key_data; P-521 since Linux 6.10):
// core::k_named_curves (oids.hpp) lists them by OID.
inline constexpr std::string_view k_kernel_curves = "P-192, P-256, P-384 or P-521";

// An RSA key shorter than k_min_rsa_bits: its length in bits; otherwise (a long enough RSA key,
// any other type) nullopt.
[[nodiscard]] std::optional<int> short_rsa_key_bits(const EVP_PKEY* key);

} // namespace ksign::core
