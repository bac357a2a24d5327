// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/cms.hpp"
#include "core/keygen.hpp"
#include "core/keys.hpp"
#include "core/signer_identity.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"
#include "util/error.hpp"

#include <vector>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::signer_identity reads the same fields from DER as OpenSSL's parser", "[signer_identity]")
{
  // Test keys (subjectKeyIdentifier only), ksign's own keys (more extensions), both key types.
  const std::vector<SigningKey> keys = [] {
    std::vector<SigningKey> made;
    made.push_back(test::make_key(KeyType::rsa, "rsa"));
    made.push_back(test::make_key(KeyType::ec, "ec", "prime256v1"));
    made.push_back(generate_signing_key(KeyType::ec, HashAlgo::sha512, "generated"));
    return made;
  }();
  for (const SigningKey& key : keys) {
    const SignerIdentity from_der = signer_identity(ByteView(key.certificate));
    const SignerIdentity from_openssl = signer_identity(parse_certificate(key.certificate).get());
    CHECK(from_der.issuer == from_openssl.issuer);
    CHECK(from_der.serial == from_openssl.serial);
    CHECK(from_der.subject_key_id == from_openssl.subject_key_id);
    CHECK(from_der.subject_key_id.size() == 20);
  }
  // Not a certificate: a format error, not a crash or a guess.
  const Bytes truncated(keys[0].certificate.begin(), keys[0].certificate.begin() + 40);
  CHECK_THROWS_AS(signer_identity(ByteView(truncated)), Error);
}

TEST_CASE("core::signer_identity keeps a serial's content octets, the sign octet included", "[signer_identity]")
{
  test::TempDir dir;
  const std::string d = test::shell_quote(dir.path().string());
  REQUIRE(test::run("cd " + d + " && openssl req -x509 -nodes -days 1 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                    "-keyout key.pem -subj /CN=serial -set_serial 0x80ff -outform DER -out cert.der 2>/dev/null"));
  const Bytes der = test::read_whole(dir.path() / "cert.der");
  // 0x80ff has its top bit set: DER writes 02 03 00 80 ff, and the content keeps the 00.
  CHECK(signer_identity(ByteView(der)).serial == Bytes{0x00, 0x80, 0xff});
  CHECK(signer_identity(parse_certificate(der).get()).serial == Bytes{0x00, 0x80, 0xff});
}

TEST_CASE("core::signer_reference keeps what its kind names, and a SignerInfo reads back the same", "[signer_identity]")
{
  const SigningKey key = test::make_key(KeyType::ec, "reference");
  const SignerIdentity identity = signer_identity(ByteView(key.certificate));

  const SignerReference by_serial = signer_reference(identity, SignerIdKind::issuer_and_serial);
  CHECK(by_serial.kind == SignerIdKind::issuer_and_serial);
  CHECK(by_serial.identity.issuer == identity.issuer);
  CHECK(by_serial.identity.serial == identity.serial);
  CHECK(by_serial.identity.subject_key_id.empty());

  const SignerReference by_key_id = signer_reference(identity, SignerIdKind::subject_key_id);
  CHECK(by_key_id.kind == SignerIdKind::subject_key_id);
  CHECK(by_key_id.identity.issuer.empty());
  CHECK(by_key_id.identity.serial.empty());
  CHECK(by_key_id.identity.subject_key_id == identity.subject_key_id);

  // What encode_signed_data writes for each kind is what parse_signed_data reads back.
  const Bytes algorithm = signature_algorithm_identifier(KeyType::ec, HashAlgo::sha384);
  for (const SignerReference& reference : {by_serial, by_key_id}) {
    const Bytes cms = encode_signed_data(identity, reference.kind, HashAlgo::sha384, algorithm, Bytes(8, 1));
    const ParsedSignedData parsed = parse_signed_data(cms);
    CHECK(parsed.signer.kind == reference.kind);
    CHECK(parsed.signer.identity.issuer == reference.identity.issuer);
    CHECK(parsed.signer.identity.serial == reference.identity.serial);
    CHECK(parsed.signer.identity.subject_key_id == reference.identity.subject_key_id);
  }
}
