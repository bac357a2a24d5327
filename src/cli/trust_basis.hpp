// SPDX-License-Identifier: MIT
// Until status, keys and kernel_rows call core/trust_basis.hpp and include cli/trust_text.hpp
// themselves: what they used from here, forwarded with the paths resolved once.
#pragma once

#include "cli/paths.hpp"
#include "cli/trust_text.hpp"
#include "core/trust_basis.hpp"

namespace ksign::cli {

using ImageKeyTrust = core::ImageKeyTrust;

inline std::string running_release()
{
  return core::running_release();
}

inline core::PlatformFallbackProbe running_platform_fallback(const Paths& paths, const core::RunningKeys& keys)
{
  return core::running_platform_fallback(keys, paths.module_root, paths.boot_root);
}

inline ImageKeyTrust installed_image_trusts(const Paths& paths, std::string_view release,
                                            const std::filesystem::path& certificate)
{
  return core::installed_image_trusts(paths.module_root, release, paths.boot_root, certificate);
}

} // namespace ksign::cli
