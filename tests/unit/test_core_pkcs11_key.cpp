// SPDX-License-Identifier: MIT
// PKCS#11 keys (core/pkcs11_key): the URI rules without a token, then keys loaded from a real
// SoftHSM2 token through OpenSSL's pkcs11 provider, as tests/module/test_pkcs11.sh sets one up
// (skipped, with the reason, where softhsm2, opensc's pkcs11-tool or pkcs11-provider is missing).
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/pkcs11_key.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace ksign;
using namespace ksign::core;

namespace {

// The message of the Error `action` throws (its code must be failure), or "no error".
std::string failure_of(const std::function<void()>& action)
{
  try {
    action();
  } catch (const Error& error) {
    CHECK(error.code() == Errc::failure);
    return error.what();
  }
  return "no error";
}

// Where OpenSSL looks for providers, as its version text says (MODULESDIR: "...").
std::filesystem::path openssl_modules_directory()
{
  if (const char* directory = std::getenv("OPENSSL_MODULES"); directory != nullptr && directory[0] != '\0') {
    return directory;
  }
  const std::string text = OpenSSL_version(OPENSSL_MODULES_DIR);
  const std::size_t open = text.find('"');
  const std::size_t close = text.rfind('"');
  return open != std::string::npos && close > open ? text.substr(open + 1, close - open - 1) : text;
}

std::optional<std::filesystem::path> softhsm_module()
{
  std::vector<std::filesystem::path> candidates = {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/libsofthsm2.so"};
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", ignored)) {
    candidates.push_back(entry.path() / "softhsm" / "libsofthsm2.so");
  }
  for (const std::filesystem::path& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, ignored)) {
      return candidate;
    }
  }
  return std::nullopt;
}

// Why a SoftHSM2 token cannot be used here, or nullopt when it can.
std::optional<std::string> token_unavailable(const std::optional<std::filesystem::path>& softhsm)
{
  if (!test::run("command -v softhsm2-util >/dev/null 2>&1")) {
    return "softhsm2 is not installed (softhsm2-util)";
  }
  if (!softhsm) {
    return "libsofthsm2.so not found (softhsm2)";
  }
  if (!test::run("command -v pkcs11-tool >/dev/null 2>&1")) {
    return "pkcs11-tool is not installed (opensc)";
  }
  if (!std::filesystem::exists(openssl_modules_directory() / "pkcs11.so")) {
    return "OpenSSL's pkcs11 provider is not in " + openssl_modules_directory().string()
           + " (pkcs11-provider; Debian 12 has none)";
  }
  return std::nullopt;
}

constexpr const char* k_rsa_key = "pkcs11:token=ksign;object=rsa;type=private";
constexpr const char* k_ec_key = "pkcs11:token=ksign;object=ec;type=private";

} // namespace

TEST_CASE("core::is_pkcs11_uri and core::canonical_pkcs11_uri: the scheme in any letter case", "[pkcs11_key]")
{
  CHECK(is_pkcs11_uri("pkcs11:token=a;object=b"));
  CHECK(is_pkcs11_uri("PKCS11:token=a"));
  CHECK(is_pkcs11_uri("Pkcs11:"));
  CHECK_FALSE(is_pkcs11_uri("pkcs11"));
  CHECK_FALSE(is_pkcs11_uri("pkcs1:token=a"));
  CHECK_FALSE(is_pkcs11_uri("./pkcs11:token=a")); // a file
  CHECK_FALSE(is_pkcs11_uri(" pkcs11:token=a"));
  CHECK_FALSE(is_pkcs11_uri(""));

  // Only the scheme changes: attribute values keep their case.
  CHECK(canonical_pkcs11_uri("PKCS11:token=Ksign;object=RSA") == "pkcs11:token=Ksign;object=RSA");
  CHECK(canonical_pkcs11_uri("Pkcs11:") == "pkcs11:");
  CHECK(canonical_pkcs11_uri("pkcs11:object=a?pin-value=1") == "pkcs11:object=a?pin-value=1");
}

