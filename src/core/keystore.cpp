// SPDX-License-Identifier: MIT
#include "core/keystore.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

KeyFiles current_key_files(const fs::path& store)
{
  const fs::path link = store / k_current_link;
  std::error_code ec;
  if (!fs::exists(link, ec)) {
    throw Error(Errc::config, "no current key in " + util::quote(store) + " (" + util::quote(link)
                                + " is missing; make one with 'ksign keys')");
  }
  KeyFiles files;
  files.directory = fs::canonical(link, ec);
  if (ec) {
    throw Error(Errc::config, "cannot resolve " + util::quote(link) + ": " + ec.message());
  }
  files.key = files.directory / k_key_pem;
  if (!fs::exists(files.key)) {
    files.key = files.directory / k_private_pem;
  }
  files.certificate = files.directory / k_cert_der;
  if (!fs::exists(files.certificate)) {
    files.certificate = files.directory / k_cert_pem;
  }
  for (const fs::path& needed : {files.key, files.certificate}) {
    if (!fs::exists(needed)) {
      throw Error(Errc::config, "key directory " + util::quote(files.directory) + " has no "
                                  + needed.filename().string());
    }
  }
  const fs::path hash_path = files.directory / k_hash_file;
  if (fs::exists(hash_path)) {
    const Bytes text = util::read_file(hash_path);
    const std::string name = std::string(util::trim({reinterpret_cast<const char*>(text.data()), text.size()}));
    files.hash = parse_hash(name);
    if (!files.hash) {
      throw Error(Errc::config, "unknown hash '" + name + "' in " + util::quote(hash_path));
    }
  }
  return files;
}

fs::path kernel_key_store(const fs::path& moduledir, std::string_view kernel_release)
{
  return moduledir / std::string(kernel_release) / "build" / "certs-local";
}

} // namespace ksign::core
