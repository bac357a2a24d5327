// SPDX-License-Identifier: MIT
#include "core/key_types.hpp"

#include "util/strings.hpp"

namespace ksign::core {

namespace {

struct KeyTypeName
{
  KeyType type;
  std::string_view name;
  const char* openssl_name;
  std::uint8_t ml_dsa_arc;             // ML-DSA: the last arc of its OID (k_oid_nist_sig_prefix)
  std::string_view ml_dsa_kernel_name; // ML-DSA: the kernel's name for the algorithm
};

constexpr KeyTypeName k_key_types[] = {
  {KeyType::rsa, "rsa", "RSA", 0, {}},
  {KeyType::ec, "ec", "EC", 0, {}},
  {KeyType::ml_dsa_44, "ml-dsa-44", "ML-DSA-44", 17, "mldsa44"},
  {KeyType::ml_dsa_65, "ml-dsa-65", "ML-DSA-65", 18, "mldsa65"},
  {KeyType::ml_dsa_87, "ml-dsa-87", "ML-DSA-87", 19, "mldsa87"},
};

const KeyTypeName* entry_for(KeyType type)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.type == type) {
      return &entry;
    }
  }
  return nullptr;
}

} // namespace

std::string_view key_type_name(KeyType type)
{
  const KeyTypeName* entry = entry_for(type);
  return entry != nullptr ? entry->name : "other";
}

std::optional<KeyType> parse_key_type(std::string_view name)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.name == util::trim(name)) {
      return entry.type;
    }
  }
  return std::nullopt;
}

bool is_ml_dsa(KeyType type)
{
  const KeyTypeName* entry = entry_for(type);
  return entry != nullptr && entry->ml_dsa_arc != 0;
}

std::uint8_t ml_dsa_oid_arc(KeyType type)
{
  const KeyTypeName* entry = entry_for(type);
  return entry != nullptr ? entry->ml_dsa_arc : 0;
}

std::optional<KeyType> ml_dsa_of_oid_arc(std::uint8_t arc)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (entry.ml_dsa_arc != 0 && entry.ml_dsa_arc == arc) {
      return entry.type;
    }
  }
  return std::nullopt;
}

std::string_view ml_dsa_kernel_name(KeyType type)
{
  const KeyTypeName* entry = entry_for(type);
  return entry != nullptr ? entry->ml_dsa_kernel_name : std::string_view();
}

const char* openssl_key_name(KeyType type)
{
  const KeyTypeName* entry = entry_for(type);
  return entry != nullptr ? entry->openssl_name : nullptr;
}

KeyType key_type_of(const EVP_PKEY* key)
{
  for (const KeyTypeName& entry : k_key_types) {
    if (EVP_PKEY_is_a(key, entry.openssl_name) == 1) {
      return entry.type;
    }
  }
  return KeyType::other;
}

bool kernel_takes_rsa_bits(int bits)
{
  constexpr int limb = 64;
  switch ((bits + limb - 1) / limb * limb) {
  case 512:
  case 1024:
  case 1536:
  case 2048:
  case 3072:
  case 4096:
    return true;
  default:
    return false;
  }
}

std::optional<int> short_rsa_key_bits(const EVP_PKEY* key)
{
  if (key_type_of(key) != KeyType::rsa) {
    return std::nullopt;
  }
  const int bits = EVP_PKEY_get_bits(key);
  return bits < k_min_rsa_bits ? std::optional<int>(bits) : std::nullopt;
}

} // namespace ksign::core
