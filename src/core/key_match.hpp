// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <openssl/evp.h>

#include <string>

// Whether a private key and a certificate belong together.
namespace ksign::core {

// Whether the DER certificate `certificate` holds the public half of `key`. RSA (modulus and
// exponent) and EC (curve and point) are compared straight from the DER, which spares OpenSSL's
// decoders on every start; anything else (ML-DSA, unusual encodings) is left to OpenSSL's
// X509_check_private_key. Throws Error naming `what` when OpenSSL cannot parse the certificate.
[[nodiscard]] bool key_matches_certificate(const EVP_PKEY* key, ByteView certificate,
                                           const std::string& what = "the certificate");

} // namespace ksign::core
