// SPDX-License-Identifier: MIT
#include "core/module_verifier.hpp"

#include "core/cms.hpp"
#include "core/der.hpp"
#include "core/kconfig.hpp"
#include "core/modsig.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

namespace ksign::core {

std::string_view verdict_name(Verdict verdict)
{
  switch (verdict) {
  case Verdict::ok:
    return "ok";
  case Verdict::unsigned_module:
    return "unsigned";
  case Verdict::unknown_key:
    return "unknown_key";
  case Verdict::bad_signature:
    return "bad_signature";
  case Verdict::signed_attributes:
    return "signed_attributes";
  case Verdict::malformed:
    return "malformed";
  }
  return "malformed";
}

void TrustedKeys::add(X509Ptr certificate)
{
  Key key;
  key.identity = signer_identity(certificate.get());
  key.public_key.reset(X509_get_pubkey(certificate.get()));
  if (!key.public_key) {
    throw_openssl("cannot read the public key of a trusted certificate");
  }
  key.name = subject_name(certificate.get());
  key.key_id = util::to_hex(key.identity.subject_key_id);
  try {
    key.kernel_refusal = kernel_key_refusal(certificate_der(certificate.get()));
  } catch (const Error& e) {
    if (e.code() != Errc::format) {
      throw;
    }
    key.kernel_refusal = std::string("a certificate the kernel's parser refuses (") + e.what() + ")";
  }
  key.certificate = std::move(certificate);
  m_keys.push_back(std::move(key));
}

const TrustedKeys::Key* TrustedKeys::find_by_issuer_serial(ByteView issuer, ByteView serial) const
{
  for (const Key& key : m_keys) {
    if (std::ranges::equal(key.identity.issuer, issuer) && std::ranges::equal(key.identity.serial, serial)) {
      return &key;
    }
  }
  return nullptr;
}

const TrustedKeys::Key* TrustedKeys::find_by_key_id(ByteView subject_key_id) const
{
  for (const Key& key : m_keys) {
    if (!key.identity.subject_key_id.empty() && std::ranges::equal(key.identity.subject_key_id, subject_key_id)) {
      return &key;
    }
  }
  return nullptr;
}

std::string modinfo_hex(ByteView bytes)
{
  std::string text = util::to_hex(bytes, ":");
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::string modinfo_serial(ByteView serial)
{
  while (serial.size() > 1 && serial.front() == 0) {
    serial = serial.subspan(1);
  }
  return modinfo_hex(serial);
}

namespace {

Verification verdict(Verification result, Verdict verdict, std::string problem = {})
{
  result.verdict = verdict;
  result.problem = std::move(problem);
  return result;
}

// Common name of a DER Name, for naming an unknown signer.
std::string name_of(ByteView issuer)
{
  const unsigned char* cursor = issuer.data();
  const X509NamePtr name(d2i_X509_NAME(nullptr, &cursor, static_cast<long>(issuer.size())));
  return name ? common_name(name.get()) : std::string();
}

bool signature_matches(const TrustedKeys::Key& key, KeyType type, HashAlgo hash, ByteView content,
                       ByteView signature)
{
  const EVP_MD* md = fetch_digest(hash);
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key.public_key.get(), nullptr));
  if (is_ml_dsa(type)) {
    EvpMdCtxPtr md_context(EVP_MD_CTX_new());
    const bool good = md_context
                      && EVP_DigestVerifyInit_ex(md_context.get(), nullptr, nullptr, nullptr, nullptr,
                                                 key.public_key.get(), nullptr) == 1
                      && EVP_DigestVerify(md_context.get(), signature.data(), signature.size(), content.data(),
                                          content.size()) == 1;
    (void)drain_openssl_errors();
    return good;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(content.data(), content.size(), digest, &digest_length, md, nullptr) != 1) {
    throw_openssl("cannot hash the module");
  }
  bool good = context && EVP_PKEY_verify_init(context.get()) == 1;
  if (good && type == KeyType::rsa) {
    good = EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) == 1
           && EVP_PKEY_CTX_set_signature_md(context.get(), md) == 1;
  }
  good = good && EVP_PKEY_verify(context.get(), signature.data(), signature.size(), digest, digest_length) == 1;
  (void)drain_openssl_errors();
  return good;
}

} // namespace

KernelRules kernel_rules(const KernelConfig& config)
{
  KernelRules rules;
  rules.mldsa_authattrs_waiver = config.enabled(k_mldsa_waiver_option);
  return rules;
}

