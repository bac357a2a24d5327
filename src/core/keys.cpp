// SPDX-License-Identifier: MIT
#include "core/keys.hpp"

#include "core/certificate.hpp"
#include "core/der.hpp"

#include "util/bytes.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <bit>
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

// A key's secret bytes, wiped when dropped.
class SecretBytes
{
public:
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { OPENSSL_cleanse(m_bytes.data(), m_bytes.size()); }

  // The DER INTEGER content `big_endian` as OpenSSL's params want numbers: unsigned and in
  // native (little-endian on every Linux ksign runs on) byte order.
  void set_native_unsigned(ByteView big_endian)
  {
    while (big_endian.size() > 1 && big_endian.front() == 0) {
      big_endian = big_endian.subspan(1);
    }
    m_bytes.assign(big_endian.rbegin(), big_endian.rend());
  }
  [[nodiscard]] unsigned char* data() { return m_bytes.data(); }
  [[nodiscard]] std::size_t size() const { return m_bytes.size(); }

private:
  Bytes m_bytes;
};

static_assert(std::endian::native == std::endian::little, "SecretBytes::set_native_unsigned assumes little-endian");

// DER contents of the object identifiers ksign decodes keys for.
constexpr std::uint8_t k_oid_rsa_encryption[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
constexpr std::uint8_t k_oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};

constexpr std::uint8_t k_oid_prime256v1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::uint8_t k_oid_secp384r1[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
constexpr std::uint8_t k_oid_secp521r1[] = {0x2b, 0x81, 0x04, 0x00, 0x23};

struct CurveOid
{
  ByteView oid;
  const char* group_name;
};
constexpr CurveOid k_curves[] = {
  {k_oid_prime256v1, "prime256v1"},
  {k_oid_secp384r1, "secp384r1"},
  {k_oid_secp521r1, "secp521r1"},
};

bool same_bytes(ByteView a, std::span<const std::uint8_t> b)
{
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

const char* curve_group_name(ByteView oid)
{
  for (const CurveOid& curve : k_curves) {
    if (same_bytes(oid, curve.oid)) {
      return curve.group_name;
    }
  }
  return nullptr;
}

EvpPkeyPtr key_from_params(const char* key_type, OSSL_PARAM* params)
{
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!context || EVP_PKEY_fromdata_init(context.get()) != 1
      || EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_KEYPAIR, params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

// SEC 1 ECPrivateKey on curve `group_name` (or the curve it names itself). Keys without their
// public half are left to OpenSSL, which derives it.
EvpPkeyPtr ec_key_from_der(ByteView der, const char* group_name)
{
  der::Reader outer(der);
  der::Reader key(outer.read(der::k_sequence, "ECPrivateKey").content);
  if (der::integer_value(key.read(der::k_integer, "ECPrivateKey version"), "ECPrivateKey version") != 1) {
    return nullptr;
  }
  SecretBytes secret;
  secret.set_native_unsigned(key.read(der::k_octet_string, "EC private key").content);
  if (const auto parameters = key.read_optional(der::k_context_0, "EC parameters")) {
    der::Reader inner(parameters->content);
    const char* named = curve_group_name(inner.read(der::k_oid, "EC curve").content);
    if (named == nullptr || (group_name != nullptr && std::strcmp(named, group_name) != 0)) {
      return nullptr;
    }
    group_name = named;
  }
  const auto public_key = key.read_optional(der::k_context_1, "EC public key");
  if (group_name == nullptr || !public_key) {
    return nullptr;
  }
  der::Reader inner(public_key->content);
  const ByteView point = der::bit_string_octets(inner.read(der::k_bit_string, "EC public key"), "EC public key");
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group_name), 0),
    OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, secret.data(), secret.size()),
    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<std::uint8_t*>(point.data()), point.size()),
    OSSL_PARAM_construct_end(),
  };
  return key_from_params("EC", params);
}

