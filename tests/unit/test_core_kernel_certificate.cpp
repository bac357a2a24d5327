// SPDX-License-Identifier: MIT
// What the kernel's X.509 parser takes from a certificate, for certificates openssl(1) makes with
// the subjects, keys and serials that exercise each rule.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/kernel_certificate.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

// A self-signed DER certificate from `openssl req`: subject `subject`, key from `key_options`
// (say "-newkey rsa:2048"), serial `serial`, and `extra` options.
Bytes openssl_certificate(const test::TempDir& dir, const std::string& subject, const std::string& key_options,
                          const std::string& serial = "0x1234", const std::string& extra = "")
{
  const std::string d = test::shell_quote(dir.path().string());
  REQUIRE(test::run("cd " + d + " && openssl req -x509 -nodes -days 1 " + key_options + " -keyout key.pem -subj " +
                    test::shell_quote(subject) + " -set_serial " + serial + " " + extra +
                    " -outform DER -out cert.der 2>/dev/null"));
  return test::read_whole(dir.path() / "cert.der");
}

const std::string k_ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-384";

} // namespace

TEST_CASE("core::kernel_certificate names the key as x509_fabricate_name does", "[kernel_certificate]")
{
  test::TempDir dir;
  struct Case
  {
    std::string subject;
    std::string kernel_name;
    std::string common_name;
  };
  const Case cases[] = {
    {"/O=Acme Corp/CN=Module key", "Acme Corp: Module key", "Module key"},
    {"/O=Acme/CN=Acme module signing", "Acme module signing", "Acme module signing"},   // CN starts with O
    {"/O=Example Org/CN=Example signer", "Example signer", "Example signer"},         // the first 7 agree
    {"/O=Org/CN=first/CN=second", "Org: second", "second"},                          // the last CN
    {"/O=Only an organization", "Only an organization", ""},
    {"/emailAddress=keys@example.org", "keys@example.org", ""},
  };
  for (const Case& c : cases) {
    INFO(c.subject);
    const KernelCertificate certificate = kernel_certificate(openssl_certificate(dir, c.subject, k_ec));
    CHECK(certificate.subject == c.kernel_name);
    CHECK(certificate.common_name == c.common_name);
    CHECK(kernel_subject_name(certificate.identity.issuer) == c.kernel_name); // self-signed: issuer = subject
  }
}

TEST_CASE("core::kernel_certificate: ids, key algorithm and TBS hash", "[kernel_certificate]")
{
  test::TempDir dir;
  // A serial with its top bit set: DER puts a 00 before it, and the kernel keeps it.
  const Bytes der = openssl_certificate(dir, "/CN=ids", k_ec, "0x80");
  const KernelCertificate certificate = kernel_certificate(der, CertificateOrigin::extra_slot, 4242);
  CHECK(certificate.der == der);
  CHECK(certificate.origin == CertificateOrigin::extra_slot);
  CHECK(certificate.offset == 4242);
  CHECK(certificate.identity.serial == Bytes{0x00, 0x80});
  CHECK(certificate.identity.issuer == signer_identity(der).issuer);
  const X509Ptr parsed = parse_certificate(der);
  CHECK(util::to_hex(certificate.identity.subject_key_id) == subject_key_id_hex(parsed.get()));
  REQUIRE_FALSE(certificate.identity.subject_key_id.empty());
  CHECK(certificate.key_algorithm == "ecdsa-nist-p384");
  CHECK(kernel_key_description(certificate) == "ids: " + util::to_hex(certificate.identity.subject_key_id));

  // The TBS hash, against OpenSSL's own encoding of the tbsCertificate.
  unsigned char* tbs = nullptr;
  const int tbs_length = i2d_re_X509_tbs(parsed.get(), &tbs);
  REQUIRE(tbs_length > 0);
  const std::unique_ptr<unsigned char, OpensslFree> owned(tbs);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  REQUIRE(EVP_Digest(tbs, static_cast<std::size_t>(tbs_length), digest, &digest_length, EVP_sha256(), nullptr) == 1);
  CHECK(certificate.tbs_sha256 == util::to_hex(ByteView(digest, digest_length)));

  // Without a subjectKeyIdentifier the kernel describes the key by its serial.
  const KernelCertificate no_skid =
    kernel_certificate(openssl_certificate(dir, "/CN=no skid", k_ec, "0x0102", "-addext subjectKeyIdentifier=none"));
  CHECK(no_skid.identity.subject_key_id.empty());
  CHECK(kernel_key_description(no_skid) == "no skid: 0102");

  CHECK(kernel_certificate(openssl_certificate(dir, "/CN=rsa", "-newkey rsa:2048")).key_algorithm == "rsa");
  CHECK(kernel_certificate(openssl_certificate(dir, "/CN=k1", "-newkey ec -pkeyopt ec_paramgen_curve:secp256k1"))
          .key_algorithm == "ecdsa (curve 1.3.132.0.10)");
}

TEST_CASE("core::kernel_certificate refuses what is not a certificate", "[kernel_certificate]")
{
  CHECK_THROWS_AS(kernel_certificate(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}), Error);
  CHECK_THROWS_AS(kernel_certificate(Bytes{}), Error);
  CHECK_THROWS_AS(kernel_subject_name(Bytes{0x31, 0x00}), Error);
}

TEST_CASE("core::certificate_origin_name is stable", "[kernel_certificate]")
{
  CHECK(certificate_origin_name(CertificateOrigin::build_key) == "build key");
  CHECK(certificate_origin_name(CertificateOrigin::trusted_keys) == "CONFIG_SYSTEM_TRUSTED_KEYS");
  CHECK(certificate_origin_name(CertificateOrigin::extra_slot) == "extra slot");
  CHECK(certificate_origin_name(CertificateOrigin::revocation) == "revocation list");
  CHECK(certificate_origin_name(CertificateOrigin::found_by_scan) == "found by scan");
}
