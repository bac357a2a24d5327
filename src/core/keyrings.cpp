// SPDX-License-Identifier: MIT
#include "core/keyrings.hpp"

#include "core/kernel_image.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <system_error>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::pair<SystemKeyring, std::string_view>, 5> k_keyring_names = {{
  {SystemKeyring::builtin, ".builtin_trusted_keys"},
  {SystemKeyring::secondary, ".secondary_trusted_keys"},
  {SystemKeyring::machine, ".machine"},
  {SystemKeyring::platform, ".platform"},
  {SystemKeyring::blacklist, ".blacklist"},
}};

// /proc/keys prints the type in 9 columns: "asymmetric" becomes "asymmetri".
constexpr std::string_view k_asymmetric_type = "asymmetri";
constexpr std::string_view k_keyring_type = "keyring";

std::optional<std::uint64_t> parse_number(std::string_view text, int base)
{
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// The next white-space separated field of `rest`, which is advanced past it.
std::string_view next_field(std::string_view& rest)
{
  const std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const std::size_t end = std::min(rest.find(' '), rest.size());
  const std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

[[noreturn]] void throw_line(std::size_t number, const std::string& why)
{
  throw Error(Errc::format, "/proc/keys line " + std::to_string(number) + ": " + why);
}

// "ksign testbed: testbed trusted RSA-4096: 9f65...727a: X509.rsa bb6f727a []"
ProcAsymmetricKey parse_asymmetric(std::uint32_t serial, std::string_view text)
{
  ProcAsymmetricKey key;
  key.serial = serial;
  std::string_view rest = text;
  if (rest.ends_with("]")) {
    const std::size_t open = rest.rfind(" [");
    if (open != std::string_view::npos) {
      rest = rest.substr(0, open);
    }
  }
  // The subtype's part ("X509.rsa bb6f727a") has no ": "; the description before it does.
  const std::size_t subtype = rest.rfind(": ");
  if (subtype != std::string_view::npos && rest.substr(subtype + 2).starts_with("X509.")) {
    const std::string_view described = rest.substr(subtype + 2);
    key.algorithm = std::string(described.substr(0, described.find(' ')));
    rest = rest.substr(0, subtype);
  }
  key.description = std::string(rest);
  const std::size_t id = rest.rfind(": ");
  if (id != std::string_view::npos) {
    key.subject = std::string(rest.substr(0, id));
    key.key_id = std::string(rest.substr(id + 2));
  } else {
    key.key_id = std::string(rest); // not the X.509 form "<subject>: <hex>": keep it whole
  }
  return key;
}

long keyctl(int operation, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
  return ::syscall(SYS_keyctl, operation, a, b, c, d);
}

std::optional<std::string> read_small_file(const fs::path& file)
{
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return std::nullopt;
  }
  const Bytes data = util::read_file(file, util::k_small_file_limit);
  return std::string(data.begin(), data.end());
}

} // namespace

std::string_view system_keyring_name(SystemKeyring keyring)
{
  for (const auto& [which, name] : k_keyring_names) {
    if (which == keyring) {
      return name;
    }
  }
  throw Error(Errc::failure, "unknown system keyring");
}

std::optional<SystemKeyring> parse_system_keyring(std::string_view name)
{
  for (const auto& [which, known] : k_keyring_names) {
    if (known == name) {
      return which;
    }
  }
  return std::nullopt;
}

