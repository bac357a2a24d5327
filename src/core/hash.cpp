// SPDX-License-Identifier: MIT
#include "core/hash.hpp"

#include "util/error.hpp"
#include "util/openssl.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <string>

namespace ksign::core {

namespace {

struct HashInfo
{
  HashAlgo algo;
  std::string_view name;
  std::array<std::uint8_t, 9> oid; // content octets of the OID
  std::size_t oid_size;
};

// OIDs: NIST hash arc 2.16.840.1.101.3.4.2.x, sha1 1.3.14.3.2.26.
constexpr HashInfo k_hashes[] = {
  {HashAlgo::sha1, "sha1", {0x2b, 0x0e, 0x03, 0x02, 0x1a}, 5},
  {HashAlgo::sha224, "sha224", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04}, 9},
  {HashAlgo::sha256, "sha256", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, 9},
  {HashAlgo::sha384, "sha384", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, 9},
  {HashAlgo::sha512, "sha512", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, 9},
  {HashAlgo::sha3_256, "sha3-256", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08}, 9},
  {HashAlgo::sha3_384, "sha3-384", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09}, 9},
  {HashAlgo::sha3_512, "sha3-512", {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0a}, 9},
};

const HashInfo& info(HashAlgo hash)
{
  for (const HashInfo& entry : k_hashes) {
    if (entry.algo == hash) {
      return entry;
    }
  }
  throw Error(Errc::failure, "unknown hash algorithm");
}

} // namespace

std::string_view hash_name(HashAlgo hash)
{
  return info(hash).name;
}

std::optional<HashAlgo> parse_hash(std::string_view name)
{
  std::string normal;
  for (const char c : name) {
    normal += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const HashInfo& entry : k_hashes) {
    if (entry.name == normal) {
      return entry.algo;
    }
  }
  return std::nullopt;
}

bool can_sign_with(HashAlgo hash)
{
  return std::ranges::find(k_signing_hashes, hash) != std::end(k_signing_hashes);
}

ByteView hash_oid(HashAlgo hash)
{
  const HashInfo& entry = info(hash);
  return {entry.oid.data(), entry.oid_size};
}

std::optional<HashAlgo> hash_from_oid(ByteView oid)
{
  for (const HashInfo& entry : k_hashes) {
    if (std::ranges::equal(ByteView(entry.oid.data(), entry.oid_size), oid)) {
      return entry.algo;
    }
  }
  return std::nullopt;
}

const EVP_MD* fetch_digest(HashAlgo hash)
{
  // Explicit fetches are much cheaper per use than EVP_get_digestbyname's implicit ones; each
  // algorithm is fetched once per process, when first needed, and shared by all threads.
  static std::array<std::once_flag, std::size(k_hashes)> once;
  static std::array<EVP_MD*, std::size(k_hashes)> digests{};
  for (std::size_t i = 0; i < std::size(k_hashes); ++i) {
    if (k_hashes[i].algo != hash) {
      continue;
    }
    std::call_once(once[i], [i] {
      digests[i] = EVP_MD_fetch(nullptr, std::string(k_hashes[i].name).c_str(), nullptr);
      (void)drain_openssl_errors();
    });
    if (digests[i] == nullptr) {
      throw Error(Errc::failure, "OpenSSL does not provide " + std::string(k_hashes[i].name));
    }
    return digests[i];
  }
  throw Error(Errc::failure, "unknown hash algorithm");
}

Bytes digest_of(HashAlgo hash, ByteView data)
{
  Bytes digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, fetch_digest(hash), nullptr) != 1) {
    throw_openssl("cannot compute a " + std::string(hash_name(hash)) + " digest");
  }
  digest.resize(length);
  return digest;
}

} // namespace ksign::core
