// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <openssl/evp.h>

#include <optional>
#include <span>
#include <string_view>

namespace ksign::core {

// Digest algorithms the kernel knows for module signatures (crypto/asymmetric_keys).
enum class HashAlgo { sha1, sha224, sha256, sha384, sha512, sha3_256, sha3_384, sha3_512 };

// The hashes ksign signs with: what the kernel's CONFIG_MODULE_SIG_HASH may name today.
inline constexpr HashAlgo k_signing_hashes[] = {HashAlgo::sha256,   HashAlgo::sha384,   HashAlgo::sha512,
                                                HashAlgo::sha3_256, HashAlgo::sha3_384, HashAlgo::sha3_512};

inline constexpr HashAlgo k_default_hash = HashAlgo::sha512;

// "sha512", "sha3-256", ... (the kernel's and OpenSSL's spelling).
[[nodiscard]] std::string_view hash_name(HashAlgo hash);

// The algorithm named `name` (case-insensitive; "sha3_256" and "sha3-256" both work), or nullopt.
[[nodiscard]] std::optional<HashAlgo> parse_hash(std::string_view name);

// True for the hashes in k_signing_hashes.
[[nodiscard]] bool can_sign_with(HashAlgo hash);

// The DER content octets of the algorithm's OBJECT IDENTIFIER.
[[nodiscard]] ByteView hash_oid(HashAlgo hash);

// The algorithm whose OID content octets are `oid`, or nullopt.
[[nodiscard]] std::optional<HashAlgo> hash_from_oid(ByteView oid);

// The OpenSSL digest, fetched once per process and shared by all threads.
[[nodiscard]] const EVP_MD* fetch_digest(HashAlgo hash);

// The digest of `data`.
[[nodiscard]] Bytes digest_of(HashAlgo hash, ByteView data);

} // namespace ksign::core
