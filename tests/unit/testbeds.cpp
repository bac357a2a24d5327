// SPDX-License-Identifier: MIT
#include "testbeds.hpp"

#include "test_support.hpp"

#include "core/certificate.hpp"
#include "core/keys.hpp"
#include "util/file.hpp"
#include "util/openssl.hpp"

#include <cstdlib>
#include <sstream>
#include <map>
#include <algorithm>

namespace ksign::test {

namespace fs = std::filesystem;

namespace {

fs::path source_root()
{
  const char* root = std::getenv("KSIGN_SOURCE_ROOT");
  return root != nullptr ? fs::path(root) : fs::path(KSIGN_TEST_SOURCE_ROOT);
}

std::optional<fs::path> existing(const fs::path& dir, const char* marker, std::string& why)
{
  std::error_code ec;
  if (fs::exists(dir / marker, ec)) {
    return dir;
  }
  why = "no testbed at " + dir.string() + " (set KSIGN_TESTBED_6 or KSIGN_TESTBED_7)";
  return std::nullopt;
}

} // namespace

std::optional<fs::path> testbed_6(std::string& why)
{
  // Not KSIGN_TESTBED: that names the kernel the qemu suite boots, which may be the 7.x one.
  const char* env = std::getenv("KSIGN_TESTBED_6");
  const fs::path dir = env != nullptr && *env != '\0' ? fs::path(env) : source_root() / ".." / "shared" / "testbed";
  return existing(dir.lexically_normal(), "vmlinux", why);
}

std::optional<fs::path> testbed_7(std::string& why)
{
  if (const char* env = std::getenv("KSIGN_TESTBED_7"); env != nullptr && *env != '\0') {
    return existing(fs::path(env), "vmlinux", why);
  }
  return existing((source_root() / ".." / "shared" / "testbed-7").lexically_normal(), "vmlinux", why);
}

std::vector<Bytes> certificates_der(const fs::path& file)
{
  std::vector<Bytes> out;
  for (const X509Ptr& cert : core::load_certificates(file)) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert.get(), &der);
    REQUIRE(length > 0);
    out.emplace_back(der, der + length);
    OPENSSL_free(der);
  }
  return out;
}

fs::path test_data()
{
  return source_root() / "tests" / "data";
}

std::string read_text(const fs::path& file)
{
  const Bytes data = test::read_whole(file);
  return std::string(data.begin(), data.end());
}

bool run(const std::string& command)
{
  return std::system(command.c_str()) == 0;
}

std::string shell_quote(const std::string& s)
{
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::optional<std::uint32_t> search_denied(std::uint32_t, const core::SignerReference&)
{
  return std::nullopt;
}

core::RunningKeys recorded_keyrings(const std::string& name, const std::string& members)
{
  const core::ProcKeys parsed = core::parse_proc_keys(read_text(test_data() / "proc-keys" / name));
  core::RunningKeys keys;
  keys.keys = parsed.keys;
  std::map<std::uint32_t, std::vector<std::uint32_t>> links;
  if (!members.empty()) {
    std::istringstream lines(read_text(test_data() / "proc-keys" / members));
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string serial;
      words >> serial;
      std::vector<std::uint32_t>& linked = links[static_cast<std::uint32_t>(std::stoul(serial, nullptr, 16))];
      for (std::string member; words >> member;) {
        linked.push_back(static_cast<std::uint32_t>(std::stoul(member, nullptr, 16)));
      }
    }
  }
  for (const core::ProcKeyring& keyring : parsed.keyrings) {
    const auto which = core::parse_system_keyring(keyring.name);
    if (!which) {
      continue;
    }
    std::vector<std::uint32_t> linked;
    if (!members.empty()) {
      linked = links.at(keyring.serial);
    } else if (*which == core::SystemKeyring::builtin) {
      std::ranges::transform(parsed.keys, std::back_inserter(linked), &core::ProcAsymmetricKey::serial);
    }
    keys.keyrings.push_back({*which, keyring.serial, keyring.count, linked});
  }
  return keys;
}

} // namespace ksign::test
