// SPDX-License-Identifier: MIT
// The options that choose a signing key and admit it (cli/key_options), with real keys, key
// stores and installed-kernel trees in temporary directories.
#include "catch.hpp"

#include "cli/command.hpp"
#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_directory.hpp"
#include "core/key_install.hpp"
#include "core/keygen.hpp"
#include "core/keystore.hpp"
#include "core/keystore_lock.hpp"
#include "core/keystore_write.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/openssl.hpp"

#include <openssl/rsa.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ksign;
namespace fs = std::filesystem;
using cli::KeyOptions;

namespace {

const cli::Command k_signing_command = {
  .name = "test-sign",
  .operands = "<module>...",
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .add_options = [](cxxopts::Options& options) { KeyOptions::declare(options, KeyOptions::Set::signing); },
};

const cli::Command k_loose_key_command = {
  .name = "test-keys",
  .takes_key_store = true,
  .add_options = cli::add_loose_key_option,
};

cxxopts::ParseResult parsed(const cli::Command& command, std::vector<std::string> args)
{
  args.insert(args.begin(), std::string(command.name));
  cxxopts::Options options = cli::command_options(command);
  return cli::parse_options(options, args);
}

// What a command gets, with the fields these tests use; the others (who ran sudo, ...) start
// value-initialized, so the test builds before and after Invocation gains one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
cli::Invocation invocation_of(const cxxopts::ParseResult& result, cli::Output& out, const cli::Paths& paths,
                              const fs::path& store = {}, bool store_given = false)
{
  return cli::Invocation{result, {}, out, paths, store, store_given};
}
#pragma GCC diagnostic pop

// A temporary root with a module directory, a config directory (for the key registry) and a
// key store path, and an Invocation over them.
struct Setup
{
  test::TempDir dir;
  cli::Output out{"test"};
  cli::Paths paths = under(dir.path());

  // The Paths under `root`, assigned one by one (a path Paths gains later stays default-built).
  static cli::Paths under(const fs::path& root)
  {
    cli::Paths paths;
    paths.module_root = root / "modules";
    paths.boot_root = root / "boot";
    paths.config_directory = root / "etc/ksign";
    return paths;
  }

  [[nodiscard]] cli::Invocation invocation(const cxxopts::ParseResult& result, const fs::path& store,
                                           bool store_given)
  {
    return invocation_of(result, out, paths, store, store_given);
  }
};

// A key store with a current key (ec, sha384); returns its key directory.
fs::path make_store(const fs::path& store, const std::string& name = "key options test")
{
  const core::KeyStoreLock lock(store);
  const core::SigningKey key = core::generate_signing_key(core::KeyType::ec, core::HashAlgo::sha384, name);
  const fs::path directory = core::write_key_directory(store, key, core::HashAlgo::sha384);
  core::switch_current(store, directory);
  return directory;
}

// An installed kernel `release` under `moduledir` (a kernel/ directory, its headers).
void make_kernel(const fs::path& moduledir, const std::string& release)
{
  fs::create_directories(moduledir / release / "kernel");
  fs::create_directories(moduledir / release / "build");
}

void write_file(const fs::path& path, std::string_view text, fs::perms mode)
{
  test::write_text(path, text);
  fs::permissions(path, mode);
}

// The Errc of the ksign::Error `run` throws (test::thrown_by), nullopt when none.
std::optional<Errc> thrown_errc(const std::function<void()>& run)
{
  const std::optional<test::Thrown> thrown = test::thrown_by(run);
  return thrown ? std::optional<Errc>(thrown->code) : std::nullopt;
}

} // namespace

