// SPDX-License-Identifier: MIT
#pragma once

#include "core/cms.hpp"
#include "core/compress.hpp"
#include "core/hash.hpp"
#include "core/keys.hpp"
#include "util/bytes.hpp"
#include "util/file.hpp"

#include <filesystem>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

namespace ksign::core {

struct SignSettings
{
  HashAlgo hash = k_default_hash;
  SignerIdKind signer_id = SignerIdKind::issuer_and_serial;
  int compression_level = k_default_level;
  // Sign even when the file's owner or group cannot be kept (see SignOutcome::owner_kept).
  bool owner_best_effort = false;
  // The largest module file read, and the most it may decompress to (see core::decompress).
  std::uint64_t max_module_size = k_default_max_module_size;
};

// What signing one module file did.
struct SignOutcome
{
  Compression compression = Compression::none;
  bool was_signed = false; // it carried a signature before (now replaced)
  Bytes cms;               // the signature written (DER SignedData), for sign-file -p
  bool owner_kept = true;  // false: written with the caller's owner/group (owner_best_effort)
};

// Signs modules with one key. Build it once; its methods may then be called from many threads
// at once (the key is only read; each call makes its own OpenSSL contexts). Every way of
// signing goes through one pipeline: decompress, drop old signatures, check the ELF, append
// the signature (core/modsig.hpp), recompress in the same format, write atomically.
class ModuleSigner
{
public:
  ModuleSigner(std::shared_ptr<const SigningKey> key, SignSettings settings);

  // The DER CMS SignedData that signs `content` (an unsigned module image).
  [[nodiscard]] Bytes signature_for(ByteView content) const;

  // Sign the module in `input` and write the result to `output` (the same path signs in place,
  // through a link to the module; an `output` elsewhere that is a link is replaced, not written
  // through), atomically, keeping the file's mode and owner. Compressed modules are
  // decompressed, signed and recompressed in the same format; an existing signature is
  // replaced. On any problem throws Error and leaves `output` untouched.
  SignOutcome sign_file(const std::filesystem::path& input, const std::filesystem::path& output) const;

  // The first half of sign_file for batched writes: the signed module is written to a temporary
  // beside `output` (not yet synced or renamed; see util::commit_staged). `make_room` is
  // util::ReplaceOptions::make_room: what to do when the disk is full. `accept`, when given, is
  // called with the file's bytes as read, before anything else, and may throw to refuse them.
  SignOutcome stage_file(const std::filesystem::path& input, const std::filesystem::path& output,
                         util::StagedFile& staged, const std::function<bool()>& make_room = {},
                         const std::function<void(ByteView file)>& accept = {}) const;

  // The same for a module already in memory; returns the bytes to write.
  [[nodiscard]] Bytes sign_image(Bytes file, SignOutcome* outcome = nullptr) const;

  // Only the signature the module in `input` would get (sign-file -d): nothing is written and
  // a compressed module is not recompressed.
  [[nodiscard]] Bytes detached_signature(const std::filesystem::path& input) const;

private:

  std::shared_ptr<const SigningKey> m_key;
  SignSettings m_settings;
  SignerIdentity m_identity;
  Bytes m_signature_algorithm;
  const EVP_MD* m_digest;
  // The first signature is checked against the certificate's public key (see signature_for).
  // Not std::call_once: an exception thrown through it aborts with a static libstdc++.
  mutable std::mutex m_key_check_mutex;
  mutable std::atomic<bool> m_key_checked{false};
};

// Append `cms`, a signature made elsewhere (sign-file -s), to the module in `input` through the
// same pipeline, writing `output` atomically. The signature is not checked against the module.
SignOutcome append_signature_file(const std::filesystem::path& input, const std::filesystem::path& output,
                                  ByteView cms, const SignSettings& settings = {});

} // namespace ksign::core
