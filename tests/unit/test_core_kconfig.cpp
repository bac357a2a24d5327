// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/kconfig.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <string>

using namespace ksign;
using namespace ksign::core;

namespace {

std::string read_text(const std::filesystem::path& path)
{
  const Bytes data = test::read_whole(path);
  return std::string(data.begin(), data.end());
}

const std::string k_signing_config = "#\n# Automatically generated file; DO NOT EDIT.\n#\n"
                                     "CONFIG_MODULE_SIG=y\n"
                                     "# CONFIG_MODULE_SIG_FORCE is not set\n"
                                     "CONFIG_MODULE_SIG_SHA512=y\n"
                                     "CONFIG_MODULE_SIG_HASH=\"sha512\"\n"
                                     "CONFIG_MODULE_COMPRESS_ZSTD=y\n"
                                     "# CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS is not set\n"
                                     "CONFIG_MODULE_SIG_KEY=\"certs/signing_key.pem\"\n"
                                     "# CONFIG_MODULE_SIG_KEY_TYPE_RSA is not set\n"
                                     "CONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y\n"
                                     "CONFIG_SYSTEM_TRUSTED_KEYRING=y\n"
                                     "CONFIG_SYSTEM_TRUSTED_KEYS=\"\"\n"
                                     "CONFIG_HZ=300\n";

} // namespace

TEST_CASE("core::KernelConfig values", "[kconfig]")
{
  const KernelConfig config("config", k_signing_config + "CONFIG_HZ=1000\nCONFIG_CMDLINE=\"a \\\"b\\\" c\"\n");
  CHECK(config.value("CONFIG_MODULE_SIG_HASH") == "sha512");
  CHECK(config.value("CONFIG_MODULE_SIG") == "y");
  CHECK(config.enabled("CONFIG_MODULE_SIG"));
  CHECK_FALSE(config.value("CONFIG_MODULE_SIG_FORCE").has_value()); // "is not set"
  CHECK_FALSE(config.enabled("CONFIG_MODULE_SIG_FORCE"));
  CHECK_FALSE(config.value("CONFIG_NOWHERE").has_value());
  CHECK(config.value("CONFIG_HZ") == "1000"); // the last assignment wins
  CHECK(config.value("CONFIG_CMDLINE") == "a \"b\" c");
  CHECK(config.value("CONFIG_SYSTEM_TRUSTED_KEYS") == "");
  // A prefix of another option's name is not that option.
  CHECK_FALSE(config.value("CONFIG_MODULE_SIG_KEY_TYPE").has_value());
}

TEST_CASE("core::signing_settings", "[kconfig]")
{
  SECTION("ECDSA and sha512")
  {
    const SigningSettings s = signing_settings(KernelConfig("c", k_signing_config));
    CHECK(s.key_type == KeyType::ec);
    CHECK(s.hash == HashAlgo::sha512);
  }
  SECTION("RSA only when the config says so: no key type is an error naming the options")
  {
    CHECK(signing_settings(KernelConfig("c", "CONFIG_MODULE_SIG_KEY_TYPE_RSA=y\n")).key_type == KeyType::rsa);
    CHECK_THROWS_WITH(signing_settings(KernelConfig("c", "CONFIG_MODULE_SIG=y\n")),
                      KSIGN_CONTAINS("sets no module-signing key type: none of CONFIG_MODULE_SIG_KEY_TYPE_RSA, "
                                     "CONFIG_MODULE_SIG_KEY_TYPE_ECDSA"));
    CHECK_THROWS_WITH(signing_settings(KernelConfig("c", "CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_KEY_TYPE_RSA is not set\n")),
                      KSIGN_CONTAINS("sets no module-signing key type"));
  }
  SECTION("ML-DSA and sha3")
  {
    const SigningSettings s = signing_settings(
      KernelConfig("c", "CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_65=y\nCONFIG_MODULE_SIG_HASH=\"sha3-512\"\n"));
    CHECK(s.key_type == KeyType::ml_dsa_65);
    CHECK(s.hash == HashAlgo::sha3_512);
  }
  SECTION("a hash ksign cannot sign with")
  {
    const std::string ec = "CONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y\n";
    CHECK_THROWS_WITH(signing_settings(KernelConfig("c", ec + "CONFIG_MODULE_SIG_HASH=\"sha1\"\n")),
                      KSIGN_CONTAINS("is not a hash ksign signs with"));
    CHECK_THROWS_WITH(signing_settings(KernelConfig("c", ec + "CONFIG_MODULE_SIG_HASH=\"md4\"\n")),
                      KSIGN_CONTAINS("is not a hash ksign signs with"));
  }
}

