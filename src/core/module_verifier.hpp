// SPDX-License-Identifier: MIT
#pragma once

#include "core/compress.hpp"
#include "core/hash.hpp"
#include "core/keys.hpp"
#include "util/bytes.hpp"
#include "util/openssl.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

// The kernel's verdict on a module under module.sig_enforce=1, as ksign predicts it.
enum class Verdict { ok, unsigned_module, unknown_key, bad_signature, malformed };

// "ok", "unsigned", "unknown_key", "bad_signature", "malformed" (stable, used in --json).
[[nodiscard]] std::string_view verdict_name(Verdict verdict);

struct Verification
{
  Verdict verdict = Verdict::malformed;
  std::string problem;  // why, for malformed and bad_signature
  std::string signer;   // certificate subject CN (trusted) or the issuer CN named in the signature
  std::string key_id;   // subjectKeyIdentifier hex of the trusted key, or what the signature names
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
    Bytes issuer;         // DER Name
    Bytes serial;         // INTEGER content octets
    Bytes subject_key_id; // raw
    std::string name;
    std::string key_id;
  };
  [[nodiscard]] const Key* find_by_issuer_serial(ByteView issuer, ByteView serial) const;
  [[nodiscard]] const Key* find_by_key_id(ByteView subject_key_id) const;

private:
  std::vector<Key> m_keys;
};

// Check the signature of a module file image (compressed or not) the way the kernel does.
// Never throws for a bad module: every problem with its bytes (Errc::format) becomes the
// verdict; only a failure of ksign itself (out of memory, OpenSSL) throws. A compressed module
// that decompresses past decompressed_size_limit(file.size(), max_size) is malformed.
[[nodiscard]] Verification verify_module(ByteView file, const TrustedKeys& trusted,
                                         std::uint64_t max_size = k_default_max_module_size);

} // namespace ksign::core