ProcKeys parse_proc_keys(std::string_view text)
{
  ProcKeys keys;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (util::trim(line).empty()) {
      continue;
    }
    std::string_view rest = line;
    const std::string_view serial_text = next_field(rest);
    const std::string_view flags = next_field(rest);
    std::array<std::string_view, 5> fields; // usage, expiry, permissions, uid, gid
    for (std::string_view& field : fields) {
      field = next_field(rest);
    }
    const std::string_view type = next_field(rest);
    const auto serial = parse_number(serial_text, 16);
    if (!serial || serial_text.size() != 8 || flags.size() != 7 || type.empty() || !parse_number(fields[2], 16)) {
      throw_line(number, "not a line of /proc/keys");
    }
    // The type is printed in 9 columns and a space: the description starts right after.
    const std::size_t description_start = static_cast<std::size_t>(type.data() - line.data()) + 10;
    const std::string_view description = description_start < line.size() ? line.substr(description_start) : "";
    const auto key_serial = static_cast<std::uint32_t>(*serial);
    if (type == k_keyring_type) {
      ProcKeyring keyring;
      keyring.serial = key_serial;
      const std::size_t colon = description.rfind(": ");
      keyring.name = std::string(colon == std::string_view::npos ? description : description.substr(0, colon));
      if (colon != std::string_view::npos) {
        keyring.count = static_cast<std::size_t>(parse_number(description.substr(colon + 2), 10).value_or(0));
      }
      keys.keyrings.push_back(std::move(keyring));
    } else if (type == k_asymmetric_type) {
      keys.keys.push_back(parse_asymmetric(key_serial, description));
    }
  }
  return keys;
}

std::optional<std::vector<std::uint32_t>> keyring_members(std::uint32_t keyring)
{
  std::vector<std::uint32_t> members(64);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::size_t room = members.size() * sizeof(std::uint32_t);
    const long size = keyctl(KEYCTL_READ, keyring, reinterpret_cast<unsigned long>(members.data()), room, 0);
    if (size < 0) {
      return std::nullopt;
    }
    const auto bytes = static_cast<std::size_t>(size);
    if (bytes <= room) {
      members.resize(bytes / sizeof(std::uint32_t));
      return members;
    }
    // The keyring grew (or was larger than guessed): its whole size is what keyctl said.
    members.resize(bytes / sizeof(std::uint32_t) + 16);
  }
  return std::nullopt;
}

std::optional<std::uint32_t> search_keyring(std::uint32_t keyring, const SignerReference& signer)
{
  const std::string description = "ex:" + kernel_signer_id_hex(signer);
  const long key = keyctl(KEYCTL_SEARCH, keyring, reinterpret_cast<unsigned long>("asymmetric"),
                          reinterpret_cast<unsigned long>(description.c_str()), 0);
  if (key < 0) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(key);
}

const RunningKeyring* RunningKeys::find(SystemKeyring which) const
{
  const auto it = std::ranges::find(keyrings, which, &RunningKeyring::which);
  return it == keyrings.end() ? nullptr : &*it;
}

std::vector<const ProcAsymmetricKey*> RunningKeys::keys_in(SystemKeyring which) const
{
  std::vector<const ProcAsymmetricKey*> held;
  const RunningKeyring* keyring = find(which);
  if (keyring == nullptr || !keyring->members) {
    return held;
  }
  for (const std::uint32_t member : *keyring->members) {
    const auto key = std::ranges::find(keys, member, &ProcAsymmetricKey::serial);
    if (key != keys.end()) {
      held.push_back(&*key);
    }
  }
  return held;
}

