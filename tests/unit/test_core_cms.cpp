// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/cms.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "core/modsig.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <openssl/cms.h>
#include <openssl/err.h>

#include <memory>

using namespace ksign;
using namespace ksign::core;

namespace {

// OpenSSL's own CMS verifier as a referee: detached content, signer certificate supplied.
bool openssl_cms_verifies(ByteView cms_der, ByteView content, const SigningKey& key)
{
  const unsigned char* cursor = cms_der.data();
  std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo_free>> cms(
    d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(cms_der.size())));
  if (!cms) {
    return false;
  }
  BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, key.certificate.get());
  const int ok = CMS_verify(cms.get(), certs, nullptr, data.get(), nullptr, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY);
  sk_X509_free(certs);
  ERR_clear_error();
  return ok == 1;
}

std::shared_ptr<const SigningKey> shared(SigningKey key)
{
  return std::make_shared<const SigningKey>(std::move(key));
}

} // namespace

TEST_CASE("core::encode_signed_data and core::parse_signed_data", "[cms]")
{
  const auto key = shared(test::make_key(KeyType::ec, "cms test"));
  const Bytes content = test::sample_module();

  for (const SignerIdKind id_kind : {SignerIdKind::issuer_and_serial, SignerIdKind::subject_key_id}) {
    SignSettings settings;
    settings.hash = HashAlgo::sha384;
    settings.signer_id = id_kind;
    const ModuleSigner signer(key, settings);
    const Bytes cms = signer.signature_for(content);
    const ParsedSignedData parsed = parse_signed_data(cms);
    CHECK(parsed.signer_count == 1);
    CHECK_FALSE(parsed.has_certificates);
    CHECK_FALSE(parsed.has_signed_attributes);
    CHECK(parsed.digest == HashAlgo::sha384);
    CHECK(parsed.signature_kind == SignatureKind::ecdsa);
    CHECK(parsed.signature_oid == "1.2.840.10045.4.3.3"); // ecdsa-with-SHA384
    CHECK(parsed.id_kind == id_kind);
    CHECK(parsed.version == (id_kind == SignerIdKind::subject_key_id ? 3u : 1u));
    CHECK(openssl_cms_verifies(cms, content, *key));
  }
}

TEST_CASE("core::ModuleSigner output is accepted by OpenSSL's CMS verifier", "[cms]")
{
  const Bytes content = test::sample_module();
  for (const KeyType type : {KeyType::rsa, KeyType::ec}) {
    const auto key = shared(test::make_key(type, "referee"));
    for (const HashAlgo hash : {HashAlgo::sha256, HashAlgo::sha384, HashAlgo::sha512}) {
      if (type == KeyType::ec && hash == HashAlgo::sha256) {
        continue; // the kernel's Kconfig pairs ECDSA with SHA-384/512 only; OpenSSL would take it
      }
      SignSettings settings;
      settings.hash = hash;
      const Bytes cms = ModuleSigner(key, settings).signature_for(content);
      INFO("key " << key_type_name(type) << " hash " << hash_name(hash));
      CHECK(openssl_cms_verifies(cms, content, *key));
      Bytes tampered = content;
      tampered[tampered.size() / 2] ^= 1;
      CHECK_FALSE(openssl_cms_verifies(cms, tampered, *key));
    }
  }
}

TEST_CASE("core::parse_signed_data rejects what the kernel rejects", "[cms]")
{
  const auto key = shared(test::make_key(KeyType::rsa, "parse"));
  const Bytes cms = ModuleSigner(key, {}).signature_for(test::sample_module());

  CHECK_THROWS_AS(parse_signed_data(Bytes{0x30, 0x03, 0x02, 0x01}), Error);
  Bytes truncated(cms.begin(), cms.end() - 1);
  CHECK_THROWS_AS(parse_signed_data(truncated), Error);
  Bytes trailing = cms;
  trailing.push_back(0);
  CHECK_THROWS_AS(parse_signed_data(trailing), Error);
  // RSA is named rsaEncryption with NULL parameters, as the kernel requires.
  const ParsedSignedData parsed = parse_signed_data(cms);
  CHECK(parsed.signature_oid == "1.2.840.113549.1.1.1");
  CHECK(parsed.signature_kind == SignatureKind::rsa_pkcs1);
}

TEST_CASE("core::verify_module verdicts", "[cms][verify]")
{
  const auto key = shared(test::make_key(KeyType::ec, "trusted"));
  const auto other = shared(test::make_key(KeyType::ec, "stranger"));
  TrustedKeys trusted;
  trusted.add(X509Ptr(X509_dup(key->certificate.get())));

  const Bytes module = test::sample_module();
  SignSettings settings;
  settings.hash = HashAlgo::sha3_512; // EC + SHA-3: what OpenSSL 3.0's CMS layer refuses
  const Bytes signed_module = ModuleSigner(key, settings).sign_image(module);

  const Verification ok = verify_module(signed_module, trusted);
  CHECK(ok.verdict == Verdict::ok);
  CHECK(ok.signer == "trusted");
  CHECK(ok.hash == HashAlgo::sha3_512);

  CHECK(verify_module(module, trusted).verdict == Verdict::unsigned_module);
  CHECK(verify_module(ModuleSigner(other, settings).sign_image(module), trusted).verdict == Verdict::unknown_key);

  Bytes tampered = signed_module;
  tampered[100] ^= 0x01;
  CHECK(verify_module(tampered, trusted).verdict == Verdict::bad_signature);

  Bytes corrupt_signature = signed_module;
  corrupt_signature[corrupt_signature.size() - k_trailer_size - 5] ^= 0x40;
  CHECK(verify_module(corrupt_signature, trusted).verdict == Verdict::bad_signature);

  Bytes broken_trailer = signed_module;
  broken_trailer[broken_trailer.size() - k_trailer_size + 2] = 7;
  CHECK(verify_module(broken_trailer, trusted).verdict == Verdict::malformed);
}

TEST_CASE("core::ModuleSigner refuses non-modules and replaces old signatures", "[cms]")
{
  const auto key = shared(test::make_key(KeyType::rsa, "resign"));
  const auto first = shared(test::make_key(KeyType::rsa, "first"));
  const ModuleSigner signer(key, {});
  const Bytes module = test::sample_module();

  CHECK_THROWS_WITH(signer.sign_image(Bytes(1000, 'x')), KSIGN_CONTAINS("not an ELF file"));
  Bytes truncated(module.begin(), module.begin() + static_cast<std::ptrdiff_t>(module.size() / 2));
  CHECK_THROWS_WITH(signer.sign_image(truncated), KSIGN_CONTAINS("outside the file"));

  // Re-signing removes the old signature exactly: same bytes as signing the unsigned module.
  const Bytes once = signer.sign_image(module);
  const Bytes resigned = signer.sign_image(ModuleSigner(first, {}).sign_image(module));
  CHECK(resigned == once);
  CHECK(signer.sign_image(once) == once);
}
