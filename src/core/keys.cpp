// SPDX-License-Identifier: MIT
#include "core/keys.hpp"

#include "util/bytes.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

struct KeyTypeName
{
  KeyType type;
  std::string_view name;
  const char* openssl_name;
};

constexpr KeyTypeName k_key_types[] = {
  {KeyType::rsa, "rsa", "RSA"},
  {KeyType::ec, "ec", "EC"},
  {KeyType::ml_dsa_44, "ml-dsa-44", "ML-DSA-44"},
  {KeyType::ml_dsa_65, "ml-dsa-65", "ML-DSA-65"},
  {KeyType::ml_dsa_87, "ml-dsa-87", "ML-DSA-87"},
};

BioPtr memory_bio(ByteView data)
{
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    throw_openssl("out of memory");
  }
  return bio;
}

bool looks_like_der(ByteView data)
{
  // sign-file's rule: DER starts with SEQUENCE and a long-form length.
  return data.size() >= 2 && data[0] == 0x30 && data[1] >= 0x81 && data[1] <= 0x84;
}

struct PassphraseState
{
  const std::optional<std::string>* passphrase;
  bool asked = false;
};

int passphrase_callback(char* buffer, int size, int /*rwflag*/, void* user)
{
  auto* state = static_cast<PassphraseState*>(user);
  state->asked = true;
  if (!state->passphrase->has_value()) {
    return -1;
  }
  const std::string& text = **state->passphrase;
  if (text.size() > static_cast<std::size_t>(size)) {
    return -1;
  }
  std::memcpy(buffer, text.data(), text.size());
  return static_cast<int>(text.size());
}

// Decode one unencrypted DER private key with a decoder narrowed to its structure and type.
// A generic decoder context tries every known format and costs more than an ECDSA signature,
// which matters when DKMS starts ksign once per module.
EvpPkeyPtr decode_private_key(ByteView der, const char* structure, const char* key_type)
{
  EVP_PKEY* key = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, OpensslDeleter<OSSL_DECODER_CTX_free>> decoder(OSSL_DECODER_CTX_new_for_pkey(
    &key, "DER", structure, key_type, OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr, nullptr));
  const unsigned char* data = der.data();
  std::size_t length = der.size();
  if (!decoder || OSSL_DECODER_from_data(decoder.get(), &data, &length) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

// The key type named by a PKCS#8 PrivateKeyInfo, for narrowing the decoder; nullptr if unknown.
const char* pkcs8_key_type(ByteView der)
{
  const unsigned char* cursor = der.data();
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, OpensslDeleter<PKCS8_PRIV_KEY_INFO_free>> info(
    d2i_PKCS8_PRIV_KEY_INFO(nullptr, &cursor, static_cast<long>(der.size())));
  const ASN1_OBJECT* algorithm = nullptr;
  if (!info || PKCS8_pkey_get0(&algorithm, nullptr, nullptr, nullptr, info.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  switch (OBJ_obj2nid(algorithm)) {
  case NID_rsaEncryption:
    return "RSA";
  case NID_X9_62_id_ecPublicKey:
    return "EC";
  default:
    return nullptr;
  }
}

// One block of a PEM file: its label ("PRIVATE KEY", "CERTIFICATE", ...) and its DER body.
struct PemBlock
{
  std::string label;
  bool encrypted = false; // legacy "Proc-Type: 4,ENCRYPTED" headers
  Bytes der;
};

// Every PEM block in `data`, in order.
std::vector<PemBlock> read_pem_blocks(ByteView data)
{
  std::vector<PemBlock> blocks;
  const BioPtr bio = memory_bio(data);
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* body = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &body, &length) != 1) {
      ERR_clear_error(); // end of input
      return blocks;
    }
    // Take ownership at once, so nothing leaks whatever happens below.
    const std::unique_ptr<char, OpensslFree> owned_name(name);
    const std::unique_ptr<char, OpensslFree> owned_header(header);
    const std::unique_ptr<unsigned char, OpensslFree> owned_body(body);
    blocks.push_back({name, header != nullptr && header[0] != '\0', Bytes(body, body + length)});
  }
}

// The first private key in PEM `data` when it is unencrypted; nullptr otherwise (encrypted
// keys and unusual formats go through OpenSSL's generic PEM reader).
EvpPkeyPtr read_plain_private_key(ByteView data)
{
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (block.label.find("PRIVATE KEY") == std::string::npos) {
      continue;
    }
    if (block.encrypted) {
      return nullptr;
    }
    if (block.label == PEM_STRING_PKCS8INF) {
      return decode_private_key(block.der, "PrivateKeyInfo", pkcs8_key_type(block.der));
    }
    if (block.label == PEM_STRING_ECPRIVATEKEY) {
      return decode_private_key(block.der, "type-specific", "EC");
    }
    if (block.label == PEM_STRING_RSA) {
      return decode_private_key(block.der, "type-specific", "RSA");
    }
    return nullptr;
  }
  return nullptr;
}

} // namespace

