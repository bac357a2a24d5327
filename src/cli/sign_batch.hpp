// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "util/bytes.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Signing many modules with one key, the way `sign -r` and `repair` both do it: in parallel,
// largest first, each module replaced atomically (a temporary beside it, renamed a batch at a
// time), temporaries of interrupted runs tidied first, a read-only file system told once, and
// a full disk worked through one module at a time.
namespace ksign::cli {

struct SignBatch
{
  std::optional<std::filesystem::path> output; // sign -o: one module, written there
  unsigned jobs = 0;                           // workers (0: one per CPU)
  std::string_view progress_verb = "signing";
  // Called with each module file's bytes before it is signed; throws Error to leave it as it is
  // (repair: the file must still be the one that was judged).
  std::function<void(std::size_t index, ByteView file)> accept;
  // Called once a module is signed and renamed into place, with "'PATH' (zstd), replacing its
  // old signature"; without it, that is a --verbose line.
  std::function<void(std::size_t index, const std::string& description)> on_signed;
  // Called for a module that was not signed, with the line already reported as an error.
  std::function<void(std::size_t index)> on_failed;
};

// Sign `modules` with `signer`; every failure is reported on `out` as an error naming the
// file. Returns the number of modules not signed.
[[nodiscard]] std::size_t sign_modules(const core::ModuleSigner& signer, const std::vector<core::ModuleFile>& modules,
                                       const SignBatch& batch, Output& out);

} // namespace ksign::cli
