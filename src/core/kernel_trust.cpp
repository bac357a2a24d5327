// SPDX-License-Identifier: MIT
#include "core/kernel_trust.hpp"

#include "core/kconfig.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <algorithm>

namespace ksign::core {

namespace fs = std::filesystem;

fs::path installed_kernel(const fs::path& moduledir, std::string_view release)
{
  const fs::path root = moduledir / std::string(release);
  std::error_code ec;
  if (release.empty() || release.find('/') != std::string_view::npos || !fs::is_directory(root, ec)) {
    throw Error(Errc::failure, "no installed kernel '" + std::string(release) + "' in " + util::quote(moduledir));
  }
  return root;
}

std::vector<TrustSource> kernel_trust_sources(const fs::path& moduledir, std::string_view release,
                                              std::vector<Error>* unreadable)
{
  std::vector<TrustSource> sources;
  const fs::path build = moduledir / std::string(release) / "build";
  std::error_code ec;
  const fs::path build_key = build / "certs" / "signing_key.x509";
  if (fs::is_regular_file(build_key, ec)) {
    sources.push_back({build_key, "the kernel build's own key"});
  }
  try {
    sources.push_back({current_certificate_files(kernel_key_store(moduledir, release)).certificate, "ksign key (certs-local)"});
  } catch (const Error& e) {
    // no ksign key store installed with this kernel, or one the caller may not read
    if (e.code() == Errc::permission && unreadable != nullptr) {
      unreadable->push_back(e);
    }
  }
  if (const auto config_path = installed_kernel_config(moduledir, release)) {
    const KernelConfig config = KernelConfig::read(*config_path);
    if (const auto trusted = config.value(k_trusted_keys_option); trusted && !trusted->empty()) {
      fs::path file(*trusted);
      if (file.is_relative()) {
        file = build / file;
      }
      if (fs::is_regular_file(file, ec)) {
        sources.push_back({file, "CONFIG_SYSTEM_TRUSTED_KEYS"});
      }
    }
  }
  return sources;
}

std::optional<fs::path> installed_kernel_config(const fs::path& moduledir, std::string_view release)
{
  fs::path config = moduledir / std::string(release) / "build" / ".config";
  std::error_code ec;
  if (fs::is_regular_file(config, ec)) {
    return config;
  }
  return std::nullopt;
}

std::vector<std::string> kernel_module_directories(const fs::path& moduledir, std::string_view release)
{
  const fs::path root = installed_kernel(moduledir, release);
  std::error_code ec;
  std::vector<std::string> directories;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != "build" && name != "source" && entry.is_directory(ec) && !entry.is_symlink(ec)) {
      directories.push_back(entry.path().string());
    }
  }
  std::sort(directories.begin(), directories.end());
  return directories;
}

} // namespace ksign::core
