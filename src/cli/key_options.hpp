// SPDX-License-Identifier: MIT
#pragma once

#include "cli/command.hpp"
#include "core/hash.hpp"

#include <cxxopts.hpp>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ksign::cli {

// Where a signing key comes from: --key/--cert, the key store (-d/--dir, $KSIGN_DIR,
// ./certs-local: its current key), or --kernel KVER (the installed kernel's certs-local).
struct SigningKeySource
{
  std::filesystem::path key;
  std::optional<std::filesystem::path> certificate;
  std::optional<core::HashAlgo> recorded_hash; // the key store's khash
};

// Add --kernel to `options` (sign and verify take it besides the key store).
void add_kernel_option(cxxopts::Options& options);

// The signing key from --key/--cert, --kernel or the key store. Throws Error(usage) when they
// are mixed, or when a key file without --cert holds no certificate (naming the one beside it).
[[nodiscard]] SigningKeySource signing_key_source(const Invocation& invocation);

// The trusted certificate files from --cert (repeatable), --kernel or the key store (when no
// --cert is given, or when -d/--dir is given as well).
[[nodiscard]] std::vector<std::filesystem::path> trusted_certificate_files(const Invocation& invocation);

// Point CONFIG_SYSTEM_TRUSTED_KEYS of every config at the current certificate of `store`
// (`keys` and `config` both do it), saying which configs changed.
void trust_current_key(const std::filesystem::path& store, std::span<const std::filesystem::path> configs,
                       Output& out);

// The passphrase for an encrypted key: $KBUILD_SIGN_PIN, as the kernel's sign-file reads it.
[[nodiscard]] std::optional<std::string> key_passphrase();

// The hash named `name` (given to `flag`), else `fallback`, else sha512; throws Error(usage)
// for an unknown name or one the kernel no longer accepts for new signatures.
[[nodiscard]] core::HashAlgo chosen_hash(const std::optional<std::string>& name, std::optional<core::HashAlgo> fallback,
                                         std::string_view flag = "--hash");

} // namespace ksign::cli