TEST_CASE("cli::KeyOptions reads what it declared, the first --cert of several", "[key_options]")
{
  const cxxopts::ParseResult none = parsed(k_signing_command, {});
  const KeyOptions empty = KeyOptions::read(none, KeyOptions::Set::signing);
  CHECK_FALSE(empty.key);
  CHECK_FALSE(empty.certificate);
  CHECK_FALSE(empty.kernel);
  CHECK_FALSE(empty.allow_loose_key);
  CHECK_FALSE(empty.allow_unsupported_key);

  const cxxopts::ParseResult all =
    parsed(k_signing_command, {"-k", "a.pem", "-c", "first.crt", "--cert", "second.crt", "--kernel", "6.12.1-test",
                               "--allow-loose-key", "--allow-unsupported-key"});
  const KeyOptions options = KeyOptions::read(all, KeyOptions::Set::signing);
  CHECK(options.key == fs::path("a.pem"));
  CHECK(options.certificate == fs::path("first.crt"));
  CHECK(options.kernel == "6.12.1-test");
  CHECK(options.allow_loose_key);
  CHECK(options.allow_unsupported_key);

  // The loose-key set reads only --allow-loose-key, from a signing command's line too.
  const KeyOptions loose = KeyOptions::read(all, KeyOptions::Set::loose_key);
  CHECK(loose.allow_loose_key);
  CHECK_FALSE(loose.key);
  CHECK_FALSE(loose.allow_unsupported_key);
}

TEST_CASE("cli::KeyOptions: the loose-key set declares --allow-loose-key only", "[key_options]")
{
  const cxxopts::ParseResult result = parsed(k_loose_key_command, {"--allow-loose-key"});
  CHECK(KeyOptions::read(result, KeyOptions::Set::loose_key).allow_loose_key);
  CHECK_FALSE(KeyOptions::read(parsed(k_loose_key_command, {}), KeyOptions::Set::loose_key).allow_loose_key);
  // Reading the signing set from a command that did not declare it is ksign's bug, said loudly.
  CHECK_THROWS_AS(KeyOptions::read(result, KeyOptions::Set::signing), std::logic_error);
  // And the command line cannot give what the command does not take.
  CHECK(thrown_errc([&] { (void)parsed(k_loose_key_command, {"--key", "a.pem"}); }) == Errc::usage);
  CHECK(thrown_errc([&] { (void)parsed(k_loose_key_command, {"--kernel", "6.1"}); }) == Errc::usage);
}

TEST_CASE("cli::signing_key_source: --key, --cert, --dir and --kernel exclude each other", "[key_options]")
{
  Setup setup;
  const fs::path store = setup.dir.path() / "store";
  const struct
  {
    std::vector<std::string> args;
    bool store_given;
    const char* message;
  } cases[] = {
    {{"-k", "a.pem", "--kernel", "6.12.1-test"}, false, "--key and --kernel cannot be used together"},
    {{"-k", "a.pem", "-c", "a.crt", "--kernel", "6.12.1-test"}, true, "--key and --kernel cannot be used together"},
    {{"-k", "a.pem"}, true, "--key and --dir cannot be used together"},
    {{"-c", "a.crt"}, false, "--cert needs --key (the private key to sign with)"},
    {{"-c", "a.crt", "--kernel", "6.12.1-test"}, false, "--cert needs --key (the private key to sign with)"},
    {{"--kernel", "6.12.1-test"}, true, "--dir and --kernel cannot be used together"},
  };
  for (const auto& c : cases) {
    INFO(c.message << " store given " << c.store_given);
    const cxxopts::ParseResult result = parsed(k_signing_command, c.args);
    const cli::Invocation invocation = setup.invocation(result, store, c.store_given);
    const KeyOptions options = KeyOptions::read(result, KeyOptions::Set::signing);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(options, invocation); }) == Errc::usage);
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation), c.message);
  }
  // The one place --dir with --kernel is refused, for verify too.
  const cxxopts::ParseResult none = parsed(k_signing_command, {});
  CHECK_THROWS_WITH(cli::reject_store_with_kernel(setup.invocation(none, store, true), std::string("6.1")),
                    "--dir and --kernel cannot be used together");
  CHECK_NOTHROW(cli::reject_store_with_kernel(setup.invocation(none, store, true), std::nullopt));
  CHECK_NOTHROW(cli::reject_store_with_kernel(setup.invocation(none, store, false), std::string("6.1")));
}

