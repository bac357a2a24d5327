// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"
#include "util/error.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace ksign {

// Owners for the OpenSSL handles ksign uses.
template<auto Free> struct OpensslDeleter
{
  template<typename T> void operator()(T* p) const noexcept { Free(p); }
};

// For buffers OpenSSL allocates and the caller must OPENSSL_free.
struct OpensslFree
{
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};

using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO_free_all>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME_free>>;

// A read-only memory BIO over `data` (which must outlive it), or an empty one to write into;
// both throw when out of memory.
[[nodiscard]] BioPtr memory_bio(ByteView data);
[[nodiscard]] BioPtr memory_bio();

// What has been written into memory BIO `bio`.
[[nodiscard]] std::string memory_bio_text(BIO* bio);

// Set OpenSSL up for a short-lived process; call first thing in main. Skips the clean-up at exit
// (the kernel frees a process faster than OpenSSL frees its tables) and seeds the random
// generator ECDSA needs from SHA-512 rather than AES, which ksign never fetches otherwise.
void init_openssl();

// Text of the OpenSSL error queue (drained), for an error message; empty when none.
std::string drain_openssl_errors();

// Throw Error(Errc::failure) with `what` and the drained OpenSSL error queue.
[[noreturn]] void throw_openssl(const std::string& what);

} // namespace ksign
