// SPDX-License-Identifier: MIT
#include "cli/key_options.hpp"

#include "cli/output.hpp"
#include "cli/paths.hpp"
#include "core/kconfig.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <cstdlib>

namespace ksign::cli {

namespace fs = std::filesystem;

namespace {

std::optional<fs::path> key_store(const cxxopts::ParseResult& result)
{
  const bool have_dir = result.count("keydir") > 0;
  const bool have_kernel = result.count("kernel") > 0;
  if (have_dir && have_kernel) {
    throw Error(Errc::usage, "give either --keydir or --kernel, not both");
  }
  if (have_dir) {
    return fs::path(result["keydir"].as<std::string>());
  }
  if (have_kernel) {
    const std::string release = result["kernel"].as<std::string>();
    if (release.empty() || release.find('/') != std::string::npos) {
      throw Error(Errc::usage, "--kernel takes a kernel release such as 6.12.1-arch1-1");
    }
    return core::kernel_key_store(module_root(), release);
  }
  return std::nullopt;
}

} // namespace

void add_key_store_options(cxxopts::Options& options)
{
  options.add_options()
    ("keydir", "use the current key of key store DIR (DIR/current/)", cxxopts::value<std::string>(), "DIR")
    ("kernel", "use the ksign key installed with kernel KVER (<moduledir>/KVER/build/certs-local)",
     cxxopts::value<std::string>(), "KVER");
}

SigningKeySource signing_key_source(const cxxopts::ParseResult& result)
{
  const std::optional<fs::path> store = key_store(result);
  const bool have_key = result.count("key") > 0;
  if (store && have_key) {
    throw Error(Errc::usage, "give either --key/--cert or a key store (--keydir, --kernel), not both");
  }
  SigningKeySource source;
  if (have_key) {
    source.key = result["key"].as<std::string>();
    if (result.count("cert") > 0) {
      source.certificate = fs::path(result["cert"].as<std::vector<std::string>>().front());
    }
    return source;
  }
  if (result.count("cert") > 0) {
    throw Error(Errc::usage, "--cert needs --key (the private key to sign with)");
  }
  if (!store) {
    throw Error(Errc::usage, "no signing key: give --key FILE [--cert FILE], --keydir DIR or --kernel KVER");
  }
  const core::KeyFiles files = core::current_key_files(*store);
  source.key = files.key;
  source.certificate = files.certificate;
  source.recorded_hash = files.hash;
  return source;
}

std::vector<fs::path> trusted_certificate_files(const cxxopts::ParseResult& result)
{
  std::vector<fs::path> files;
  if (result.count("cert") > 0) {
    for (const std::string& name : result["cert"].as<std::vector<std::string>>()) {
      files.emplace_back(name);
    }
  }
  if (const std::optional<fs::path> store = key_store(result)) {
    files.push_back(core::current_key_files(*store).certificate);
  }
  if (files.empty()) {
    throw Error(Errc::usage, "no trusted certificate: give --cert FILE, --keydir DIR or --kernel KVER");
  }
  return files;
}

fs::path key_store_directory(const cxxopts::ParseResult& result)
{
  return core::key_store_path(result.count("dir") > 0 ? std::optional(result["dir"].as<std::string>()) : std::nullopt,
                              std::getenv("KSIGN_DIR"));
}

std::optional<std::string> key_passphrase()
{
  const char* pin = std::getenv("KBUILD_SIGN_PIN");
  if (pin == nullptr) {
    return std::nullopt;
  }
  return std::string(pin);
}

core::HashAlgo chosen_hash(const std::optional<std::string>& name, std::optional<core::HashAlgo> fallback)
{
  if (name) {
    const auto hash = core::parse_hash(*name);
    if (!hash) {
      throw Error(Errc::usage, "unknown hash '" + *name + "' (sha256, sha384, sha512, sha3-256, sha3-384, sha3-512)");
    }
    if (!core::can_sign_with(*hash)) {
      throw Error(Errc::usage, "the kernel no longer accepts new " + std::string(core::hash_name(*hash))
                                 + " signatures; use sha256, sha384, sha512 or sha3-*");
    }
    return *hash;
  }
  return fallback.value_or(core::k_default_hash);
}

void trust_current_key(const fs::path& store, std::span<const fs::path> configs, Output& out)
{
  const fs::path certificate = core::trusted_certificate(store);
  for (const fs::path& config : configs) {
    if (core::set_trusted_keys(config, certificate)) {
      out.info("{}: {}=\"{}\"", config.string(), core::k_trusted_keys_option, certificate.string());
    } else {
      out.detail("{}: already trusts {}", config.string(), util::quote(certificate));
    }
  }
}

} // namespace ksign::cli