TEST_CASE("cli::signing_key_source: key files, with their certificate or naming the one beside", "[key_options]")
{
  Setup setup;
  const core::SigningKey key = test::make_key(core::KeyType::ec, "files");
  const fs::path keys = setup.dir.path() / "keys";
  fs::create_directories(keys);
  const fs::path combined = keys / "signing_key.pem";
  write_file(combined, test::private_key_pem(key) + test::certificate_pem(key), fs::perms::owner_read | fs::perms::owner_write);
  const fs::path bare = keys / "signing_prv.pem";
  write_file(bare, test::private_key_pem(key), fs::perms::owner_read | fs::perms::owner_write);
  const fs::path store = setup.dir.path() / "no-store";

  SECTION("a key file that holds its certificate needs no --cert")
  {
    const cxxopts::ParseResult result = parsed(k_signing_command, {"-k", combined.string()});
    const cli::SigningKeySource source =
      cli::signing_key_source(KeyOptions::read(result, KeyOptions::Set::signing), setup.invocation(result, store, false));
    CHECK(source.key == combined);
    CHECK_FALSE(source.certificate);
    CHECK_FALSE(source.recorded_hash);
    CHECK_FALSE(source.directory);
  }
  SECTION("--cert goes with --key")
  {
    const cxxopts::ParseResult result = parsed(k_signing_command, {"-k", bare.string(), "-c", "elsewhere.crt"});
    const cli::SigningKeySource source =
      cli::signing_key_source(KeyOptions::read(result, KeyOptions::Set::signing), setup.invocation(result, store, false));
    CHECK(source.key == bare);
    CHECK(source.certificate == fs::path("elsewhere.crt"));
    CHECK_FALSE(source.directory);
  }
  SECTION("a key without a certificate is a usage error that names the certificate beside it")
  {
    const cxxopts::ParseResult result = parsed(k_signing_command, {"-k", bare.string()});
    const KeyOptions options = KeyOptions::read(result, KeyOptions::Set::signing);
    const cli::Invocation invocation = setup.invocation(result, store, false);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(options, invocation); }) == Errc::usage);
    // Only the combined file is beside it, and it holds a certificate too.
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation),
                      KSIGN_CONTAINS("holds no certificate; give --cert FILE")
                        && KSIGN_CONTAINS("(its certificate is in '" + combined.string() + "')"));
    fs::remove(combined);
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation),
                      KSIGN_CONTAINS("holds no certificate; give --cert FILE")
                        && !KSIGN_CONTAINS("its certificate is in"));
  }
}

TEST_CASE("cli::signing_key_source: the key store's current key", "[key_options]")
{
  Setup setup;
  const fs::path store = setup.dir.path() / "certs-local";
  const cxxopts::ParseResult none = parsed(k_signing_command, {});
  const KeyOptions options = KeyOptions::read(none, KeyOptions::Set::signing);

  SECTION("the default store without a current key is a usage error that says what to give")
  {
    const cli::Invocation invocation = setup.invocation(none, store, false);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(options, invocation); }) == Errc::usage);
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation),
                      KSIGN_CONTAINS("has no current key: give --key FILE [--cert FILE], -d/--dir DIR or --kernel KVER"));
  }
  SECTION("a store named with -d that has no key fails as the store says (no key), not as a usage error")
  {
    const cli::Invocation invocation = setup.invocation(none, store, true);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(options, invocation); }) == Errc::no_key);
  }
  SECTION("the current key, its certificate, khash and key directory")
  {
    const fs::path directory = make_store(store);
    for (const bool given : {false, true}) {
      const cli::SigningKeySource source = cli::signing_key_source(options, setup.invocation(none, store, given));
      CHECK(source.key.parent_path().filename() == directory.filename());
      CHECK(source.key.filename() == core::k_key_pem);
      REQUIRE(source.certificate);
      CHECK(source.certificate->filename() == core::k_cert_der);
      CHECK(source.recorded_hash == core::HashAlgo::sha384);
      REQUIRE(source.directory);
      CHECK(source.directory->opened != nullptr);
      CHECK(source.directory->key == source.key);
    }
  }
}

