// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "util/error.hpp"
#include "util/openssl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

using namespace ksign;

TEST_CASE("memory_bio reads the bytes given and collects what is written", "[openssl]")
{
  const std::string text = "some bytes\n";
  const BioPtr reader = memory_bio(as_bytes(text));
  char buffer[32] = {};
  CHECK(BIO_read(reader.get(), buffer, sizeof buffer) == static_cast<int>(text.size()));
  CHECK(std::string(buffer) == text);

  const BioPtr writer = memory_bio();
  CHECK(BIO_puts(writer.get(), "written") == 7);
  CHECK(memory_bio_text(writer.get()) == "written");
  CHECK(memory_bio_text(memory_bio().get()).empty());
}

TEST_CASE("drain_openssl_errors empties the queue; throw_openssl names what failed", "[openssl]")
{
  ERR_clear_error();
  CHECK(drain_openssl_errors().empty());

  // A PEM read of no PEM at all leaves an error on the queue. (memory_bio reads the bytes in
  // place: they must outlive the BIO.)
  const std::string not_pem = "not PEM";
  const BioPtr nothing = memory_bio(as_bytes(not_pem));
  CHECK(PEM_read_bio_X509(nothing.get(), nullptr, nullptr, nullptr) == nullptr);
  CHECK_FALSE(drain_openssl_errors().empty());
  CHECK(ERR_peek_error() == 0);

  const BioPtr again = memory_bio(as_bytes(not_pem));
  CHECK(PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr) == nullptr);
  bool thrown = false;
  try {
    throw_openssl("cannot read the thing");
  } catch (const Error& error) {
    thrown = true;
    CHECK(error.code() == Errc::failure);
    // The queue's reason follows what failed.
    CHECK(std::string(error.what()).starts_with("cannot read the thing: "));
  }
  CHECK(thrown);
  CHECK(ERR_peek_error() == 0);
}