TEST_CASE("core::with_trusted_keys", "[kconfig]")
{
  const std::string path = "/keys/2026-01-01_00-00-00/signing_crt.pem";
  const std::string line = "CONFIG_SYSTEM_TRUSTED_KEYS=\"" + path + "\"";

  SECTION("an existing line is replaced in place, every other byte kept")
  {
    const std::string updated = with_trusted_keys(k_signing_config, path);
    std::string expected = k_signing_config;
    const std::string old_line = "CONFIG_SYSTEM_TRUSTED_KEYS=\"\"";
    expected.replace(expected.find(old_line), old_line.size(), line);
    CHECK(updated == expected);
    CHECK(with_trusted_keys(updated, path) == updated); // idempotent
  }
  SECTION("a 'not set' line is replaced")
  {
    const std::string text = "A=1\n# CONFIG_SYSTEM_TRUSTED_KEYS is not set\nB=2\n";
    CHECK(with_trusted_keys(text, path) == "A=1\n" + line + "\nB=2\n");
  }
  SECTION("a missing line is appended, also to a file without a final newline")
  {
    CHECK(with_trusted_keys("CONFIG_A=y\n", path) == "CONFIG_A=y\n" + line + "\n");
    CHECK(with_trusted_keys("CONFIG_A=y", path) == "CONFIG_A=y\n" + line + "\n");
    CHECK(with_trusted_keys("", path) == line + "\n");
  }
  SECTION("CRLF, comments and similar names are left alone")
  {
    const std::string text = "# CONFIG_SYSTEM_TRUSTED_KEYS=\"old\" was here\r\nCONFIG_SYSTEM_TRUSTED_KEYSX=y\n";
    CHECK(with_trusted_keys(text, path) == text + line + "\n");
  }
  SECTION("a value that would break the line is refused, not written")
  {
    CHECK_THROWS_WITH(with_trusted_keys("", "/a\"b"), KSIGN_CONTAINS("holds a quote"));
    CHECK_THROWS_WITH(with_trusted_keys("", "/a\\b"), KSIGN_CONTAINS("holds a backslash"));
    CHECK_THROWS_WITH(with_trusted_keys("", "/k\nCONFIG_MODULE_SIG_FORCE=n\n/c.pem"),
                      KSIGN_CONTAINS("CONFIG_SYSTEM_TRUSTED_KEYS: it holds a newline"));
    CHECK_THROWS_WITH(with_trusted_keys("", "/k\033[2J.pem"), KSIGN_CONTAINS("control character"));
    CHECK(with_trusted_keys("", "/keys with spaces/Jürgen.pem") == "CONFIG_SYSTEM_TRUSTED_KEYS=\"/keys with spaces/Jürgen.pem\"\n");
  }
}