TEST_CASE("cli::signing_key_source --kernel: the installed kernel's key, under the Invocation's paths", "[key_options]")
{
  Setup setup;
  const std::string release = "6.99.1-test";
  // The environment names another module directory: only the Invocation's paths count.
  const test::ScopedEnv moduledir("KSIGN_MODULEDIR", (setup.dir.path() / "elsewhere").c_str());
  const fs::path own_store = setup.dir.path() / "certs-local";
  const cxxopts::ParseResult result = parsed(k_signing_command, {"--kernel", release});
  const KeyOptions options = KeyOptions::read(result, KeyOptions::Set::signing);
  const cli::Invocation invocation = setup.invocation(result, own_store, false);

  SECTION("a release that cannot name a directory is a usage error")
  {
    const cxxopts::ParseResult bad = parsed(k_signing_command, {"--kernel", "../6.1"});
    const cli::Invocation bad_invocation = setup.invocation(bad, own_store, false);
    const KeyOptions bad_options = KeyOptions::read(bad, KeyOptions::Set::signing);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(bad_options, bad_invocation); }) == Errc::usage);
    CHECK_THROWS_WITH(cli::signing_key_source(bad_options, bad_invocation), KSIGN_CONTAINS("--kernel takes a kernel release"));
  }
  SECTION("a kernel that is not installed fails naming it")
  {
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation), KSIGN_CONTAINS("no installed kernel"));
  }
  SECTION("an installed kernel without a ksign key fails")
  {
    make_kernel(setup.paths.module_root, release);
    CHECK(thrown_errc([&] { (void)cli::signing_key_source(options, invocation); }) == Errc::no_key);
  }
  SECTION("the key installed in its headers")
  {
    make_kernel(setup.paths.module_root, release);
    make_store(own_store);
    const fs::path installed = core::install_current_key(core::current_key_files(own_store),
                                                         core::kernel_key_store(setup.paths.module_root, release));
    const cli::SigningKeySource source = cli::signing_key_source(options, invocation);
    CHECK(source.key == installed / core::k_key_pem);
    REQUIRE(source.certificate);
    CHECK(source.certificate->parent_path() == installed);
    CHECK(source.recorded_hash == core::HashAlgo::sha384);
    REQUIRE(source.directory);
    CHECK(source.directory->directory == installed);
  }
  SECTION("certificates only: the registry leads to the key, and must be safe")
  {
    make_kernel(setup.paths.module_root, release);
    const fs::path directory = make_store(own_store);
    (void)core::install_current_key(core::current_key_files(own_store),
                                    core::kernel_key_store(setup.paths.module_root, release),
                                    core::InstallWhat::certificates);
    // Not registered yet: the certificate is there, the private key is not.
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation),
                      KSIGN_CONTAINS("but no private key") && KSIGN_CONTAINS("does not exist")
                        && KSIGN_CONTAINS("ksign install --public -d STORE"));
    const fs::path registry = setup.paths.key_registry();
    (void)core::register_key_directory(registry, core::key_directory_files(directory));
    const cli::SigningKeySource source = cli::signing_key_source(options, invocation);
    CHECK(fs::canonical(source.key) == fs::canonical(directory / core::k_key_pem));
    REQUIRE(source.directory);

    // Whoever can write to the registry chooses the key: refused unless --allow-loose-key.
    fs::permissions(registry, fs::perms::all);
    CHECK_THROWS_WITH(cli::signing_key_source(options, invocation),
                      KSIGN_CONTAINS("anyone can write to '" + registry.string() + "'")
                        && KSIGN_CONTAINS("--allow-loose-key"));
    const cxxopts::ParseResult loose = parsed(k_signing_command, {"--kernel", release, "--allow-loose-key"});
    const cli::Invocation loose_invocation = setup.invocation(loose, own_store, false);
    std::string warning;
    warning = test::captured_stderr([&] {
      CHECK(cli::signing_key_source(KeyOptions::read(loose, KeyOptions::Set::signing), loose_invocation).key == source.key);
    });
    CHECK_THAT(warning, KSIGN_CONTAINS("warning: anyone can write to") && KSIGN_CONTAINS("used anyway: --allow-loose-key"));
    fs::permissions(registry, fs::perms::owner_all);
  }
}

TEST_CASE("cli::kernel_key_problem says why the registry did not lead to the key", "[key_options]")
{
  using Problem = core::KernelKeyFiles::LinkProblem;
  core::KernelKeyFiles kernel;
  kernel.link = "/etc/ksign/keys.d/ab12";
  kernel.link_target = "/home/u/certs-local/2026";
  const auto problem = [&](Problem p) {
    kernel.problem = p;
    return cli::kernel_key_problem(kernel);
  };
  CHECK(problem(Problem::missing) == "'/etc/ksign/keys.d/ab12' does not exist");
  CHECK_THAT(problem(Problem::dangling), KSIGN_CONTAINS("points to '/home/u/certs-local/2026', which does not exist here"));
  CHECK_THAT(problem(Problem::no_private_key),
             KSIGN_CONTAINS("no private key (none of signing_key.pem, signing_prv.pem, signing_prv.key)"));
  CHECK_THAT(problem(Problem::other_certificate), KSIGN_CONTAINS("whose certificate is not the one installed"));
  CHECK_THAT(problem(Problem::unreadable), KSIGN_CONTAINS("cannot be read by this user"));
  CHECK(problem(Problem::none) == "'/etc/ksign/keys.d/ab12' does not lead to it");
}

