// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/der.hpp"
#include "util/error.hpp"

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::der::tlv and der::Reader", "[der]")
{
  const Bytes one = der::small_integer(1);
  CHECK(one == Bytes{0x02, 0x01, 0x01});
  const Bytes long_content(300, 0xab);
  const Bytes sequence = der::tlv(der::k_sequence, {one, der::tlv(der::k_octet_string, {long_content})});
  // 300 octets need the two-byte long form: 04 82 01 2c.
  REQUIRE(sequence.size() == 2 + 3 + 4 + 300 + 2);

  der::Reader outer(sequence);
  const der::Element element = outer.read(der::k_sequence, "sequence");
  CHECK(outer.at_end());
  der::Reader inner(element.content);
  CHECK(der::integer_value(inner.read(der::k_integer, "version"), "version") == 1);
  CHECK_FALSE(inner.read_optional(der::k_boolean, "flag").has_value());
  const der::Element octets = inner.read(der::k_octet_string, "octets");
  CHECK(octets.content.size() == 300);
  CHECK(octets.encoding.size() == 304);
  inner.expect_end("sequence");
}

TEST_CASE("core::der::Reader refuses malformed DER as format errors", "[der]")
{
  const auto error_of = [](const Bytes& data) {
    try {
      der::Reader reader(data);
      (void)reader.read(der::k_sequence, "thing");
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::usage; // nothing thrown
  };
  CHECK(error_of({0x30, 0x05, 0x01}) == Errc::format);     // truncated
  CHECK(error_of({0x30, 0x80, 0x00, 0x00}) == Errc::format); // indefinite length
  CHECK(error_of({0x31, 0x00}) == Errc::format);           // wrong tag
  CHECK(error_of({}) == Errc::format);                     // nothing at all
}

TEST_CASE("core::der::bit_string_octets", "[der]")
{
  const Bytes whole = {0x03, 0x03, 0x00, 0xaa, 0xbb};
  der::Reader reader(whole);
  CHECK(der::bit_string_octets(reader.read(der::k_bit_string, "key"), "key").size() == 2);
  const Bytes partial = {0x03, 0x02, 0x04, 0xf0};
  der::Reader partial_reader(partial);
  CHECK_THROWS_AS(der::bit_string_octets(partial_reader.read(der::k_bit_string, "key"), "key"), Error);
}

TEST_CASE("core::der::integer_content takes DER's minimal INTEGER only", "[der]")
{
  // One reader, one verdict: a serial number ksign signs with must be one that its own verify,
  // OpenSSL and the kernel's sign-file parse.
  const auto content_of = [](const Bytes& encoding) {
    der::Reader reader(encoding);
    return der::integer_content(reader.read(der::k_integer, "integer"), "integer");
  };
  CHECK(content_of(Bytes{0x02, 0x01, 0x01}).size() == 1);
  CHECK(content_of(Bytes{0x02, 0x02, 0x00, 0x80}).size() == 2); // the 00 keeps 0x80 positive
  CHECK(content_of(Bytes{0x02, 0x02, 0xff, 0x7f}).size() == 2); // the ff keeps 0x7f negative
  CHECK_THROWS_AS(content_of(Bytes{0x02, 0x00}), Error);                  // empty
  CHECK_THROWS_AS(content_of(Bytes{0x02, 0x02, 0x00, 0x01}), Error);      // zero-padded
  CHECK_THROWS_AS(content_of(Bytes{0x02, 0x03, 0xff, 0xff, 0x80}), Error); // redundant ff
  CHECK_THROWS_AS(der::integer_value(der::Reader(Bytes{0x02, 0x02, 0x00, 0x05}).read(der::k_integer, "v"), "v"),
                  Error);
}
