// SPDX-License-Identifier: MIT
#include "core/kernel_trust.hpp"

#include "core/kconfig.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"


namespace ksign::core {

namespace fs = std::filesystem;

std::vector<TrustSource> kernel_trust_sources(const fs::path& moduledir, std::string_view release,
                                              std::vector<Error>* unreadable)
{
  std::vector<TrustSource> sources;
  const InstalledKernelLayout layout = installed_kernel_layout(moduledir, release);
  const fs::path& build = layout.build;
  std::error_code ec;
  const fs::path& build_key = layout.build_key;
  if (fs::is_regular_file(build_key, ec)) {
    sources.push_back({build_key, "the kernel build's own key", std::nullopt});
  }
  try {
    const KeyFiles current = current_certificate_files(layout.key_store);
    sources.push_back({current.certificate, "ksign key (certs-local)", key_directory_certificate(current)});
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
        sources.push_back({file, "CONFIG_SYSTEM_TRUSTED_KEYS", std::nullopt});
      }
    }
  }
  return sources;
}

} // namespace ksign::core
