// SPDX-License-Identifier: MIT
#include "core/keys.hpp"

#include "core/certificate.hpp"
#include "core/key_decoder.hpp"
#include "core/key_match.hpp"
#include "core/pem.hpp"
#include "core/pkcs11_key.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

struct PassphraseState
{
  const std::optional<std::string>* passphrase;
  bool asked = false;
};

int passphrase_callback(char* buffer, int size, int /*rwflag*/, void* user)
{
  auto* state = static_cast<PassphraseState*>(user);
  state->asked = true;
  if (!state->passphrase->has_value()) {
    return -1;
  }
  const std::string& text = **state->passphrase;
  if (text.size() > static_cast<std::size_t>(size)) {
    return -1;
  }
  std::memcpy(buffer, text.data(), text.size());
  return static_cast<int>(text.size());
}

// The first private key in PEM `data` when it is unencrypted and plain RSA or EC; nullptr
// otherwise (encrypted keys and other formats go through OpenSSL's generic PEM reader).
EvpPkeyPtr read_plain_private_key(ByteView data)
{
  for (const PemBlock& block : read_pem_blocks(data)) {
    if (!is_private_key_label(block.label)) {
      continue;
    }
    if (block.encrypted) {
      return nullptr;
    }
    try {
      return decode_private_key(block.der, block.label);
    } catch (const Error&) {
      return nullptr; // let OpenSSL's reader report what is wrong with it
    }
  }
  return nullptr;
}

// The signing key of `key` and its certificate, when they are one pair.
SigningKey matched_signing_key(EvpPkeyPtr key, const fs::path& key_file, Bytes certificate_der,
                               const fs::path& certificate_file)
{
  SigningKey signing;
  signing.key = std::move(key);
  signing.type = key_type_of(signing.key.get());
  signing.certificate = std::move(certificate_der);
  if (!key_matches_certificate(signing.key.get(), signing.certificate,
                               "the certificate " + util::quote(certificate_file))) {
    throw Error(Errc::failure, "the key " + util::quote(key_file) + " does not match the certificate "
                                + util::quote(certificate_file));
  }
  return signing;
}

} // namespace

EvpPkeyPtr load_private_key(const fs::path& key_file, const std::optional<std::string>& passphrase)
{
  return private_key_in(util::read_file(key_file, util::k_small_file_limit), key_file, passphrase);
}

EvpPkeyPtr private_key_in(ByteView data, const fs::path& key_file, const std::optional<std::string>& passphrase)
{
  EvpPkeyPtr key = read_plain_private_key(data);
  if (key) {
    return key;
  }
  PassphraseState state{&passphrase};
  const BioPtr bio = memory_bio(data);
  key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, &state));
  if (key) {
    return key;
  }
  if (state.asked && !passphrase) {
    ERR_clear_error();
    throw Error(Errc::failure, "the private key " + util::quote(key_file)
                                + " is encrypted: set KBUILD_SIGN_PIN to its passphrase");
  }
  if (state.asked) {
    ERR_clear_error();
    throw Error(Errc::failure, "cannot decrypt the private key " + util::quote(key_file)
                                + ": wrong passphrase in KBUILD_SIGN_PIN");
  }
  throw_openssl("cannot read a PEM private key from " + util::quote(key_file));
}

SigningKey load_signing_key(const fs::path& key_file, const std::optional<fs::path>& cert_file,
                            const std::optional<std::string>& passphrase)
{
  // A pkcs11: URI names a key in a token (core/pkcs11_key.hpp).
  if (is_pkcs11_uri(key_file.native())) {
    return load_pkcs11_signing_key(key_file.native(), cert_file ? std::optional(cert_file->native()) : std::nullopt,
                                   passphrase);
  }
  const fs::path& certificate_file = cert_file ? *cert_file : key_file;
  const Bytes key_data = util::read_file(key_file, util::k_small_file_limit);
  EvpPkeyPtr key = private_key_in(key_data, key_file, passphrase);
  return matched_signing_key(std::move(key), key_file,
                             certificate_der_in(cert_file ? util::read_file(*cert_file, util::k_small_file_limit) : key_data,
                                                certificate_file),
                             certificate_file);
}

SigningKey signing_key_in(ByteView key_data, const fs::path& key_file, Bytes certificate_der,
                          const fs::path& certificate_file, const std::optional<std::string>& passphrase)
{
  return matched_signing_key(private_key_in(key_data, key_file, passphrase), key_file, std::move(certificate_der),
                             certificate_file);
}

} // namespace ksign::core
