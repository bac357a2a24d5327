// SPDX-License-Identifier: MIT
#pragma once

#include "cli/command.hpp"
#include "core/hash.hpp"
#include "core/key_directory.hpp"

#include <cxxopts.hpp>
#include <openssl/types.h>

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
  std::optional<core::KeyFiles> directory; // a key directory's: read through its descriptor (core::key_directory_signing_key)
};

// The options that choose a signing key and admit it: declared and read here, nowhere else.
struct KeyOptions
{
  // Which of them a command takes: sign all of them; keys, install and repair --allow-loose-key.
  enum class Set { loose_key, signing };

  std::optional<std::filesystem::path> key;         // -k/--key FILE (or a pkcs11: URI)
  std::optional<std::filesystem::path> certificate; // -c/--cert FILE (the first one given)
  std::optional<std::string> kernel;                // --kernel KVER
  bool allow_loose_key = false;                     // --allow-loose-key
  bool allow_unsupported_key = false;               // --allow-unsupported-key

  static void declare(cxxopts::Options& options, Set set);
  // Reading a Set the command did not declare fails loudly (cli::given).
  [[nodiscard]] static KeyOptions read(const cxxopts::ParseResult& result, Set set);
};

// The signing key from --key/--cert, --kernel or the key store (core::choose_key_source).
// Throws Error(usage) when they are mixed, or when a key file without --cert holds no
// certificate (naming the one beside it).
[[nodiscard]] SigningKeySource signing_key_source(const KeyOptions& options, const Invocation& invocation);

// --kernel KVER reads that kernel's own key store: -d/--dir cannot name another. The one place
// this is said (sign, verify).
void reject_store_with_kernel(const Invocation& invocation, const std::optional<std::string>& kernel);

// The private key and certificate of the installed kernel `release` (core::kernel_key_files,
// under the Invocation's paths); nullopt when the kernel has no ksign key. When its
// certificate's private key cannot be reached, throws Error(Errc::failure) saying what is
// missing and the command that mends it. A registry link that leads to the key is held to the
// ssh rule (guard_key_directory). `sign --kernel`, `keys --key-files` (the DKMS drop-in) and
// through them the POST_BUILD hook all find a kernel's key here.
[[nodiscard]] std::optional<core::KernelKeyFiles> kernel_signing_key(const std::string& release,
                                                                     const Invocation& invocation);

// Why the registry did not lead to a kernel's private key ("'LINK' does not exist", ...).
[[nodiscard]] std::string kernel_key_problem(const core::KernelKeyFiles& kernel);

// The trusted certificate files: `certificates` (verify's --cert), and the current certificate of
// kernel `kernel`'s key store or of the Invocation's (when no certificate is given, or when
// -d/--dir is given as well).
[[nodiscard]] std::vector<std::filesystem::path>
trusted_certificate_files(std::span<const std::filesystem::path> certificates, const std::optional<std::string>& kernel,
                          const Invocation& invocation);

// Point CONFIG_SYSTEM_TRUSTED_KEYS of every config at the current certificate of `store`
// (`keys` and `config` both do it), saying which configs changed.
void trust_current_key(const std::filesystem::path& store, std::span<const std::filesystem::path> configs,
                       Output& out);

// KeyOptions::declare(options, KeyOptions::Set::loose_key), for keys and repair.
void add_loose_key_option(cxxopts::Options& options);

// The ssh rule for private keys: a key file that group or others can read or write, and a
// directory above it (or above a key store) that anyone can write to without the sticky bit,
// are refused, naming the file and the fix to run; with --allow-loose-key (or `warn_only`, for
// sign-file) they are used with a warning. What does not exist is left to the loader. The
// Invocation forms read --allow-loose-key (declared with add_loose_key_option).
void guard_private_key(const std::filesystem::path& key, const Invocation& invocation);
void guard_private_key(const std::filesystem::path& key, bool allow_loose, bool warn_only, Output& out);
void guard_key_directory(const std::filesystem::path& directory, const Invocation& invocation);
void guard_key_directory(const std::filesystem::path& directory, bool allow_loose, Output& out);

// A warning for an RSA key shorter than core::k_min_rsa_bits; `what` names it.
void warn_if_short_key(const EVP_PKEY* key, const std::string& what, Output& out);

// Refuse a certificate (DER) whose key the kernel cannot load (core::kernel_key_refusal),
// naming `what`, the reason and --allow-unsupported-key; with that flag (`allow`), a warning.
void require_kernel_usable_key(ByteView certificate_der, const std::string& what, bool allow, Output& out);

// The passphrase for an encrypted key: $KBUILD_SIGN_PIN, as the kernel's sign-file reads it.
[[nodiscard]] std::optional<std::string> key_passphrase();

// The hash named `name` (given to `flag`), else `fallback`, else sha512; throws Error(usage)
// for an unknown name or one the kernel no longer accepts for new signatures.
[[nodiscard]] core::HashAlgo chosen_hash(const std::optional<std::string>& name, std::optional<core::HashAlgo> fallback,
                                         std::string_view flag = "--hash");

} // namespace ksign::cli
