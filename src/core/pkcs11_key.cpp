// SPDX-License-Identifier: MIT
#include "core/pkcs11_key.hpp"

#include "core/certificate.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <unistd.h>

namespace ksign::core {

namespace {

constexpr std::string_view k_scheme = "pkcs11:";

using StorePtr = std::unique_ptr<OSSL_STORE_CTX, OpensslDeleter<OSSL_STORE_close>>;
using StoreInfoPtr = std::unique_ptr<OSSL_STORE_INFO, OpensslDeleter<OSSL_STORE_INFO_free>>;
using UiMethodPtr = std::unique_ptr<UI_METHOD, OpensslDeleter<UI_destroy_method>>;
using LibCtxPtr = std::unique_ptr<OSSL_LIB_CTX, OpensslDeleter<OSSL_LIB_CTX_free>>;
// A loaded provider holds a reference of its own: freeing the context alone does not free it.
using ProviderPtr = std::unique_ptr<OSSL_PROVIDER, OpensslDeleter<OSSL_PROVIDER_unload>>;

std::vector<std::string_view> split(std::string_view text, char separator)
{
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const std::size_t end = text.find(separator);
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return parts;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix)
{
  return text.size() >= prefix.size()
         && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            });
}

// The attribute's name with %XX escapes decoded, in lower case: "PIN%2dValue=1" is "pin-value".
std::string attribute_name(std::string_view attribute)
{
  std::string name;
  for (std::size_t i = 0; i < attribute.size() && attribute[i] != '='; ++i) {
    char c = attribute[i];
    if (c == '%' && i + 2 < attribute.size() && std::isxdigit(static_cast<unsigned char>(attribute[i + 1])) != 0
        && std::isxdigit(static_cast<unsigned char>(attribute[i + 2])) != 0) {
      c = static_cast<char>(std::stoi(std::string(attribute.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

bool is_pin_attribute(std::string_view attribute)
{
  const std::string name = attribute_name(attribute);
  return name == "pin-value" || name == "pin-source";
}

// The URI's path attributes (before '?', ';'-separated) and query attributes ('&'-separated).
struct UriParts
{
  std::vector<std::string_view> path;
  std::vector<std::string_view> query;
};

UriParts split_uri(std::string_view uri)
{
  uri.remove_prefix(k_scheme.size());
  const std::size_t question = uri.find('?');
  UriParts parts;
  parts.path = split(uri.substr(0, question), ';');
  if (question != std::string_view::npos) {
    parts.query = split(uri.substr(question + 1), '&');
  }
  return parts;
}

std::string join_uri(const UriParts& parts)
{
  std::string uri(k_scheme);
  for (std::size_t i = 0; i < parts.path.size(); ++i) {
    uri += i == 0 ? "" : ";";
    uri += parts.path[i];
  }
  for (std::size_t i = 0; i < parts.query.size(); ++i) {
    uri += i == 0 ? "?" : "&";
    uri += parts.query[i];
  }
  return uri;
}

bool uri_has_pin(std::string_view uri)
{
  const UriParts parts = split_uri(uri);
  return std::any_of(parts.query.begin(), parts.query.end(), is_pin_attribute)
         || std::any_of(parts.path.begin(), parts.path.end(), is_pin_attribute);
}

// `text` (an error OpenSSL or the provider wrote) with every PIN ksign was given blanked out:
// a provider may quote the URI it was handed, pin-value and all.
std::string without_pins(std::string text, std::string_view uri, const std::optional<std::string>& pin)
{
  std::vector<std::string> secrets;
  const UriParts parts = split_uri(uri);
  for (const auto* attributes : {&parts.path, &parts.query}) {
    for (const std::string_view attribute : *attributes) {
      if (is_pin_attribute(attribute) && attribute.find('=') != std::string_view::npos) {
        secrets.emplace_back(attribute.substr(attribute.find('=') + 1));
      }
    }
  }
  if (pin) {
    secrets.push_back(*pin);
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) {
      continue;
    }
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

// The certificate object beside the key `key_uri` names: the same id and label, type=cert.
std::string certificate_uri_for(std::string_view key_uri)
{
  UriParts parts = split_uri(key_uri);
  std::erase_if(parts.path, [](std::string_view attribute) { return attribute.starts_with("type="); });
  parts.path.push_back("type=cert");
  return join_uri(parts);
}

// Where OpenSSL looks for providers: $OPENSSL_MODULES, else the directory it was built with.
std::string provider_directory()
{
  if (const char* directory = std::getenv("OPENSSL_MODULES"); directory != nullptr && directory[0] != '\0') {
    return directory;
  }
  // OpenSSL_version() words it as MODULESDIR: "/usr/lib/x86_64-linux-gnu/ossl-modules".
  const std::string_view text = OpenSSL_version(OPENSSL_MODULES_DIR);
  const std::size_t open = text.find('"');
  const std::size_t close = text.rfind('"');
  return open != std::string_view::npos && close > open ? std::string(text.substr(open + 1, close - open - 1))
                                                        : std::string(text);
}

// The library context that holds the pkcs11 provider, made once and kept for the whole run:
// keys loaded through it point into it, and unloading a PKCS#11 module while the process exits
// races the module's own clean-up. A context of its own, not OpenSSL's default one, because
// software tokens such as SoftHSM2 use OpenSSL themselves through the default context: with
// the pkcs11 provider there, the token's own hashing would be routed back into the token and
// deadlock.
OSSL_LIB_CTX* open_pkcs11_context()
{
  if (const char* module = std::getenv("KSIGN_PKCS11_MODULE"); module != nullptr && module[0] != '\0') {
    // The provider reads its module from here (before pkcs11-module-path in openssl.cnf).
    ::setenv("PKCS11_PROVIDER_MODULE", module, 1);
  }
  LibCtxPtr context(OSSL_LIB_CTX_new());
  if (!context) {
    throw_openssl("out of memory");
  }
  // openssl.cnf may configure the provider (pkcs11-module-path, pkcs11-module-token-pin, ...).
  const std::unique_ptr<char, OpensslFree> config(CONF_get1_default_config_file());
  if (config && ::access(config.get(), R_OK) == 0) {
    (void)OSSL_LIB_CTX_load_config(context.get(), config.get());
  }
  ERR_clear_error();
  ProviderPtr default_provider(OSSL_PROVIDER_try_load(context.get(), "default", 1));
  if (!default_provider) {
    throw_openssl("cannot load OpenSSL's default provider");
  }
  ProviderPtr pkcs11_provider(OSSL_PROVIDER_try_load(context.get(), "pkcs11", 1));
  if (!pkcs11_provider) {
    ERR_clear_error();
    throw Error(Errc::failure, "PKCS#11 keys need OpenSSL's pkcs11 provider, and there is none in "
                                + util::quote(provider_directory())
                                + ": install pkcs11-provider (Debian, Ubuntu, Arch, Fedora)");
  }
  // Both providers stay loaded with the context, for the whole run.
  (void)pkcs11_provider.release();
  (void)default_provider.release();
  return context.release();
}

OSSL_LIB_CTX* pkcs11_context()
{
  static OSSL_LIB_CTX* const context = open_pkcs11_context(); // see open_pkcs11_context
  return context;
}

// Answers the token's PIN prompt with KBUILD_SIGN_PIN, noting that it was asked. It prints
// nothing and never reads the terminal: DKMS and package builds have nobody to answer.
struct PinPrompt
{
  const std::optional<std::string>* pin;
  bool asked = false;
};

int read_pin(UI* ui, UI_STRING* request)
{
  const enum UI_string_types type = UI_get_string_type(request);
  if (type != UIT_PROMPT && type != UIT_VERIFY) {
    return 1;
  }
  auto* prompt = static_cast<PinPrompt*>(UI_get0_user_data(ui));
  prompt->asked = true;
  if (!prompt->pin->has_value()) {
    return 0;
  }
  const std::string& pin = **prompt->pin;
  return UI_set_result_ex(ui, request, pin.data(), static_cast<int>(pin.size())) >= 0 ? 1 : 0;
}

int write_nothing(UI* /*ui*/, UI_STRING* /*request*/)
{
  return 1;
}

UiMethodPtr pin_method()
{
  UiMethodPtr method(UI_create_method("ksign PIN"));
  if (!method || UI_method_set_reader(method.get(), read_pin) != 0
      || UI_method_set_writer(method.get(), write_nothing) != 0) {
    throw_openssl("out of memory");
  }
  return method;
}

// Every object of `kind` that `uri` names, in the token's order.
std::vector<StoreInfoPtr> load_objects(const std::string& uri, int kind, const std::optional<std::string>& pin,
                                       bool& pin_asked)
{
  OSSL_LIB_CTX* context = pkcs11_context();
  const UiMethodPtr ui = pin_method();
  PinPrompt prompt{&pin};
  std::vector<StoreInfoPtr> objects;
  const StorePtr store(OSSL_STORE_open_ex(uri.c_str(), context, nullptr, ui.get(), &prompt, nullptr, nullptr, nullptr));
  if (store) {
    (void)OSSL_STORE_expect(store.get(), kind);
    while (OSSL_STORE_eof(store.get()) == 0) {
      StoreInfoPtr info(OSSL_STORE_load(store.get()));
      if (!info) {
        if (OSSL_STORE_error(store.get()) != 0) {
          break;
        }
        continue;
      }
      if (OSSL_STORE_INFO_get_type(info.get()) == kind) {
        objects.push_back(std::move(info));
      }
    }
  }
  pin_asked = pin_asked || prompt.asked;
  return objects;
}

// True when the token holds the public half of the key `key_uri` names (a public key or a
// certificate object with the same attributes): these need no login.
bool token_has_public_half(std::string_view key_uri)
{
  UriParts parts = split_uri(key_uri);
  std::erase_if(parts.path, [](std::string_view attribute) { return attribute.starts_with("type="); });
  std::erase_if(parts.query, is_pin_attribute);
  bool asked = false;
  for (const auto& [type, kind] : {std::pair{"type=public", OSSL_STORE_INFO_PUBKEY}, std::pair{"type=cert", OSSL_STORE_INFO_CERT}}) {
    UriParts probe = parts;
    probe.path.push_back(type);
    if (!load_objects(join_uri(probe), kind, std::nullopt, asked).empty()) {
      return true;
    }
  }
  return false;
}

// throw_openssl with the PINs blanked out of OpenSSL's errors.
[[noreturn]] void throw_token_error(const std::string& what, std::string_view uri,
                                   const std::optional<std::string>& pin)
{
  const std::string detail = without_pins(drain_openssl_errors(), uri, pin);
  throw Error(Errc::failure, detail.empty() ? what : what + ": " + detail);
}

// The pkcs11 provider keeps a failed login (a wrong PIN) to itself: the store just finds no
// private key. When the key's public half is there, the login is what failed.
[[noreturn]] void throw_not_loaded(const std::string& what, const std::string& uri,
                                   const std::optional<std::string>& pin, bool pin_asked)
{
  const std::string detail = without_pins(drain_openssl_errors(), uri, pin);
  const std::string shown = util::quote(printable_pkcs11_uri(uri));
  const bool uri_pin = uri_has_pin(uri);
  if (what == "private key" && (uri_pin || pin_asked) && token_has_public_half(uri)) {
    ERR_clear_error();
    if (uri_pin || pin) {
      throw Error(Errc::failure, "the token refused the PIN for " + shown
                                  + (uri_pin ? " (the URI's pin-value)" : " (KBUILD_SIGN_PIN)"));
    }
    throw Error(Errc::failure, "the PKCS#11 " + what + " " + shown
                                + " needs the token's PIN: set KBUILD_SIGN_PIN or add ?pin-value=... to the URI");
  }
  ERR_clear_error();
  throw Error(Errc::failure, "no PKCS#11 " + what + " " + shown + " in the tokens of the PKCS#11 module"
                              + (detail.empty() ? "" : " (" + detail + ")"));
}

// The certificate `uri` names that holds `key`'s public half, as DER.
Bytes load_token_certificate(const std::string& uri, EVP_PKEY* key, const std::optional<std::string>& pin)
{
  bool pin_asked = false;
  const std::vector<StoreInfoPtr> certificates = load_objects(uri, OSSL_STORE_INFO_CERT, pin, pin_asked);
  if (certificates.empty()) {
    throw_not_loaded("certificate", uri, pin, pin_asked);
  }
  for (const StoreInfoPtr& info : certificates) {
    X509* certificate = OSSL_STORE_INFO_get0_CERT(info.get());
    if (X509_check_private_key(certificate, key) == 1) {
      unsigned char* der = nullptr;
      const int length = i2d_X509(certificate, &der);
      if (length <= 0) {
        throw_token_error("cannot encode the certificate " + util::quote(printable_pkcs11_uri(uri)), uri, pin);
      }
      const std::unique_ptr<unsigned char, OpensslFree> owned(der);
      return Bytes(der, der + length);
    }
  }
  ERR_clear_error();
  throw Error(Errc::failure, "no certificate " + util::quote(printable_pkcs11_uri(uri))
                              + " holds the public half of the PKCS#11 key");
}

} // namespace

bool is_pkcs11_uri(std::string_view text)
{
  return starts_with_ignoring_case(text, k_scheme);
}

std::string canonical_pkcs11_uri(std::string_view uri)
{
  return std::string(k_scheme) + std::string(uri.substr(std::min(uri.size(), k_scheme.size())));
}

std::string quoted_key_source(const std::string& key)
{
  return util::quote(is_pkcs11_uri(key) ? printable_pkcs11_uri(key) : key);
}

std::string printable_pkcs11_uri(std::string_view uri)
{
  UriParts parts = split_uri(uri);
  std::erase_if(parts.query, is_pin_attribute);
  std::erase_if(parts.path, is_pin_attribute);
  std::string printable;
  for (const char c : join_uri(parts)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      constexpr char k_hex[] = "0123456789ABCDEF";
      printable += '%';
      printable += k_hex[byte >> 4];
      printable += k_hex[byte & 0xf];
    } else {
      printable += c;
    }
  }
  return printable;
}

SigningKey load_pkcs11_signing_key(const std::string& given_key_uri,
                                   const std::optional<std::string>& given_certificate,
                                   const std::optional<std::string>& pin)
{
  const std::string key_uri = canonical_pkcs11_uri(given_key_uri);
  const std::optional<std::string> certificate =
    given_certificate && is_pkcs11_uri(*given_certificate) ? std::optional(canonical_pkcs11_uri(*given_certificate))
                                                           : given_certificate;
  bool pin_asked = false;
  std::vector<StoreInfoPtr> keys = load_objects(key_uri, OSSL_STORE_INFO_PKEY, pin, pin_asked);
  if (keys.empty()) {
    throw_not_loaded("private key", key_uri, pin, pin_asked);
  }
  ERR_clear_error();
  SigningKey signing;
  signing.key.reset(OSSL_STORE_INFO_get1_PKEY(keys.front().get()));
  if (!signing.key) {
    throw_token_error("cannot take the PKCS#11 key " + util::quote(printable_pkcs11_uri(key_uri)), key_uri, pin);
  }
  signing.type = key_type_of(signing.key.get());

  if (!certificate || is_pkcs11_uri(*certificate)) {
    signing.certificate =
      load_token_certificate(certificate ? *certificate : certificate_uri_for(key_uri), signing.key.get(), pin);
    return signing;
  }
  signing.certificate = load_certificate_der(*certificate);
  const X509Ptr parsed = parse_certificate(signing.certificate, "the certificate " + util::quote(*certificate));
  if (X509_check_private_key(parsed.get(), signing.key.get()) != 1) {
    ERR_clear_error();
    throw Error(Errc::failure, "the PKCS#11 key " + util::quote(printable_pkcs11_uri(key_uri))
                                + " does not match the certificate " + util::quote(*certificate));
  }
  return signing;
}

} // namespace ksign::core
