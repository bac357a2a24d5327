// SPDX-License-Identifier: MIT
#include "core/module_signer.hpp"

#include "core/elf.hpp"
#include "core/modsig.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

namespace ksign::core {

namespace {

// The module image inside `file`, checked: returns the length without old signatures.
std::size_t checked_unsigned_length(ByteView image)
{
  const std::size_t length = unsigned_length(image);
  if (const auto problem = kernel_module_problem(image.first(length))) {
    throw Error(Errc::format, *problem);
  }
  return length;
}

} // namespace

ModuleSigner::ModuleSigner(std::shared_ptr<const SigningKey> key, SignSettings settings)
  : m_key(std::move(key)), m_settings(settings), m_identity(signer_identity(ByteView(m_key->certificate))),
    m_signature_algorithm(signature_algorithm_identifier(m_key->type, settings.hash)),
    m_digest(fetch_digest(settings.hash))
{
  if (!can_sign_with(settings.hash)) {
    throw Error(Errc::failure, "the kernel no longer accepts new " + std::string(hash_name(settings.hash))
                               + " signatures; use sha256, sha384, sha512 or sha3-*");
  }
  if (is_ml_dsa(m_key->type) && settings.hash != HashAlgo::sha512) {
    throw Error(Errc::failure, "ML-DSA module signatures use sha512");
  }
  if (settings.signer_id == SignerIdKind::subject_key_id && m_identity.subject_key_id.empty()) {
    throw Error(Errc::failure, k_no_subject_key_id);
  }
}

Bytes ModuleSigner::signature_for(ByteView content) const
{
  EVP_PKEY* key = m_key->key.get();
  Bytes signature;
  if (is_ml_dsa(m_key->type)) {
    // ML-DSA signs the module itself (no pre-hash), as the kernel expects without signed attributes.
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    std::size_t length = 0;
    if (!context || EVP_DigestSignInit_ex(context.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) != 1
        || EVP_DigestSign(context.get(), nullptr, &length, content.data(), content.size()) != 1) {
      throw_openssl("cannot sign with the ML-DSA key");
    }
    signature.resize(length);
    if (EVP_DigestSign(context.get(), signature.data(), &length, content.data(), content.size()) != 1) {
      throw_openssl("cannot sign with the ML-DSA key");
    }
    signature.resize(length);
  } else {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(content.data(), content.size(), digest, &digest_length, m_digest, nullptr) != 1) {
      throw_openssl("cannot hash the module");
    }
    // Sign the digest: PKCS#1 v1.5 with DigestInfo for RSA, plain ECDSA for EC. No CMS layer.
    const auto start = [&](bool signing) {
      EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
      if (!context || (signing ? EVP_PKEY_sign_init(context.get()) : EVP_PKEY_verify_init(context.get())) != 1) {
        throw_openssl("cannot start signing");
      }
      if (m_key->type == KeyType::rsa
          && (EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) != 1
              || EVP_PKEY_CTX_set_signature_md(context.get(), m_digest) != 1)) {
        throw_openssl("cannot set up an RSA PKCS#1 signature with " + std::string(hash_name(m_settings.hash)));
      }
      return context;
    };
    const EvpPkeyCtxPtr context = start(true);
    std::size_t length = 0;
    if (EVP_PKEY_sign(context.get(), nullptr, &length, digest, digest_length) != 1) {
      throw_openssl("cannot sign");
    }
    signature.resize(length);
    if (EVP_PKEY_sign(context.get(), signature.data(), &length, digest, digest_length) != 1) {
      throw_openssl("cannot sign");
    }
    signature.resize(length);
    // A damaged private key file can hold an intact public key (which matched the certificate)
    // beside a wrong private number: every signature would then be refused at boot. One check
    // per run catches that before any module is replaced (~0.7 ms for P-384, less for RSA).
    if (!m_key_checked) {
      const std::lock_guard lock(m_key_check_mutex);
      if (!m_key_checked) {
        const EvpPkeyCtxPtr check = start(false);
        if (EVP_PKEY_verify(check.get(), signature.data(), signature.size(), digest, digest_length) != 1) {
          ERR_clear_error();
          throw Error(Errc::failure, "the private key makes signatures that its certificate does not accept: "
                                    "the key file is damaged");
        }
        m_key_checked = true;
      }
    }
  }
  return encode_signed_data(m_identity, m_settings.signer_id, m_settings.hash, m_signature_algorithm, signature);
}

