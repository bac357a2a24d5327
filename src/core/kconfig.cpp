// SPDX-License-Identifier: MIT
#include "core/kconfig.hpp"

#include "core/certificate.hpp"
#include "core/keygen.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <glob.h>

#include <algorithm>
#include <set>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

// Calls `visit(offset, line)` for every line of `text`, without its newline.
template<typename Visit> void for_each_line(std::string_view text, Visit&& visit)
{
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    visit(begin, text.substr(begin, end - begin));
    begin = end + 1;
  }
}

// Which option a line sets, and to what: "CONFIG_X=v" or "# CONFIG_X is not set" (no value).
struct ConfigLine
{
  std::string_view option;
  std::optional<std::string_view> raw_value;
};

std::optional<ConfigLine> parse_line(std::string_view line)
{
  if (line.starts_with("CONFIG_")) {
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return std::nullopt;
    }
    return ConfigLine{line.substr(0, equals), line.substr(equals + 1)};
  }
  constexpr std::string_view unset_prefix = "# ";
  constexpr std::string_view unset_suffix = " is not set";
  if (line.starts_with(unset_prefix) && line.ends_with(unset_suffix)) {
    const std::string_view option =
      line.substr(unset_prefix.size(), line.size() - unset_prefix.size() - unset_suffix.size());
    if (option.starts_with("CONFIG_") && option.find(' ') == std::string_view::npos) {
      return ConfigLine{option, std::nullopt};
    }
  }
  return std::nullopt;
}

// A Kconfig string value without its quotes and backslash escapes; other values as they are.
std::string unquote(std::string_view raw)
{
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') {
    return std::string(raw);
  }
  std::string value;
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 2 < raw.size()) {
      ++i;
    }
    value += raw[i];
  }
  return value;
}

std::string quote_value(std::string_view value)
{
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return quoted + "\"";
}

bool has_glob_characters(std::string_view pattern)
{
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

struct KeyTypeOption
{
  std::string_view option;
  KeyType type;
};

constexpr KeyTypeOption k_key_type_options[] = {
  {"CONFIG_MODULE_SIG_KEY_TYPE_RSA", KeyType::rsa},
  {"CONFIG_MODULE_SIG_KEY_TYPE_ECDSA", KeyType::ec},
  {"CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_44", KeyType::ml_dsa_44},
  {"CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_65", KeyType::ml_dsa_65},
  {"CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_87", KeyType::ml_dsa_87},
};

} // namespace

KernelConfig::KernelConfig(fs::path path, std::string text) : m_path(std::move(path)), m_text(std::move(text)) {}

std::optional<std::string> config_text_problem(std::string_view text)
{
  if (text.find('\0') != std::string_view::npos) {
    return "it is a binary file";
  }
  std::optional<std::string> problem;
  bool module_line = false;
  std::size_t number = 0;
  for_each_line(text, [&](std::size_t, std::string_view line) {
    ++number;
    if (problem) {
      return;
    }
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    const std::string_view content = util::trim(line);
    if (content.empty()) {
      return;
    }
    const std::optional<ConfigLine> parsed = parse_line(line);
    if (parsed) {
      const std::string_view name = parsed->option;
      const bool well_formed = name.size() > 7 && name.find_first_not_of(
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
      if (!well_formed) {
        problem = "line " + std::to_string(number) + " sets no CONFIG_ option";
        return;
      }
      module_line = module_line || name == "CONFIG_MODULES" || name.starts_with("CONFIG_MODULE_SIG");
      return;
    }
    if (!content.starts_with('#')) {
      problem = "line " + std::to_string(number) + " is neither a CONFIG_ option nor a comment";
    }
  });
  if (problem) {
    return problem;
  }
  if (!module_line) {
    return "it has no CONFIG_MODULES or CONFIG_MODULE_SIG line";
  }
  return std::nullopt;
}

std::optional<std::string> config_value_problem(std::string_view value)
{
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      return "it holds a newline";
    }
    if (c == '"' || c == '\\') {
      return std::string("it holds a ") + (c == '"' ? "quote" : "backslash");
    }
    if (byte < 0x20 || byte == 0x7f) {
      return "it holds a control character";
    }
  }
  return std::nullopt;
}

void require_config_value(std::string_view option, std::string_view value)
{
  if (const auto problem = config_value_problem(value)) {
    throw Error(Errc::failure, "cannot name " + util::quote(value) + " in " + std::string(option) + ": " + *problem);
  }
}

