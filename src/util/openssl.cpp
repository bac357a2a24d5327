// SPDX-License-Identifier: MIT
#include "util/openssl.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

namespace ksign {

void init_openssl()
{
  // Failures here are not fatal: OpenSSL initialises itself on first use anyway.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  RAND_set_DRBG_type(nullptr, "HASH-DRBG", nullptr, nullptr, "SHA512");
  ERR_clear_error();
}

BioPtr memory_bio(ByteView data)
{
  // An empty span may have no data pointer, which BIO_new_mem_buf refuses.
  static const std::uint8_t nothing = 0;
  BioPtr bio(BIO_new_mem_buf(data.empty() ? &nothing : data.data(), static_cast<int>(data.size())));
  if (!bio) {
    throw_openssl("out of memory");
  }
  return bio;
}

BioPtr memory_bio()
{
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    throw_openssl("out of memory");
  }
  return bio;
}

std::string memory_bio_text(BIO* bio)
{
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string drain_openssl_errors()
{
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    const char* reason = ERR_reason_error_string(code);
    if (!text.empty()) {
      text += "; ";
    }
    text += reason ? reason : buffer;
  }
  return text;
}

void throw_openssl(const std::string& what)
{
  const std::string detail = drain_openssl_errors();
  throw Error(Errc::failure, detail.empty() ? what : what + ": " + detail);
}

} // namespace ksign
