// SPDX-License-Identifier: MIT
#include "test_support.hpp"
#include "testbeds.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace ksign::test {

namespace {

void add_extension(X509* cert, int nid, const char* value)
{
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr || X509_add_ext(cert, extension, -1) != 1) {
    throw_openssl("cannot add a certificate extension");
  }
  X509_EXTENSION_free(extension);
}

} // namespace

core::SigningKey make_key(core::KeyType type, const std::string& common_name, const char* curve)
{
  core::SigningKey key;
  key.type = type;
  key.key.reset(type == core::KeyType::rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                           : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!key.key) {
    throw_openssl("cannot generate a test key");
  }
  const X509Ptr certificate(X509_new());
  X509* cert = certificate.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 0x1234567);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
  const X509NamePtr name(X509_NAME_new()); // OpenSSL 4 hands out a certificate's names as const
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_subject_name(cert, name.get());
  X509_set_issuer_name(cert, name.get());
  X509_set_pubkey(cert, key.key.get());
  add_extension(cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, NID_key_usage, "digitalSignature");
  add_extension(cert, NID_subject_key_identifier, "hash");
  if (X509_sign(cert, key.key.get(), EVP_sha256()) == 0) {
    throw_openssl("cannot sign a test certificate");
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  key.certificate.assign(der, der + length);
  OPENSSL_free(der);
  return key;
}

std::string private_key_pem(const core::SigningKey& key)
{
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return memory_bio_text(bio.get());
}

std::string certificate_pem(const core::SigningKey& key)
{
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), core::parse_certificate(key.certificate).get());
  return memory_bio_text(bio.get());
}

Bytes certificate_der(const core::SigningKey& key)
{
  return key.certificate;
}

std::string key_pem(const EVP_PKEY* key, bool traditional)
{
  BioPtr bio(BIO_new(BIO_s_mem()));
  const int written = traditional
                        ? PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (written != 1) {
    throw_openssl("cannot write a test key");
  }
  return memory_bio_text(bio.get());
}

bool signs_for(EVP_PKEY* signer, EVP_PKEY* original)
{
  const unsigned char digest[32] = {1, 2, 3};
  unsigned char signature[1024];
  std::size_t length = sizeof signature;
  const EvpPkeyCtxPtr sign(EVP_PKEY_CTX_new(signer, nullptr));
  const EvpPkeyCtxPtr verify(EVP_PKEY_CTX_new(original, nullptr));
  return sign && verify && EVP_PKEY_sign_init(sign.get()) == 1
         && EVP_PKEY_sign(sign.get(), signature, &length, digest, sizeof digest) == 1
         && EVP_PKEY_verify_init(verify.get()) == 1
         && EVP_PKEY_verify(verify.get(), signature, length, digest, sizeof digest) == 1;
}

TempDir::TempDir()
{
  std::string pattern = (std::filesystem::temp_directory_path() / "ksign-unit.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error(Errc::failure, "cannot make a temporary directory");
  }
  m_path = pattern;
}

TempDir::~TempDir()
{
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

void write_text(const std::filesystem::path& path, std::string_view text)
{
  util::replace_file_atomically(path, as_bytes(text));
}

unsigned mode_of(const std::filesystem::path& path)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat " + path.string());
  }
  return st.st_mode & 07777;
}

Bytes sample_module()
{
  const char* root = std::getenv("KSIGN_SOURCE_ROOT");
  const std::filesystem::path base = root != nullptr ? root : KSIGN_TEST_SOURCE_ROOT;
  return test::read_whole(base / "tests/data/sample/ksign_sample.ko");
}

std::shared_ptr<const core::SigningKey> shared_key(core::SigningKey key)
{
  return std::make_shared<const core::SigningKey>(std::move(key));
}

bool openssl_cms_verifies(ByteView cms_der, ByteView content, const core::SigningKey& key)
{
  const unsigned char* cursor = cms_der.data();
  std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo_free>> cms(
    d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(cms_der.size())));
  if (!cms) {
    return false;
  }
  BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  const X509Ptr certificate = core::parse_certificate(key.certificate);
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, certificate.get());
  const int ok = CMS_verify(cms.get(), certs, nullptr, data.get(), nullptr, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY);
  sk_X509_free(certs);
  ERR_clear_error();
  return ok == 1;
}

std::string captured_stderr(const std::function<void()>& run)
{
  std::fflush(stderr);
  char name[] = "/tmp/ksign-test-stderr.XXXXXX";
  const int file = ::mkstemp(name);
  if (file < 0) {
    throw std::runtime_error("cannot make a file for stderr");
  }
  ::unlink(name);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  const auto restore = [&] {
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
  };
  try {
    run();
  } catch (...) {
    restore();
    ::close(file);
    throw;
  }
  restore();
  std::string text;
  char buffer[4096];
  for (off_t offset = 0;;) {
    const ssize_t got = ::pread(file, buffer, sizeof buffer, offset);
    if (got <= 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
  ::close(file);
  return text;
}

ScopedEnv::ScopedEnv(const char* name, const char* value) : m_name(name)
{
  if (const char* old = std::getenv(name)) {
    m_old = old;
  }
  if (value != nullptr) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
}

ScopedEnv::~ScopedEnv()
{
  if (m_old) {
    ::setenv(m_name.c_str(), m_old->c_str(), 1);
  } else {
    ::unsetenv(m_name.c_str());
  }
}

const Bytes& module_like_data()
{
  static const Bytes data = [] {
    std::mt19937 random(20240611);
    Bytes bytes;
    const std::string words[] = {"module_init", "kmalloc", "__this_module", "GPL", "vermagic=", "depends=",
                                 "spin_lock_irqsave", ".text", ".rodata", "license=", "srcversion="};
    while (bytes.size() < 400 * 1024) {
      switch (random() % 4) {
      case 0: // strings, as in .rodata and .modinfo
        for (int i = 0; i < 200; ++i) {
          const std::string& word = words[random() % std::size(words)];
          append(bytes, as_bytes(word));
          bytes.push_back(0);
        }
        break;
      case 1: // zero padding and alignment
        bytes.insert(bytes.end(), random() % 4096, 0);
        break;
      case 2: // code-like noise
        for (int i = 0; i < 2048; ++i) {
          bytes.push_back(static_cast<std::uint8_t>(random()));
        }
        break;
      default: // a table of similar records
        for (std::uint32_t i = 0; i < 300; ++i) {
          const std::uint32_t record[] = {i, 0xffffffffU, i * 8, 0x10};
          append(bytes, ByteView(reinterpret_cast<const std::uint8_t*>(record), sizeof(record)));
        }
        break;
      }
    }
    return bytes;
  }();
  return data;
}

std::optional<Thrown> thrown_by(const std::function<void()>& action)
{
  try {
    action();
  } catch (const Error& error) {
    return Thrown{error.code(), error.what()};
  }
  return std::nullopt;
}

std::optional<Bytes> filter_through(const std::string& command, ByteView input)
{
  const TempDir directory;
  const std::filesystem::path in = directory.path() / "in";
  const std::filesystem::path out = directory.path() / "out";
  util::replace_file_atomically(in, input);
  if (!run("(" + command + ") <" + shell_quote(in.string()) + " >" + shell_quote(out.string()) + " 2>/dev/null")) {
    return std::nullopt;
  }
  return read_whole(out);
}

} // namespace ksign::test
