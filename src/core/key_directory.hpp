// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/keys.hpp"
#include "util/bytes.hpp"
#include "util/dir_fd.hpp"

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// One rule for what a key directory holds, in every layout kernel-sign has written and ksign
// writes, and for where an installed kernel's private key is.
namespace ksign::core {

// The files of one key directory, compatible with kernel-sign's certs-local layout:
//   DIR/current -> <date-time>/     relative symlink to the newest key directory
//   <date-time>/signing_key.pem     private key + certificate (PEM)
//   <date-time>/signing_prv.pem     private key only (PEM)
//   <date-time>/signing_crt.crt     certificate (DER)
//   <date-time>/signing_crt.pem     certificate (PEM), what CONFIG_SYSTEM_TRUSTED_KEYS names
//   <date-time>/khash, ktype        hash ("sha512") and key type ("ec", "rsa")
// kernel-sign wrote, over its history: 3.x and 4.x signing_key.pem, signing_prv.pem,
// signing_crt.crt, khash; stores users copy around with signing_key.pem, signing_crt.crt and
// khash only (what its sign_module.py and DKMS hook read); 1.x signing_key.pem,
// signing_prv.key (private key only) and signing_crt.crt, without khash.
inline constexpr std::string_view k_current_link = "current";
inline constexpr std::string_view k_key_pem = "signing_key.pem";
inline constexpr std::string_view k_private_pem = "signing_prv.pem";
inline constexpr std::string_view k_private_key_v1 = "signing_prv.key"; // kernel-sign 1.x
inline constexpr std::string_view k_cert_der = "signing_crt.crt";
inline constexpr std::string_view k_cert_pem = "signing_crt.pem";
inline constexpr std::string_view k_hash_file = "khash";
inline constexpr std::string_view k_type_file = "ktype";

// The files that may hold a key directory's private key, in the order they are used: the one
// kernel-sign itself signs with first.
inline constexpr std::array<std::string_view, 3> k_private_key_names = {k_key_pem, k_private_pem, k_private_key_v1};

// Whether a key directory's file named `name` holds a private key (0600; never installed with
// the certificates only).
[[nodiscard]] bool is_private_key_name(std::string_view name);

// A key directory's files, found and read through one descriptor of the directory: a name that
// is a symbolic link, a FIFO or a device is never followed or read (it is refused), so whoever
// owns the directory cannot make a reader (root, in `install --public --register`, `sign
// --kernel`, `keys --show`, `keys --key-files`) read or hand on a file outside it.
struct KeyFiles
{
  std::filesystem::path directory;   // the key directory
  std::filesystem::path key;         // the first of k_private_key_names present; empty when none is
  std::filesystem::path certificate; // signing_crt.crt (DER), else signing_crt.pem, else signing_key.pem
  std::optional<HashAlgo> hash;      // from khash, when present
  std::shared_ptr<const util::DirFd> opened; // `directory`, opened once: every file is read through it
};

// The files of the key directory `directory` (the rule above; `directory` itself may be reached
// through links, nothing inside it is). Throws Error(Errc::permission) when it cannot be read,
// Error(Errc::failure) when it holds no certificate, khash names an unknown hash, or one of the
// names above is a link or not a regular file. `key` is empty when the directory holds
// certificates only.
[[nodiscard]] KeyFiles key_directory_files(const std::filesystem::path& directory);

// The same for a key directory opened already (`current` of a key store, core/key_store_layout).
[[nodiscard]] KeyFiles key_directory_files(util::DirFd directory);

// The bytes of the file `name` of the key directory, read through its descriptor (never a link,
// a FIFO or a device); nullopt when it does not exist.
[[nodiscard]] std::optional<Bytes> read_key_directory_file(const KeyFiles& files, std::string_view name);

// The certificate of `files`, as DER (read through the directory's descriptor).
[[nodiscard]] Bytes key_directory_certificate(const KeyFiles& files);

// The private key and certificate of `files` (read through the directory's descriptor), as
// load_signing_key checks them. Throws Error(Errc::failure) when the directory has no private key.
[[nodiscard]] SigningKey key_directory_signing_key(const KeyFiles& files, const std::optional<std::string>& passphrase);

// When the private key file was last written (the age of the key).
[[nodiscard]] std::filesystem::file_time_type key_directory_key_time(const KeyFiles& files);

// Every private key file of `files.directory` must hold the public half of its certificate:
// throws Error(Errc::failure) naming the first that does not (or cannot be read). `passphrase`
// unlocks encrypted keys (KBUILD_SIGN_PIN).
void check_key_directory(const KeyFiles& files, const std::optional<std::string>& passphrase);

// Add what ksign's layout has and an older kernel-sign directory lacks: signing_prv.pem (the
// private key block of signing_key.pem, or of signing_prv.key, copied as it is, 0600),
// signing_key.pem (that key followed by the certificate, 0600), signing_crt.crt and
// signing_crt.pem (0644), written through the directory's descriptor. Call check_key_directory
// first. Returns the names it wrote.
std::vector<std::string> complete_key_directory(const std::filesystem::path& directory);

// ---- installed kernels -------------------------------------------------------------------------

// Where an installed kernel's private key is: in its headers (<moduledir>/R/build/certs-local,
// installed by `ksign install`), or, when they hold the certificate only (`install --public`),
// through registry/<key id>, a link to the key directory in its owner's key store.
struct KernelKeyFiles
{
  enum class Source { headers, registry };
  // Why the registry did not lead to the key.
  enum class LinkProblem { none, missing, dangling, no_private_key, other_certificate, unreadable };

  KeyFiles installed;           // the headers' key directory: the certificate, maybe the key
  std::filesystem::path key;    // the private key; empty when it cannot be reached
  KeyFiles holder;              // the key directory `key` is in (installed, or the registered one)
  std::filesystem::path certificate; // the installed certificate (what the kernel was built to trust)
  std::optional<HashAlgo> hash; // the installed khash
  Source source = Source::headers;
  std::filesystem::path link;        // registry/<key id> (consulted for Source::registry)
  std::filesystem::path link_target; // where it points, when it is a link
  LinkProblem problem = LinkProblem::none;
  std::string key_id;           // of the installed certificate (hex), or "sha256-<fingerprint>"
};

// The key of kernel `release` under `moduledir`, or nullopt when the kernel has no ksign
// certificate (no build/certs-local/current). Throws Error(Errc::permission) when its key
// store cannot be read.
[[nodiscard]] std::optional<KernelKeyFiles> kernel_key_files(const std::filesystem::path& moduledir,
                                                             std::string_view release,
                                                             const std::filesystem::path& registry);

// The signing key of `files`: the private key of the directory that holds it and the installed
// certificate (what the kernel trusts), both read through their directories' descriptors, never by
// path. Throws Error(Errc::failure) when the key cannot be reached, as load_signing_key otherwise.
[[nodiscard]] SigningKey load_kernel_signing_key(const KernelKeyFiles& files, const std::optional<std::string>& passphrase);

} // namespace ksign::core
