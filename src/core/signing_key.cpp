// SPDX-License-Identifier: MIT
#include "core/signing_key.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/pkcs11_key.hpp"

#include <sys/stat.h>

#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

std::variant<KeySource, KeySourceConflict> choose_key_source(const KeySourceRequest& request)
{
  if (request.key) {
    if (request.kernel) {
      return KeySourceConflict::key_and_kernel;
    }
    if (request.store_named) {
      return KeySourceConflict::key_and_store;
    }
    return KeySource::files;
  }
  if (request.certificate) {
    return KeySourceConflict::certificate_without_key;
  }
  if (request.kernel) {
    return request.store_named ? std::variant<KeySource, KeySourceConflict>(KeySourceConflict::kernel_and_store)
                               : KeySource::kernel;
  }
  return KeySource::store;
}

bool key_needs_certificate(const fs::path& key)
{
  return !is_pkcs11_uri(key.native()) && !holds_certificate(key);
}

std::optional<fs::path> certificate_beside(const fs::path& key)
{
  for (const std::string_view name : {k_cert_der, k_cert_pem, k_key_pem}) {
    const fs::path beside = key.parent_path() / name;
    std::error_code ec;
    if (beside != key && fs::is_regular_file(beside, ec)) {
      return beside;
    }
  }
  return std::nullopt;
}

std::optional<KeyFileExposure> key_file_exposure(const fs::path& key)
{
  struct stat st {};
  if (::stat(key.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) {
    return std::nullopt;
  }
  return KeyFileExposure{static_cast<mode_t>(st.st_mode & 07777), (st.st_mode & 044) != 0};
}

} // namespace ksign::core