TEST_CASE("core::printable_pkcs11_uri and core::quoted_key_source never show a PIN", "[pkcs11_key]")
{
  CHECK(printable_pkcs11_uri("pkcs11:token=t;object=k;type=private") == "pkcs11:token=t;object=k;type=private");
  // In the query, among other query attributes, in any letter case, with its name %-escaped.
  CHECK(printable_pkcs11_uri("pkcs11:token=t;object=k?pin-value=1234") == "pkcs11:token=t;object=k");
  CHECK(printable_pkcs11_uri("pkcs11:object=k?module-name=softhsm2&PIN-VALUE=1234&x=y")
        == "pkcs11:object=k?module-name=softhsm2&x=y");
  CHECK(printable_pkcs11_uri("pkcs11:object=k?pin%2dvalue=1234") == "pkcs11:object=k");
  CHECK(printable_pkcs11_uri("pkcs11:object=k?PIN%2DValue=1234") == "pkcs11:object=k");
  CHECK(printable_pkcs11_uri("pkcs11:object=k?pin-source=file:/etc/pin") == "pkcs11:object=k");
  // In the path too (where RFC 7512 does not put it, but a user may).
  CHECK(printable_pkcs11_uri("pkcs11:token=t;pin-value=1234;object=k") == "pkcs11:token=t;object=k");
  // A name that only starts like one is kept.
  CHECK(printable_pkcs11_uri("pkcs11:object=k?pin-values=1") == "pkcs11:object=k?pin-values=1");
  // Control characters are escaped for a terminal.
  CHECK(printable_pkcs11_uri("pkcs11:object=a\nb\x1b[0m") == "pkcs11:object=a%0Ab%1B[0m");

  CHECK(quoted_key_source("pkcs11:object=k?pin-value=1234") == "'pkcs11:object=k'");
  CHECK(quoted_key_source("PKCS11:object=k?pin-value=1234") == "'pkcs11:object=k'");
  CHECK(quoted_key_source("/keys/signing_key.pem") == "'/keys/signing_key.pem'");
  // A file whose name merely holds "pin-value=" is a file, shown whole.
  CHECK(quoted_key_source("./key?pin-value=1") == "'./key?pin-value=1'");
}

// Catch2 runs test cases in the order they are declared: this one comes before the token's,
// since the library context with the provider, once made, is kept for the whole run.
TEST_CASE("core::load_pkcs11_signing_key without OpenSSL's pkcs11 provider says what to install", "[pkcs11_key]")
{
  const test::TempDir empty;
  const test::ScopedEnv modules("OPENSSL_MODULES", empty.path().c_str());
  const std::string message = failure_of([] {
    (void)load_pkcs11_signing_key("pkcs11:token=ksign;object=rsa?pin-value=ur1-pin-x", std::nullopt, std::string("env-pin-y"));
  });
  CHECK_THAT(message, KSIGN_CONTAINS("PKCS#11 keys need OpenSSL's pkcs11 provider, and there is none in '"
                                     + empty.path().string() + "'"));
  CHECK_THAT(message, KSIGN_CONTAINS("install pkcs11-provider"));
  CHECK_THAT(message, !KSIGN_CONTAINS("ur1-pin-x") && !KSIGN_CONTAINS("env-pin-y"));
}

