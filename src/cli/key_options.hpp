// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"

#include <cxxopts.hpp>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksign::cli {

// Where a signing key comes from: --key/--cert, --keydir DIR (DIR/current), or --kernel KVER
// (the installed kernel's certs-local).
struct SigningKeySource
{
  std::filesystem::path key;
  std::optional<std::filesystem::path> certificate;
  std::optional<core::HashAlgo> recorded_hash; // the key store's khash
};

// Add --keydir and --kernel to `options` (sign and verify share them).
void add_key_store_options(cxxopts::Options& options);

// Resolve the signing key from --key/--cert, --keydir or --kernel. Throws Error(usage) when
// none or several are given.
[[nodiscard]] SigningKeySource signing_key_source(const cxxopts::ParseResult& result);

// The trusted certificate files from --cert (repeatable), --keydir or --kernel.
[[nodiscard]] std::vector<std::filesystem::path> trusted_certificate_files(const cxxopts::ParseResult& result);

// The key store `keys`, `config` and `install` work on: --dir, else $KSIGN_DIR, else ./certs-local.
[[nodiscard]] std::filesystem::path key_store_directory(const cxxopts::ParseResult& result);

class Output;

// Point CONFIG_SYSTEM_TRUSTED_KEYS of every config at the current certificate of `store`
// (`keys` and `config` both do it), saying which configs changed.
void trust_current_key(const std::filesystem::path& store, std::span<const std::filesystem::path> configs,
                       Output& out);

// The passphrase for an encrypted key: $KBUILD_SIGN_PIN, as the kernel's sign-file reads it.
[[nodiscard]] std::optional<std::string> key_passphrase();

// The hash from --hash, else `fallback`, else sha512; throws Error(usage) for an unknown name.
[[nodiscard]] core::HashAlgo chosen_hash(const std::optional<std::string>& name,
                                         std::optional<core::HashAlgo> fallback);

} // namespace ksign::cli
