// SPDX-License-Identifier: MIT
#include "core/signer_identity.hpp"

#include "core/certificate.hpp"
#include "core/der.hpp"

#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace ksign::core {

namespace {

// The DER OpenSSL's i2d function `encode` makes of `object`; throws naming `what` when it fails.
template<typename T, typename Encode> Bytes encoded(const T* object, Encode encode, const char* what)
{
  unsigned char* raw = nullptr;
  const int length = encode(object, &raw);
  const std::unique_ptr<unsigned char, OpensslFree> owned(raw);
  if (length <= 0) {
    throw_openssl(std::string("cannot encode the certificate's ") + what);
  }
  return Bytes(raw, raw + length);
}

} // namespace

SignerIdentity signer_identity(const CertificateParts& parts)
{
  SignerIdentity identity;
  identity.issuer.assign(parts.issuer.begin(), parts.issuer.end());
  identity.serial.assign(parts.serial.begin(), parts.serial.end());
  if (parts.subject_key_id) {
    identity.subject_key_id.assign(parts.subject_key_id->begin(), parts.subject_key_id->end());
  }
  return identity;
}

SignerIdentity signer_identity(ByteView der)
{
  return signer_identity(parse_certificate_parts(der));
}

SignerIdentity signer_identity(const X509* certificate)
{
  SignerIdentity identity;
  identity.issuer = encoded(X509_get_issuer_name(certificate), i2d_X509_NAME, "issuer");
  const Bytes serial = encoded(X509_get0_serialNumber(certificate), i2d_ASN1_INTEGER, "serial number");
  der::Reader reader(serial);
  const ByteView content = reader.read(der::k_integer, "certificate serial number").content;
  identity.serial.assign(content.begin(), content.end());
  if (const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(const_cast<X509*>(certificate))) {
    const unsigned char* data = ASN1_STRING_get0_data(skid);
    identity.subject_key_id.assign(data, data + ASN1_STRING_length(skid));
  }
  return identity;
}

SignerReference signer_reference(const SignerIdentity& identity, SignerIdKind kind)
{
  SignerReference reference;
  reference.kind = kind;
  if (kind == SignerIdKind::subject_key_id) {
    reference.identity.subject_key_id = identity.subject_key_id;
  } else {
    reference.identity.issuer = identity.issuer;
    reference.identity.serial = identity.serial;
  }
  return reference;
}

} // namespace ksign::core
