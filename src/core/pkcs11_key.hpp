// SPDX-License-Identifier: MIT
#pragma once

#include "core/keys.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ksign::core {

// True when `text` is an RFC 7512 PKCS#11 URI ("pkcs11:token=...;object=..."): the name of a
// key or certificate in a token, which the kernel's sign-file also takes in place of a key file.
[[nodiscard]] bool is_pkcs11_uri(std::string_view text);

// `uri` without its pin-value (and pin-source) attribute, escaped for a message.
[[nodiscard]] std::string printable_pkcs11_uri(std::string_view uri);

// Load the private key that `key_uri` names, through OpenSSL's store API and the pkcs11
// provider, and its certificate: from `certificate` (a DER or PEM file, or another pkcs11: URI)
// or, without it, from the same token (the certificate object with the key's id or label).
// `pin` (KBUILD_SIGN_PIN) answers the token's PIN prompt; a pin-value in the URI comes first.
// The token is logged in once: the key returned is shared by every signature of the run.
// The PKCS#11 module is the provider's: $PKCS11_PROVIDER_MODULE (which $KSIGN_PKCS11_MODULE
// sets when given), else pkcs11-module-path in openssl.cnf, else p11-kit's proxy.
// Throws Error(Errc::failure) with one line each for a missing provider, a wrong or missing
// PIN, and no such key or certificate.
[[nodiscard]] SigningKey load_pkcs11_signing_key(const std::string& key_uri,
                                                 const std::optional<std::string>& certificate,
                                                 const std::optional<std::string>& pin);

} // namespace ksign::core
