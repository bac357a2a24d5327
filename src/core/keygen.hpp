// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/keys.hpp"
#include "util/bytes.hpp"

#include <string>

namespace ksign::core {

// True when the linked OpenSSL can make keys of `type` (ML-DSA needs OpenSSL 3.5).
[[nodiscard]] bool can_generate(KeyType type);

// Throws Error(Errc::failure) naming the linked OpenSSL when it cannot make keys of `type`.
void require_can_generate(KeyType type);

// A new key pair with a self-signed certificate shaped like the kernel's own
// (certs/default_x509.genkey): RSA 4096 or EC secp384r1 or ML-DSA, CN `common_name`,
// basicConstraints critical CA:FALSE, keyUsage digitalSignature, subject and authority key
// identifiers, a random serial, valid 36500 days (the kernel ignores expiry), self-signed with
// `hash` (ML-DSA signs directly). Throws Error(Errc::failure) for a type the linked OpenSSL lacks.
[[nodiscard]] SigningKey generate_signing_key(KeyType type, HashAlgo hash, const std::string& common_name);

// Unencrypted PKCS#8 PEM of the private key.
[[nodiscard]] std::string private_key_pem(const EVP_PKEY* key);

} // namespace ksign::core