std::string_view key_type_name(KeyType type)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.type == type) {
      return entry.name;
    }
  }
  return "other";
}

std::optional<KeyType> parse_key_type(std::string_view name)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.name == util::trim(name)) {
      return entry.type;
    }
  }
  return std::nullopt;
}

KeyType key_type_of(const EVP_PKEY* key)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (EVP_PKEY_is_a(key, entry.openssl_name) == 1) {
      return entry.type;
    }
  }
  return KeyType::other;
}

std::vector<X509Ptr> load_certificates(const fs::path& file)
{
  const Bytes data = util::read_file(file);
  std::vector<X509Ptr> certificates;
  if (looks_like_der(data)) {
    const unsigned char* cursor = data.data();
    X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(data.size())));
    if (!cert) {
      throw_openssl("cannot parse the DER certificate " + util::quote(file));
    }
    certificates.push_back(std::move(cert));
    return certificates;
  }
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (block.label != PEM_STRING_X509 && block.label != PEM_STRING_X509_OLD && block.label != PEM_STRING_X509_TRUSTED) {
      continue;
    }
    const unsigned char* cursor = block.der.data();
    X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(block.der.size())));
    if (!cert) {
      throw_openssl("cannot parse a certificate in " + util::quote(file));
    }
    certificates.push_back(std::move(cert));
  }
  if (certificates.empty()) {
    throw Error(Errc::crypto, "no certificate in " + util::quote(file) + " (expected DER or PEM)");
  }
  return certificates;
}

X509Ptr load_certificate(const fs::path& file)
{
  std::vector<X509Ptr> certificates = load_certificates(file);
  return std::move(certificates.front());
}

SigningKey load_signing_key(const fs::path& key_file, const std::optional<fs::path>& cert_file,
                            const std::optional<std::string>& passphrase)
{
  const Bytes data = util::read_file(key_file);
  SigningKey signing;
  signing.key = read_plain_private_key(data);
  PassphraseState state{&passphrase};
  if (!signing.key) {
    const BioPtr bio = memory_bio(data);
    signing.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, &state));
  }
  if (!signing.key) {
    if (state.asked && !passphrase) {
      ERR_clear_error();
      throw Error(Errc::crypto, "the private key " + util::quote(key_file)
                                  + " is encrypted: set KBUILD_SIGN_PIN to its passphrase");
    }
    if (state.asked) {
      ERR_clear_error();
      throw Error(Errc::crypto, "cannot decrypt the private key " + util::quote(key_file)
                                  + ": wrong passphrase in KBUILD_SIGN_PIN");
    }
    throw_openssl("cannot read a PEM private key from " + util::quote(key_file));
  }
  signing.type = key_type_of(signing.key.get());
  signing.certificate = load_certificate(cert_file ? *cert_file : key_file);
  if (X509_check_private_key(signing.certificate.get(), signing.key.get()) != 1) {
    ERR_clear_error();
    throw Error(Errc::crypto, "the key " + util::quote(key_file) + " does not match the certificate "
                                + util::quote(cert_file ? *cert_file : key_file));
  }
  return signing;
}

std::string common_name(const X509_NAME* name)
{
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    if (length >= 0) {
      const std::unique_ptr<unsigned char, OpensslFree> owned(utf8);
      return std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
    }
  }
  const std::unique_ptr<char, OpensslFree> line(X509_NAME_oneline(name, nullptr, 0));
  return line ? line.get() : "";
}

std::string subject_name(const X509* cert)
{
  return common_name(X509_get_subject_name(cert));
}

std::string subject_key_id_hex(const X509* cert)
{
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(const_cast<X509*>(cert));
  if (skid == nullptr) {
    return {};
  }
  return util::to_hex({ASN1_STRING_get0_data(skid), static_cast<std::size_t>(ASN1_STRING_length(skid))});
}

std::string fingerprint_sha256(const X509* cert)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) {
    throw_openssl("cannot hash a certificate");
  }
  return util::to_hex({digest, length});
}

} // namespace ksign::core
