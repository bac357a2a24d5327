// SPDX-License-Identifier: MIT
#pragma once

#include "cli/trust_text.hpp"
#include "core/installed_kernel.hpp"
#include "core/keystore.hpp"
#include "util/json_writer.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

// The installed-kernel rows of `keys --show` and `status`, worded once: a kernel's release, the
// ksign key it carries and whether its own image trusts that key.
namespace ksign::cli {

// "  6.12.9-arch1-1                   <key_text>; trusted by its image (vmlinux, symbols)", the
// release (escaped) padded to 32 columns; "  <release>  no ksign key" for a kernel without one;
// "  <release>  <why>" for one whose key cannot be read. `key_text` is what the command says of
// the key itself ("ksign key X, 3d old"); `trust` is empty only for a kernel without a key.
[[nodiscard]] std::string kernel_row_text(const core::KernelKey& kernel, std::string_view key_text,
                                          const std::optional<core::ImageKeyTrust>& trust);

// The same kernel as one object of the open JSON array: "release", "has_ksign_key"; for a kernel
// with a key "key_id", then what `key_fields` adds, then "image_trusts_key" (a
// core::signer_trust_name, null when no image could be read) with "image" and "method", or
// "problem" saying why no image was read; "problem" too for a kernel whose key cannot be read.
void kernel_row_json(util::JsonWriter& json, const core::KernelKey& kernel, const std::optional<core::ImageKeyTrust>& trust,
                     const std::function<void(util::JsonWriter&)>& key_fields = {});

} // namespace ksign::cli
