// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/keys.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::parse_certificate_parts", "[certificate]")
{
  const SigningKey key = test::make_key(KeyType::ec, "parts test");
  const CertificateParts parts = parse_certificate_parts(key.certificate);
  const X509Ptr x509 = parse_certificate(key.certificate);
  REQUIRE(parts.subject_key_id.has_value());
  CHECK(util::to_hex(*parts.subject_key_id) == subject_key_id_hex(x509.get()));
  CHECK(parts.key_parameters.has_value()); // the EC curve
  CHECK(Bytes(parts.serial.begin(), parts.serial.end()) == Bytes{0x01, 0x23, 0x45, 0x67}); // the content: make_key's serial
  CHECK(parts.issuer.front() == 0x30);     // a Name, tag included
  CHECK(has_subject_key_id(key.certificate));
  CHECK_THROWS_AS(parse_certificate_parts(Bytes(64, 0x30)), Error);
}

TEST_CASE("core::load_certificates, holds_certificate and names", "[certificate]")
{
  const test::TempDir dir;
  const SigningKey first = test::make_key(KeyType::ec, "first");
  const SigningKey second = test::make_key(KeyType::rsa, "second");
  const fs::path bundle = dir.path() / "bundle.pem";
  test::write_text(bundle, test::private_key_pem(first) + test::certificate_pem(first) + test::certificate_pem(second));
  const fs::path key_only = dir.path() / "key.pem";
  test::write_text(key_only, test::private_key_pem(first));

  const std::vector<X509Ptr> certificates = load_certificates(bundle);
  REQUIRE(certificates.size() == 2);
  CHECK(subject_name(certificates[0].get()) == "first");
  CHECK(subject_name(certificates[1].get()) == "second");
  CHECK(load_certificate_der(bundle) == first.certificate);
  CHECK(fingerprint_sha256(certificates[0].get()).size() == 64);
  CHECK(holds_certificate(bundle));
  CHECK_FALSE(holds_certificate(key_only));
  CHECK_THROWS_WITH(load_certificates(key_only), KSIGN_CONTAINS("no certificate in"));
  CHECK_THROWS_WITH(load_certificate_der(key_only), KSIGN_CONTAINS("no certificate in"));
  // A key between certificates is skipped too.
  const fs::path mixed = dir.path() / "mixed.pem";
  test::write_text(mixed, test::certificate_pem(first) + test::private_key_pem(second) + test::certificate_pem(second));
  const std::vector<X509Ptr> around_key = load_certificates(mixed);
  REQUIRE(around_key.size() == 2);
  CHECK(subject_name(around_key[1].get()) == "second");
  const fs::path empty = dir.path() / "empty.pem";
  test::write_text(empty, "nothing here\n");
  CHECK_THROWS_AS(load_certificates(empty), Error);
  CHECK_FALSE(holds_certificate(empty));
  const fs::path zero_bytes = dir.path() / "zero.pem";
  test::write_text(zero_bytes, "");
  CHECK_THROWS_WITH(load_certificates(zero_bytes), KSIGN_CONTAINS("no certificate in"));

  // DER as it is, and PEM and DER written back out.
  const fs::path der = dir.path() / "second.der";
  util::replace_file_atomically(der, certificate_der(certificates[1].get()));
  CHECK(holds_certificate(der));
  CHECK(load_certificate_der(der) == second.certificate);
  CHECK(subject_name(load_certificate(der).get()) == "second");
  CHECK(certificate_pem(certificates[1].get()) == test::certificate_pem(second));
}

TEST_CASE("core::parse_certificate names what it could not parse", "[certificate]")
{
  CHECK_THROWS_WITH(parse_certificate(Bytes(64, 0x30), "the certificate 'x.der'"),
                    KSIGN_CONTAINS("cannot parse the certificate 'x.der'"));
}