// PKCS#1 RSAPrivateKey with two primes (what every key generator writes).
EvpPkeyPtr rsa_key_from_der(ByteView der)
{
  der::Reader outer(der);
  der::Reader key(outer.read(der::k_sequence, "RSAPrivateKey").content);
  if (der::integer_value(key.read(der::k_integer, "RSAPrivateKey version"), "RSAPrivateKey version") != 0) {
    return nullptr; // multi-prime
  }
  static constexpr const char* k_names[] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_D,
    OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
  };
  constexpr std::size_t count = std::size(k_names);
  SecretBytes numbers[count];
  OSSL_PARAM params[count + 1];
  for (std::size_t i = 0; i < count; ++i) {
    numbers[i].set_native_unsigned(key.read(der::k_integer, "RSA key number").content);
    params[i] = OSSL_PARAM_construct_BN(k_names[i], numbers[i].data(), numbers[i].size());
  }
  params[count] = OSSL_PARAM_construct_end();
  return key_from_params("RSA", params);
}

// PKCS#8 PrivateKeyInfo holding an RSA or EC key.
EvpPkeyPtr pkcs8_key_from_der(ByteView der)
{
  der::Reader outer(der);
  der::Reader info(outer.read(der::k_sequence, "PrivateKeyInfo").content);
  if (der::integer_value(info.read(der::k_integer, "PrivateKeyInfo version"), "PrivateKeyInfo version") > 1) {
    return nullptr;
  }
  der::Reader algorithm(info.read(der::k_sequence, "PrivateKeyInfo algorithm").content);
  const ByteView oid = algorithm.read(der::k_oid, "key algorithm").content;
  const ByteView private_key = info.read(der::k_octet_string, "PrivateKeyInfo key").content;
  if (same_bytes(oid, k_oid_rsa_encryption)) {
    return rsa_key_from_der(private_key);
  }
  if (same_bytes(oid, k_oid_ec_public_key)) {
    const auto curve = algorithm.read_optional(der::k_oid, "EC curve");
    return curve ? ec_key_from_der(private_key, curve_group_name(curve->content)) : nullptr;
  }
  return nullptr;
}

// Build the key from the numbers in its DER, without OpenSSL's decoders: setting up a decoder
// context costs more than the ECDSA signature itself, and DKMS starts ksign once per module.
// nullptr for anything unusual (OpenSSL's own reader then takes over); malformed input throws.
EvpPkeyPtr decode_private_key(ByteView der, std::string_view label)
{
  if (label == PEM_STRING_PKCS8INF) {
    return pkcs8_key_from_der(der);
  }
  if (label == PEM_STRING_ECPRIVATEKEY) {
    return ec_key_from_der(der, nullptr);
  }
  if (label == PEM_STRING_RSA) {
    return rsa_key_from_der(der);
  }
  return nullptr;
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

// The first private key in PEM `data` when it is unencrypted and plain RSA or EC; nullptr
// otherwise (encrypted keys and other formats go through OpenSSL's generic PEM reader).
EvpPkeyPtr read_plain_private_key(ByteView data)
{
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (block.label.find("PRIVATE KEY") == std::string::npos) {
      continue;
    }
    if (block.encrypted) {
      return nullptr;
    }
    try {
      return decode_private_key(block.der, block.label);
    } catch (const Error&) {
      return nullptr; // let OpenSSL's reader report what is wrong with it
    }
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

bool is_ml_dsa(KeyType type)
{
  return type == KeyType::ml_dsa_44 || type == KeyType::ml_dsa_65 || type == KeyType::ml_dsa_87;
}

const char* openssl_key_name(KeyType type)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.type == type) {
      return entry.openssl_name;
    }
  }
  return nullptr;
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