KernelConfig KernelConfig::read(const fs::path& path)
{
  const Bytes data = util::read_file(path, util::k_small_file_limit);
  std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  if (const auto problem = config_text_problem(text)) {
    throw Error(Errc::failure, util::quote(path) + " is not a kernel config: " + *problem);
  }
  return KernelConfig(path, std::move(text));
}

std::optional<std::string> KernelConfig::value(std::string_view option) const
{
  // The last assignment wins, as in Kconfig.
  std::optional<std::string> found;
  for_each_line(m_text, [&](std::size_t, std::string_view line) {
    const std::optional<ConfigLine> parsed = parse_line(line);
    if (parsed && parsed->option == option) {
      found = parsed->raw_value ? std::optional<std::string>(unquote(*parsed->raw_value)) : std::nullopt;
    }
  });
  return found;
}

bool KernelConfig::enabled(std::string_view option) const
{
  const std::optional<std::string> v = value(option);
  return v && (*v == "y" || *v == "m");
}

SigningSettings signing_settings(const KernelConfig& config)
{
  SigningSettings settings;
  bool have_key_type = false;
  std::string options;
  for (const KeyTypeOption& entry : k_key_type_options) {
    if (config.enabled(entry.option)) {
      settings.key_type = entry.type;
      have_key_type = true;
    }
    options += std::string(options.empty() ? "" : ", ") + std::string(entry.option);
  }
  if (!have_key_type) {
    throw Error(Errc::failure, util::quote(config.path()) + " sets no module-signing key type: none of " + options
                                 + " is =y (kernels before 5.13 sign with RSA only: add "
                                   "CONFIG_MODULE_SIG_KEY_TYPE_RSA=y for them)");
  }
  if (const std::optional<std::string> name = config.value("CONFIG_MODULE_SIG_HASH")) {
    const std::optional<HashAlgo> hash = parse_hash(*name);
    if (!hash || !can_sign_with(*hash)) {
      throw Error(Errc::failure, "CONFIG_MODULE_SIG_HASH=\"" + *name + "\" in " + util::quote(config.path())
                                  + " is not a hash ksign signs with");
    }
    settings.hash = *hash;
  }
  return settings;
}

std::string with_trusted_keys(std::string_view text, const std::string& value)
{
  require_config_value(k_trusted_keys_option, value);
  const std::string new_line = std::string(k_trusted_keys_option) + "=" + quote_value(value);
  std::string result;
  result.reserve(text.size() + new_line.size() + 1);
  bool replaced = false;
  std::size_t copied = 0;
  for_each_line(text, [&](std::size_t begin, std::string_view line) {
    const std::optional<ConfigLine> parsed = parse_line(line);
    if (parsed && parsed->option == k_trusted_keys_option) {
      result.append(text.substr(copied, begin - copied));
      result += new_line;
      copied = begin + line.size();
      replaced = true;
    }
  });
  result.append(text.substr(copied));
  if (!replaced) {
    if (!result.empty() && result.back() != '\n') {
      result += '\n';
    }
    result += new_line + "\n";
  }
  return result;
}

TrustedKeysUpdate set_trusted_keys(const fs::path& path, const fs::path& certificate)
{
  // A link is read through, and replaced itself: its target belongs to someone else (makepkg's
  // $srcdir/config leads to the PKGBUILD's file, checked against a pinned checksum).
  std::error_code ec;
  const bool link = fs::is_symlink(fs::symlink_status(path, ec));
  std::optional<fs::path> link_target;
  if (link) {
    link_target = fs::canonical(path, ec);
    if (ec) {
      throw Error(Errc::failure, "cannot follow the symbolic link " + util::quote(path) + ": " + ec.message());
    }
  }
  const KernelConfig config = KernelConfig::read(path);
  const std::string updated = with_trusted_keys(config.text(), certificate.string());
  if (updated == config.text()) {
    return {};
  }
  util::ReplaceOptions options;
  options.replace_link = true;
  // A copy in place of a link takes the linked file's mode and, when it can, its owner.
  options.owner_best_effort = link;
  util::replace_file_atomically(path, ByteView(reinterpret_cast<const std::uint8_t*>(updated.data()), updated.size()),
                                options);
  return {true, link_target};
}

