// SPDX-License-Identifier: MIT
#include "core/keystore_state.hpp"

#include "core/certificate.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <string>

namespace ksign::core {

namespace fs = std::filesystem;

KeyStoreState key_store_state(const fs::path& store, const fs::path& moduledir, const RefreshPolicy& policy)
{
  KeyStoreState state;
  state.current = current_key(store);
  state.kernels = installed_kernel_keys(moduledir);
  std::error_code ec;
  if (fs::is_directory(store, ec)) {
    for (const fs::path& directory : key_directories(store)) {
      try {
        state.fingerprints.push_back(fingerprint_sha256(parse_certificate(key_directory_certificate(key_directory_files(directory))).get()));
      } catch (const Error&) {
        // not a key directory after all (no certificate): it holds no key a kernel could carry
      }
    }
  }
  if (state.current) {
    const KeyFiles files = current_certificate_files(store);
    const X509Ptr certificate = parse_certificate(key_directory_certificate(files), "the certificate " + util::quote(files.certificate));
    state.fingerprint = fingerprint_sha256(certificate.get());
    state.key_id = subject_key_id_hex(certificate.get());
    state.subject = subject_name(certificate.get());
    state.created = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(state.current->created));
    if (!policy.always) {
      state.next_refresh = state.created + policy.max_age;
    }
  }
  return state;
}

} // namespace ksign::core
