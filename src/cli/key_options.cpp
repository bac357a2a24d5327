// SPDX-License-Identifier: MIT
#include "cli/key_options.hpp"

#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "core/kconfig.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <cstdlib>

namespace ksign::cli {

namespace fs = std::filesystem;

namespace {

// The key store a signing or verifying command reads: --kernel's, else the Invocation's.
fs::path key_store(const Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  if (result.count("kernel") > 0 && invocation.key_store_given) {
    throw Error(Errc::usage, "--dir and --kernel cannot be used together");
  }
  if (result.count("kernel") > 0) {
    const std::string release = result["kernel"].as<std::string>();
    if (release.empty() || release.find('/') != std::string::npos) {
      throw Error(Errc::usage, "--kernel takes a kernel release such as 6.12.1-arch1-1");
    }
    return core::kernel_key_store(module_root(), release);
  }
  std::error_code ec;
  if (!invocation.key_store_given && !fs::exists(invocation.key_store / core::k_current_link, ec)) {
    throw Error(Errc::usage, "no key given and the key store " + util::quote(invocation.key_store)
                               + " has no current key: give --key FILE [--cert FILE], -d/--dir DIR or --kernel KVER");
  }
  return invocation.key_store;
}

} // namespace

void add_kernel_option(cxxopts::Options& options)
{
  options.add_options()
    ("kernel", "use the ksign key installed with kernel KVER (<moduledir>/KVER/build/certs-local)",
     cxxopts::value<std::string>(), "KVER");
}

SigningKeySource signing_key_source(const Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  SigningKeySource source;
  if (result.count("key") > 0) {
    reject_together(result, "key", "kernel");
    if (invocation.key_store_given) {
      throw Error(Errc::usage, "--key and --dir cannot be used together");
    }
    source.key = result["key"].as<std::string>();
    if (result.count("cert") > 0) {
      source.certificate = fs::path(result["cert"].as<std::vector<std::string>>().front());
    } else if (!core::holds_certificate(source.key)) {
      // signing_prv.pem of a key store holds only the key: say where its certificate is.
      std::string message = "the key file " + util::quote(source.key) + " holds no certificate; give --cert FILE";
      for (const std::string_view name : {core::k_cert_der, core::k_cert_pem, core::k_key_pem}) {
        const fs::path beside = source.key.parent_path() / name;
        std::error_code ec;
        if (beside != source.key && fs::is_regular_file(beside, ec)) {
          message += " (its certificate is in " + util::quote(beside) + ")";
          break;
        }
      }
      throw Error(Errc::usage, message);
    }
    return source;
  }
  if (result.count("cert") > 0) {
    throw Error(Errc::usage, "--cert needs --key (the private key to sign with)");
  }
  const core::KeyFiles files = core::current_key_files(key_store(invocation));
  source.key = files.key;
  source.certificate = files.certificate;
  source.recorded_hash = files.hash;
  return source;
}

std::vector<fs::path> trusted_certificate_files(const Invocation& invocation)
{
  const cxxopts::ParseResult& result = invocation.options;
  std::vector<fs::path> files;
  if (result.count("cert") > 0) {
    for (const std::string& name : result["cert"].as<std::vector<std::string>>()) {
      files.emplace_back(name);
    }
  }
  if (files.empty() || invocation.key_store_given || result.count("kernel") > 0) {
    files.push_back(core::current_key_files(key_store(invocation)).certificate);
  }
  return files;
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
    if (core::set_trusted_keys(config, certificate)) {
      out.info("{}: {}=\"{}\"", config.native(), core::k_trusted_keys_option, certificate.native());
    } else {
      out.detail("{}: already trusts {}", config.native(), util::quote(certificate));
    }
  }
}

} // namespace ksign::cli
