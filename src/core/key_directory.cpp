// SPDX-License-Identifier: MIT
#include "core/key_directory.hpp"

#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_install.hpp"
#include "core/key_match.hpp"
#include "core/keys.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

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

// Whether the key directory holds `name` as a regular file. A link, a FIFO, a device or a
// directory of that name is refused: the directory's owner could point it anywhere.
bool holds_file(const util::DirFd& directory, std::string_view name)
{
  const std::optional<struct stat> st = directory.status(name);
  if (!st) {
    return false;
  }
  if (S_ISLNK(st->st_mode)) {
    throw Error(Errc::failure, util::quote(directory.path() / name)
                                 + " is a symbolic link; ksign does not follow links in a key directory");
  }
  if (!S_ISREG(st->st_mode)) {
    throw Error(Errc::failure, util::quote(directory.path() / name) + " is not a regular file");
  }
  return true;
}

// The files of an opened key directory; `certificate` is empty when it holds none.
KeyFiles scan_key_directory(util::DirFd opened)
{
  KeyFiles files;
  files.directory = opened.path();
  files.opened = std::make_shared<const util::DirFd>(std::move(opened));
  const util::DirFd& directory = *files.opened;
  for (const std::string_view name : k_private_key_names) {
    if (holds_file(directory, name)) {
      files.key = files.directory / name;
      break;
    }
  }
  for (const std::string_view name : {k_cert_der, k_cert_pem, k_key_pem}) {
    if (holds_file(directory, name)) {
      files.certificate = files.directory / name;
      break;
    }
  }
  if (const std::optional<Bytes> hash = directory.read_regular(k_hash_file, util::k_small_file_limit)) {
    const std::string name(util::trim(text_of(*hash)));
    files.hash = parse_hash(name);
    if (!files.hash) {
      throw Error(Errc::failure, "unknown hash '" + util::escape(name) + "' in " + util::quote(files.directory / k_hash_file));
    }
  }
  return files;
}

KeyFiles require_certificate(KeyFiles files)
{
  if (files.certificate.empty()) {
    throw Error(Errc::failure, "key directory " + util::quote(files.directory) + " has no " + std::string(k_cert_der));
  }
  return files;
}

Bytes read_named(const KeyFiles& files, const fs::path& file)
{
  std::optional<Bytes> data = read_key_directory_file(files, file.filename().native());
  if (!data) {
    throw Error(Errc::failure, "cannot read " + util::quote(file) + ": it is gone");
  }
  return std::move(*data);
}

} // namespace

bool is_private_key_name(std::string_view name)
{
  return std::find(k_private_key_names.begin(), k_private_key_names.end(), name) != k_private_key_names.end();
}

KeyFiles key_directory_files(const fs::path& directory)
{
  std::optional<util::DirFd> opened;
  try {
    opened.emplace(directory);
  } catch (const Error& e) {
    if (e.code() == Errc::permission) {
      throw Error(Errc::permission, "cannot read " + util::quote(directory));
    }
    throw;
  }
  return key_directory_files(std::move(*opened));
}

KeyFiles key_directory_files(util::DirFd directory)
{
  return require_certificate(scan_key_directory(std::move(directory)));
}

std::optional<Bytes> read_key_directory_file(const KeyFiles& files, std::string_view name)
{
  if (!files.opened) {
    throw Error(Errc::failure, "key directory " + util::quote(files.directory) + " is not open");
  }
  return files.opened->read_regular(name, util::k_small_file_limit);
}

Bytes key_directory_certificate(const KeyFiles& files)
{
  return certificate_der_in(read_named(files, files.certificate), files.certificate);
}

SigningKey key_directory_signing_key(const KeyFiles& files, const std::optional<std::string>& passphrase)
{
  if (files.key.empty()) {
    throw Error(Errc::failure, "key directory " + util::quote(files.directory) + " has no private key");
  }
  return signing_key_in(read_named(files, files.key), files.key, key_directory_certificate(files), files.certificate,
                        passphrase);
}

