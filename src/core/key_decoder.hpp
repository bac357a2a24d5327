// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <string_view>

// A private key built from the numbers in its DER, without OpenSSL's decoders: setting up a
// decoder context costs more than the ECDSA signature itself, and DKMS starts ksign once per
// module. Covers what key generators write: PKCS#1 RSAPrivateKey with two primes, SEC 1
// ECPrivateKey on prime256v1/secp384r1/secp521r1 with its public key, and PKCS#8 holding either.
namespace ksign::core {

// The key in `der`, the body of a PEM block labelled `pem_label` ("PRIVATE KEY", "RSA PRIVATE
// KEY", "EC PRIVATE KEY"). nullptr for anything else or unusual (say, an EC key without its
// public half, explicit curve parameters, multi-prime RSA): OpenSSL's own reader then takes
// over. Malformed DER throws Error(Errc::format).
[[nodiscard]] EvpPkeyPtr decode_private_key(ByteView der, std::string_view pem_label);

} // namespace ksign::core
