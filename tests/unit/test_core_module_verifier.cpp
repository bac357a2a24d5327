// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/compress.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "core/modsig.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <openssl/cms.h>
#include <openssl/err.h>

#include <memory>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

// A detached CMS signature OpenSSL makes of `content` with `key` (no certificates): what
// sign-file makes with `flags` CMS_NOATTR, and with signed attributes without it.
Bytes openssl_signature(const SigningKey& key, ByteView content, unsigned flags)
{
  const X509Ptr certificate = parse_certificate(key.certificate);
  const BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  const std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo_free>> cms(
    CMS_sign(certificate.get(), key.key.get(), nullptr, data.get(),
             CMS_DETACHED | CMS_BINARY | CMS_NOCERTS | CMS_NOSMIMECAP | flags));
  REQUIRE(cms);
  unsigned char* der = nullptr;
  const int length = i2d_CMS_ContentInfo(cms.get(), &der);
  REQUIRE(length > 0);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  ERR_clear_error();
  return out;
}

Bytes joined(const SignedImage& image)
{
  Bytes out;
  for (const ByteView part : image.parts()) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

} // namespace

TEST_CASE("core::verify_module verdicts", "[module_verifier]")
{
  const auto key = test::shared_key(test::make_key(KeyType::ec, "trusted"));
  const auto other = test::shared_key(test::make_key(KeyType::ec, "stranger"));
  TrustedKeys trusted;
  trusted.add(parse_certificate(key->certificate));

  const Bytes module = test::sample_module();
  SignSettings settings;
  settings.hash = HashAlgo::sha3_512; // EC + SHA-3: what OpenSSL 3.0's CMS layer refuses
  const Bytes signed_module = ModuleSigner(key, settings).sign_image(module);

  const Verification ok = verify_module(signed_module, trusted);
  CHECK(ok.verdict == Verdict::ok);
  CHECK(ok.signer == "trusted");
  CHECK(ok.hash == HashAlgo::sha3_512);
  CHECK(ok.problem.empty());

  CHECK(verify_module(module, trusted).verdict == Verdict::unsigned_module);
  const Verification unknown = verify_module(ModuleSigner(other, settings).sign_image(module), trusted);
  CHECK(unknown.verdict == Verdict::unknown_key);
  CHECK(unknown.signer == "stranger"); // the issuer's CN the signature names

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

TEST_CASE("core::verify_module finds the signer by issuer and serial or by key id", "[module_verifier]")
{
  const auto key = test::shared_key(test::make_key(KeyType::rsa, "by either"));
  TrustedKeys trusted;
  trusted.add(parse_certificate(key->certificate));
  const Bytes module = test::sample_module();
  const SignerIdentity identity = signer_identity(key->certificate);
  const Bytes serial_octets{0x01, 0x23, 0x45, 0x67}; // test::make_key's serial, 0x1234567

  SignSettings by_serial;
  const Verification serial = verify_module(ModuleSigner(key, by_serial).sign_image(module), trusted);
  CHECK(serial.verdict == Verdict::ok);
  REQUIRE(serial.reference.has_value());
  CHECK(serial.reference->kind == SignerIdKind::issuer_and_serial);
  CHECK(serial.sig_key == "01:23:45:67");
  CHECK(serial.key_id == util::to_hex(identity.subject_key_id)); // the trusted key's, once found

  SignSettings by_key_id;
  by_key_id.signer_id = SignerIdKind::subject_key_id;
  const Verification key_id = verify_module(ModuleSigner(key, by_key_id).sign_image(module), trusted);
  CHECK(key_id.verdict == Verdict::ok);
  REQUIRE(key_id.reference.has_value());
  CHECK(key_id.reference->kind == SignerIdKind::subject_key_id);
  CHECK(key_id.sig_key == modinfo_hex(identity.subject_key_id));

  CHECK(trusted.find_by_key_id(identity.subject_key_id) != nullptr);
  CHECK(trusted.find_by_key_id(Bytes{}) == nullptr);
  CHECK(trusted.find_by_issuer_serial(identity.issuer, serial_octets) != nullptr);
  Bytes other_serial = serial_octets;
  other_serial.back() ^= 1;
  CHECK(trusted.find_by_issuer_serial(identity.issuer, other_serial) == nullptr);
}

TEST_CASE("core::verify_module takes OpenSSL's signature as sign-file makes it, and refuses signed attributes",
          "[module_verifier]")
{
  const SigningKey key = test::make_key(KeyType::rsa, "openssl");
  TrustedKeys trusted;
  trusted.add(parse_certificate(key.certificate));
  const Bytes module = test::sample_module();

  const Bytes plain = openssl_signature(key, module, CMS_NOATTR);
  CHECK(verify_module(joined(append_signature(module, plain)), trusted).verdict == Verdict::ok);

  const Bytes with_attributes = openssl_signature(key, module, 0);
  const Verification refused = verify_module(joined(append_signature(module, with_attributes)), trusted);
  CHECK(refused.verdict == Verdict::signed_attributes);
  CHECK(refused.problem.find("kernels refuse for RSA and ECDSA") != std::string::npos);

  // Signed attributes over other contents: their message digest no longer fits.
  Bytes changed = module;
  changed[200] ^= 0x10;
  CHECK(verify_module(joined(append_signature(changed, with_attributes)), trusted).verdict == Verdict::bad_signature);
}

TEST_CASE("core::verify_module reads compressed modules, and calls a bad stream malformed", "[module_verifier]")
{
  const auto key = test::shared_key(test::make_key(KeyType::ec, "compressed"));
  TrustedKeys trusted;
  trusted.add(parse_certificate(key->certificate));
  const Bytes signed_module = ModuleSigner(key, {}).sign_image(test::sample_module());
  for (const Compression compression : {Compression::gzip, Compression::xz, Compression::zstd}) {
    INFO(compression_name(compression));
    const Bytes packed = compress(compression, signed_module);
    const Verification packed_ok = verify_module(packed, trusted);
    CHECK(packed_ok.verdict == Verdict::ok);
    CHECK(packed_ok.compression == compression);
    const Bytes cut(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(packed.size() / 2));
    CHECK(verify_module(cut, trusted).verdict == Verdict::malformed);
  }
}

TEST_CASE("core::verify_module: a key the kernel cannot load is an unknown key, with the reason", "[module_verifier]")
{
  const SigningKey key = test::make_key(KeyType::ec, "koblitz", "secp256k1");
  TrustedKeys trusted;
  trusted.add(parse_certificate(key.certificate));
  const Bytes module = test::sample_module();
  const Verification result = verify_module(joined(append_signature(module, openssl_signature(key, module, CMS_NOATTR))), trusted);
  CHECK(result.verdict == Verdict::unknown_key);
  CHECK(result.signer == "koblitz");
  CHECK(result.problem.find("the kernel cannot load the signer's certificate") != std::string::npos);
  CHECK(result.problem.find("secp256k1") != std::string::npos);
}

TEST_CASE("core::modinfo_hex and core::modinfo_serial spell ids as modinfo does", "[module_verifier]")
{
  CHECK(modinfo_hex(Bytes{0x4a, 0xf4, 0x00, 0x0b}) == "4A:F4:00:0B");
  CHECK(modinfo_hex(Bytes{}).empty());
  // DER's sign octet before a serial whose top bit is set is not part of the number.
  CHECK(modinfo_serial(Bytes{0x00, 0x9c, 0x01}) == "9C:01");
  CHECK(modinfo_serial(Bytes{0x00}) == "00");
}

TEST_CASE("core::verdict_name is stable", "[module_verifier]")
{
  CHECK(verdict_name(Verdict::ok) == "ok");
  CHECK(verdict_name(Verdict::unsigned_module) == "unsigned");
  CHECK(verdict_name(Verdict::unknown_key) == "unknown_key");
  CHECK(verdict_name(Verdict::bad_signature) == "bad_signature");
  CHECK(verdict_name(Verdict::signed_attributes) == "signed_attributes");
  CHECK(verdict_name(Verdict::malformed) == "malformed");
}
