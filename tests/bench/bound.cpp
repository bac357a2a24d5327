// SPDX-License-Identifier: MIT
// The machine bound for signing and verifying a module corpus: the least work any signer must
// do, on one thread. Reads and hashes every file with SHA-512 once, then makes one signature
// per file over its digest and checks one signature per file, with the key the benchmark uses.
// Only libcrypto, and no ksign code, so it measures the machine and not ksign.
//
// usage: ksign-bench-bound KEY.pem CERT.pem LIST
//   LIST names one file per line. Prints, on one line:
//   files=N bytes=B hash_seconds=H sign_seconds=S verify_seconds=V
// The times are CPU seconds of this (single-threaded) process, so that other load on a shared
// machine does not inflate the bound; the files should be in the page cache.
//
// usage: ksign-bench-bound --one KEY.pem CERT.pem MODULE
//   A minimal OpenSSL signer, to put single-module times in proportion: what a process that
//   signs one module with OpenSSL's standard calls cannot avoid. Reads the PEM key and certificate, reads MODULE, hashes it with
//   SHA-512, makes one signature over the digest and exits; writes nothing. The caller times
//   the whole process (exec, dynamic linking and libcrypto start-up included).

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

template<auto Free> struct Deleter
{
  template<typename T> void operator()(T* p) const noexcept { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;

using Digest = std::array<unsigned char, 64>;

[[noreturn]] void die(const std::string& message)
{
  std::fprintf(stderr, "ksign-bench-bound: %s\n", message.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

class Fd
{
public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  [[nodiscard]] int get() const { return m_fd; }

private:
  int m_fd;
};

// Read all of `path` into `buffer` (reused across files, as a signer would), return its size.
std::size_t read_whole(const std::string& path, std::vector<unsigned char>& buffer)
{
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info{};
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0) {
    die("cannot open '" + path + "'");
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (buffer.size() < size) {
    buffer.resize(size);
  }
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd.get(), buffer.data() + done, size - done);
    if (got <= 0) {
      die("cannot read '" + path + "'");
    }
    done += static_cast<std::size_t>(got);
  }
  return size;
}

double cpu_seconds()
{
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

PkeyPtr read_key(const char* path)
{
  const BioPtr bio(BIO_new_file(path, "r"));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    die(std::string("cannot read the private key '") + path + "'");
  }
  return key;
}

X509Ptr read_cert(const char* path)
{
  const BioPtr bio(BIO_new_file(path, "r"));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    die(std::string("cannot read the certificate '") + path + "'");
  }
  return cert;
}

// SHA-512 of the first `size` bytes of `buffer`, with `md` reused across calls.
void sha512(EVP_MD_CTX* md, const std::vector<unsigned char>& buffer, std::size_t size, Digest& digest)
{
  unsigned int length = 0;
  if (md == nullptr || EVP_DigestInit_ex(md, EVP_sha512(), nullptr) != 1 ||
      EVP_DigestUpdate(md, buffer.data(), size) != 1 || EVP_DigestFinal_ex(md, digest.data(), &length) != 1) {
    die("sha512 failed");
  }
}

// One signature over `digest` (what CMS without signed attributes signs) into `signature`.
void sign_digest(EVP_PKEY* key, const Digest& digest, std::vector<unsigned char>& signature)
{
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha512()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &length, digest.data(), digest.size()) != 1) {
    die("signing failed");
  }
  signature.resize(length);
  if (EVP_PKEY_sign(ctx.get(), signature.data(), &length, digest.data(), digest.size()) != 1) {
    die("signing failed");
  }
  signature.resize(length);
}

// --one KEY CERT MODULE: the minimal signer. Its output is its exit status.
int one_module(const char* key_path, const char* cert_path, const char* module_path)
{
  const PkeyPtr key = read_key(key_path);
  const X509Ptr cert = read_cert(cert_path);
  std::vector<unsigned char> buffer;
  const std::size_t size = read_whole(module_path, buffer);
  const MdCtxPtr md(EVP_MD_CTX_new());
  Digest digest{};
  sha512(md.get(), buffer, size, digest);
  std::vector<unsigned char> signature;
  sign_digest(key.get(), digest, signature);
  return signature.empty() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc == 5 && std::string_view(argv[1]) == "--one") {
    return one_module(argv[2], argv[3], argv[4]);
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: ksign-bench-bound KEY.pem CERT.pem LIST\n"
                         "       ksign-bench-bound --one KEY.pem CERT.pem MODULE\n");
    return 2;
  }
  const PkeyPtr key = read_key(argv[1]);
  const X509Ptr cert = read_cert(argv[2]);
  std::vector<std::string> files;
  {
    std::ifstream list(argv[3]);
    for (std::string line; std::getline(list, line);) {
      if (!line.empty()) {
        files.push_back(line);
      }
    }
  }
  if (files.empty()) {
    die(std::string("no files listed in '") + argv[3] + "'");
  }

  // Read + hash every byte.
  std::vector<Digest> digests(files.size());
  std::vector<unsigned char> buffer;
  std::size_t total_bytes = 0;
  const MdCtxPtr md(EVP_MD_CTX_new());
  const double hash_start = cpu_seconds();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::size_t size = read_whole(files[i], buffer);
    total_bytes += size;
    sha512(md.get(), buffer, size, digests[i]);
  }
  const double hash_seconds = cpu_seconds() - hash_start;

  // One signature per module over its digest (what CMS without signed attributes signs).
  std::vector<std::vector<unsigned char>> signatures(files.size());
  const double sign_start = cpu_seconds();
  for (std::size_t i = 0; i < files.size(); ++i) {
    sign_digest(key.get(), digests[i], signatures[i]);
  }
  const double sign_seconds = cpu_seconds() - sign_start;

  // And one check per module with the certificate's public key.
  EVP_PKEY* public_key = X509_get0_pubkey(cert.get());
  const double verify_start = cpu_seconds();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const PkeyCtxPtr ctx(EVP_PKEY_CTX_new(public_key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha512()) != 1 ||
        EVP_PKEY_verify(ctx.get(), signatures[i].data(), signatures[i].size(), digests[i].data(),
                        digests[i].size()) != 1) {
      die("a signature did not verify: the key and certificate do not match");
    }
  }
  const double verify_seconds = cpu_seconds() - verify_start;

  std::printf("files=%zu bytes=%zu hash_seconds=%.6f sign_seconds=%.6f verify_seconds=%.6f\n", files.size(),
              total_bytes, hash_seconds, sign_seconds, verify_seconds);
  return 0;
}
