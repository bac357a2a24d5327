// SPDX-License-Identifier: MIT
#include "cli/key_options.hpp"

#include "cli/options.hpp"
#include "cli/output.hpp"
#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/kconfig.hpp"
#include "core/kernel_trust.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "core/pkcs11_key.hpp"
#include "core/signing_key.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

#include <sys/stat.h>

#include <cstdlib>

namespace ksign::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_loose_key_flag = "--allow-loose-key";
constexpr std::string_view k_unsupported_key_flag = "--allow-unsupported-key";

// The key store a signing or verifying command reads: kernel `kernel`'s, else the Invocation's.
fs::path key_store(const std::optional<std::string>& kernel, const Invocation& invocation)
{
  reject_store_with_kernel(invocation, kernel);
  if (kernel) {
    const std::string& release = *kernel;
    if (!core::is_kernel_release(release)) {
      throw Error(Errc::usage, "--kernel takes a kernel release such as 6.12.1-arch1-1");
    }
    (void)core::installed_kernel(invocation.paths.module_root, release);
    return core::kernel_key_store(invocation.paths.module_root, release);
  }
  std::error_code ec;
  if (!invocation.key_store_given && !fs::exists(invocation.key_store / core::k_current_link, ec)) {
    throw Error(Errc::usage, "no key given and the key store " + util::quote(invocation.key_store)
                               + " has no current key: give --key FILE [--cert FILE], -d/--dir DIR or --kernel KVER");
  }
  return invocation.key_store;
}

} // namespace

void KeyOptions::declare(cxxopts::Options& options, Set set)
{
  if (set == Set::signing) {
    options.add_options()
      ("k,key", "PEM private key (may also hold the certificate), or a pkcs11: URI", cxxopts::value<std::string>(), "FILE")
      ("c,cert", "signer's certificate, DER or PEM", cxxopts::value<std::vector<std::string>>(), "FILE")
      ("kernel", "use the ksign key installed with kernel KVER (<moduledir>/KVER/build/certs-local)",
       cxxopts::value<std::string>(), "KVER")
      (std::string(k_unsupported_key_flag.substr(2)),
       "sign even with a key the kernel cannot load (an RSA size other than 2048, 3072, 4096, or 512, 1024, "
       "1536 outside FIPS; a curve other than P-192, P-256, P-384, P-521), with a warning");
  }
  options.add_options()
    (std::string(k_loose_key_flag.substr(2)), "use a private key even when group or others can read it, or when "
                                              "anyone can write to its key store's directory (warns)");
}

KeyOptions KeyOptions::read(const cxxopts::ParseResult& result, Set set)
{
  KeyOptions options;
  if (set == Set::signing) {
    if (const auto key = optional_string(result, "key")) {
      options.key = *key;
    }
    if (const std::vector<std::string> certificates = strings(result, "cert"); !certificates.empty()) {
      options.certificate = certificates.front();
    }
    options.kernel = optional_string(result, "kernel");
    options.allow_unsupported_key = given(result, std::string(k_unsupported_key_flag.substr(2)));
  }
  options.allow_loose_key = given(result, std::string(k_loose_key_flag.substr(2)));
  return options;
}

void reject_store_with_kernel(const Invocation& invocation, const std::optional<std::string>& kernel)
{
  if (kernel && invocation.key_store_given) {
    throw Error(Errc::usage, "--dir and --kernel cannot be used together");
  }
}

SigningKeySource signing_key_source(const KeyOptions& options, const Invocation& invocation)
{
  SigningKeySource source;
  const auto choice = core::choose_key_source({.key = options.key.has_value(),
                                               .certificate = options.certificate.has_value(),
                                               .kernel = options.kernel.has_value(),
                                               .store_named = invocation.key_store_given});
  if (const auto* conflict = std::get_if<core::KeySourceConflict>(&choice)) {
    switch (*conflict) {
    case core::KeySourceConflict::key_and_kernel:
      throw Error(Errc::usage, "--key and --kernel cannot be used together");
    case core::KeySourceConflict::key_and_store:
      throw Error(Errc::usage, "--key and --dir cannot be used together");
    case core::KeySourceConflict::certificate_without_key:
      throw Error(Errc::usage, "--cert needs --key (the private key to sign with)");
    case core::KeySourceConflict::kernel_and_store:
      reject_store_with_kernel(invocation, options.kernel);
      break;
    }
  }
  if (std::get<core::KeySource>(choice) == core::KeySource::files) {
    source.key = *options.key;
    source.certificate = options.certificate;
    if (!source.certificate && core::key_needs_certificate(source.key)) {
      // signing_prv.pem of a key store holds only the key: say where its certificate is.
      std::string message = "the key file " + util::quote(source.key) + " holds no certificate; give --cert FILE";
      if (const auto beside = core::certificate_beside(source.key)) {
        message += " (its certificate is in " + util::quote(*beside) + ")";
      }
      throw Error(Errc::usage, message);
    }
    return source;
  }
  const fs::path store = key_store(options.kernel, invocation);
  if (options.kernel) {
    const std::string& release = *options.kernel;
    const std::optional<core::KernelKeyFiles> kernel = kernel_signing_key(release, invocation);
    if (!kernel) {
      // What current_certificate_files says about the missing key store, else in general.
      (void)core::current_certificate_files(store);
      throw Error(Errc::no_key, "kernel " + util::escape(release) + " has no ksign key");
    }
    source.key = kernel->key;
    source.certificate = kernel->certificate;
    source.recorded_hash = kernel->hash;
    source.directory = kernel->holder;
    return source;
  }
  const core::KeyFiles files = core::current_key_files(store);
  source.key = files.key;
  source.certificate = files.certificate;
  source.recorded_hash = files.hash;
  source.directory = files;
  return source;
}

