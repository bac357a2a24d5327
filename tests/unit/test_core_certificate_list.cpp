// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/certificate_list.hpp"
#include "test_support.hpp"

#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

Bytes joined(std::initializer_list<const Bytes*> parts)
{
  Bytes out;
  for (const Bytes* part : parts) {
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

} // namespace

TEST_CASE("core::parse_certificate_list splits a list as load_certificate_list does", "[certificate_list]")
{
  const Bytes first = test::certificate_der(test::make_key(KeyType::ec, "first"));
  const Bytes second = test::certificate_der(test::make_key(KeyType::rsa, "second"));
  REQUIRE(first[1] == 0x82); // 30 82 LL LL: what the kernel's list holds
  const Bytes list = joined({&first, &second});

  const CertificateList parsed = parse_certificate_list(list, 1000, [&](std::size_t at) {
    return at < first.size() ? CertificateOrigin::build_key : CertificateOrigin::trusted_keys;
  });
  REQUIRE(parsed.certificates.size() == 2);
  CHECK(parsed.unloadable.empty());
  CHECK(parsed.certificates[0].der == first);
  CHECK(parsed.certificates[0].origin == CertificateOrigin::build_key);
  CHECK(parsed.certificates[0].offset == 1000);
  CHECK(parsed.certificates[0].common_name == "first");
  CHECK(parsed.certificates[1].der == second);
  CHECK(parsed.certificates[1].origin == CertificateOrigin::trusted_keys);
  CHECK(parsed.certificates[1].offset == 1000 + first.size());

  CHECK(parse_certificate_list({}, 0, [](std::size_t) { return CertificateOrigin::trusted_keys; }).certificates.empty());
}

TEST_CASE("core::parse_certificate_list: a bad entry stops the list, a refused certificate is skipped",
          "[certificate_list]")
{
  const auto origin = [](std::size_t) { return CertificateOrigin::trusted_keys; };
  const Bytes good = test::certificate_der(test::make_key(KeyType::ec, "good"));

  // A SEQUENCE of the list's shape that is no certificate: skipped, the next one still loads.
  Bytes refused{0x30, 0x82, 0x00, 0x04, 0x02, 0x01, 0x00, 0x00};
  const CertificateList skipped = parse_certificate_list(joined({&refused, &good}), 0, origin);
  REQUIRE(skipped.certificates.size() == 1);
  CHECK(skipped.certificates[0].der == good);
  REQUIRE(skipped.unloadable.size() == 1);
  CHECK(skipped.unloadable[0].offset == 0);

  // Padding after the last certificate: the kernel stops there.
  const Bytes padding(3, 0);
  const CertificateList padded = parse_certificate_list(joined({&good, &padding}), 0, origin);
  CHECK(padded.certificates.size() == 1);
  REQUIRE(padded.unloadable.size() == 1);
  CHECK(padded.unloadable[0].offset == good.size());
  CHECK(padded.unloadable[0].reason == "the list is malformed here; the kernel stops loading it");

  // A certificate cut short at the end of the list.
  const Bytes cut(good.begin(), good.end() - 10);
  const CertificateList truncated = parse_certificate_list(joined({&good, &cut}), 0, origin);
  CHECK(truncated.certificates.size() == 1);
  REQUIRE(truncated.unloadable.size() == 1);
  CHECK(truncated.unloadable[0].reason == "a certificate runs past the end of the list");
}

TEST_CASE("core::scan_for_certificates finds certificates among other bytes, each once", "[certificate_list]")
{
  const Bytes ec = test::certificate_der(test::make_key(KeyType::ec, "scanned ec"));
  const Bytes rsa = test::certificate_der(test::make_key(KeyType::rsa, "scanned rsa"));
  Bytes noise(333);
  for (std::size_t i = 0; i < noise.size(); ++i) {
    noise[i] = static_cast<std::uint8_t>(i * 7 + 0x30); // includes 0x30 bytes that start nothing
  }
  const Bytes image = joined({&noise, &ec, &noise, &rsa, &noise, &ec, &noise});
  const std::vector<KernelCertificate> found = scan_for_certificates(image);
  REQUIRE(found.size() == 2);
  CHECK(found[0].der == ec);
  CHECK(found[0].offset == noise.size());
  CHECK(found[0].origin == CertificateOrigin::found_by_scan);
  CHECK(found[1].der == rsa);
  CHECK(scan_for_certificates(noise).empty());
}