fs::file_time_type key_directory_key_time(const KeyFiles& files)
{
  const fs::path& file = files.key.empty() ? files.certificate : files.key;
  const std::optional<struct stat> st = files.opened ? files.opened->status(file.filename().native()) : std::nullopt;
  if (!st) {
    throw Error(Errc::failure, "cannot stat " + util::quote(file));
  }
  const auto since_epoch = std::chrono::seconds(st->st_mtim.tv_sec) + std::chrono::nanoseconds(st->st_mtim.tv_nsec);
  return std::chrono::file_clock::from_sys(
    std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch)));
}

void check_key_directory(const KeyFiles& files, const std::optional<std::string>& passphrase)
{
  const Bytes certificate = key_directory_certificate(files);
  for (const std::string_view name : k_private_key_names) {
    if (!holds_file(*files.opened, name)) {
      continue;
    }
    const fs::path key_file = files.directory / name;
    const EvpPkeyPtr key = private_key_in(read_named(files, key_file), key_file, passphrase);
    if (!key_matches_certificate(key.get(), certificate, "the certificate " + util::quote(files.certificate))) {
      throw Error(Errc::failure, "the private key " + util::quote(key_file) + " does not match the certificate "
                                   + util::quote(files.certificate) + " beside it");
    }
  }
}

std::vector<std::string> complete_key_directory(const fs::path& directory)
{
  const KeyFiles files = key_directory_files(directory);
  const util::DirFd& opened = *files.opened;
  std::vector<std::string> added;
  const Bytes der = key_directory_certificate(files);
  const std::string cert_pem = certificate_pem(parse_certificate(der, "the certificate " + util::quote(files.certificate)).get());
  if (!holds_file(opened, k_cert_der)) {
    opened.replace(k_cert_der, der, 0644);
    added.emplace_back(k_cert_der);
  }
  if (!holds_file(opened, k_cert_pem)) {
    opened.replace(k_cert_pem, as_bytes(cert_pem), 0644);
    added.emplace_back(k_cert_pem);
  }
  if (files.key.empty()) {
    return added; // certificates only (ksign install --public)
  }
  const std::string key_block = private_key_block(text_of(read_named(files, files.key)));
  if (key_block.empty()) {
    throw Error(Errc::failure, util::quote(files.key) + " holds no PEM private key");
  }
  if (!holds_file(opened, k_private_pem)) {
    opened.replace(k_private_pem, as_bytes(key_block), 0600);
    added.emplace_back(k_private_pem);
  }
  if (!holds_file(opened, k_key_pem)) {
    opened.replace(k_key_pem, as_bytes(key_block + cert_pem), 0600);
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
  const Bytes installed_der = key_directory_certificate(found.installed);
  const X509Ptr certificate = parse_certificate(installed_der, "the certificate " + util::quote(found.certificate));
  found.key_id = key_link_name(certificate.get());
  if (!found.installed.key.empty()) {
    found.key = found.installed.key;
    found.holder = found.installed;
    return found;
  }

  // Installed with the certificates only: the registry's link leads to the private key. The
  // link is followed (it is the registered way to the key); nothing inside the directory it
  // leads to is.
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
    registered = scan_key_directory(util::DirFd(found.link));
  } catch (const Error& e) {
    if (e.code() != Errc::permission) {
      throw; // a link or a FIFO where a key file belongs: refused, not worked around
    }
    found.problem = KernelKeyFiles::LinkProblem::unreadable;
    return found;
  }
  if (registered.key.empty() || registered.certificate.empty()) {
    found.problem = KernelKeyFiles::LinkProblem::no_private_key;
    return found;
  }
  if (key_directory_certificate(registered) != installed_der) {
    found.problem = KernelKeyFiles::LinkProblem::other_certificate;
    return found;
  }
  found.key = registered.key;
  found.holder = std::move(registered);
  return found;
}

SigningKey load_kernel_signing_key(const KernelKeyFiles& files, const std::optional<std::string>& passphrase)
{
  if (files.key.empty() || files.holder.key.empty()) {
    throw Error(Errc::failure, "no private key for the certificate " + util::quote(files.certificate));
  }
  return signing_key_in(read_named(files.holder, files.holder.key), files.holder.key,
                        key_directory_certificate(files.installed), files.installed.certificate, passphrase);
}

} // namespace ksign::core
