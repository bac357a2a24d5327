// SPDX-License-Identifier: MIT
#include "core/cms.hpp"

#include "core/der.hpp"
#include "core/oids.hpp"
#include "util/error.hpp"
#include "util/openssl.hpp"

#include <algorithm>

namespace ksign::core {

namespace {

// OID content octets.
constexpr std::uint8_t k_oid_signed_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
constexpr std::uint8_t k_oid_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
// ecdsa-with-SHA1 1.2.840.10045.4.1; ecdsa-with-SHA224..512 1.2.840.10045.4.3.1..4
constexpr std::uint8_t k_oid_ecdsa_sha1[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01};
constexpr std::uint8_t k_oid_ecdsa_sha2_prefix[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03};

Bytes concat(ByteView a, std::uint8_t last)
{
  Bytes out(a.begin(), a.end());
  out.push_back(last);
  return out;
}

Bytes oid_element(ByteView content)
{
  Bytes out;
  der::append_tlv(out, der::k_oid, content);
  return out;
}

Bytes digest_algorithm_identifier(HashAlgo hash)
{
  // As OpenSSL writes them for module signatures: the OID without parameters.
  return der::tlv(der::k_sequence, {oid_element(hash_oid(hash))});
}

bool starts_with(ByteView data, ByteView prefix)
{
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

std::optional<SignatureKind> classify_signature(ByteView oid)
{
  if (std::ranges::equal(oid, ByteView(k_oid_rsa_encryption))) {
    return SignatureKind::rsa_pkcs1;
  }
  if (std::ranges::equal(oid, ByteView(k_oid_ecdsa_sha1))) {
    return SignatureKind::ecdsa;
  }
  if (oid.size() == sizeof k_oid_ecdsa_sha2_prefix + 1 && starts_with(oid, k_oid_ecdsa_sha2_prefix)
      && oid.back() >= 1 && oid.back() <= 4) {
    return SignatureKind::ecdsa;
  }
  if (oid.size() == sizeof k_oid_nist_sig_prefix + 1 && starts_with(oid, k_oid_nist_sig_prefix)) {
    if (oid.back() >= 9 && oid.back() <= 12) {
      return SignatureKind::ecdsa;
    }
    if (ml_dsa_of_oid_arc(oid.back())) {
      return SignatureKind::ml_dsa;
    }
  }
  return std::nullopt;
}

Bytes ecdsa_oid(HashAlgo hash)
{
  switch (hash) {
  case HashAlgo::sha1:
    return Bytes(std::begin(k_oid_ecdsa_sha1), std::end(k_oid_ecdsa_sha1));
  case HashAlgo::sha224:
    return concat(k_oid_ecdsa_sha2_prefix, 1);
  case HashAlgo::sha256:
    return concat(k_oid_ecdsa_sha2_prefix, 2);
  case HashAlgo::sha384:
    return concat(k_oid_ecdsa_sha2_prefix, 3);
  case HashAlgo::sha512:
    return concat(k_oid_ecdsa_sha2_prefix, 4);
  case HashAlgo::sha3_256:
    return concat(k_oid_nist_sig_prefix, 10);
  case HashAlgo::sha3_384:
    return concat(k_oid_nist_sig_prefix, 11);
  case HashAlgo::sha3_512:
    return concat(k_oid_nist_sig_prefix, 12);
  }
  throw Error(Errc::failure, "unknown hash algorithm");
}

} // namespace

Bytes signature_algorithm_identifier(KeyType type, HashAlgo hash)
{
  switch (type) {
  case KeyType::rsa: {
    // PKCS#1 v1.5 named by the key's OID, with NULL parameters: the only RSA form the kernel takes.
    const std::uint8_t null_params[] = {der::k_null, 0x00};
    return der::tlv(der::k_sequence, {oid_element(k_oid_rsa_encryption), null_params});
  }
  case KeyType::ec:
    return der::tlv(der::k_sequence, {oid_element(ecdsa_oid(hash))});
  case KeyType::ml_dsa_44:
  case KeyType::ml_dsa_65:
  case KeyType::ml_dsa_87:
    return der::tlv(der::k_sequence, {oid_element(concat(k_oid_nist_sig_prefix, ml_dsa_oid_arc(type)))});
  case KeyType::other:
    break;
  }
  throw Error(Errc::failure, "unsupported key type for module signatures (use RSA, EC or ML-DSA)");
}

Bytes encode_signed_data(const SignerIdentity& signer, SignerIdKind id_kind, HashAlgo hash,
                         ByteView signature_algorithm, ByteView signature)
{
  const bool by_key_id = id_kind == SignerIdKind::subject_key_id;
  if (by_key_id && signer.subject_key_id.empty()) {
    throw Error(Errc::failure, k_no_subject_key_id);
  }
  const Bytes version = der::small_integer(by_key_id ? 3 : 1);
  const Bytes digest_algorithm = digest_algorithm_identifier(hash);

  Bytes sid;
  if (by_key_id) {
    der::append_tlv(sid, der::k_context_0_primitive, signer.subject_key_id);
  } else {
    Bytes serial;
    der::append_tlv(serial, der::k_integer, signer.serial);
    sid = der::tlv(der::k_sequence, {signer.issuer, serial});
  }
  Bytes signature_octets;
  der::append_tlv(signature_octets, der::k_octet_string, signature);

  const Bytes signer_info =
    der::tlv(der::k_sequence, {version, sid, digest_algorithm, signature_algorithm, signature_octets});
  const Bytes signed_data = der::tlv(der::k_sequence, {version, der::tlv(der::k_set, {digest_algorithm}),
                                                       der::tlv(der::k_sequence, {oid_element(k_oid_data)}),
                                                       der::tlv(der::k_set, {signer_info})});
  return der::tlv(der::k_sequence,
                  {oid_element(k_oid_signed_data), der::tlv(der::k_context_0, {signed_data})});
}

ParsedSignedData parse_signed_data(ByteView input)
{
  ParsedSignedData parsed;
  der::Reader outer(input);
  const der::Element content_info = outer.read(der::k_sequence, "ContentInfo");
  outer.expect_end("signature blob");

  der::Reader info(content_info.content);
  const der::Element content_type = info.read(der::k_oid, "ContentInfo contentType");
  if (!std::ranges::equal(content_type.content, ByteView(k_oid_signed_data))) {
    throw Error(Errc::format, "not a PKCS#7 SignedData (content type " + oid_text(content_type.content) + ")");
  }
  const der::Element explicit_content = info.read(der::k_context_0, "ContentInfo content");
  der::Reader wrapper(explicit_content.content);
  const der::Element signed_data = wrapper.read(der::k_sequence, "SignedData");

  der::Reader sd(signed_data.content);
  parsed.version = der::integer_value(sd.read(der::k_integer, "SignedData version"), "SignedData version");
  if (parsed.version != 1 && parsed.version != 3) {
    throw Error(Errc::format, "unsupported SignedData version " + std::to_string(parsed.version));
  }
  (void)sd.read(der::k_set, "SignedData digestAlgorithms");
  const der::Element encap = sd.read(der::k_sequence, "SignedData encapContentInfo");
  der::Reader encap_reader(encap.content);
  const der::Element data_type = encap_reader.read(der::k_oid, "encapContentInfo eContentType");
  if (!std::ranges::equal(data_type.content, ByteView(k_oid_data))) {
    throw Error(Errc::format, "signed content is not pkcs7-data (" + oid_text(data_type.content) + ")");
  }
  if (!encap_reader.at_end()) {
    throw Error(Errc::format, "signature carries the content (a module signature must be detached)");
  }
  if (sd.read_optional(der::k_context_0, "SignedData certificates")) {
    parsed.has_certificates = true;
  }
  (void)sd.read_optional(der::k_context_1, "SignedData crls");
  const der::Element signer_infos = sd.read(der::k_set, "SignedData signerInfos");
  sd.expect_end("SignedData");

  der::Reader signers(signer_infos.content);
  std::optional<der::Element> first;
  while (!signers.at_end()) {
    der::Element element = signers.read(der::k_sequence, "SignerInfo");
    if (!first) {
      first = element;
    }
    ++parsed.signer_count;
  }
  if (!first) {
    throw Error(Errc::format, "signature has no signer");
  }

  der::Reader si(first->content);
  const unsigned si_version = der::integer_value(si.read(der::k_integer, "SignerInfo version"), "SignerInfo version");
  if (si_version == 1) {
    if (parsed.version != 1) {
      throw Error(Errc::format, "SignedData-SignerInfo version mismatch");
    }
    const der::Element issuer_serial = si.read(der::k_sequence, "SignerInfo issuerAndSerialNumber");
    der::Reader is(issuer_serial.content);
    parsed.signer.kind = SignerIdKind::issuer_and_serial;
    const ByteView issuer = is.read(der::k_sequence, "issuer").encoding;
    const ByteView serial = is.read(der::k_integer, "serialNumber").content;
    parsed.signer.identity.issuer.assign(issuer.begin(), issuer.end());
    parsed.signer.identity.serial.assign(serial.begin(), serial.end());
    is.expect_end("issuerAndSerialNumber");
  } else if (si_version == 3) {
    if (parsed.version == 1) {
      throw Error(Errc::format, "SignedData-SignerInfo version mismatch");
    }
    parsed.signer.kind = SignerIdKind::subject_key_id;
    const ByteView key_id = si.read(der::k_context_0_primitive, "SignerInfo subjectKeyIdentifier").content;
    parsed.signer.identity.subject_key_id.assign(key_id.begin(), key_id.end());
  } else {
    throw Error(Errc::format, "unsupported SignerInfo version " + std::to_string(si_version));
  }

  const der::Element digest_algorithm = si.read(der::k_sequence, "SignerInfo digestAlgorithm");
  der::Reader digest_reader(digest_algorithm.content);
  const der::Element digest_oid = digest_reader.read(der::k_oid, "digestAlgorithm OID");
  parsed.digest = hash_from_oid(digest_oid.content);
  parsed.digest_oid = oid_text(digest_oid.content);

  if (const auto attributes = si.read_optional(der::k_context_0, "SignerInfo signedAttrs")) {
    parsed.has_signed_attributes = true;
    parsed.signed_attributes = attributes->content;
  }
  const der::Element signature_algorithm = si.read(der::k_sequence, "SignerInfo signatureAlgorithm");
  der::Reader signature_reader(signature_algorithm.content);
  const der::Element signature_oid = signature_reader.read(der::k_oid, "signatureAlgorithm OID");
  parsed.signature_kind = classify_signature(signature_oid.content);
  parsed.signature_oid = oid_text(signature_oid.content);
  parsed.signature = si.read(der::k_octet_string, "SignerInfo signature").content;
  (void)si.read_optional(der::k_context_1, "SignerInfo unsignedAttrs");
  si.expect_end("SignerInfo");
  return parsed;
}

SignedAttributes parse_signed_attributes(ByteView attributes)
{
  // 1.2.840.113549.1.9.3 contentType, 1.2.840.113549.1.9.4 messageDigest
  constexpr std::uint8_t oid_content_type[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03};
  constexpr std::uint8_t oid_message_digest[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04};
  SignedAttributes parsed;
  bool have_content_type = false;
  bool have_digest = false;
  der::Reader reader(attributes);
  while (!reader.at_end()) {
    der::Reader attribute(reader.read(der::k_sequence, "signed attribute").content);
    const ByteView type = attribute.read(der::k_oid, "signed attribute type").content;
    der::Reader values(attribute.read(der::k_set, "signed attribute values").content);
    attribute.expect_end("signed attribute");
    if (std::ranges::equal(type, ByteView(oid_content_type))) {
      if (have_content_type) {
        throw Error(Errc::format, "signed attributes name the content type twice");
      }
      have_content_type = true;
      parsed.content_type_is_data =
        std::ranges::equal(values.read(der::k_oid, "contentType value").content, ByteView(k_oid_data));
      values.expect_end("contentType values");
    } else if (std::ranges::equal(type, ByteView(oid_message_digest))) {
      if (have_digest) {
        throw Error(Errc::format, "signed attributes carry two message digests");
      }
      have_digest = true;
      parsed.message_digest = values.read(der::k_octet_string, "messageDigest value").content;
      values.expect_end("messageDigest values");
    }
  }
  if (!have_content_type || !have_digest) {
    throw Error(Errc::format, std::string("signed attributes lack the ") +
                                (have_content_type ? "messageDigest" : "contentType") + " attribute");
  }
  return parsed;
}

Bytes signed_attributes_to_sign(ByteView attributes)
{
  Bytes out;
  der::append_tlv(out, der::k_set, attributes);
  return out;
}

} // namespace ksign::core
