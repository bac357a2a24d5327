// SPDX-License-Identifier: MIT
#include "core/key_decoder.hpp"

#include "core/der.hpp"
#include "core/oids.hpp"
#include "util/error.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <bit>
#include <cstring>

namespace ksign::core {

namespace {

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
    const auto curve = inner.read_optional(der::k_oid, "EC curve"); // else explicit parameters
    const char* named = curve ? curve_group_name(curve->content) : nullptr;
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
  if (is_oid(oid, k_oid_rsa_encryption)) {
    return rsa_key_from_der(private_key);
  }
  if (is_oid(oid, k_oid_ec_public_key)) {
    const auto curve = algorithm.read_optional(der::k_oid, "EC curve");
    return curve ? ec_key_from_der(private_key, curve_group_name(curve->content)) : nullptr;
  }
  return nullptr;
}

} // namespace

EvpPkeyPtr decode_private_key(ByteView der, std::string_view pem_label)
{
  if (pem_label == PEM_STRING_PKCS8INF) {
    return pkcs8_key_from_der(der);
  }
  if (pem_label == PEM_STRING_ECPRIVATEKEY) {
    return ec_key_from_der(der, nullptr);
  }
  if (pem_label == PEM_STRING_RSA) {
    return rsa_key_from_der(der);
  }
  return nullptr;
}

} // namespace ksign::core