std::vector<fs::path> expand_config_patterns(std::span<const std::string> patterns)
{
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  const auto add = [&](const fs::path& file) {
    // Only existence here: what is not a regular file is refused, by its kind, when read.
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      throw Error(Errc::failure, "kernel config " + util::quote(file) + " does not exist");
    }
    if (seen.insert(fs::weakly_canonical(file)).second) {
      files.push_back(file);
    }
  };
  for (const std::string& pattern : patterns) {
    if (!has_glob_characters(pattern)) {
      add(pattern);
      continue;
    }
    glob_t matches{};
    const int status = ::glob(pattern.c_str(), 0, nullptr, &matches);
    std::vector<fs::path> found;
    for (std::size_t i = 0; status == 0 && i < matches.gl_pathc; ++i) {
      found.emplace_back(matches.gl_pathv[i]);
    }
    ::globfree(&matches);
    if (status == GLOB_NOMATCH || (status == 0 && found.empty())) {
      throw Error(Errc::failure, "no kernel config matches " + util::quote(pattern));
    }
    if (status != 0) {
      throw Error(Errc::failure, "cannot expand " + util::quote(pattern));
    }
    for (const fs::path& file : found) {
      // A glob like 'config*' also matches editor backups and directories; take files only.
      std::error_code ec;
      if (fs::is_regular_file(file, ec)) {
        add(file);
      }
    }
  }
  return files;
}

SigningSettings agreed_signing_settings(std::span<const fs::path> configs)
{
  std::optional<SigningSettings> agreed;
  fs::path first;
  for (const fs::path& path : configs) {
    const SigningSettings settings = signing_settings(KernelConfig::read(path));
    if (!agreed) {
      agreed = settings;
      first = path;
      continue;
    }
    if (settings.key_type != agreed->key_type || settings.hash != agreed->hash) {
      throw Error(Errc::failure,
                  "kernel configs disagree: " + util::quote(first) + " asks for a " + std::string(key_type_name(agreed->key_type))
                    + " key with " + std::string(hash_name(agreed->hash)) + ", " + util::quote(path) + " for a "
                    + std::string(key_type_name(settings.key_type)) + " key with " + std::string(hash_name(settings.hash))
                    + " (all configs get the same key)");
    }
  }
  if (!agreed) {
    throw Error(Errc::failure, "no kernel config");
  }
  return *agreed;
}

std::optional<fs::path> trusted_keys_file(const KernelConfig& config)
{
  const std::optional<std::string> trusted = config.value(k_trusted_keys_option);
  if (!trusted || trusted->empty()) {
    return std::nullopt;
  }
  fs::path file = *trusted;
  if (file.is_relative()) {
    file = config.path().parent_path() / file;
  }
  return file;
}

TrustedKeysCheck check_trusted_keys(const KernelConfig& config, ByteView certificate)
{
  TrustedKeysCheck check;
  const std::optional<fs::path> file = trusted_keys_file(config);
  if (!file) {
    return check;
  }
  check.file = *file;
  if (std::error_code ec; !fs::is_regular_file(check.file, ec)) {
    check.state = TrustedKeysCheck::State::missing;
    return check;
  }
  const Bytes data = util::read_file(check.file, util::k_small_file_limit);
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  check.private_key = text.find("PRIVATE KEY-----") != std::string_view::npos;
  std::vector<X509Ptr> held;
  try {
    held = load_certificates(check.file);
  } catch (const Error& e) {
    check.state = TrustedKeysCheck::State::unreadable;
    check.error = e;
    return check;
  }
  check.certificates = held.size();
  const bool holds = certificate.empty() || std::ranges::any_of(held, [&](const X509Ptr& one) {
    return std::ranges::equal(certificate_der(one.get()), certificate);
  });
  check.state = holds ? TrustedKeysCheck::State::held : TrustedKeysCheck::State::not_held;
  return check;
}

