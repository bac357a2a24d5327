// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

// Key types the kernel accepts for module signatures.
enum class KeyType { rsa, ec, ml_dsa_44, ml_dsa_65, ml_dsa_87, other };

// "rsa", "ec", "ml-dsa-44", ...: the spelling of the key store's `ktype` file.
[[nodiscard]] std::string_view key_type_name(KeyType type);
[[nodiscard]] std::optional<KeyType> parse_key_type(std::string_view name);
[[nodiscard]] KeyType key_type_of(const EVP_PKEY* key);

// RSA keys shorter than this can be factored with public effort (NIST SP 800-57 retired them).
inline constexpr int k_min_rsa_bits = 2048;

// An RSA key shorter than k_min_rsa_bits: its length in bits; otherwise (a long enough RSA key,
// any other type) nullopt.
[[nodiscard]] std::optional<int> short_rsa_key_bits(const EVP_PKEY* key);

// ML-DSA-44/65/87: signs the module itself, with sha512 named in the signature.
[[nodiscard]] bool is_ml_dsa(KeyType type);

// OpenSSL's name for the key type ("RSA", "EC", "ML-DSA-65"), or nullptr for `other`.
[[nodiscard]] const char* openssl_key_name(KeyType type);

// A private key with its certificate, loaded once and shared read-only by signing threads.
// The certificate stays DER: signing needs only a few of its fields (core/certificate.hpp);
// parse_certificate() makes an X509 of it for anything else.
struct SigningKey
{
  EvpPkeyPtr key;
  Bytes certificate;
  KeyType type = KeyType::other;
};

// Load a PEM private key from `key_file` and the certificate from `cert_file` (DER or PEM),
// or, without `cert_file`, from `key_file` itself (a PEM holding key and certificate, as
// CONFIG_MODULE_SIG_KEY files do). `passphrase` unlocks an encrypted key (KBUILD_SIGN_PIN).
// Throws Error when a file is unreadable, when the key is encrypted and no passphrase fits,
// or when the key does not match the certificate.
[[nodiscard]] SigningKey load_signing_key(const std::filesystem::path& key_file,
                                          const std::optional<std::filesystem::path>& cert_file,
                                          const std::optional<std::string>& passphrase);

// Every certificate in `file`: one DER certificate, or any number of PEM certificates
// (other PEM blocks, such as a private key, are skipped). Throws when there are none.
[[nodiscard]] std::vector<X509Ptr> load_certificates(const std::filesystem::path& file);

// Whether `file` holds a certificate (DER, or a PEM certificate block). Throws when unreadable.
[[nodiscard]] bool holds_certificate(const std::filesystem::path& file);

// The first certificate of `file` (see load_certificates).
[[nodiscard]] X509Ptr load_certificate(const std::filesystem::path& file);

// The first certificate of `file`, as DER, not parsed beyond finding it.
[[nodiscard]] Bytes load_certificate_der(const std::filesystem::path& file);

// OpenSSL's view of a DER certificate; throws Error(Errc::failure) naming `what` (say, "the
// certificate 'x.pem'") when it cannot parse it.
[[nodiscard]] X509Ptr parse_certificate(ByteView der, const std::string& what = "the certificate");

// The commonName of `name` (or the whole name, one line, when it has no CN).
[[nodiscard]] std::string common_name(const X509_NAME* name);

// Subject commonName of `cert` (or the whole subject when it has no CN).
[[nodiscard]] std::string subject_name(const X509* cert);

// subjectKeyIdentifier of `cert` as lower-case hex, empty when it has none.
[[nodiscard]] std::string subject_key_id_hex(const X509* cert);

// SHA-256 fingerprint of the DER certificate, lower-case hex without separators.
[[nodiscard]] std::string fingerprint_sha256(const X509* cert);

} // namespace ksign::core
