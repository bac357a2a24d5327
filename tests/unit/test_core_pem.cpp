// SPDX-License-Identifier: MIT
// The PEM reader: blocks in order, labels, encrypted headers, text around them.
#include "catch.hpp"

#include "core/pem.hpp"
#include "test_support.hpp"

#include <openssl/pem.h>

#include <string>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::read_pem_blocks", "[pem]")
{
  const SigningKey key = test::make_key(KeyType::ec, "pem");
  SECTION("blocks in order, text around them skipped")
  {
    const std::string text = "Bag Attributes\n" + test::private_key_pem(key) + "subject=CN = pem\n"
                             + test::certificate_pem(key) + "trailing words\n";
    const std::vector<PemBlock> blocks = read_pem_blocks(as_bytes(text));
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0].label == "PRIVATE KEY");
    CHECK_FALSE(blocks[0].encrypted);
    CHECK(is_private_key_label(blocks[0].label));
    CHECK_FALSE(is_certificate_label(blocks[0].label));
    CHECK(blocks[1].label == "CERTIFICATE");
    CHECK(blocks[1].der == key.certificate); // the body, base64 decoded
    CHECK(is_certificate_label(blocks[1].label));
    CHECK_FALSE(is_private_key_label(blocks[1].label));
  }
  SECTION("a legacy encrypted key is marked encrypted")
  {
    BioPtr bio = memory_bio();
    const std::string pass = "secret";
    REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.key.get(), EVP_aes_128_cbc(),
                                                 reinterpret_cast<const unsigned char*>(pass.data()),
                                                 static_cast<int>(pass.size()), nullptr, nullptr)
            == 1);
    const std::vector<PemBlock> blocks = read_pem_blocks(as_bytes(memory_bio_text(bio.get())));
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].label == "EC PRIVATE KEY");
    CHECK(blocks[0].encrypted);
  }
  SECTION("no blocks, or a broken one")
  {
    CHECK(read_pem_blocks(as_bytes(std::string("not PEM at all\n"))).empty());
    CHECK(read_pem_blocks(ByteView()).empty());
    // A block whose base64 is cut off ends the list rather than throwing.
    std::string cut = test::certificate_pem(key);
    cut.resize(cut.size() / 2);
    CHECK(read_pem_blocks(as_bytes(cut)).empty());
  }
  CHECK(is_certificate_label("TRUSTED CERTIFICATE"));
  CHECK(is_certificate_label("X509 CERTIFICATE"));
  CHECK(is_private_key_label("ENCRYPTED PRIVATE KEY"));
  CHECK(is_private_key_label("RSA PRIVATE KEY"));
  CHECK_FALSE(is_private_key_label("PUBLIC KEY"));
}