namespace {

// A module file opened for signing: decompressed, old signatures dropped, checked.
struct UnsignedModule
{
  Compression compression = Compression::none;
  Bytes image;             // the decompressed file (signatures included)
  std::size_t length = 0;  // bytes of `image` without signatures
  [[nodiscard]] ByteView content() const { return ByteView(image).first(length); }
  [[nodiscard]] bool was_signed() const { return length != image.size(); }
};

UnsignedModule open_module(Bytes file, std::uint64_t max_size)
{
  UnsignedModule module;
  module.compression = detect_compression(file);
  module.image = module.compression == Compression::none ? std::move(file)
                                                         : decompress(module.compression, file, max_size);
  module.length = checked_unsigned_length(module.image);
  return module;
}

// The one signing pipeline: `module` with the signature `make_cms` gives for its content
// appended, recompressed as it came, handed to `write` as the pieces of the new file.
template<typename MakeCms, typename Write>
SignOutcome sign_module(Bytes file, const SignSettings& settings, MakeCms&& make_cms, Write&& write)
{
  UnsignedModule module = open_module(std::move(file), settings.max_module_size);
  SignOutcome outcome;
  outcome.compression = module.compression;
  outcome.was_signed = module.was_signed();
  outcome.cms = make_cms(module.content());
  const SignedImage signed_image = append_signature(module.content(), outcome.cms);
  if (module.compression == Compression::none) {
    write(signed_image.parts());
  } else {
    // The decompressed image is ours: the signature goes onto its end instead of into a
    // joined copy, which would hold the whole module twice.
    Bytes image = std::move(module.image);
    image.resize(module.length);
    append(image, outcome.cms);
    append(image, signed_image.trailer);
    const Bytes compressed = compress(module.compression, image, settings.compression_level);
    const ByteView parts[] = {compressed};
    write(std::span<const ByteView>(parts));
  }
  return outcome;
}

SignOutcome stage_module(const std::filesystem::path& input, const std::filesystem::path& output,
                         const SignSettings& settings, const std::function<Bytes(ByteView)>& make_cms,
                         util::Durability durability, util::StagedFile& staged,
                         const std::function<bool()>& make_room = {},
                         const std::function<void(ByteView)>& accept = {})
{
  util::ReplaceOptions options;
  options.make_room = make_room;
  options.metadata_from = input;
  options.owner_best_effort = settings.owner_best_effort;
  // Signing in place follows a link to the module; an output elsewhere that is a link is
  // replaced itself, never written through.
  options.replace_link = output != input;
  Bytes file = util::read_file(input, settings.max_module_size);
  if (accept) {
    accept(file);
  }
  SignOutcome outcome = sign_module(std::move(file), settings, make_cms, [&](std::span<const ByteView> parts) {
    staged = util::stage_file(output, parts, options, durability);
  });
  outcome.owner_kept = staged.owner_kept;
  return outcome;
}

} // namespace

Bytes ModuleSigner::sign_image(Bytes file, SignOutcome* outcome) const
{
  Bytes result;
  SignOutcome done = sign_module(
    std::move(file), m_settings, [this](ByteView content) { return signature_for(content); },
    [&](std::span<const ByteView> parts) {
      for (const ByteView part : parts) {
        append(result, part);
      }
    });
  if (outcome != nullptr) {
    *outcome = std::move(done);
  }
  return result;
}

Bytes ModuleSigner::detached_signature(const std::filesystem::path& input) const
{
  const UnsignedModule module = open_module(util::read_file(input, m_settings.max_module_size), m_settings.max_module_size);
  return signature_for(module.content());
}

SignOutcome ModuleSigner::stage_file(const std::filesystem::path& input, const std::filesystem::path& output,
                                     util::StagedFile& staged, const std::function<bool()>& make_room,
                                     const std::function<void(ByteView file)>& accept) const
{
  return stage_module(input, output, m_settings, [this](ByteView content) { return signature_for(content); },
                      util::Durability::batched, staged, make_room, accept);
}

SignOutcome ModuleSigner::sign_file(const std::filesystem::path& input, const std::filesystem::path& output) const
{
  util::StagedFile staged;
  SignOutcome outcome = stage_module(input, output, m_settings,
                                     [this](ByteView content) { return signature_for(content); },
                                     util::Durability::now, staged);
  util::rename_staged(staged);
  return outcome;
}

SignOutcome append_signature_file(const std::filesystem::path& input, const std::filesystem::path& output,
                                  ByteView cms, const SignSettings& settings)
{
  util::StagedFile staged;
  SignOutcome outcome = stage_module(input, output, settings, [&](ByteView) { return Bytes(cms.begin(), cms.end()); },
                                     util::Durability::now, staged);
  util::rename_staged(staged);
  return outcome;
}

} // namespace ksign::core
