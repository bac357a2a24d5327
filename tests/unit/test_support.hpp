// SPDX-License-Identifier: MIT
// Real keys and certificates for unit tests, made with OpenSSL in-process (no files committed).
#pragma once

#include "core/certificate.hpp"
#include "core/keys.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ksign::test {

// A fresh key of `type` (rsa: 2048 bits, ec: P-384 or `curve`) with a self-signed certificate
// that has a subjectKeyIdentifier, CN `common_name`.
[[nodiscard]] core::SigningKey make_key(core::KeyType type, const std::string& common_name,
                                        const char* curve = "secp384r1");

// PEM of the private key / of the certificate.
[[nodiscard]] std::string private_key_pem(const core::SigningKey& key);
[[nodiscard]] std::string certificate_pem(const core::SigningKey& key);
[[nodiscard]] Bytes certificate_der(const core::SigningKey& key);

// Unencrypted PEM of `key`: PKCS#8 "PRIVATE KEY", or with `traditional` the older
// "RSA PRIVATE KEY" / "EC PRIVATE KEY".
[[nodiscard]] std::string key_pem(const EVP_PKEY* key, bool traditional);

// Whether a signature made with `signer` passes with `original`'s public key: the private
// half of `original` got through whatever made `signer`.
[[nodiscard]] bool signs_for(EVP_PKEY* signer, EVP_PKEY* original);

// The key, shared read-only as ModuleSigner takes it.
[[nodiscard]] std::shared_ptr<const core::SigningKey> shared_key(core::SigningKey key);

// OpenSSL's own CMS verifier as a referee: detached `content`, the signer certificate of `key`.
[[nodiscard]] bool openssl_cms_verifies(ByteView cms_der, ByteView content, const core::SigningKey& key);

// A temporary directory removed at the end of the test.
class TempDir
{
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

// Sets the umask for one test and restores it.
class Umask
{
public:
  explicit Umask(mode_t mask) : m_old(::umask(mask)) {}
  ~Umask() { ::umask(m_old); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

private:
  mode_t m_old;
};

void write_text(const std::filesystem::path& path, std::string_view text);

// The permission bits of `path` itself (a link's own, not its target's); fails the test when
// there is no such file.
[[nodiscard]] unsigned mode_of(const std::filesystem::path& path);

// A test's own file, whole: util::read_file without a size limit of note.
[[nodiscard]] inline Bytes read_whole(const std::filesystem::path& path)
{
  return util::read_file(path, std::uint64_t{1} << 40);
}

// The sample kernel module the repository carries (tests/data/sample/ksign_sample.ko).
[[nodiscard]] Bytes sample_module();

// What `run` writes to stderr (where cli::Output puts its messages); stderr is restored even
// when `run` throws, and the exception goes on.
[[nodiscard]] std::string captured_stderr(const std::function<void()>& run);

// Sets (or with nullptr unsets) environment variable `name` for one test and restores it.
class ScopedEnv
{
public:
  ScopedEnv(const char* name, const char* value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  std::string m_name;
  std::optional<std::string> m_old;
};

// About 400 KiB that compress like a module: text, tables, zero padding and noise (the same
// bytes every run).
[[nodiscard]] const Bytes& module_like_data();

// The Error `action` throws, or nullopt when it throws none.
struct Thrown
{
  Errc code;
  std::string message;
};
[[nodiscard]] std::optional<Thrown> thrown_by(const std::function<void()>& action);

// What the shell command `command` writes to stdout with `input` on its stdin, or nullopt when
// it exits non-zero (its stderr is discarded).
[[nodiscard]] std::optional<Bytes> filter_through(const std::string& command, ByteView input);

} // namespace ksign::test
