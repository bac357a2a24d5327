// SPDX-License-Identifier: MIT
#pragma once

#include "core/keys.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ksign::core {

// True when `text` is an RFC 7512 PKCS#11 URI ("pkcs11:token=...;object=..."): the name of a
// key or certificate in a token, which the kernel's sign-file also takes in place of a key file.
// The scheme is matched in any letter case ("PKCS11:", RFC 3986 section 3.1).
[[nodiscard]] bool is_pkcs11_uri(std::string_view text);

// `uri` with its scheme in lower case, as OpenSSL's store and the pkcs11 provider expect it.
[[nodiscard]] std::string canonical_pkcs11_uri(std::string_view uri);

// `uri` without its pin-value (and pin-source) attributes, in the path or the query and in any
// letter case, escaped for a message.
[[nodiscard]] std::string printable_pkcs11_uri(std::string_view uri);

// A key source (a file or a pkcs11: URI) quoted for a message: a URI never shows its PIN.
[[nodiscard]] std::string quoted_key_source(const std::string& key);

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
