// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/cms.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "core/modsig.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::encode_signed_data and core::parse_signed_data", "[cms]")
{
  const auto key = test::shared_key(test::make_key(KeyType::ec, "cms test"));
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
    CHECK(parsed.signer.kind == id_kind);
    CHECK(parsed.version == (id_kind == SignerIdKind::subject_key_id ? 3u : 1u));
    CHECK(test::openssl_cms_verifies(cms, content, *key));
  }
}

TEST_CASE("core::parse_signed_data rejects what the kernel rejects", "[cms]")
{
  const auto key = test::shared_key(test::make_key(KeyType::rsa, "parse"));
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