std::string kernel_key_problem(const core::KernelKeyFiles& kernel)
{
  using Problem = core::KernelKeyFiles::LinkProblem;
  const std::string link = util::quote(kernel.link);
  switch (kernel.problem) {
  case Problem::missing:
    return link + " does not exist";
  case Problem::dangling:
    return link + " points to " + util::quote(kernel.link_target)
           + ", which does not exist here (a key store moved, removed, or not mounted in this chroot?)";
  case Problem::no_private_key:
    return link + " leads to a key directory with no private key (none of " + std::string(core::k_key_pem) + ", "
           + std::string(core::k_private_pem) + ", " + std::string(core::k_private_key_v1) + ")";
  case Problem::other_certificate:
    return link + " leads to a key directory whose certificate is not the one installed with the kernel";
  case Problem::unreadable:
    return link + " cannot be read by this user (run as root?)";
  case Problem::none:
    break;
  }
  return link + " does not lead to it";
}

std::optional<core::KernelKeyFiles> kernel_signing_key(const std::string& release, const Invocation& invocation)
{
  const fs::path registry = invocation.paths.key_registry();
  std::optional<core::KernelKeyFiles> kernel = core::kernel_key_files(invocation.paths.module_root, release, registry);
  if (!kernel) {
    return kernel;
  }
  if (kernel->key.empty()) {
    const fs::path headers = core::kernel_key_store(invocation.paths.module_root, release);
    throw Error(Errc::failure, "kernel " + util::escape(release) + " has its certificate " + util::quote(kernel->certificate)
                                 + " (key id " + kernel->key_id + ") but no private key: the headers hold none, and "
                                 + kernel_key_problem(*kernel) + "; to mend it, run: ksign install --public -d STORE "
                                 + util::quote(headers) + " (STORE: the key store that holds key id " + kernel->key_id
                                 + "; it links " + util::quote(kernel->link) + " to the key), or give --key FILE --cert FILE");
  }
  if (kernel->source == core::KernelKeyFiles::Source::registry) {
    // Whoever can write to the registry chooses the key: the ssh rule holds for it too.
    guard_key_directory(registry, invocation);
  }
  return kernel;
}

std::vector<fs::path> trusted_certificate_files(std::span<const fs::path> certificates,
                                                const std::optional<std::string>& kernel, const Invocation& invocation)
{
  std::vector<fs::path> files(certificates.begin(), certificates.end());
  if (files.empty() || invocation.key_store_given || kernel) {
    files.push_back(core::current_certificate_files(key_store(kernel, invocation)).certificate);
  }
  return files;
}

void add_loose_key_option(cxxopts::Options& options)
{
  KeyOptions::declare(options, KeyOptions::Set::loose_key);
}

namespace {

bool allows_loose_key(const Invocation& invocation)
{
  return KeyOptions::read(invocation.options, KeyOptions::Set::loose_key).allow_loose_key;
}

// Refuse `problem` (naming `fix`), or warn about it when allowed.
void loose(const std::string& problem, const std::string& fix, bool allow_loose, bool warn_only, Output& out)
{
  if (warn_only) {
    out.warning("{}; run: {}", problem, fix);
  } else if (allow_loose) {
    out.warning("{} (used anyway: {})", problem, k_loose_key_flag);
  } else {
    throw Error(Errc::failure, problem + "; run: " + fix + " (or give " + std::string(k_loose_key_flag)
                                 + " to use it anyway)");
  }
}

} // namespace