TEST_CASE("core::load_pkcs11_signing_key from a SoftHSM2 token", "[pkcs11_key][token]")
{
  const std::optional<std::filesystem::path> softhsm = softhsm_module();
  if (const auto why = token_unavailable(softhsm)) {
    KSIGN_SKIP(*why);
  }
  // A token of our own with two imported keys and their certificates, one object id each.
  const test::TempDir directory;
  const std::filesystem::path& dir = directory.path();
  std::filesystem::create_directory(dir / "tokens");
  test::write_text(dir / "softhsm2.conf", "directories.tokendir = " + (dir / "tokens").string()
                                            + "\nobjectstore.backend = file\nlog.level = ERROR\n");
  const test::ScopedEnv conf("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str());
  const test::ScopedEnv module("KSIGN_PKCS11_MODULE", softhsm->c_str());
  const test::ScopedEnv no_config("OPENSSL_CONF", nullptr);
  REQUIRE(test::run("softhsm2-util --init-token --free --label ksign --pin s3cret-pin --so-pin 123456 >/dev/null"));
  const SigningKey rsa = test::make_key(KeyType::rsa, "ksign token rsa");
  const SigningKey ec = test::make_key(KeyType::ec, "ksign token ec");
  for (const auto& [name, key, id] : {std::tuple{"rsa", &rsa, "01"}, std::tuple{"ec", &ec, "02"}}) {
    const std::filesystem::path pem = dir / (std::string(name) + ".pem");
    const std::filesystem::path der = dir / (std::string(name) + ".der");
    test::write_text(pem, test::private_key_pem(*key));
    util::replace_file_atomically(der, key->certificate);
    INFO(name);
    REQUIRE(test::run("softhsm2-util --import " + test::shell_quote(pem.string()) + " --token ksign --label " + name
                      + " --id " + id + " --pin s3cret-pin >/dev/null"));
    REQUIRE(test::run("pkcs11-tool --module " + test::shell_quote(softhsm->string())
                      + " --token-label ksign --login --pin s3cret-pin --write-object " + test::shell_quote(der.string())
                      + " --type cert --label " + name + " --id " + id + " >/dev/null 2>&1"));
  }
  const std::string rsa_der = (dir / "rsa.der").string();
  const std::string ec_der = (dir / "ec.der").string();
  const std::optional<std::string> no_pin;

  // Refusals first: once logged in, the provider's session stays logged in for the run.
  const auto refusal = [](const std::string& uri, const std::optional<std::string>& certificate,
                          const std::optional<std::string>& pin) {
    const std::string message = failure_of([&] { (void)load_pkcs11_signing_key(uri, certificate, pin); });
    CHECK_THAT(message, !KSIGN_CONTAINS("wr0ng-pin") && !KSIGN_CONTAINS("s3cret-pin"));
    return message;
  };
  CHECK_THAT(refusal(k_rsa_key, std::nullopt, no_pin),
             KSIGN_CONTAINS("the PKCS#11 private key '" + std::string(k_rsa_key) + "' needs the token's PIN"));
  CHECK(refusal(k_rsa_key, std::nullopt, std::string("wr0ng-pin"))
        == "the token refused the PIN for '" + std::string(k_rsa_key) + "' (KBUILD_SIGN_PIN)");
  CHECK(refusal("Pkcs11:token=ksign;object=rsa;type=private?pin-value=wr0ng-pin", std::nullopt, no_pin)
        == "the token refused the PIN for '" + std::string(k_rsa_key) + "' (the URI's pin-value)");
  CHECK_THAT(refusal("pkcs11:token=ksign;object=nosuch", std::nullopt, std::string("s3cret-pin")),
             KSIGN_CONTAINS("no PKCS#11 private key 'pkcs11:token=ksign;object=nosuch' in the tokens"));
  CHECK_THAT(refusal("pkcs11:token=nosuch;object=rsa?pin-value=s3cret-pin", std::nullopt, no_pin),
             KSIGN_CONTAINS("no PKCS#11 private key 'pkcs11:token=nosuch;object=rsa' in the tokens"));
  CHECK_THAT(refusal(k_rsa_key, ec_der, std::string("s3cret-pin")),
             KSIGN_CONTAINS("does not match the certificate '" + ec_der + "'"));
  CHECK_THAT(refusal(k_rsa_key, std::string(k_ec_key).replace(std::string(k_ec_key).find("private"), 7, "cert"),
                     std::string("s3cret-pin")),
             KSIGN_CONTAINS("holds the public half of the PKCS#11 key"));

  // The PIN from KBUILD_SIGN_PIN, the certificate from the token beside the key.
  const SigningKey from_token = load_pkcs11_signing_key(k_rsa_key, std::nullopt, std::string("s3cret-pin"));
  CHECK(from_token.type == KeyType::rsa);
  CHECK(from_token.certificate == rsa.certificate);
  CHECK(test::signs_for(from_token.key.get(), rsa.key.get()));
  // The PIN in the URI, the scheme in capitals, the certificate from a file.
  const SigningKey by_uri =
    load_pkcs11_signing_key("PKCS11:token=ksign;object=rsa;type=private?pin-value=s3cret-pin", rsa_der, no_pin);
  CHECK(by_uri.certificate == rsa.certificate);
  CHECK(test::signs_for(by_uri.key.get(), rsa.key.get()));
  // The certificate named by its own URI; an EC key.
  const SigningKey cert_uri =
    load_pkcs11_signing_key(k_rsa_key, std::string("PKCS11:token=ksign;object=rsa;type=cert"), std::string("s3cret-pin"));
  CHECK(cert_uri.certificate == rsa.certificate);
  const SigningKey ec_key = load_pkcs11_signing_key(k_ec_key, std::nullopt, std::string("s3cret-pin"));
  CHECK(ec_key.type == KeyType::ec);
  CHECK(ec_key.certificate == ec.certificate);
  CHECK(test::signs_for(ec_key.key.get(), ec.key.get()));
  CHECK_FALSE(test::signs_for(ec_key.key.get(), rsa.key.get()));
}