Verification verify_module(ByteView file, const TrustedKeys& trusted, const KernelRules& rules, std::uint64_t max_size)
{
  Verification result;
  result.compression = detect_compression(file);
  Bytes decompressed;
  ByteView image = file;
  if (result.compression != Compression::none) {
    try {
      Decompressed module = decompress_module(result.compression, file, max_size);
      // The kernel's decompressor and kmod would load different modules (core/compress.hpp).
      if (auto disagreement = readers_disagree(result.compression, module)) {
        return verdict(result, Verdict::malformed, std::move(*disagreement));
      }
      decompressed = std::move(module.data);
    } catch (const Error& e) {
      if (e.code() != Errc::format) {
        throw;
      }
      return verdict(result, Verdict::malformed, e.what());
    }
    image = decompressed;
  }

  const Trailer trailer = parse_trailer(image);
  if (trailer.status == TrailerStatus::unsigned_module) {
    return verdict(result, Verdict::unsigned_module);
  }
  if (trailer.status == TrailerStatus::malformed) {
    return verdict(result, Verdict::malformed, trailer.problem);
  }

  ParsedSignedData cms;
  try {
    cms = parse_signed_data(trailer.cms);
  } catch (const Error& e) {
    if (e.code() != Errc::format) {
      throw;
    }
    return verdict(result, Verdict::malformed, e.what());
  }
  result.hash = cms.digest;
  result.reference = cms.signer;
  const SignerIdentity& named = cms.signer.identity;
  if (cms.signer.kind == SignerIdKind::issuer_and_serial) {
    result.signer = name_of(named.issuer);
    result.sig_key = modinfo_serial(named.serial);
  } else {
    result.key_id = util::to_hex(named.subject_key_id);
    result.sig_key = modinfo_hex(named.subject_key_id);
  }
  if (cms.signer_count != 1) {
    return verdict(result, Verdict::malformed,
                   "signature has " + std::to_string(cms.signer_count) + " signers (ksign expects exactly one)");
  }
  if (!cms.digest) {
    return verdict(result, Verdict::malformed, "unsupported digest algorithm " + cms.digest_oid);
  }
  if (!cms.signature_kind) {
    return verdict(result, Verdict::malformed, "unsupported signature algorithm " + cms.signature_oid);
  }

  const TrustedKeys::Key* key = cms.signer.kind == SignerIdKind::issuer_and_serial
                                  ? trusted.find_by_issuer_serial(named.issuer, named.serial)
                                  : trusted.find_by_key_id(named.subject_key_id);
  if (key == nullptr) {
    return verdict(result, Verdict::unknown_key);
  }
  result.signer = key->name;
  result.key_id = key->key_id;
  if (key->kernel_refusal) {
    // The kernel never loads such a certificate into a keyring: it finds no key for the module.
    return verdict(result, Verdict::unknown_key, "the kernel cannot load the signer's certificate: it holds "
                                                   + *key->kernel_refusal);
  }

  const KeyType type = key_type_of(key->public_key.get());
  const bool algorithm_fits = (type == KeyType::rsa && cms.signature_kind == SignatureKind::rsa_pkcs1)
                              || (type == KeyType::ec && cms.signature_kind == SignatureKind::ecdsa)
                              || (cms.signature_kind == SignatureKind::ml_dsa && is_ml_dsa(type));
  if (!algorithm_fits) {
    return verdict(result, Verdict::bad_signature,
                   "signature algorithm " + cms.signature_oid + " does not fit the signer's "
                     + std::string(key_type_name(type)) + " key");
  }
  const ByteView content = image.first(trailer.signed_length);
  if (!cms.has_signed_attributes) {
    if (!signature_matches(*key, type, *cms.digest, content, cms.signature)) {
      return verdict(result, Verdict::bad_signature, "the signature does not match the module's contents");
    }
    return verdict(result, Verdict::ok);
  }

  // Signed attributes: the signature covers them, and their messageDigest covers the module.
  SignedAttributes attributes;
  try {
    attributes = parse_signed_attributes(cms.signed_attributes);
  } catch (const Error& e) {
    if (e.code() != Errc::format) {
      throw;
    }
    return verdict(result, Verdict::malformed, e.what());
  }
  if (!attributes.content_type_is_data) {
    return verdict(result, Verdict::malformed, "the signed contentType is not pkcs7-data");
  }
  if (!std::ranges::equal(attributes.message_digest, digest_of(*cms.digest, content))) {
    return verdict(result, Verdict::bad_signature, "the signed message digest does not match the module's contents");
  }
  if (!signature_matches(*key, type, *cms.digest, signed_attributes_to_sign(cms.signed_attributes), cms.signature)) {
    return verdict(result, Verdict::bad_signature, "the signature does not match its signed attributes");
  }
  if (cms.signature_kind != SignatureKind::ml_dsa) {
    return verdict(result, Verdict::signed_attributes,
                   "a valid signature with signed attributes, which kernels refuse for RSA and ECDSA");
  }
  if (rules.mldsa_authattrs_waiver.value_or(false)) {
    result.note = "signed attributes, let through by " + std::string(k_mldsa_waiver_option);
    return verdict(result, Verdict::ok);
  }
  return verdict(result, Verdict::signed_attributes,
                 rules.mldsa_authattrs_waiver
                   ? "a valid ML-DSA signature with signed attributes, which this kernel refuses (built without "
                       + std::string(k_mldsa_waiver_option) + ")"
                   : "a valid ML-DSA signature with signed attributes: loads only with the waiver (a kernel built with "
                       + std::string(k_mldsa_waiver_option) + "=y)");
}

} // namespace ksign::core