void guard_key_directory(const fs::path& directory, const fs::path& what, bool allow_loose, bool warn_only,
                         Output& out)
{
  // Every directory above the key counts: whoever can write to one can swap what is below it.
  for (const util::UnsafeDirectory& unsafe : util::unsafe_directories(directory)) {
    const std::string problem =
      fmt::format("anyone can write to {} (mode {:04o}, no sticky bit), so anyone can replace {} below it",
                  util::quote(unsafe.directory), unsafe.mode, util::quote(what));
    loose(problem, "chmod o-w " + util::quote(unsafe.directory), allow_loose, warn_only, out);
  }
}

void guard_private_key(const fs::path& key, bool allow_loose, bool warn_only, Output& out)
{
  struct stat st {};
  // Not there, or not a regular file (FIFO, device, directory): the key reader says so.
  if (::stat(key.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return;
  }
  if (const std::optional<core::KeyFileExposure> exposure = core::key_file_exposure(key)) {
    const std::string problem = fmt::format("the private key {} can be {} by group or others (mode {:04o})",
                                            util::quote(key), exposure->readable ? "read" : "changed", exposure->mode);
    loose(problem, "chmod 600 " + util::quote(key), allow_loose, warn_only, out);
  }
  guard_key_directory(key.has_parent_path() ? key.parent_path() : fs::path("."), key, allow_loose, warn_only, out);
}

void guard_private_key(const fs::path& key, const Invocation& invocation)
{
  guard_private_key(key, allows_loose_key(invocation), false, invocation.out);
}

void guard_key_directory(const fs::path& directory, const Invocation& invocation)
{
  guard_key_directory(directory, allows_loose_key(invocation), invocation.out);
}

void guard_key_directory(const fs::path& directory, bool allow_loose, Output& out)
{
  guard_key_directory(directory, directory, allow_loose, false, out);
}

void warn_if_short_key(const EVP_PKEY* key, const std::string& what, Output& out)
{
  if (const auto bits = core::short_rsa_key_bits(key)) {
    out.warning("{} is an RSA key of {} bits; keys shorter than {} bits are weak: make a new one", what, *bits,
                core::k_min_rsa_bits);
  }
}

void require_kernel_usable_key(ByteView certificate_der, const std::string& what, bool allow, Output& out)
{
  constexpr std::string_view flag = k_unsupported_key_flag;
  const std::optional<std::string> refusal = core::kernel_key_refusal(certificate_der);
  if (!refusal) {
    return;
  }
  const std::string problem = what + " holds " + *refusal + ": the kernel cannot load its certificate and refuses "
                              "every module signed with it";
  if (allow) {
    out.warning("{} (signing anyway: {})", problem, flag);
    return;
  }
  throw Error(Errc::failure, problem + "; make a key the kernel takes ('ksign keys --refresh always'), or give "
                               + std::string(flag) + " to sign anyway");
}

std::optional<std::string> key_passphrase()
{
  const char* pin = std::getenv("KBUILD_SIGN_PIN");
  if (pin == nullptr) {
    return std::nullopt;
  }
  return std::string(pin);
}

core::HashAlgo chosen_hash(const std::optional<std::string>& name, std::optional<core::HashAlgo> fallback,
                           std::string_view flag)
{
  if (name) {
    const auto hash = core::parse_hash(*name);
    if (!hash) {
      throw Error(Errc::usage, std::string(flag) + ": unknown hash '" + *name + "' (sha256, sha384, sha512, sha3-256, sha3-384, sha3-512)");
    }
    if (!core::can_sign_with(*hash)) {
      throw Error(Errc::usage, std::string(flag) + ": the kernel no longer accepts new " + std::string(core::hash_name(*hash))
                                 + " signatures; use sha256, sha384, sha512 or sha3-*");
    }
    return *hash;
  }
  return fallback.value_or(core::k_default_hash);
}

void trust_current_key(const fs::path& store, std::span<const fs::path> configs, Output& out)
{
  const fs::path certificate = core::trusted_certificate(store);
  // Every config is checked before any is changed: a file that is no kernel config, or a
  // certificate path that cannot be written into one, leaves them all as they were.
  core::require_config_value(core::k_trusted_keys_option, certificate.native());
  for (const fs::path& config : configs) {
    (void)core::KernelConfig::read(config);
  }
  for (const fs::path& config : configs) {
    const core::TrustedKeysUpdate update = core::set_trusted_keys(config, certificate);
    if (update.changed) {
      out.info("{}: {}=\"{}\"", config.native(), core::k_trusted_keys_option, certificate.native());
      if (update.replaced_link_to) {
        out.info("{} was a link to {}: replaced it by the edited copy (the original is unchanged)",
                 util::quote(config), util::quote(*update.replaced_link_to));
      }
    } else {
      out.detail("{}: already trusts {}", config.native(), util::quote(certificate));
    }
  }
}

} // namespace ksign::cli
