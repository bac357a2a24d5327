// SPDX-License-Identifier: MIT
#include "core/key_pruning.hpp"

#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/kconfig.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_configs_file = ".configs";

bool digits(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_key_directory_name(std::string_view name)
{
  // kernel-sign: %Y%m%d-%H%M
  if (name.size() == 13 && name[8] == '-' && digits(name.substr(0, 8)) && digits(name.substr(9))) {
    return true;
  }
  // ksign: %Y-%m-%d_%H-%M-%S, then _NN when taken
  if (name.size() != 19 && !(name.size() == 22 && name[19] == '_' && digits(name.substr(20)))) {
    return false;
  }
  const std::string_view stamp = name.substr(0, 19);
  for (std::size_t i = 0; i < stamp.size(); ++i) {
    const char want = i == 4 || i == 7 || i == 13 || i == 16 ? '-' : i == 10 ? '_' : '0';
    if (want == '0' ? !(stamp[i] >= '0' && stamp[i] <= '9') : stamp[i] != want) {
      return false;
    }
  }
  return true;
}

bool same_directory(const fs::path& a, const fs::path& b)
{
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

std::string certificate_fingerprint(const fs::path& directory)
{
  try {
    const KeyFiles files = key_directory_files(directory);
    return fingerprint_sha256(parse_certificate(key_directory_certificate(files)).get());
  } catch (const Error&) {
    return {};
  }
}

} // namespace

bool is_made_key_directory(const fs::path& directory)
{
  if (!is_key_directory_name(directory.filename().native())) {
    return false;
  }
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().native();
    std::error_code type_ec;
    const bool known = is_private_key_name(name) || name == k_cert_der || name == k_cert_pem || name == k_hash_file
                       || name == k_type_file;
    if (!known || !it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
      return false;
    }
  }
  return !ec;
}

std::vector<fs::path> recorded_configs(const fs::path& store)
{
  std::vector<fs::path> configs;
  std::error_code ec;
  if (!fs::is_directory(store, ec)) {
    return configs;
  }
  const std::optional<Bytes> data = util::DirFd(store).read_regular(k_configs_file, util::k_small_file_limit);
  if (!data) {
    return configs;
  }
  const std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.front() == '/') {
      configs.emplace_back(std::string(line));
    }
    at = end + 1;
  }
  return configs;
}

void record_updated_configs(const fs::path& store, std::span<const fs::path> configs)
{
  const std::vector<fs::path> before = recorded_configs(store);
  std::vector<fs::path> after;
  std::error_code ec;
  for (const fs::path& config : before) {
    if (fs::exists(config, ec)) {
      after.push_back(config);
    }
  }
  for (const fs::path& config : configs) {
    const fs::path absolute = fs::absolute(config, ec).lexically_normal();
    if (!ec && absolute.native().find('\n') == std::string::npos) {
      after.push_back(absolute);
    }
  }
  std::sort(after.begin(), after.end());
  after.erase(std::unique(after.begin(), after.end()), after.end());
  if (after == before) {
    return; // a repeated run changes nothing in the store
  }
  std::string text;
  for (const fs::path& config : after) {
    text += config.native() + "\n";
  }
  util::DirFd(store).replace(k_configs_file, as_bytes(text), 0644);
}

PruneResult prune_key_directories(const fs::path& store, std::size_t keep, const fs::path& registry,
                                  const fs::path& moduledir)
{
  PruneResult result;
  std::error_code ec;
  const fs::path current = fs::canonical(store / k_current_link, ec);
  std::vector<fs::path> directories;
  for (const fs::path& directory : key_directories(store)) {
    if (is_made_key_directory(directory)) {
      directories.push_back(directory);
    } else {
      result.kept.push_back({directory, KeptKeyDirectory::Why::not_a_key_directory, {}});
    }
  }
  if (directories.size() <= keep) {
    return result;
  }

  // Who still needs a key directory: links in the registry, recorded configs, installed kernels.
  std::vector<std::pair<fs::path, fs::path>> links; // link, its target
  for (fs::directory_iterator it(registry, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    if (it->is_symlink(link_ec)) {
      const fs::path target = fs::canonical(it->path(), link_ec);
      if (!link_ec) {
        links.emplace_back(it->path(), target);
      }
    }
  }
  std::vector<std::pair<fs::path, fs::path>> named; // config, the directory it names
  for (const fs::path& config : recorded_configs(store)) {
    try {
      std::optional<std::string> value = KernelConfig::read(config).value(k_trusted_keys_option);
      if (value && !value->empty()) {
        named.emplace_back(config, fs::path(*value).parent_path());
      }
    } catch (const Error&) {
      // gone or unreadable: it names nothing we could keep
    }
  }
  std::vector<KernelKey> kernels;
  try {
    kernels = installed_kernel_keys(moduledir);
  } catch (const Error&) {
  }

  std::size_t excess = directories.size() - keep;
  for (const fs::path& directory : directories) {
    if (excess == 0) {
      break;
    }
    std::optional<KeptKeyDirectory> needed;
    if (!current.empty() && same_directory(directory, current)) {
      continue; // the current key never counts as old
    }
    for (const auto& [link, target] : links) {
      if (!needed && same_directory(directory, target)) {
        needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::registered, link.native()};
      }
    }
    for (const auto& [config, where] : named) {
      if (!needed && same_directory(directory, where)) {
        needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::config, config.native()};
      }
    }
    if (!needed && !kernels.empty()) {
      const std::string fingerprint = certificate_fingerprint(directory);
      for (const KernelKey& kernel : kernels) {
        if (!needed && !fingerprint.empty() && kernel.fingerprint == fingerprint) {
          needed = KeptKeyDirectory{directory, KeptKeyDirectory::Why::installed_kernel, kernel.release};
        }
      }
    }
    if (needed) {
      result.kept.push_back(std::move(*needed));
      continue;
    }
    fs::remove_all(directory, ec);
    if (ec) {
      throw Error(Errc::failure, "cannot remove " + util::quote(directory) + ": " + ec.message());
    }
    result.removed.push_back(directory);
    --excess;
  }
  return result;
}

} // namespace ksign::core
