// SPDX-License-Identifier: MIT
#include "core/pem.hpp"

#include "util/openssl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <memory>

namespace ksign::core {

std::vector<PemBlock> read_pem_blocks(ByteView data)
{
  std::vector<PemBlock> blocks;
  const BioPtr bio = memory_bio(data);
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* body = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &body, &length) != 1) {
      ERR_clear_error(); // end of input
      return blocks;
    }
    // Take ownership at once, so nothing leaks whatever happens below.
    const std::unique_ptr<char, OpensslFree> owned_name(name);
    const std::unique_ptr<char, OpensslFree> owned_header(header);
    const std::unique_ptr<unsigned char, OpensslFree> owned_body(body);
    blocks.push_back({name, header != nullptr && header[0] != '\0', Bytes(body, body + length)});
  }
}

bool is_certificate_label(std::string_view label)
{
  return label == PEM_STRING_X509 || label == PEM_STRING_X509_OLD || label == PEM_STRING_X509_TRUSTED;
}

bool is_private_key_label(std::string_view label)
{
  return label.find("PRIVATE KEY") != std::string_view::npos;
}

} // namespace ksign::core
