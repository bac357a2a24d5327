// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/key_types.hpp"
#include "core/keys.hpp"
#include "util/error.hpp"
#include "util/bytes.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

inline constexpr std::string_view k_trusted_keys_option = "CONFIG_SYSTEM_TRUSTED_KEYS";
// Linux 7.x: let ML-DSA module signatures with signed attributes through.
inline constexpr std::string_view k_mldsa_waiver_option = "CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA";

// A kernel .config as text. Values keep the config's spelling, quotes removed:
// value("CONFIG_MODULE_SIG_HASH") is "sha512"; an option that is "not set" or absent has no value.
class KernelConfig
{
public:
  KernelConfig(std::filesystem::path path, std::string text);

  // The config in the file `path`, which must look like a kernel config (config_text_problem):
  // anything else throws Error(Errc::failure) naming the file and what is wrong with it.
  [[nodiscard]] static KernelConfig read(const std::filesystem::path& path);

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] const std::string& text() const { return m_text; }
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const;
  // True for "=y" (and "=m", which no signing option takes but is still "on").
  [[nodiscard]] bool enabled(std::string_view option) const;

private:
  std::filesystem::path m_path;
  std::string m_text;
};

// Why `text` is not a kernel config, or nullopt when it looks like one: every line is blank, a
// comment ("# CONFIG_X is not set" among them) or a CONFIG_ assignment, and at least one sets
// (or unsets) CONFIG_MODULES or a CONFIG_MODULE_SIG option. ksign writes into configs, so it
// must not take an ELF binary, a passwd copy or any other text for one.
[[nodiscard]] std::optional<std::string> config_text_problem(std::string_view text);

// Why `value` cannot be written into a config as a quoted string (a newline, quote, backslash
// or other control character would end the value or start lines of its own), or nullopt.
[[nodiscard]] std::optional<std::string> config_value_problem(std::string_view value);

// Throws Error(Errc::failure) "cannot name 'value' in OPTION: <problem>" when `value` has one.
void require_config_value(std::string_view option, std::string_view value);

// What a config asks of the module-signing key.
struct SigningSettings
{
  KeyType key_type = KeyType::rsa;
  HashAlgo hash = k_default_hash;
};

// Key type from CONFIG_MODULE_SIG_KEY_TYPE_* and hash from CONFIG_MODULE_SIG_HASH (sha512 when
// absent). Kconfig always writes one key type into a config with module signing, so a config
// without one was not written by it (or is older than Linux 5.13): no type is guessed, and
// Error(Errc::failure) names the missing options. So does a hash ksign cannot sign with.
[[nodiscard]] SigningSettings signing_settings(const KernelConfig& config);

// `text` with CONFIG_SYSTEM_TRUSTED_KEYS set to `value` (quoted): the existing line (set, empty or
// "# ... is not set") is replaced in place, otherwise a line is appended. Every other byte is kept.
// A value with a config_value_problem() throws Error(Errc::failure).
[[nodiscard]] std::string with_trusted_keys(std::string_view text, const std::string& value);

// What set_trusted_keys did to a config.
struct TrustedKeysUpdate
{
  bool changed = false;
  // Set when `path` was a symbolic link that was replaced by the edited config: the file the link
  // led to, which is left as it was.
  std::optional<std::filesystem::path> replaced_link_to;
};

// Point CONFIG_SYSTEM_TRUSTED_KEYS of the config file `path` at `certificate`. The file is replaced
// atomically, and only when it changes (so make sees no new mtime). ksign never writes through a
// link: when `path` is a symbolic link (makepkg links $srcdir/config to the PKGBUILD's own
// config, whose checksum the PKGBUILD pins), the link itself is replaced by a regular file holding
// the edited config, with the mode of the file it led to, and that file stays as it was. A file
// that is not a kernel config, or a certificate path that cannot be written into one, throws Error
// and changes nothing.
[[nodiscard]] TrustedKeysUpdate set_trusted_keys(const std::filesystem::path& path,
                                                 const std::filesystem::path& certificate);

// Config files named by `patterns`: each a file name or a shell glob ('../config.*'). A glob that
// matches nothing, or a file that does not exist, is an Error(Errc::failure). Duplicates are dropped.
[[nodiscard]] std::vector<std::filesystem::path> expand_config_patterns(std::span<const std::string> patterns);

// One finding of check_signing_config().
struct ConfigFinding
{
  enum class Level { ok, warning, error };
  Level level;
  std::string option;  // e.g. "CONFIG_MODULE_SIG"
  std::string message; // what is wrong or right, lowercase
  // What ksign itself can do about it (the command names how).
  enum class Fix { none, trust_current_key };
  Fix fix = Fix::none;
};

// The settings every config in `configs` asks for. They must agree, since all get the same
// key: throws Error naming two that disagree.
[[nodiscard]] SigningSettings agreed_signing_settings(std::span<const std::filesystem::path> configs);

// The module-signing settings kernel-sign's documentation recommends (chapter 3.1), judged.
// With `current_certificate` (DER: the key store's current key), a CONFIG_SYSTEM_TRUSTED_KEYS
// file that does not hold it is a warning: the kernel built from it would refuse that key.
[[nodiscard]] std::vector<ConfigFinding> check_signing_config(const KernelConfig& config,
                                                              ByteView current_certificate = {});

// The file CONFIG_SYSTEM_TRUSTED_KEYS names (a relative name is relative to the config's
// directory, the top of the kernel tree), or nullopt when it is not set.
[[nodiscard]] std::optional<std::filesystem::path> trusted_keys_file(const KernelConfig& config);

// Whether the kernel built from a config trusts a certificate: the one rule that `config`
// reports on and `install` enforces.
struct TrustedKeysCheck
{
  enum class State {
    not_set,    // CONFIG_SYSTEM_TRUSTED_KEYS is not set, or empty
    missing,    // it names `file`, which does not exist
    unreadable, // `file` holds no certificate that can be read: `error`
    not_held,   // `file` does not hold the certificate
    held,       // `file` holds it (any readable file, when no certificate is asked about)
  };
  State state = State::not_set;
  std::filesystem::path file;   // trusted_keys_file(config)
  bool private_key = false;     // `file` holds a private key too (a kernel tree needs only certificates)
  std::size_t certificates = 0; // how many `file` holds
  std::optional<Error> error;
};
[[nodiscard]] TrustedKeysCheck check_trusted_keys(const KernelConfig& config, ByteView certificate);

} // namespace ksign::core
