// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/oids.hpp"

#include <string>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::oid_text spells an OID dotted or by OpenSSL's name", "[oids]")
{
  CHECK(oid_text(k_oid_prime256v1) == "1.2.840.10045.3.1.7");
  CHECK(oid_text(k_oid_secp384r1) == "1.3.132.0.34");
  CHECK(oid_text(k_oid_rsa_encryption) == "1.2.840.113549.1.1.1");
  // The first octet holds two arcs: 2.999 is 0x88 0x37 (first arc 2 above 39).
  const std::uint8_t joint_iso[] = {0x88, 0x37, 0x03};
  CHECK(oid_text(joint_iso) == "2.999.3");
  // An arc of more than 64 bits is still spelled (OpenSSL counts in BIGNUMs).
  const std::uint8_t big_arc[] = {0x2a, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  CHECK(oid_text(big_arc) == "1.2.2361183241434822606848");

  const std::uint8_t secp256k1[] = {0x2b, 0x81, 0x04, 0x00, 0x0a};
  CHECK(oid_text(secp256k1) == "1.3.132.0.10");
  CHECK(oid_text(secp256k1, OidSpelling::name_or_dotted) == "secp256k1");
  const std::uint8_t private_arc[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xde, 0x2f, 0x01};
  CHECK(oid_text(private_arc, OidSpelling::name_or_dotted) == "1.3.6.1.4.1.44847.1");
}

TEST_CASE("core::oid_text: an unreadable OID is named as such, a long one is cut", "[oids]")
{
  CHECK(oid_text(ByteView()) == "(unreadable OID)");
  // The last octet carries the continuation bit: the arc never ends.
  const std::uint8_t unfinished[] = {0x2a, 0x86, 0x48, 0x86};
  CHECK(oid_text(unfinished) == "(unreadable OID)");
  CHECK(oid_text(unfinished, OidSpelling::name_or_dotted) == "(unreadable OID)");

  // 200 arcs of 1: "1.2.1.1.1...." is far longer than any real OID.
  Bytes long_oid{0x2a};
  long_oid.insert(long_oid.end(), 200, 0x01);
  const std::string text = oid_text(long_oid);
  CHECK(text.size() <= 64);
  CHECK(text.starts_with("1.2.1.1.1."));
  CHECK(text.ends_with("..."));
}
