// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>
#include <variant>

// The rules for where a signing key comes from and whether its file may be used, as facts: the
// command line words them and names its flags (cli/key_options).
namespace ksign::core {

// Where a signing key comes from: key and certificate files (or a pkcs11: URI), an installed
// kernel's key, or a key store's current key.
enum class KeySource { files, kernel, store };

// What was asked for.
struct KeySourceRequest
{
  bool key = false;         // a private key file or URI
  bool certificate = false; // a certificate file
  bool kernel = false;      // an installed kernel's key
  bool store_named = false; // a key store was named (not the default one)
};

// Two sources asked for at once, or a certificate without its private key.
enum class KeySourceConflict { key_and_kernel, key_and_store, certificate_without_key, kernel_and_store };

// The source `request` names: files when a key is given, else the kernel's, else the store's;
// a mix is the first conflict in KeySourceConflict's order.
[[nodiscard]] std::variant<KeySource, KeySourceConflict> choose_key_source(const KeySourceRequest& request);

// Whether the key `key` needs a certificate file given with it: a file that holds no
// certificate (a token's key finds its certificate in the token).
[[nodiscard]] bool key_needs_certificate(const std::filesystem::path& key);

// A certificate file beside `key` that a key store keeps with it (signing_crt.crt,
// signing_crt.pem, signing_key.pem), for a key given without its certificate.
[[nodiscard]] std::optional<std::filesystem::path> certificate_beside(const std::filesystem::path& key);

// The ssh rule for a private key file: group or others may read it, or change it. nullopt when
// neither, or when it is not a regular file (the key reader says what it is).
struct KeyFileExposure
{
  mode_t mode = 0;       // its permission bits
  bool readable = false; // group or others can read it (else only write)
};
[[nodiscard]] std::optional<KeyFileExposure> key_file_exposure(const std::filesystem::path& key);

} // namespace ksign::core