namespace {

bool is_certificate_label(std::string_view label)
{
  return label == PEM_STRING_X509 || label == PEM_STRING_X509_OLD || label == PEM_STRING_X509_TRUSTED;
}

// True when the certificate's public key is, byte for byte, `key`'s own public half (RSA
// modulus and exponent, or EC curve and point). False when that cannot be confirmed this way:
// the caller then asks OpenSSL, which also gives the verdict for unusual encodings.
bool certificate_holds_key(ByteView certificate, const EVP_PKEY* key)
{
  CertificateParts parts;
  try {
    parts = parse_certificate_parts(certificate);
  } catch (const Error&) {
    return false;
  }
  if (same_bytes(parts.key_algorithm, k_oid_ec_public_key) && parts.key_parameters) {
    const char* curve = curve_group_name(*parts.key_parameters);
    char group[64] = {};
    unsigned char point[256];
    std::size_t point_length = 0;
    const bool known = curve != nullptr
                       && EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) == 1
                       && EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_length) == 1;
    ERR_clear_error();
    return known && std::strcmp(curve, group) == 0 && same_bytes(parts.public_key, ByteView(point, point_length));
  }
  if (same_bytes(parts.key_algorithm, k_oid_rsa_encryption)) {
    try {
      der::Reader outer(parts.public_key);
      der::Reader numbers(outer.read(der::k_sequence, "RSAPublicKey").content);
      for (const char* name : {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E}) {
        const ByteView in_certificate = numbers.read(der::k_integer, "RSA public number").content;
        BIGNUM* raw = nullptr;
        if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
          ERR_clear_error();
          return false;
        }
        const std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>> in_key(raw);
        const std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>> from_certificate(
          BN_bin2bn(in_certificate.data(), static_cast<int>(in_certificate.size()), nullptr));
        if (!from_certificate || BN_cmp(in_key.get(), from_certificate.get()) != 0) {
          return false;
        }
      }
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  return false;
}

} // namespace

std::vector<X509Ptr> load_certificates(const fs::path& file)
{
  const Bytes data = util::read_file(file, util::k_small_file_limit);
  std::vector<X509Ptr> certificates;
  if (looks_like_der(data)) {
    certificates.push_back(parse_certificate(data, "the DER certificate " + util::quote(file)));
    return certificates;
  }
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (is_certificate_label(block.label)) {
      certificates.push_back(parse_certificate(block.der, "a certificate in " + util::quote(file)));
    }
  }
  if (certificates.empty()) {
    throw Error(Errc::failure, "no certificate in " + util::quote(file) + " (expected DER or PEM)");
  }
  return certificates;
}

bool holds_certificate(const fs::path& file)
{
  const Bytes data = util::read_file(file, util::k_small_file_limit);
  if (looks_like_der(data)) {
    return true;
  }
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (is_certificate_label(block.label)) {
      return true;
    }
  }
  return false;
}

X509Ptr load_certificate(const fs::path& file)
{
  std::vector<X509Ptr> certificates = load_certificates(file);
  return std::move(certificates.front());
}

Bytes load_certificate_der(const fs::path& file)
{
  Bytes data = util::read_file(file, util::k_small_file_limit);
  if (looks_like_der(data)) {
    return data;
  }
  for (PemBlock& block : read_pem_blocks(data)) {
    if (is_certificate_label(block.label)) {
      return std::move(block.der);
    }
  }
  throw Error(Errc::failure, "no certificate in " + util::quote(file) + " (expected DER or PEM)");
}

X509Ptr parse_certificate(ByteView der, const std::string& what)
{
  const unsigned char* cursor = der.data();
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (!certificate) {
    throw_openssl("cannot parse " + what);
  }
  return certificate;
}

SigningKey load_signing_key(const fs::path& key_file, const std::optional<fs::path>& cert_file,
                            const std::optional<std::string>& passphrase)
{
  const Bytes data = util::read_file(key_file, util::k_small_file_limit);
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
      throw Error(Errc::failure, "the private key " + util::quote(key_file)
                                  + " is encrypted: set KBUILD_SIGN_PIN to its passphrase");
    }
    if (state.asked) {
      ERR_clear_error();
      throw Error(Errc::failure, "cannot decrypt the private key " + util::quote(key_file)
                                  + ": wrong passphrase in KBUILD_SIGN_PIN");
    }
    throw_openssl("cannot read a PEM private key from " + util::quote(key_file));
  }
  signing.type = key_type_of(signing.key.get());
  const fs::path& certificate_file = cert_file ? *cert_file : key_file;
  signing.certificate = load_certificate_der(certificate_file);
  const bool matches =
    certificate_holds_key(signing.certificate, signing.key.get())
    || X509_check_private_key(parse_certificate(signing.certificate, "the certificate " + util::quote(certificate_file)).get(),
                              signing.key.get())
         == 1;
  if (!matches) {
    ERR_clear_error();
    throw Error(Errc::failure, "the key " + util::quote(key_file) + " does not match the certificate "
                                + util::quote(certificate_file));
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
