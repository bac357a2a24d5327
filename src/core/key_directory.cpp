// SPDX-License-Identifier: MIT
#include "core/key_directory.hpp"

#include "core/certificate.hpp"
#include "core/key_match.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

// Throws Error(Errc::permission) naming `directory` when the entry `name` in it cannot be
// looked at for lack of permission (a 0700 key directory of another user).
void require_search_permission(const fs::path& directory, std::string_view name)
{
  std::error_code ec;
  (void)fs::symlink_status(directory / name, ec);
  if (ec == std::errc::permission_denied) {
    throw Error(Errc::permission, "cannot read " + util::quote(directory));
  }
}

bool is_file(const fs::path& path)
{
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

void write_file(const fs::path& path, std::string_view text, mode_t mode)
{
  util::ReplaceOptions options;
  options.force_mode = mode;
  util::replace_file_atomically(path, as_bytes(text), options);
}

std::string text_of(const Bytes& data)
{
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// The first PEM private key block of `text`, from its BEGIN line through its END line, exactly
// as it is written (an encrypted key stays encrypted); empty when there is none.
std::string private_key_block(const std::string& text)
{
  for (std::size_t begin = text.find("-----BEGIN "); begin != std::string::npos;
       begin = text.find("-----BEGIN ", begin + 1)) {
    const std::size_t label_end = text.find("-----", begin + 11);
    if (label_end == std::string::npos) {
      break;
    }
    const std::string label = text.substr(begin + 11, label_end - begin - 11);
    if (!label.ends_with("PRIVATE KEY")) {
      continue;
    }
    const std::string end_line = "-----END " + label + "-----";
    const std::size_t end = text.find(end_line, label_end);
    if (end == std::string::npos) {
      break;
    }
    return text.substr(begin, end + end_line.size() - begin) + "\n";
  }
  return {};
}

} // namespace

bool is_private_key_name(std::string_view name)
{
  return std::find(k_private_key_names.begin(), k_private_key_names.end(), name) != k_private_key_names.end();
}

KeyFiles key_directory_files(const fs::path& directory)
{
  KeyFiles files;
  files.directory = directory;
  require_search_permission(directory, k_cert_der);
  for (const std::string_view name : k_private_key_names) {
    if (is_file(directory / name)) {
      files.key = directory / name;
      break;
    }
  }
  for (const std::string_view name : {k_cert_der, k_cert_pem, k_key_pem}) {
    if (is_file(directory / name)) {
      files.certificate = directory / name;
      break;
    }
  }
  if (files.certificate.empty()) {
    throw Error(Errc::failure, "key directory " + util::quote(directory) + " has no " + std::string(k_cert_der));
  }
  const fs::path hash_path = directory / k_hash_file;
  if (is_file(hash_path)) {
    const std::string name(util::trim(text_of(util::read_file(hash_path, util::k_small_file_limit))));
    files.hash = parse_hash(name);
    if (!files.hash) {
      throw Error(Errc::failure, "unknown hash '" + util::escape(name) + "' in " + util::quote(hash_path));
    }
  }
  return files;
}

void check_key_directory(const KeyFiles& files, const std::optional<std::string>& passphrase)
{
  const Bytes certificate = load_certificate_der(files.certificate);
  for (const std::string_view name : k_private_key_names) {
    const fs::path key_file = files.directory / name;
    if (!is_file(key_file)) {
      continue;
    }
    const EvpPkeyPtr key = load_private_key(key_file, passphrase);
    if (!key_matches_certificate(key.get(), certificate, "the certificate " + util::quote(files.certificate))) {
      throw Error(Errc::failure, "the private key " + util::quote(key_file) + " does not match the certificate "
                                   + util::quote(files.certificate) + " beside it");
    }
  }
}

std::vector<std::string> complete_key_directory(const fs::path& directory)
{
  const KeyFiles files = key_directory_files(directory);
  std::vector<std::string> added;
  const Bytes der = load_certificate_der(files.certificate);
  const std::string cert_pem = certificate_pem(parse_certificate(der, "the certificate " + util::quote(files.certificate)).get());
  if (!is_file(directory / k_cert_der)) {
    util::ReplaceOptions options;
    options.force_mode = 0644;
    util::replace_file_atomically(directory / k_cert_der, der, options);
    added.emplace_back(k_cert_der);
  }
  if (!is_file(directory / k_cert_pem)) {
    write_file(directory / k_cert_pem, cert_pem, 0644);
    added.emplace_back(k_cert_pem);
  }
  if (files.key.empty()) {
    return added; // certificates only (ksign install --public)
  }
  const std::string key_block = private_key_block(text_of(util::read_file(files.key, util::k_small_file_limit)));
  if (key_block.empty()) {
    throw Error(Errc::failure, util::quote(files.key) + " holds no PEM private key");
  }
  if (!is_file(directory / k_private_pem)) {
    write_file(directory / k_private_pem, key_block, 0600);
    added.emplace_back(k_private_pem);
  }
  if (!is_file(directory / k_key_pem)) {
    write_file(directory / k_key_pem, key_block + cert_pem, 0600);
    added.emplace_back(k_key_pem);
  }
  return added;
}

std::optional<KernelKeyFiles> kernel_key_files(const fs::path& moduledir, std::string_view release,
                                               const fs::path& registry)
{
  KernelKeyFiles found;
  try {
    found.installed = current_certificate_files(kernel_key_store(moduledir, release));
  } catch (const Error& e) {
    if (e.code() == Errc::no_key) {
      return std::nullopt; // no ksign key installed with this kernel
    }
    throw;
  }
  found.certificate = found.installed.certificate;
  found.hash = found.installed.hash;
  const X509Ptr certificate = load_certificate(found.certificate);
  found.key_id = key_link_name(certificate.get());
  if (!found.installed.key.empty()) {
    found.key = found.installed.key;
    return found;
  }

  // Installed with the certificates only: the registry's link leads to the private key.
  found.source = KernelKeyFiles::Source::registry;
  found.link = registry / found.key_id;
  std::error_code ec;
  const fs::file_status link_status = fs::symlink_status(found.link, ec);
  if (ec == std::errc::permission_denied) {
    found.problem = KernelKeyFiles::LinkProblem::unreadable;
    return found;
  }
  if (!fs::exists(link_status)) {
    found.problem = KernelKeyFiles::LinkProblem::missing;
    return found;
  }
  if (fs::is_symlink(link_status)) {
    found.link_target = fs::read_symlink(found.link, ec);
  }
  const fs::file_status target_status = fs::status(found.link, ec);
  if (ec == std::errc::permission_denied) {
    found.problem = KernelKeyFiles::LinkProblem::unreadable;
    return found;
  }
  if (!fs::is_directory(target_status)) {
    found.problem = KernelKeyFiles::LinkProblem::dangling;
    return found;
  }
  KeyFiles registered;
  try {
    registered = key_directory_files(found.link);
  } catch (const Error& e) {
    found.problem = e.code() == Errc::permission ? KernelKeyFiles::LinkProblem::unreadable
                                                 : KernelKeyFiles::LinkProblem::no_private_key;
    return found;
  }
  if (registered.key.empty()) {
    found.problem = KernelKeyFiles::LinkProblem::no_private_key;
    return found;
  }
  if (load_certificate_der(registered.certificate) != load_certificate_der(found.certificate)) {
    found.problem = KernelKeyFiles::LinkProblem::other_certificate;
    return found;
  }
  found.key = registered.key;
  return found;
}

} // namespace ksign::core
