// SPDX-License-Identifier: MIT
// Where the real kernels the unit tests read are: the qemu testbeds and a Debian kernel package.
#pragma once

#include "catch.hpp"

#include "core/keyrings.hpp"
#include "util/bytes.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Catch2 v3 can skip a test; v2 can only say why it did nothing.
#if __has_include(<catch2/catch_all.hpp>)
#define KSIGN_SKIP(reason) SKIP(reason)
#else
#define KSIGN_SKIP(reason)                                                                                   \
  do {                                                                                                       \
    WARN("skipped: " << (reason));                                                                           \
    return;                                                                                                  \
  } while (false)
#endif

namespace ksign::test {

// The 6.12 testbed: $KSIGN_TESTBED_6, else $KSIGN_SOURCE_ROOT/../shared/testbed; nullopt when
// it is not there (the reason is in `why`).
[[nodiscard]] std::optional<std::filesystem::path> testbed_6(std::string& why);
// The 7.2 testbed: $KSIGN_TESTBED_7, else a "testbed-7" beside the 6.12 testbed.
[[nodiscard]] std::optional<std::filesystem::path> testbed_7(std::string& why);

// The DER of every certificate in a PEM or DER file.
[[nodiscard]] std::vector<Bytes> certificates_der(const std::filesystem::path& file);

// The repository's tests/data directory.
[[nodiscard]] std::filesystem::path test_data();

// Text of a file.
[[nodiscard]] std::string read_text(const std::filesystem::path& file);

// Run a shell command; true when it exits 0.
bool run(const std::string& command);

// `s` quoted for a POSIX shell.
[[nodiscard]] std::string shell_quote(const std::string& s);

// The system keyrings of a kernel recorded in tests/data/proc-keys: its /proc/keys `name` and,
// when recorded, `members` ("<keyring serial>: <member serials>", read with KEYCTL_READ in the
// same boot); without that file every key is builtin's (a kernel with builtin alone).
// keyctl search as the recorded kernels answer root: the system keys grant others view (and
// read), not search, so the kernel finds nothing (EACCES) and ksign reads the members instead.
[[nodiscard]] std::optional<std::uint32_t> search_denied(std::uint32_t keyring, const core::SignerReference& signer);

[[nodiscard]] core::RunningKeys recorded_keyrings(const std::string& name, const std::string& members = {});

} // namespace ksign::test