TEST_CASE("core::set_trusted_keys rewrites only on change", "[kconfig]")
{
  const test::TempDir dir;
  const auto config = dir.path() / "config";
  test::write_text(config, k_signing_config);
  REQUIRE(::chmod(config.c_str(), 0640) == 0);

  CHECK(set_trusted_keys(config, "/k/signing_crt.pem").changed);
  CHECK(KernelConfig::read(config).value("CONFIG_SYSTEM_TRUSTED_KEYS") == "/k/signing_crt.pem");
  struct stat first {};
  REQUIRE(::stat(config.c_str(), &first) == 0);
  CHECK((first.st_mode & 07777) == 0640); // the mode survives the atomic replace

  // Back-date the file: an unchanged config must keep its mtime (make must not rebuild).
  std::filesystem::last_write_time(config, std::filesystem::last_write_time(config) - std::chrono::hours(1));
  const auto before = std::filesystem::last_write_time(config);
  CHECK_FALSE(set_trusted_keys(config, "/k/signing_crt.pem").changed);
  CHECK(std::filesystem::last_write_time(config) == before);

  const TrustedKeysUpdate second = set_trusted_keys(config, "/k2/signing_crt.pem");
  CHECK(second.changed);
  CHECK_FALSE(second.replaced_link_to.has_value()); // a plain file is no link
  CHECK(std::filesystem::last_write_time(config) != before);
  CHECK(read_text(config).find("CONFIG_HZ=300\n") != std::string::npos);
}

TEST_CASE("core::config_text_problem: only a kernel config is one", "[kconfig]")
{
  CHECK_FALSE(config_text_problem(k_signing_config).has_value());
  CHECK_FALSE(config_text_problem("#\n# Linux/x86 6.12 Kernel Configuration\n#\n\nCONFIG_MODULES=y\r\n").has_value());
  CHECK_FALSE(config_text_problem("# CONFIG_MODULES is not set\n").has_value());
  CHECK(config_text_problem("root:x:0:0:root:/root:/bin/bash\nCONFIG_MODULES=y\n")
        == "line 1 is neither a CONFIG_ option nor a comment");
  CHECK(config_text_problem(std::string("\x7f" "ELF\x02\x01\x01\0\0", 9)) == "it is a binary file");
  CHECK(config_text_problem("CONFIG_HZ=300\n# just options\n") == "it has no CONFIG_MODULES or CONFIG_MODULE_SIG line");
  CHECK(config_text_problem("CONFIG_MODULES=y\nCONFIG_=1\n") == "line 2 sets no CONFIG_ option");
  CHECK(config_text_problem("") == "it has no CONFIG_MODULES or CONFIG_MODULE_SIG line");
}

