// SPDX-License-Identifier: MIT
#include "cli/kernel_rows.hpp"

#include "cli/options.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

namespace ksign::cli {

std::string kernel_row_text(const core::KernelKey& kernel, std::string_view key_text,
                            const std::optional<core::ImageKeyTrust>& trust)
{
  // Escaped before padding, so that the columns stay aligned.
  const std::string release = util::escape(kernel.release);
  if (kernel.unreadable) {
    return fmt::format("  {:<32} {}", release, explained(*kernel.unreadable));
  }
  if (kernel.fingerprint.empty()) {
    return fmt::format("  {:<32} no ksign key", release);
  }
  if (!trust) {
    return fmt::format("  {:<32} {}", release, key_text);
  }
  return fmt::format("  {:<32} {}; {}", release, key_text, image_key_trust_text(*trust));
}

void kernel_row_json(util::JsonWriter& json, const core::KernelKey& kernel, const std::optional<core::ImageKeyTrust>& trust,
                     const std::function<void(util::JsonWriter&)>& key_fields)
{
  json.array_begin_object();
  json.object_string("release", kernel.release);
  json.object_bool("has_ksign_key", !kernel.fingerprint.empty());
  if (!kernel.fingerprint.empty()) {
    json.object_string("key_id", kernel.key_id);
    if (key_fields) {
      key_fields(json);
    }
    if (trust) {
      if (trust->trust) {
        json.object_string("image_trusts_key", core::signer_trust_name(*trust->trust));
        json.object_string("image", trust->sources.image.string());
        if (trust->method) {
          json.object_string("method", core::trust_method_name(*trust->method));
        }
      } else {
        json.object_null("image_trusts_key");
        json.object_string("problem", trust->problem);
      }
    }
  }
  if (kernel.unreadable) {
    json.object_string("problem", explained(*kernel.unreadable));
  }
  json.end();
}

} // namespace ksign::cli
