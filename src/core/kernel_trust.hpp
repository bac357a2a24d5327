// SPDX-License-Identifier: MIT
#pragma once

#include "core/installed_kernel.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

// A certificate file an installed kernel trusts for modules, and why.
struct TrustSource
{
  std::filesystem::path file;
  std::string origin; // "build key", "ksign key", "CONFIG_SYSTEM_TRUSTED_KEYS"
  // The certificate as DER, for a key store's: read through the store's checked key directory
  // when it was found, so what is trusted is what was checked (the file may change after).
  std::optional<Bytes> der;
};

// Everything that kernel `release` under `moduledir` trusts that can be found on disk: its
// build tree's certs/signing_key.x509 (the key its own modules were signed with), the current
// key of its certs-local key store, and the file its config's CONFIG_SYSTEM_TRUSTED_KEYS names
// (relative names are relative to the build tree). Missing pieces are skipped; a key store the
// caller may not read is skipped too, and its Error(Errc::permission) added to `unreadable`.
// These are guesses: the kernel trusts what it was built with (see kernel_image.hpp).
[[nodiscard]] std::vector<TrustSource> kernel_trust_sources(const std::filesystem::path& moduledir,
                                                            std::string_view release,
                                                            std::vector<Error>* unreadable = nullptr);

} // namespace ksign::core
