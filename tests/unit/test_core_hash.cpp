// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/hash.hpp"

using namespace ksign::core;

TEST_CASE("core::parse_hash and core::hash_name", "[hash]")
{
  CHECK(parse_hash("sha512") == HashAlgo::sha512);
  CHECK(parse_hash("SHA3-384") == HashAlgo::sha3_384);
  CHECK(parse_hash("sha3_256") == HashAlgo::sha3_256);
  CHECK_FALSE(parse_hash("md5").has_value());
  for (const HashAlgo hash : k_signing_hashes) {
    CHECK(parse_hash(hash_name(hash)) == hash);
    CHECK(hash_from_oid(hash_oid(hash)) == hash);
    CHECK(fetch_digest(hash) != nullptr);
    CHECK(can_sign_with(hash));
  }
  CHECK_FALSE(can_sign_with(HashAlgo::sha1));
  CHECK_FALSE(can_sign_with(HashAlgo::sha224));
}