TEST_CASE("cli::guard_private_key: the ssh rule for key files and the directories above them", "[key_options]")
{
  const test::TempDir dir;
  const fs::path keys = dir.path() / "keys";
  fs::create_directories(keys);
  fs::permissions(keys, fs::perms::owner_all);
  const fs::path key = keys / "k.pem";
  write_file(key, "not read: only its mode counts\n", fs::perms::owner_read | fs::perms::owner_write);
  cli::Output out("test");

  SECTION("0600 in a private directory passes silently")
  {
    CHECK(test::captured_stderr([&] { cli::guard_private_key(key, false, false, out); }).empty());
  }
  SECTION("what does not exist, or is no regular file, is left to the loader")
  {
    // In a directory that would be refused for a key file in it.
    fs::permissions(keys, fs::perms::all);
    REQUIRE(::mkfifo((keys / "fifo.pem").c_str(), 0666) == 0);
    fs::create_directory(keys / "directory.pem");
    for (const char* name : {"missing.pem", "fifo.pem", "directory.pem"}) {
      INFO(name);
      CHECK_NOTHROW(cli::guard_private_key(keys / name, false, false, out));
    }
    CHECK_THROWS(cli::guard_private_key(key, false, false, out));
  }
  SECTION("group or others may read it: refused, warned with --allow-loose-key or for sign-file")
  {
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    CHECK(thrown_errc([&] { cli::guard_private_key(key, false, false, out); }) == Errc::failure);
    CHECK_THROWS_WITH(cli::guard_private_key(key, false, false, out),
                      "the private key '" + key.string() + "' can be read by group or others (mode 0640); run: chmod 600 '"
                        + key.string() + "' (or give --allow-loose-key to use it anyway)");
    CHECK(test::captured_stderr([&] { cli::guard_private_key(key, true, false, out); })
          == "ksign test: warning: the private key '" + key.string()
               + "' can be read by group or others (mode 0640) (used anyway: --allow-loose-key)\n");
    CHECK(test::captured_stderr([&] { cli::guard_private_key(key, false, true, out); })
          == "ksign test: warning: the private key '" + key.string()
               + "' can be read by group or others (mode 0640); run: chmod 600 '" + key.string() + "'\n");
  }
  SECTION("others may change it: refused as changeable")
  {
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_write);
    CHECK_THROWS_WITH(cli::guard_private_key(key, false, false, out), KSIGN_CONTAINS("can be changed by group or others (mode 0602)"));
  }
  SECTION("a directory above it anyone can write to: refused, unless it has the sticky bit")
  {
    fs::permissions(keys, fs::perms::all);
    CHECK_THROWS_WITH(cli::guard_private_key(key, false, false, out),
                      "anyone can write to '" + keys.string() + "' (mode 0777, no sticky bit), so anyone can replace '"
                        + key.string() + "' below it; run: chmod o-w '" + keys.string()
                        + "' (or give --allow-loose-key to use it anyway)");
    CHECK_THAT(test::captured_stderr([&] { cli::guard_private_key(key, true, false, out); }),
               KSIGN_CONTAINS("warning: anyone can write to '" + keys.string() + "'"));
    fs::permissions(keys, fs::perms::all | fs::perms::sticky_bit);
    CHECK_NOTHROW(cli::guard_private_key(key, false, false, out));
    // The same rule for a key directory itself.
    fs::permissions(keys, fs::perms::all);
    CHECK_THROWS_WITH(cli::guard_key_directory(keys, false, out), KSIGN_CONTAINS("so anyone can replace '" + keys.string() + "'"));
    fs::permissions(keys, fs::perms::owner_all);
    CHECK_NOTHROW(cli::guard_key_directory(keys, false, out));
  }
  SECTION("the Invocation form reads --allow-loose-key from the command line")
  {
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
    const cli::Paths paths;
    const cxxopts::ParseResult strict = parsed(k_loose_key_command, {});
    const cli::Invocation refusing = invocation_of(strict, out, paths);
    CHECK_THROWS_WITH(cli::guard_private_key(key, refusing), KSIGN_CONTAINS("(mode 0604)"));
    const cxxopts::ParseResult allowing = parsed(k_loose_key_command, {"--allow-loose-key"});
    const cli::Invocation allowed = invocation_of(allowing, out, paths);
    CHECK_THAT(test::captured_stderr([&] { cli::guard_private_key(key, allowed); }), KSIGN_CONTAINS("used anyway"));
    // A command that never declared --allow-loose-key cannot ask for it: ksign's bug, said loudly.
    const cli::Command bare = {.name = "test-bare"};
    const cxxopts::ParseResult undeclared = parsed(bare, {});
    const cli::Invocation wrong = invocation_of(undeclared, out, paths);
    CHECK_THROWS_AS(cli::guard_private_key(key, wrong), std::logic_error);
  }
}