std::vector<ConfigFinding> check_signing_config(const KernelConfig& config, ByteView current_certificate)
{
  using Level = ConfigFinding::Level;
  std::vector<ConfigFinding> findings;
  const auto report = [&](Level level, std::string option, std::string message) {
    findings.push_back({level, std::move(option), std::move(message)});
  };

  if (config.enabled("CONFIG_MODULE_SIG")) {
    report(Level::ok, "CONFIG_MODULE_SIG", "module signatures are checked");
  } else {
    report(Level::error, "CONFIG_MODULE_SIG", "not set: the kernel does not check module signatures");
  }

  if (config.enabled("CONFIG_MODULE_SIG_FORCE")) {
    report(Level::ok, "CONFIG_MODULE_SIG_FORCE", "unsigned modules are refused (make sure every module is signed)");
  } else {
    report(Level::ok, "CONFIG_MODULE_SIG_FORCE",
           "not set: enforce at boot with module.sig_enforce=1 once signing works");
  }

  const std::optional<std::string> hash_name_value = config.value("CONFIG_MODULE_SIG_HASH");
  if (!hash_name_value) {
    report(Level::error, "CONFIG_MODULE_SIG_HASH", "not set (set one hash, e.g. CONFIG_MODULE_SIG_SHA512=y)");
  } else {
    const std::optional<HashAlgo> hash = parse_hash(*hash_name_value);
    if (!hash || !can_sign_with(*hash)) {
      report(Level::error, "CONFIG_MODULE_SIG_HASH", "\"" + *hash_name_value + "\" is not a hash ksign signs with");
    } else if (*hash == HashAlgo::sha512 || *hash == HashAlgo::sha3_512 || *hash == HashAlgo::sha3_384
               || *hash == HashAlgo::sha384) {
      report(Level::ok, "CONFIG_MODULE_SIG_HASH", *hash_name_value);
    } else {
      report(Level::warning, "CONFIG_MODULE_SIG_HASH", *hash_name_value + ": sha512 or sha3-512 is recommended");
    }
  }

  std::optional<KeyType> key_type;
  for (const KeyTypeOption& entry : k_key_type_options) {
    if (config.enabled(entry.option)) {
      key_type = entry.type;
    }
  }
  if (!key_type) {
    report(Level::error, "CONFIG_MODULE_SIG_KEY_TYPE",
           "no key type set (set CONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y, or _RSA=y for a kernel before 5.13)");
  } else if (*key_type == KeyType::rsa) {
    report(Level::warning, "CONFIG_MODULE_SIG_KEY_TYPE_RSA", "RSA keys work; ECDSA keys are recommended");
  } else {
    report(Level::ok, "CONFIG_MODULE_SIG_KEY_TYPE", std::string(key_type_name(*key_type)));
  }

  if (config.enabled("CONFIG_MODULE_COMPRESS_ZSTD")) {
    report(Level::ok, "CONFIG_MODULE_COMPRESS_ZSTD", "modules are zstd-compressed");
  } else {
    report(Level::warning, "CONFIG_MODULE_COMPRESS_ZSTD", "not set: zstd module compression is recommended");
  }

  if (config.enabled("CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS")) {
    report(Level::warning, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS",
           "set: modules with missing namespace imports load anyway; turn it off");
  } else {
    report(Level::ok, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS", "not set");
  }

  if (!config.enabled("CONFIG_SYSTEM_TRUSTED_KEYRING")) {
    report(Level::error, "CONFIG_SYSTEM_TRUSTED_KEYRING", "not set: CONFIG_SYSTEM_TRUSTED_KEYS has no effect");
  }
  const std::string option(k_trusted_keys_option);
  const TrustedKeysCheck trusted = check_trusted_keys(config, current_certificate);
  const std::string file = util::quote(trusted.file);
  switch (trusted.state) {
  case TrustedKeysCheck::State::not_set:
    findings.push_back({Level::error, option, "not set: the kernel will not trust ksign's key", ConfigFinding::Fix::trust_current_key});
    break;
  case TrustedKeysCheck::State::missing:
    report(Level::error, option, file + " does not exist");
    break;
  case TrustedKeysCheck::State::unreadable:
  case TrustedKeysCheck::State::not_held:
  case TrustedKeysCheck::State::held:
    if (trusted.private_key) {
      report(Level::error, option, file + " holds a private key; name a certificate-only file (signing_crt.pem)");
    } else if (trusted.state == TrustedKeysCheck::State::unreadable) {
      report(Level::error, option, trusted.error->what());
    } else if (trusted.state == TrustedKeysCheck::State::not_held) {
      findings.push_back({Level::warning, option,
                          file + " does not hold the key store's current key: a kernel built with it refuses modules "
                                 "signed with that key",
                          ConfigFinding::Fix::trust_current_key});
    } else {
      report(Level::ok, option,
             file + " (" + std::to_string(trusted.certificates) + (trusted.certificates == 1 ? " certificate)" : " certificates)"));
    }
    break;
  }
  return findings;
}

} // namespace ksign::core
