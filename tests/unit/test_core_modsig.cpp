// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/modsig.hpp"
#include "util/error.hpp"

#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

Bytes with_trailer(Bytes module, std::size_t cms_size, std::uint8_t fill = 0x30)
{
  module.insert(module.end(), cms_size, fill);
  const auto trailer = make_trailer(cms_size);
  module.insert(module.end(), trailer.begin(), trailer.end());
  return module;
}

} // namespace

TEST_CASE("core::make_trailer", "[modsig]")
{
  const auto trailer = make_trailer(0x01020304);
  REQUIRE(trailer.size() == 40);
  // algo, hash, id_type=2 (PKCS#7), signer_len, key_id_len, pad[3], then sig_len big-endian.
  const std::uint8_t info[] = {0, 0, 2, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04};
  CHECK(std::equal(std::begin(info), std::end(info), trailer.begin()));
  CHECK(std::string(trailer.begin() + 12, trailer.end()) == "~Module signature appended~\n");
}

TEST_CASE("core::parse_trailer", "[modsig]")
{
  const Bytes module(1000, 0x7f);

  SECTION("no marker: unsigned")
  {
    CHECK(parse_trailer(module).status == TrailerStatus::unsigned_module);
    CHECK(parse_trailer(Bytes{}).status == TrailerStatus::unsigned_module);
  }
  SECTION("signed: the blob and the covered length")
  {
    const Bytes signed_module = with_trailer(module, 300);
    const Trailer trailer = parse_trailer(signed_module);
    REQUIRE(trailer.status == TrailerStatus::signed_module);
    CHECK(trailer.signed_length == 1000);
    CHECK(trailer.cms.size() == 300);
  }
  SECTION("signature length past the start of the file")
  {
    Bytes bad = with_trailer(Bytes(10, 1), 300);
    bad.erase(bad.begin(), bad.begin() + 295); // keep the trailer, drop most of the blob
    const Trailer trailer = parse_trailer(bad);
    CHECK(trailer.status == TrailerStatus::malformed);
    CHECK_THAT(trailer.problem, KSIGN_CONTAINS("larger than the module"));
  }
  SECTION("the marker with no room for the signature information")
  {
    // Exactly the marker is not "signed" for the kernel (it wants len > marker length).
    const std::string marker(k_signature_marker);
    CHECK(parse_trailer(Bytes(marker.begin(), marker.end())).status == TrailerStatus::unsigned_module);
    const std::string short_trailer = "12345" + marker;
    CHECK(parse_trailer(Bytes(short_trailer.begin(), short_trailer.end())).status == TrailerStatus::malformed);
  }
  SECTION("wrong id_type and non-zero fields")
  {
    Bytes bad = with_trailer(module, 300);
    const std::size_t info = bad.size() - k_trailer_size;
    bad[info + 2] = 1;
    CHECK_THAT(parse_trailer(bad).problem, KSIGN_CONTAINS("not PKCS#7"));
    bad[info + 2] = 2;
    bad[info + 5] = 9;
    CHECK_THAT(parse_trailer(bad).problem, KSIGN_CONTAINS("non-zero"));
  }
}

TEST_CASE("core::unsigned_length", "[modsig]")
{
  const Bytes module(1000, 0x7f);
  CHECK(unsigned_length(module) == 1000);
  // sign-file appends a second signature to a signed module: both go.
  CHECK(unsigned_length(with_trailer(with_trailer(module, 300), 200)) == 1000);
  Bytes bad = with_trailer(module, 300);
  bad[bad.size() - k_trailer_size + 2] = 0;
  CHECK_THROWS_AS(unsigned_length(bad), Error);
}

TEST_CASE("core::append_signature and struct ModuleSignature", "[modsig]")
{
  ModuleSignature info;
  info.set_signature_length(0x0a0b0c0d);
  CHECK(info.signature_length() == 0x0a0b0c0d);
  CHECK(info.sig_len[0] == 0x0a);

  const Bytes module(500, 0x7f);
  const Bytes cms(77, 0x30);
  const SignedImage image = append_signature(module, cms);
  Bytes joined;
  for (const ByteView part : image.parts()) {
    append(joined, part);
  }
  CHECK(joined.size() == module.size() + cms.size() + k_trailer_size);
  const Trailer trailer = parse_trailer(joined);
  REQUIRE(trailer.status == TrailerStatus::signed_module);
  CHECK(trailer.signed_length == module.size());
  CHECK(trailer.cms.size() == cms.size());
  CHECK(unsigned_length(joined) == module.size());
}