TEST_CASE("cli::trusted_certificate_files: --cert files, and the store's current certificate when asked", "[key_options]")
{
  Setup setup;
  const fs::path store = setup.dir.path() / "certs-local";
  const cxxopts::ParseResult none = parsed(k_signing_command, {});
  const std::vector<fs::path> given = {"a.crt", "b.crt"};

  // Certificates given and no store named: those only (the default store need not exist).
  CHECK(cli::trusted_certificate_files(given, std::nullopt, setup.invocation(none, store, false)) == given);
  // None given: the default store must have a current key.
  CHECK(thrown_errc([&] { (void)cli::trusted_certificate_files({}, std::nullopt, setup.invocation(none, store, false)); })
        == Errc::usage);

  make_store(store);
  const fs::path current = core::current_certificate_files(store).certificate;
  CHECK(cli::trusted_certificate_files({}, std::nullopt, setup.invocation(none, store, false)) == std::vector<fs::path>{current});
  // Certificates and -d/--dir: both.
  CHECK(cli::trusted_certificate_files(given, std::nullopt, setup.invocation(none, store, true))
        == std::vector<fs::path>{"a.crt", "b.crt", current});
}

TEST_CASE("cli::chosen_hash names the flag for a hash it refuses", "[key_options]")
{
  CHECK(cli::chosen_hash(std::nullopt, std::nullopt) == core::k_default_hash);
  CHECK(cli::chosen_hash(std::nullopt, core::HashAlgo::sha384) == core::HashAlgo::sha384);
  CHECK(cli::chosen_hash(std::string("sha256"), core::HashAlgo::sha384) == core::HashAlgo::sha256);
  CHECK(cli::chosen_hash(std::string("sha3-384"), std::nullopt) == core::HashAlgo::sha3_384);
  CHECK(thrown_errc([] { (void)cli::chosen_hash(std::string("md5"), std::nullopt, "-a"); }) == Errc::usage);
  CHECK_THROWS_WITH(cli::chosen_hash(std::string("md5"), std::nullopt, "-a"), KSIGN_CONTAINS("-a: unknown hash 'md5'"));
  CHECK_THROWS_WITH(cli::chosen_hash(std::string("sha1"), core::HashAlgo::sha512),
                    KSIGN_CONTAINS("--hash: the kernel no longer accepts new sha1 signatures"));
}

TEST_CASE("cli::require_kernel_usable_key and warn_if_short_key", "[key_options]")
{
  cli::Output out("test");
  const core::SigningKey usable = test::make_key(core::KeyType::ec, "p384");
  CHECK(test::captured_stderr([&] { cli::require_kernel_usable_key(usable.certificate, "'k.pem'", false, out); }).empty());

  const core::SigningKey p224 = test::make_key(core::KeyType::ec, "p224", "secp224r1");
  CHECK(thrown_errc([&] { cli::require_kernel_usable_key(p224.certificate, "'k.pem'", false, out); }) == Errc::failure);
  CHECK_THROWS_WITH(cli::require_kernel_usable_key(p224.certificate, "'k.pem'", false, out),
                    KSIGN_CONTAINS("'k.pem' holds an EC key on the curve") && KSIGN_CONTAINS("--allow-unsupported-key to sign anyway"));
  CHECK_THAT(test::captured_stderr([&] { cli::require_kernel_usable_key(p224.certificate, "'k.pem'", true, out); }),
             KSIGN_CONTAINS("warning: 'k.pem' holds an EC key") && KSIGN_CONTAINS("(signing anyway: --allow-unsupported-key)"));

  const EvpPkeyPtr short_rsa(EVP_RSA_gen(1024));
  REQUIRE(short_rsa);
  CHECK(test::captured_stderr([&] { cli::warn_if_short_key(short_rsa.get(), "the key 'k.pem'", out); })
        == "ksign test: warning: the key 'k.pem' is an RSA key of 1024 bits; keys shorter than 2048 bits are weak: make a new one\n");
  const core::SigningKey rsa = test::make_key(core::KeyType::rsa, "rsa 2048");
  CHECK(test::captured_stderr([&] { cli::warn_if_short_key(rsa.key.get(), "the key", out); }).empty());
}