RunningKeys read_running_keys(const fs::path& proc_keys)
{
  const Bytes data = util::read_file(proc_keys, util::k_small_file_limit);
  const ProcKeys parsed = parse_proc_keys(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  RunningKeys running;
  running.keys = parsed.keys;
  for (const ProcKeyring& keyring : parsed.keyrings) {
    const auto which = parse_system_keyring(keyring.name);
    if (!which) {
      continue;
    }
    running.keyrings.push_back({*which, keyring.serial, keyring.count, keyring_members(keyring.serial)});
  }
  std::ranges::sort(running.keyrings, {}, [](const RunningKeyring& keyring) { return static_cast<int>(keyring.which); });
  return running;
}

bool proc_key_matches(const ProcAsymmetricKey& key, const SignerReference& signer)
{
  const Bytes& id = signer.kind == SignerIdKind::subject_key_id ? signer.identity.subject_key_id : signer.identity.serial;
  return !id.empty() && key.key_id == util::to_hex(id);
}

bool running_key_matches(const RunningKeys& keys, const ProcAsymmetricKey& key, const SignerReference& signer)
{
  if (proc_key_matches(key, signer)) {
    return true;
  }
  const Bytes id = kernel_signer_id(signer);
  return std::ranges::any_of(keys.certificates, [&](const KernelCertificate& certificate) {
    if (kernel_key_description(certificate) != key.description) {
      return false;
    }
    const std::vector<Bytes> ids = kernel_key_ids(certificate);
    return std::ranges::find(ids, id) != ids.end();
  });
}

namespace {

// The kernel nests keyrings at most this deep (KEYRING_SEARCH_MAX_DEPTH): a cycle ends here too.
constexpr int k_max_keyring_depth = 6;

std::optional<std::uint32_t> find_nested(const RunningKeys& keys, std::uint32_t keyring, const SignerReference& signer,
                                         int depth)
{
  const auto ring = std::ranges::find(keys.keyrings, keyring, &RunningKeyring::serial);
  if (depth > k_max_keyring_depth || ring == keys.keyrings.end() || !ring->members) {
    return std::nullopt;
  }
  for (const std::uint32_t member : *ring->members) {
    const auto key = std::ranges::find(keys.keys, member, &ProcAsymmetricKey::serial);
    if (key != keys.keys.end() && running_key_matches(keys, *key, signer)) {
      return member;
    }
  }
  // Linked keyrings (secondary links builtin and machine) after the keyring's own keys.
  for (const std::uint32_t member : *ring->members) {
    if (const auto nested = find_nested(keys, member, signer, depth + 1)) {
      return nested;
    }
  }
  return std::nullopt;
}

// A key of a keyring modules may be checked against that bears the issuer's name.
void name_unconfirmed(const RunningKeys& keys, const SignerReference& signer, RunningMatch& match)
{
  std::string name;
  try {
    name = kernel_subject_name(signer.identity.issuer);
  } catch (const Error&) {
    return;
  }
  for (const RunningKeyring& keyring : keys.keyrings) {
    if (keyring.which == SystemKeyring::blacklist) {
      continue;
    }
    for (const ProcAsymmetricKey* key : keys.keys_in(keyring.which)) {
      if (key->subject == name) {
        match.unconfirmed = key;
        match.unconfirmed_in = keyring.which;
        return;
      }
    }
  }
}

} // namespace

std::optional<std::uint32_t> find_in_members(const RunningKeys& keys, std::uint32_t keyring,
                                             const SignerReference& signer)
{
  return find_nested(keys, keyring, signer, 0);
}

RunningMatch find_running_signer(const RunningKeys& keys, const SignerReference& signer, PlatformFallback platform,
                                 const KeyringSearch& search)
{
  RunningMatch match;
  const auto found_in = [&](SystemKeyring which) -> std::optional<std::uint32_t> {
    const RunningKeyring* keyring = keys.find(which);
    if (keyring == nullptr) {
      return std::nullopt;
    }
    const auto found = search(keyring->serial, signer);
    return found ? found : find_in_members(keys, keyring->serial, signer);
  };
  const auto record = [&](RunningOutcome outcome, SystemKeyring searched, std::uint32_t key) {
    match.outcome = outcome;
    match.keyring = searched;
    match.key = key;
    const auto entry = std::ranges::find(keys.keys, key, &ProcAsymmetricKey::serial);
    match.key_entry = entry == keys.keys.end() ? nullptr : &*entry;
    for (const RunningKeyring& keyring : keys.keyrings) {
      if (keyring.members && std::ranges::find(*keyring.members, key) != keyring.members->end()) {
        match.held_by = keyring.which;
        break;
      }
    }
  };
  if (const auto revoked = found_in(SystemKeyring::blacklist)) {
    record(RunningOutcome::revoked, SystemKeyring::blacklist, *revoked);
  } else if (const SystemKeyring primary =
               keys.find(SystemKeyring::secondary) != nullptr ? SystemKeyring::secondary : SystemKeyring::builtin;
             const auto key = found_in(primary)) {
    record(RunningOutcome::trusted, primary, *key);
  } else if (const auto fallback = found_in(SystemKeyring::platform)) {
    record(platform == PlatformFallback::used     ? RunningOutcome::trusted
           : platform == PlatformFallback::unused ? RunningOutcome::platform_refused
                                                  : RunningOutcome::platform_undecided,
           SystemKeyring::platform, *fallback);
  } else if (signer.kind == SignerIdKind::issuer_and_serial) {
    name_unconfirmed(keys, signer, match);
  }
  return match;
}

std::vector<KernelCertificate> parse_efi_signature_lists(ByteView data)
{
  // EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, as stored (little-endian fields).
  constexpr std::array<std::uint8_t, 16> k_x509 = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                                   0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
  constexpr std::size_t k_list_header = 28; // type GUID, list size, header size, entry size
  constexpr std::size_t k_owner = 16;       // each entry starts with its owner's GUID
  const auto le32 = [&](std::size_t at) {
    return std::uint32_t{data[at]} | std::uint32_t{data[at + 1]} << 8 | std::uint32_t{data[at + 2]} << 16 |
           std::uint32_t{data[at + 3]} << 24;
  };
  std::vector<KernelCertificate> certificates;
  std::size_t at = 0;
  while (data.size() - at >= k_list_header) {
    const std::size_t list_size = le32(at + 16);
    const std::size_t header_size = le32(at + 20);
    const std::size_t entry_size = le32(at + 24);
    if (list_size > data.size() - at || header_size > list_size - k_list_header || entry_size <= k_owner) {
      break;
    }
    if (std::equal(k_x509.begin(), k_x509.end(), data.begin() + static_cast<std::ptrdiff_t>(at))) {
      const std::size_t end = at + list_size;
      for (std::size_t entry = at + k_list_header + header_size; entry_size <= end - entry; entry += entry_size) {
        try {
          certificates.push_back(kernel_certificate(data.subspan(entry + k_owner, entry_size - k_owner)));
        } catch (const Error&) {
          // The kernel skips a certificate it cannot parse, and so does this.
        }
      }
    }
    at += list_size;
  }
  return certificates;
}

std::vector<KernelCertificate> read_firmware_certificates(const fs::path& efivars, const fs::path& mok)
{
  std::vector<KernelCertificate> certificates;
  const auto add = [&](const fs::path& file, std::size_t skip) {
    try {
      const Bytes data = util::read_file(file, util::k_small_file_limit);
      if (data.size() > skip) {
        std::vector<KernelCertificate> found = parse_efi_signature_lists(ByteView(data).subspan(skip));
        std::move(found.begin(), found.end(), std::back_inserter(certificates));
      }
    } catch (const Error&) {
      // Not there (no EFI, no shim) or not readable: nothing to add.
    }
  };
  // efivarfs files start with the variable's 4 bytes of attributes.
  add(efivars / "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", 4);
  std::error_code ec;
  std::vector<fs::path> lists;
  for (const fs::directory_entry& entry : fs::directory_iterator(mok, ec)) {
    const std::string name = entry.path().filename().string();
    // MokListRT, and its continuations MokListRT1, ... when shim splits a large list.
    if (name.starts_with("MokListRT") && name.find_first_not_of("0123456789", 9) == std::string::npos) {
      lists.push_back(entry.path());
    }
  }
  std::ranges::sort(lists);
  for (const fs::path& list : lists) {
    add(list, 0);
  }
  return certificates;
}

std::optional<bool> parse_sig_enforce(std::string_view text)
{
  const std::string_view value = util::trim(text);
  if (value == "Y" || value == "1") {
    return true;
  }
  if (value == "N" || value == "0") {
    return false;
  }
  return std::nullopt;
}

std::optional<bool> read_sig_enforce(const fs::path& file)
{
  const auto text = read_small_file(file);
  return text ? parse_sig_enforce(*text) : std::nullopt;
}

std::optional<std::string> parse_lockdown(std::string_view text)
{
  const std::size_t open = text.find('[');
  const std::size_t close = open == std::string_view::npos ? open : text.find(']', open);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(text.substr(open + 1, close - open - 1));
}

std::optional<std::string> read_lockdown(const fs::path& file)
{
  const auto text = read_small_file(file);
  return text ? parse_lockdown(*text) : std::nullopt;
}

} // namespace ksign::core
