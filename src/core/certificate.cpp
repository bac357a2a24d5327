// SPDX-License-Identifier: MIT
#include "core/certificate.hpp"

#include "core/der.hpp"
#include "core/key_types.hpp"
#include "core/oids.hpp"
#include "core/pem.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <bit>
#include <memory>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

constexpr std::uint8_t k_issuer_unique_id = 0x81;  // [1] IMPLICIT
constexpr std::uint8_t k_subject_unique_id = 0x82; // [2] IMPLICIT
constexpr std::uint8_t k_extensions = 0xa3;        // [3] EXPLICIT
constexpr std::uint8_t k_oid_subject_key_id[] = {0x55, 0x1d, 0x0e}; // 2.5.29.14

std::optional<ByteView> find_subject_key_id(ByteView extensions_sequence)
{
  der::Reader extensions(extensions_sequence);
  while (!extensions.at_end()) {
    der::Reader extension(extensions.read(der::k_sequence, "certificate extension").content);
    const ByteView oid = extension.read(der::k_oid, "extension id").content;
    (void)extension.read_optional(der::k_boolean, "extension critical flag");
    const ByteView value = extension.read(der::k_octet_string, "extension value").content;
    if (std::equal(oid.begin(), oid.end(), std::begin(k_oid_subject_key_id), std::end(k_oid_subject_key_id))) {
      der::Reader key_id(value);
      return key_id.read(der::k_octet_string, "subjectKeyIdentifier").content;
    }
  }
  return std::nullopt;
}

bool looks_like_der(ByteView data)
{
  // sign-file's rule: DER starts with SEQUENCE and a long-form length.
  return data.size() >= 2 && data[0] == 0x30 && data[1] >= 0x81 && data[1] <= 0x84;
}

} // namespace

CertificateParts parse_certificate_parts(ByteView der)
{
  der::Reader outer(der);
  der::Reader certificate(outer.read(der::k_sequence, "certificate").content);
  der::Reader tbs(certificate.read(der::k_sequence, "tbsCertificate").content);
  CertificateParts parts;
  (void)tbs.read_optional(der::k_context_0, "certificate version");
  // DER only, as sign-file and the kernel's build read it.
  parts.serial = der::integer_content(tbs.read(der::k_integer, "certificate serial number"), "certificate serial number");
  (void)tbs.read(der::k_sequence, "certificate signature algorithm");
  parts.issuer = tbs.read(der::k_sequence, "certificate issuer").encoding;
  (void)tbs.read(der::k_sequence, "certificate validity");
  (void)tbs.read(der::k_sequence, "certificate subject");
  der::Reader key_info(tbs.read(der::k_sequence, "subjectPublicKeyInfo").content);
  der::Reader algorithm(key_info.read(der::k_sequence, "public key algorithm").content);
  parts.key_algorithm = algorithm.read(der::k_oid, "public key algorithm").content;
  if (const auto parameters = algorithm.read_optional(der::k_oid, "public key parameters")) {
    parts.key_parameters = parameters->content;
  }
  parts.public_key = der::bit_string_octets(key_info.read(der::k_bit_string, "subjectPublicKey"), "subjectPublicKey");
  (void)tbs.read_optional(k_issuer_unique_id, "issuerUniqueID");
  (void)tbs.read_optional(k_subject_unique_id, "subjectUniqueID");
  if (const auto extensions = tbs.read_optional(k_extensions, "certificate extensions")) {
    der::Reader wrapper(extensions->content);
    parts.subject_key_id = find_subject_key_id(wrapper.read(der::k_sequence, "certificate extensions").content);
  }
  return parts;
}

namespace {

// The length in bits of the modulus of an RSAPublicKey (SEQUENCE { modulus, publicExponent }).
int rsa_modulus_bits(ByteView public_key)
{
  der::Reader outer(public_key);
  der::Reader key(outer.read(der::k_sequence, "RSA public key").content);
  ByteView modulus = der::integer_content(key.read(der::k_integer, "RSA modulus"), "RSA modulus");
  while (!modulus.empty() && modulus.front() == 0) {
    modulus = modulus.subspan(1);
  }
  if (modulus.empty()) {
    return 0;
  }
  return static_cast<int>(modulus.size() * 8) - std::countl_zero(modulus.front());
}

} // namespace

std::optional<std::string> kernel_key_refusal(ByteView der)
{
  const CertificateParts parts = parse_certificate_parts(der);
  if (is_oid(parts.key_algorithm, k_oid_rsa_encryption)) {
    const int bits = rsa_modulus_bits(parts.public_key);
    if (kernel_takes_rsa_bits(bits)) {
      return std::nullopt;
    }
    return "an RSA key of " + std::to_string(bits) + " bits; the kernel takes " + std::string(k_kernel_rsa_sizes);
  }
  if (is_oid(parts.key_algorithm, k_oid_ec_public_key)) {
    if (parts.key_parameters && named_curve(*parts.key_parameters) != nullptr) {
      return std::nullopt;
    }
    return "an EC key " + (parts.key_parameters ? "on the curve " + oid_text(*parts.key_parameters, OidSpelling::name_or_dotted)
                                                 : std::string("with explicit curve parameters"))
           + "; the kernel takes the curves " + std::string(k_kernel_curves);
  }
  return std::nullopt; // ML-DSA, or a type ksign does not sign with at all (refused elsewhere)
}

bool has_subject_key_id(ByteView der)
{
  const std::optional<ByteView> key_id = parse_certificate_parts(der).subject_key_id;
  return key_id && !key_id->empty();
}

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
  return certificate_der_in(util::read_file(file, util::k_small_file_limit), file);
}

Bytes certificate_der_in(Bytes data, const fs::path& file)
{
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

std::string certificate_pem(const X509* certificate)
{
  const BioPtr bio = memory_bio();
  if (PEM_write_bio_X509(bio.get(), certificate) != 1) {
    throw_openssl("cannot write the certificate");
  }
  return memory_bio_text(bio.get());
}

Bytes certificate_der(const X509* certificate)
{
  const int length = i2d_X509(certificate, nullptr);
  if (length <= 0) {
    throw_openssl("cannot encode the certificate");
  }
  Bytes der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (i2d_X509(certificate, &out) != length) {
    throw_openssl("cannot encode the certificate");
  }
  return der;
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