TEST_CASE("cli::key_passphrase is $KBUILD_SIGN_PIN, as sign-file reads it", "[key_options]")
{
  {
    const test::ScopedEnv pin("KBUILD_SIGN_PIN", nullptr);
    CHECK_FALSE(cli::key_passphrase());
  }
  {
    const test::ScopedEnv pin("KBUILD_SIGN_PIN", "");
    CHECK(cli::key_passphrase() == ""); // set but empty: an empty passphrase, as sign-file takes it
  }
  const test::ScopedEnv pin("KBUILD_SIGN_PIN", "s3cret");
  CHECK(cli::key_passphrase() == "s3cret");
}

TEST_CASE("cli::trust_current_key points every config at the current certificate, or none", "[key_options]")
{
  const test::TempDir dir;
  const fs::path store = dir.path() / "certs-local";
  make_store(store);
  const fs::path certificate = core::trusted_certificate(store);
  const fs::path first = dir.path() / "config-a";
  const fs::path second = dir.path() / "config-b";
  const std::string text = "CONFIG_MODULES=y\nCONFIG_SYSTEM_TRUSTED_KEYS=\"\"\n";
  test::write_text(first, text);
  test::write_text(second, text);
  cli::Output out("test");

  SECTION("a file that is no kernel config leaves them all as they were")
  {
    const fs::path binary = dir.path() / "vmlinux";
    test::write_text(binary, std::string("\x7f" "ELF\0\0", 6));
    const std::vector<fs::path> configs = {first, binary, second};
    CHECK_THROWS_WITH(cli::trust_current_key(store, configs, out), KSIGN_CONTAINS("is not a kernel config"));
    CHECK(test::read_whole(first) == Bytes(text.begin(), text.end()));
    CHECK(test::read_whole(second) == Bytes(text.begin(), text.end()));
  }
  SECTION("each config changed is named once; the second run changes nothing")
  {
    const std::vector<fs::path> configs = {first, second};
    const std::string said = test::captured_stderr([&] { cli::trust_current_key(store, configs, out); });
    const std::string line = "CONFIG_SYSTEM_TRUSTED_KEYS=\"" + certificate.string() + "\"";
    CHECK(said == first.string() + ": " + line + "\n" + second.string() + ": " + line + "\n");
    const Bytes changed = test::read_whole(first);
    CHECK_THAT(std::string(changed.begin(), changed.end()), KSIGN_CONTAINS(line));
    CHECK(test::captured_stderr([&] { cli::trust_current_key(store, configs, out); }).empty());
    // With --verbose the unchanged ones are named.
    out.set_verbosity(cli::Verbosity::verbose);
    CHECK(test::captured_stderr([&] { cli::trust_current_key(store, std::vector<fs::path>{first}, out); })
          == first.string() + ": already trusts '" + certificate.string() + "'\n");
  }
  SECTION("a config that is a link is replaced by the edited copy, and that is said")
  {
    const fs::path link = dir.path() / "config-link";
    fs::create_symlink(first, link);
    const std::string said = test::captured_stderr([&] { cli::trust_current_key(store, std::vector<fs::path>{link}, out); });
    CHECK_THAT(said, KSIGN_CONTAINS("'" + link.string() + "' was a link to '" + first.string()
                                    + "': replaced it by the edited copy (the original is unchanged)"));
    CHECK_FALSE(fs::is_symlink(link));
    CHECK(test::read_whole(first) == Bytes(text.begin(), text.end()));
  }
}
