// SPDX-License-Identifier: MIT
#pragma once

#include "core/compress.hpp"
#include "core/hash.hpp"
#include "core/keys.hpp"
#include "core/signer_match.hpp"
#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

// The kernel's verdict on a module under module.sig_enforce=1, as ksign predicts it.
// signed_attributes: a valid signature in a form the kernel refuses (signed attributes: always
// for RSA/ECDSA, for ML-DSA unless the kernel has the waiver).
enum class Verdict { ok, unsigned_module, unknown_key, bad_signature, signed_attributes, malformed };

// "ok", "unsigned", "unknown_key", "bad_signature", "signed_attributes", "malformed" (stable,
// used in --json).
[[nodiscard]] std::string_view verdict_name(Verdict verdict);

struct Verification
{
  Verdict verdict = Verdict::malformed;
  std::string problem;  // why, for every verdict but ok
  std::string note;     // what an ok needed, when it is not plain (the ML-DSA waiver)
  std::string signer;   // certificate subject CN (trusted) or the issuer CN named in the signature
  std::string key_id;   // subjectKeyIdentifier hex of the trusted key, or what the signature names
  std::string sig_key;  // what modinfo shows as sig_key: the serial (or SKID) the signature names, "4A:F4:..."
  std::optional<SignerReference> reference; // how the signature names its signer, once it parsed
  std::optional<HashAlgo> hash;
  Compression compression = Compression::none;
};

// The certificates a kernel trusts, indexed the ways a SignerInfo can name them.
class TrustedKeys
{
public:
  void add(X509Ptr certificate);

  struct Key
  {
    X509Ptr certificate;
    EvpPkeyPtr public_key;
    SignerIdentity identity;
    std::string name;
    std::string key_id;
    // Why the kernel cannot load this certificate's key (kernel_key_refusal), or nullopt.
    std::optional<std::string> kernel_refusal;
  };
  [[nodiscard]] const Key* find_by_issuer_serial(ByteView issuer, ByteView serial) const;
  [[nodiscard]] const Key* find_by_key_id(ByteView subject_key_id) const;

private:
  std::vector<Key> m_keys;
};

// What differs between kernels in judging a signature, read from the kernel's .config.
struct KernelRules
{
  // CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA (Linux 7.x): nullopt when the kernel is not
  // known, which leaves an ML-DSA signature with signed attributes undecided (not ok).
  std::optional<bool> mldsa_authattrs_waiver;
};

class KernelConfig;
// The rules of the kernel built from `config`.
[[nodiscard]] KernelRules kernel_rules(const KernelConfig& config);

// Check the signature of a module file image (compressed or not) the way the kernel does.
// Never throws for a bad module: every problem with its bytes (Errc::format) becomes the
// verdict; only a failure of ksign itself (out of memory, OpenSSL) throws. A compressed module
// that decompresses past decompressed_size_limit(file.size(), max_size) is malformed.
[[nodiscard]] Verification verify_module(ByteView file, const TrustedKeys& trusted, const KernelRules& rules = {},
                                         std::uint64_t max_size = k_default_max_module_size);

// An identifier as modinfo spells sig_key: upper-case hex bytes joined by colons.
[[nodiscard]] std::string modinfo_hex(ByteView bytes);
// A serial (INTEGER content octets) as modinfo shows it: as a number, so without the leading
// zero byte DER puts before a serial whose top bit is set.
[[nodiscard]] std::string modinfo_serial(ByteView serial);

} // namespace ksign::core
