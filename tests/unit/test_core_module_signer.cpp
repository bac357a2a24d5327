// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/cms.hpp"
#include "core/keygen.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "core/modsig.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

using namespace ksign;
using namespace ksign::core;

TEST_CASE("core::ModuleSigner output is accepted by OpenSSL's CMS verifier", "[cms]")
{
  const Bytes content = test::sample_module();
  for (const KeyType type : {KeyType::rsa, KeyType::ec}) {
    const auto key = test::shared_key(test::make_key(type, "referee"));
    for (const HashAlgo hash : {HashAlgo::sha256, HashAlgo::sha384, HashAlgo::sha512}) {
      if (type == KeyType::ec && hash == HashAlgo::sha256) {
        continue; // the kernel's Kconfig pairs ECDSA with SHA-384/512 only; OpenSSL would take it
      }
      SignSettings settings;
      settings.hash = hash;
      const Bytes cms = ModuleSigner(key, settings).signature_for(content);
      INFO("key " << key_type_name(type) << " hash " << hash_name(hash));
      CHECK(test::openssl_cms_verifies(cms, content, *key));
      Bytes tampered = content;
      tampered[tampered.size() / 2] ^= 1;
      CHECK_FALSE(test::openssl_cms_verifies(cms, tampered, *key));
    }
  }
}

TEST_CASE("core::ModuleSigner refuses non-modules and replaces old signatures", "[cms]")
{
  const auto key = test::shared_key(test::make_key(KeyType::rsa, "resign"));
  const auto first = test::shared_key(test::make_key(KeyType::rsa, "first"));
  const ModuleSigner signer(key, {});
  const Bytes module = test::sample_module();

  CHECK_THROWS_WITH(signer.sign_image(Bytes(1000, 'x')), KSIGN_CONTAINS("not an ELF file"));
  Bytes truncated(module.begin(), module.begin() + static_cast<std::ptrdiff_t>(module.size() / 2));
  CHECK_THROWS_WITH(signer.sign_image(truncated), KSIGN_CONTAINS("outside the file"));

  // Re-signing removes the old signature exactly: same bytes as signing the unsigned module.
  const Bytes once = signer.sign_image(module);
  const Bytes resigned = signer.sign_image(ModuleSigner(first, {}).sign_image(module));
  CHECK(resigned == once);
  CHECK(signer.sign_image(once) == once);
}

TEST_CASE("core::ModuleSigner refuses a private key that does not match its own public half", "[cms]")
{
  // What a damaged key file looks like: the public point (which matches the certificate) is
  // intact, the private number is not.
  SigningKey damaged = test::make_key(KeyType::ec, "damaged");
  BIGNUM* raw_private = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(damaged.key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw_private) == 1);
  const std::unique_ptr<BIGNUM, OpensslDeleter<BN_clear_free>> private_number(raw_private);
  REQUIRE(BN_add_word(private_number.get(), 1) == 1);
  unsigned char point[256];
  std::size_t point_length = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(damaged.key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                          &point_length) == 1);
  const std::unique_ptr<OSSL_PARAM_BLD, OpensslDeleter<OSSL_PARAM_BLD_free>> builder(OSSL_PARAM_BLD_new());
  REQUIRE(OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, private_number.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point, point_length) == 1);
  const std::unique_ptr<OSSL_PARAM, OpensslDeleter<OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(builder.get()));
  const EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* rebuilt = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(context.get()) == 1);
  REQUIRE(EVP_PKEY_fromdata(context.get(), &rebuilt, EVP_PKEY_KEYPAIR, params.get()) == 1);
  damaged.key.reset(rebuilt);
  REQUIRE(X509_check_private_key(parse_certificate(damaged.certificate).get(), damaged.key.get()) == 1); // the check it slips past

  const ModuleSigner signer(test::shared_key(std::move(damaged)), {});
  for (int attempt = 0; attempt < 2; ++attempt) { // and again: a failed check is not remembered as passed
    CHECK_THROWS_WITH(signer.signature_for(test::sample_module()), KSIGN_CONTAINS("the key file is damaged"));
  }
  // An intact key passes the same check.
  CHECK_NOTHROW(ModuleSigner(test::shared_key(test::make_key(KeyType::ec, "intact")), {}).signature_for(test::sample_module()));
}
