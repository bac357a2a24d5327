// SPDX-License-Identifier: MIT
#include "core/installed_kernel.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "util/file.hpp"

#include <algorithm>

namespace ksign::core {

namespace fs = std::filesystem;

InstalledKernelLayout installed_kernel_layout(const fs::path& moduledir, std::string_view release, const fs::path& boot)
{
  const std::string name(release);
  InstalledKernelLayout layout;
  layout.root = moduledir / name;
  layout.build = layout.root / "build";
  layout.key_store = layout.build / "certs-local";
  layout.config = layout.build / ".config";
  layout.build_key = layout.build / "certs" / "signing_key.x509";
  layout.images = {layout.build / "vmlinux", layout.root / "vmlinuz", boot / ("vmlinuz-" + name)};
  layout.system_maps = {boot / ("System.map-" + name), layout.build / "System.map"};
  return layout;
}

fs::path kernel_key_store(const fs::path& moduledir, std::string_view kernel_release)
{
  return installed_kernel_layout(moduledir, kernel_release).key_store;
}

bool is_kernel_release(std::string_view release)
{
  return !release.empty() && release.find('/') == std::string_view::npos && release != "." && release != "..";
}

fs::path installed_kernel(const fs::path& moduledir, std::string_view release)
{
  const fs::path root = installed_kernel_layout(moduledir, release).root;
  std::error_code ec;
  if (!is_kernel_release(release) || !fs::is_directory(root, ec)) {
    throw Error(Errc::failure, "no installed kernel '" + std::string(release) + "' in " + util::quote(moduledir));
  }
  return root;
}

std::optional<fs::path> installed_kernel_config(const fs::path& moduledir, std::string_view release)
{
  fs::path config = installed_kernel_layout(moduledir, release).config;
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

std::vector<std::string> installed_kernel_releases(const fs::path& moduledir)
{
  std::vector<std::string> releases;
  std::error_code ec;
  for (fs::directory_iterator it(moduledir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec)) {
      continue;
    }
    for (const char* marker : {"build", "kernel", "modules.order", "modules.dep", "vmlinuz"}) {
      if (fs::exists(it->path() / marker, entry_ec)) {
        releases.push_back(it->path().filename().native());
        break;
      }
    }
  }
  std::ranges::sort(releases);
  return releases;
}

std::vector<KernelKey> installed_kernel_keys(const fs::path& moduledir)
{
  std::vector<KernelKey> kernels;
  for (std::string& release : installed_kernel_releases(moduledir)) {
    KernelKey kernel{std::move(release), {}, {}, {}, std::nullopt};
    try {
      const KeyFiles files = current_certificate_files(kernel_key_store(moduledir, kernel.release));
      const X509Ptr certificate = parse_certificate(key_directory_certificate(files), "the certificate " + util::quote(files.certificate));
      kernel.key_id = subject_key_id_hex(certificate.get());
      kernel.fingerprint = fingerprint_sha256(certificate.get());
      kernel.certificate = files.certificate;
    } catch (const Error& e) {
      // no ksign key for this kernel, or one the caller may not read
      if (e.code() == Errc::permission) {
        kernel.unreadable = e;
      }
    }
    kernels.push_back(std::move(kernel));
  }
  return kernels;
}

} // namespace ksign::core