TEST_CASE("core::set_trusted_keys refuses what is not a config and never writes through a link", "[kconfig]")
{
  const test::TempDir dir;
  SECTION("a text file is refused and left byte for byte")
  {
    const auto text = dir.path() / "notes.txt";
    test::write_text(text, "remember CONFIG_MODULES\n");
    CHECK_THROWS_WITH(set_trusted_keys(text, "/k/signing_crt.pem"), KSIGN_CONTAINS("is not a kernel config: line 1"));
    CHECK(read_text(text) == "remember CONFIG_MODULES\n");
  }
  SECTION("a linked config (makepkg's $srcdir/config): the link is replaced by the edited copy, its target kept")
  {
    std::filesystem::create_directory(dir.path() / "startdir");
    std::filesystem::create_directory(dir.path() / "srcdir");
    const auto real = dir.path() / "startdir" / "config";
    const auto link = dir.path() / "srcdir" / "config";
    test::write_text(real, k_signing_config);
    REQUIRE(::chmod(real.c_str(), 0640) == 0);
    std::filesystem::create_symlink("../startdir/config", link);
    const TrustedKeysUpdate update = set_trusted_keys(link, "/k/signing_crt.pem");
    CHECK(update.changed);
    REQUIRE(update.replaced_link_to.has_value());
    CHECK(*update.replaced_link_to == std::filesystem::canonical(real));
    CHECK_FALSE(std::filesystem::is_symlink(link));
    CHECK(KernelConfig::read(link).value("CONFIG_SYSTEM_TRUSTED_KEYS") == "/k/signing_crt.pem");
    CHECK(read_text(real) == k_signing_config); // byte for byte: a pinned checksum still holds
    struct stat st {};
    REQUIRE(::stat(link.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    // The copy is now a plain file: the next edit is an ordinary one.
    const TrustedKeysUpdate again = set_trusted_keys(link, "/k2/signing_crt.pem");
    CHECK(again.changed);
    CHECK_FALSE(again.replaced_link_to.has_value());
  }
  SECTION("a linked config that already trusts the certificate: nothing is written, the link stays")
  {
    const auto real = dir.path() / "real-config";
    const auto link = dir.path() / "config";
    test::write_text(real, with_trusted_keys(k_signing_config, "/k/signing_crt.pem"));
    std::filesystem::create_symlink("real-config", link);
    const TrustedKeysUpdate update = set_trusted_keys(link, "/k/signing_crt.pem");
    CHECK_FALSE(update.changed);
    CHECK_FALSE(update.replaced_link_to.has_value());
    CHECK(std::filesystem::is_symlink(link));
  }
  SECTION("a link that leads nowhere is an error and stays")
  {
    const auto link = dir.path() / "config";
    std::filesystem::create_symlink("nowhere", link);
    CHECK_THROWS_AS(set_trusted_keys(link, "/k/signing_crt.pem"), Error);
    CHECK(std::filesystem::is_symlink(link));
  }
  SECTION("a certificate path with a newline is refused, the config untouched")
  {
    const auto config = dir.path() / "config";
    test::write_text(config, k_signing_config);
    CHECK_THROWS_WITH(set_trusted_keys(config, "/k\nCONFIG_MODULE_SIG_FORCE=n\n/signing_crt.pem"),
                      KSIGN_CONTAINS("holds a newline"));
    CHECK(read_text(config) == k_signing_config);
  }
}

TEST_CASE("core::expand_config_patterns", "[kconfig]")
{
  const test::TempDir dir;
  test::write_text(dir.path() / "config.x86_64", "A=1\n");
  test::write_text(dir.path() / "config.i686", "A=1\n");
  std::filesystem::create_directory(dir.path() / "config.d");
  const std::string base = dir.path().string();

  SECTION("a glob: files only, sorted")
  {
    const std::vector<std::string> patterns = {base + "/config.*"};
    const auto files = expand_config_patterns(patterns);
    REQUIRE(files.size() == 2);
    CHECK(files[0].filename() == "config.i686");
    CHECK(files[1].filename() == "config.x86_64");
  }
  SECTION("the same file twice counts once")
  {
    const std::vector<std::string> patterns = {base + "/config.x86_64", base + "/config.x*", base + "/./config.x86_64"};
    CHECK(expand_config_patterns(patterns).size() == 1);
  }
  SECTION("a glob without a match and a missing file are errors")
  {
    const std::vector<std::string> no_match = {base + "/nothing.*"};
    CHECK_THROWS_WITH(expand_config_patterns(no_match), KSIGN_CONTAINS("no kernel config matches"));
    const std::vector<std::string> missing = {base + "/config"};
    CHECK_THROWS_WITH(expand_config_patterns(missing), KSIGN_CONTAINS("does not exist"));
  }
}

TEST_CASE("core::check_signing_config", "[kconfig]")
{
  const test::TempDir dir;
  const auto level_of = [](const std::vector<ConfigFinding>& findings, const std::string& option) {
    const auto it = std::find_if(findings.begin(), findings.end(),
                                 [&](const ConfigFinding& f) { return f.option == option; });
    REQUIRE(it != findings.end());
    return it->level;
  };
  const SigningKey key = test::make_key(KeyType::ec, "check");
  const auto cert = dir.path() / "signing_crt.pem";
  test::write_text(cert, test::certificate_pem(key));
  const auto key_file = dir.path() / "signing_key.pem";
  test::write_text(key_file, test::private_key_pem(key) + test::certificate_pem(key));

  SECTION("the recommended settings are all ok")
  {
    const auto findings = check_signing_config(KernelConfig("c", with_trusted_keys(k_signing_config, cert.string())));
    for (const ConfigFinding& f : findings) {
      INFO(f.option << ": " << f.message);
      CHECK(f.level == ConfigFinding::Level::ok);
    }
  }
  SECTION("module signing off, no trusted keys")
  {
    const auto findings = check_signing_config(KernelConfig("c", "# CONFIG_MODULE_SIG is not set\nCONFIG_MODULE_SIG_KEY_TYPE_RSA=y\n"));
    CHECK(level_of(findings, "CONFIG_MODULE_SIG") == ConfigFinding::Level::error);
    CHECK(level_of(findings, "CONFIG_MODULE_SIG_HASH") == ConfigFinding::Level::error);
    CHECK(level_of(findings, "CONFIG_SYSTEM_TRUSTED_KEYS") == ConfigFinding::Level::error);
    CHECK(level_of(findings, "CONFIG_MODULE_SIG_KEY_TYPE_RSA") == ConfigFinding::Level::warning);
    CHECK(level_of(findings, "CONFIG_MODULE_COMPRESS_ZSTD") == ConfigFinding::Level::warning);
  }
  SECTION("trusted keys naming a private key or a missing file")
  {
    auto findings = check_signing_config(KernelConfig("c", with_trusted_keys(k_signing_config, key_file.string())));
    CHECK(level_of(findings, "CONFIG_SYSTEM_TRUSTED_KEYS") == ConfigFinding::Level::error);
    findings = check_signing_config(KernelConfig("c", with_trusted_keys(k_signing_config, "/nonexistent/crt.pem")));
    CHECK(level_of(findings, "CONFIG_SYSTEM_TRUSTED_KEYS") == ConfigFinding::Level::error);
  }
  SECTION("namespace imports allowed is a warning")
  {
    const auto findings = check_signing_config(
      KernelConfig("c", k_signing_config + "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS=y\n"));
    CHECK(level_of(findings, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS") == ConfigFinding::Level::warning);
  }
}

TEST_CASE("core::check_trusted_keys: the one rule config reports and install enforces", "[kconfig]")
{
  using State = TrustedKeysCheck::State;
  const test::TempDir dir;
  const SigningKey key = test::make_key(KeyType::ec, "installed");
  const SigningKey other = test::make_key(KeyType::ec, "other");
  const auto cert = dir.path() / "signing_crt.pem";
  test::write_text(cert, test::certificate_pem(key));
  const auto bundle = dir.path() / "bundle.pem";
  test::write_text(bundle, test::certificate_pem(other) + test::certificate_pem(key));
  const auto with_private = dir.path() / "signing_key.pem";
  test::write_text(with_private, test::private_key_pem(key) + test::certificate_pem(key));
  const auto garbage = dir.path() / "garbage.pem";
  test::write_text(garbage, "not a certificate\n");
  const Bytes der = test::certificate_der(key);
  const auto check = [&](const std::string& value, ByteView certificate) {
    return check_trusted_keys(KernelConfig("c", with_trusted_keys(k_signing_config, value)), certificate);
  };

  CHECK(check_trusted_keys(KernelConfig("c", k_signing_config), der).state == State::not_set);
  const TrustedKeysCheck missing = check("/nonexistent/crt.pem", der);
  CHECK(missing.state == State::missing);
  CHECK(missing.file == "/nonexistent/crt.pem");
  const TrustedKeysCheck held = check(bundle.string(), der);
  CHECK(held.state == State::held);
  CHECK(held.certificates == 2);
  CHECK_FALSE(held.private_key);
  CHECK(check(cert.string(), test::certificate_der(other)).state == State::not_held);
  // No certificate asked about: any readable file holds "it".
  CHECK(check(cert.string(), {}).state == State::held);
  const TrustedKeysCheck unreadable = check(garbage.string(), der);
  CHECK(unreadable.state == State::unreadable);
  REQUIRE(unreadable.error);
  // A file with the private key in it still holds the certificate; config calls it an error.
  const TrustedKeysCheck leaky = check(with_private.string(), der);
  CHECK(leaky.state == State::held);
  CHECK(leaky.private_key);
  // A relative name is relative to the config's directory, the top of the kernel tree.
  const TrustedKeysCheck relative = check_trusted_keys(
    KernelConfig(dir.path() / ".config", with_trusted_keys(k_signing_config, "signing_crt.pem")), der);
  CHECK(relative.state == State::held);
  CHECK(relative.file == cert);
}
