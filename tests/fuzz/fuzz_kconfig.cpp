// SPDX-License-Identifier: MIT
// Kernel config parse and round trip (src/core/kconfig.*). The input's first line is a key-store
// path, the rest a .config. Parse, write CONFIG_SYSTEM_TRUSTED_KEYS, parse again: the new value
// reads back, no other option changes, and writing it a second time changes nothing.
#include "fuzz_support.hpp"

#include "core/kconfig.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace {

// The options ksign reads from a config; their values must survive the write.
constexpr std::string_view k_watched[] = {
  "CONFIG_MODULES", "CONFIG_MODULE_SIG", "CONFIG_MODULE_SIG_FORCE", "CONFIG_MODULE_SIG_ALL",
  "CONFIG_MODULE_SIG_HASH", "CONFIG_MODULE_SIG_KEY", "CONFIG_MODULE_SIG_KEY_TYPE_RSA",
  "CONFIG_MODULE_SIG_KEY_TYPE_ECDSA", "CONFIG_SYSTEM_TRUSTED_KEYRING", "CONFIG_SYSTEM_TRUSTED_KEYS",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace ksign;
  const std::string_view whole(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = whole.find('\n');
  if (newline == std::string_view::npos) {
    return -1;
  }
  // The first line (which has no newline) is the value to write.
  const std::string value(whole.substr(0, newline));
  const core::KernelConfig before({}, std::string(whole.substr(newline + 1)));
  fuzz::expect_clean_rejection([&] { (void)core::check_signing_config(before); });

  // A value that cannot be written (quote, backslash, control character) is refused with a
  // typed error.
  if (core::config_value_problem(value)) {
    bool refused = false;
    try {
      (void)core::with_trusted_keys(before.text(), value);
    } catch (const Error&) {
      refused = true;
    }
    fuzz::require(refused, "a value with a problem is refused");
    return 0;
  }

  const core::KernelConfig after({}, core::with_trusted_keys(before.text(), value));
  fuzz::require(after.value(core::k_trusted_keys_option) == value, "the written value reads back");
  for (const std::string_view option : k_watched) {
    if (option != core::k_trusted_keys_option) {
      fuzz::require(before.value(option) == after.value(option), "other options keep their values");
    }
  }
  fuzz::require(core::with_trusted_keys(after.text(), value) == after.text(), "a second write changes nothing");
  return 0;
}
