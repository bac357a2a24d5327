// SPDX-License-Identifier: MIT
#include "core/keygen.hpp"

#include "core/certificate.hpp"
#include "util/error.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <memory>

namespace ksign::core {

namespace {

constexpr long k_validity_days = 36500;
constexpr unsigned k_rsa_bits = 4096;

using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter<X509_EXTENSION_free>>;

EvpPkeyPtr generate_key_pair(KeyType type)
{
  EVP_PKEY* key = nullptr;
  switch (type) {
  case KeyType::rsa:
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(k_rsa_bits));
    break;
  case KeyType::ec:
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1");
    break;
  case KeyType::ml_dsa_44:
  case KeyType::ml_dsa_65:
  case KeyType::ml_dsa_87:
    require_can_generate(type);
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, openssl_key_name(type));
    break;
  case KeyType::other:
    throw Error(Errc::failure, "cannot generate a key of an unknown type");
  }
  if (key == nullptr) {
    throw_openssl("cannot generate a " + std::string(key_type_name(type)) + " key");
  }
  return EvpPkeyPtr(key);
}

void add_extension(X509* cert, int nid, const char* value)
{
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    throw_openssl(std::string("cannot add the certificate extension ") + OBJ_nid2sn(nid));
  }
}

void set_random_serial(X509* cert)
{
  // 159 random bits: positive and within RFC 5280's 20 octets.
  BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1
      || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    throw_openssl("cannot make a certificate serial number");
  }
}

} // namespace

bool can_generate(KeyType type)
{
  if (!is_ml_dsa(type)) {
    return type == KeyType::rsa || type == KeyType::ec;
  }
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, openssl_key_name(type), nullptr));
  ERR_clear_error();
  return context != nullptr;
}

void require_can_generate(KeyType type)
{
  if (!can_generate(type)) {
    throw Error(Errc::failure, std::string(key_type_name(type)) + " keys need OpenSSL 3.5 or newer (linked: "
                                + OpenSSL_version(OPENSSL_VERSION) + ")");
  }
}

SigningKey generate_signing_key(KeyType type, HashAlgo hash, const std::string& common_name)
{
  SigningKey result;
  result.type = type;
  result.key = generate_key_pair(type);

  const X509Ptr certificate(X509_new());
  X509* cert = certificate.get();
  if (cert == nullptr) {
    throw_openssl("out of memory");
  }
  X509_set_version(cert, X509_VERSION_3);
  set_random_serial(cert);
  if (X509_gmtime_adj(X509_getm_notBefore(cert), 0) == nullptr
      || X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(k_validity_days), 0, nullptr) == nullptr) {
    throw_openssl("cannot set the certificate validity");
  }
  // A name of our own, copied in as subject and issuer: OpenSSL 4 hands out the certificate's
  // own names as const.
  const X509NamePtr name(X509_NAME_new());
  if (!name
      || X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0)
           != 1
      || X509_set_subject_name(cert, name.get()) != 1 || X509_set_issuer_name(cert, name.get()) != 1
      || X509_set_pubkey(cert, result.key.get()) != 1) {
    throw_openssl("cannot fill in the certificate");
  }
  // The extensions of the kernel's certs/default_x509.genkey.
  add_extension(cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, NID_key_usage, "digitalSignature");
  add_extension(cert, NID_subject_key_identifier, "hash");
  // OpenSSL 3 leaves the authority key id out of self-signed certificates unless told "always".
  add_extension(cert, NID_authority_key_identifier, "keyid:always");

  // ML-DSA signs the certificate directly: no separate digest.
  const EVP_MD* digest = is_ml_dsa(type) ? nullptr : fetch_digest(hash);
  if (X509_sign(cert, result.key.get(), digest) == 0) {
    throw_openssl("cannot self-sign the certificate");
  }
  result.certificate = certificate_der(cert);
  return result;
}

std::string private_key_pem(const EVP_PKEY* key)
{
  const BioPtr bio = memory_bio();
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl("cannot write the private key");
  }
  return memory_bio_text(bio.get());
}

} // namespace ksign::core
