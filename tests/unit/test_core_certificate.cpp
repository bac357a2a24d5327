// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/keys.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
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
  CHECK(parts.serial.front() == 0x02);     // an INTEGER, tag included
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
}
