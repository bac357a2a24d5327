// SPDX-License-Identifier: MIT
#pragma once

#include "core/certificate.hpp"
#include "core/hash.hpp"
#include "core/key_types.hpp"
#include "core/signer_identity.hpp"
#include "util/bytes.hpp"

#include <optional>
#include <string>

// The PKCS#7/CMS SignedData of a module signature, written and read by ksign itself (not by
// OpenSSL's CMS layer, which refuses pairings the kernel accepts, such as ECDSA with SHA-3):
//
//   ContentInfo ::= SEQUENCE { id-signedData, [0] EXPLICIT SignedData }
//   SignedData  ::= SEQUENCE { version 1|3, digestAlgorithms SET { alg },
//                              encapContentInfo SEQUENCE { id-data }   -- detached: no eContent
//                              signerInfos SET { SignerInfo } }        -- no certificates, no CRLs
//   SignerInfo  ::= SEQUENCE { version 1|3, sid, digestAlgorithm, signatureAlgorithm,
//                              signature OCTET STRING }                -- no signed attributes
//   sid: IssuerAndSerialNumber (version 1) or [0] subjectKeyIdentifier (version 3)
namespace ksign::core {

// What signing by subjectKeyIdentifier says when the certificate has none.
inline constexpr const char* k_no_subject_key_id = "the certificate has no subjectKeyIdentifier to name the signer by";

// How the SignerInfo's signatureAlgorithm names the signature.
enum class SignatureKind { rsa_pkcs1, ecdsa, ml_dsa };

// DER AlgorithmIdentifier of the signature the kernel expects for `type` with `hash`:
// rsaEncryption (NULL parameters), ecdsa-with-SHA*/SHA3-* (no parameters), id-ml-dsa-*.
[[nodiscard]] Bytes signature_algorithm_identifier(KeyType type, HashAlgo hash);

// The complete DER ContentInfo for one signer.
[[nodiscard]] Bytes encode_signed_data(const SignerIdentity& signer, SignerIdKind id_kind, HashAlgo hash,
                                       ByteView signature_algorithm, ByteView signature);

// A SignedData as read back, for verification. Views point into the parsed buffer.
struct ParsedSignedData
{
  unsigned version = 0;
  std::size_t signer_count = 0;
  bool has_certificates = false;
  std::optional<HashAlgo> digest;  // nullopt: an algorithm the kernel does not know
  std::string digest_oid;          // dotted, for messages
  SignerReference signer;          // how the SignerInfo names its signer
  std::optional<SignatureKind> signature_kind; // nullopt: unsupported signature algorithm
  std::string signature_oid;       // dotted, for messages
  bool has_signed_attributes = false;
  ByteView signed_attributes;      // content of SignerInfo [0] signedAttrs (the attributes, no tag)
  ByteView signature;
};

// The two signed attributes the kernel's PKCS#7 parser requires when there are any
// (crypto/asymmetric_keys/pkcs7_parser.c): contentType and messageDigest. Views point into the
// attributes.
struct SignedAttributes
{
  bool content_type_is_data = false;
  ByteView message_digest;
};

// Parse signedAttrs content (a SET OF Attribute). Malformed DER, a repeated or missing
// contentType or messageDigest, or a messageDigest that is not one OCTET STRING throw
// Error(Errc::format) with the reason.
[[nodiscard]] SignedAttributes parse_signed_attributes(ByteView attributes);

// What the signature over signed attributes covers: the attributes DER-encoded as a SET OF
// (tag 0x31, not the [0] IMPLICIT tag they are stored with; RFC 5652 section 5.4).
[[nodiscard]] Bytes signed_attributes_to_sign(ByteView attributes);

// Parse the first SignerInfo of `der` and the SignedData around it. Structural problems
// (not SignedData, not id-data, attached content, version mismatch, bad DER) throw
// Error(Errc::format) with the reason; algorithm and count checks are left to the caller.
[[nodiscard]] ParsedSignedData parse_signed_data(ByteView der);

} // namespace ksign::core
