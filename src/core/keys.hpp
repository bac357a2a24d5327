// SPDX-License-Identifier: MIT
#pragma once

#include "core/key_types.hpp"
#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <filesystem>
#include <optional>
#include <string>

// Loading the key that signs: a private key and the certificate that goes with it.
namespace ksign::core {

// A private key with its certificate, loaded once and shared read-only by signing threads.
// The certificate stays DER: signing needs only a few of its fields (core/certificate.hpp);
// parse_certificate() makes an X509 of it for anything else.
struct SigningKey
{
  EvpPkeyPtr key;
  Bytes certificate;
  KeyType type = KeyType::other;
};

// The first private key of the PEM file `key_file`. `passphrase` unlocks an encrypted key
// (KBUILD_SIGN_PIN). Throws Error when the file is unreadable, holds no key, or the key is
// encrypted and no passphrase fits.
[[nodiscard]] EvpPkeyPtr load_private_key(const std::filesystem::path& key_file,
                                          const std::optional<std::string>& passphrase);

// The same for the bytes `data` of `key_file`, read already (through a directory descriptor).
[[nodiscard]] EvpPkeyPtr private_key_in(ByteView data, const std::filesystem::path& key_file,
                                        const std::optional<std::string>& passphrase);

// Load a PEM private key from `key_file` and the certificate from `cert_file` (DER or PEM),
// or, without `cert_file`, from `key_file` itself (a PEM holding key and certificate, as
// CONFIG_MODULE_SIG_KEY files do). `passphrase` as for load_private_key.
// Throws Error when a file is unreadable, when the key is encrypted and no passphrase fits,
// or when the key does not match the certificate. A `key_file` that is a pkcs11: URI names a
// key in a token instead (load_pkcs11_signing_key, core/pkcs11_key.hpp).
[[nodiscard]] SigningKey load_signing_key(const std::filesystem::path& key_file,
                                          const std::optional<std::filesystem::path>& cert_file,
                                          const std::optional<std::string>& passphrase);

// The same for bytes read already: the private key file's `key_data` and the certificate's DER
// (certificate_der_in), `key_file` and `certificate_file` naming them in messages.
[[nodiscard]] SigningKey signing_key_in(ByteView key_data, const std::filesystem::path& key_file,
                                        Bytes certificate_der, const std::filesystem::path& certificate_file,
                                        const std::optional<std::string>& passphrase);

} // namespace ksign::core
