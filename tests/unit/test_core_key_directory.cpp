// SPDX-License-Identifier: MIT
// The one rule for a key directory's files in every kernel-sign layout, the adoption of such a
// directory, the key/certificate check, and where an installed kernel's private key is (in its
// headers or through the registry), with real OpenSSL keys in temporary directories.
#include "catch.hpp"

#include "core/installed_kernel.hpp"
#include "core/key_directory.hpp"
#include "core/keystore.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

namespace {

void write_der(const fs::path& path, const Bytes& der)
{
  test::write_text(path, std::string(reinterpret_cast<const char*>(der.data()), der.size()));
}

// A key directory as a kernel-sign version left it.
enum class Layout { v4, three_files, v1 };

fs::path make_kernel_sign_directory(const fs::path& parent, const SigningKey& key, Layout layout)
{
  const fs::path dir = parent / "20250101-000000";
  fs::create_directories(dir);
  test::write_text(dir / "signing_key.pem", test::private_key_pem(key) + test::certificate_pem(key));
  write_der(dir / "signing_crt.crt", test::certificate_der(key));
  if (layout == Layout::v4) {
    test::write_text(dir / "signing_prv.pem", test::private_key_pem(key));
  }
  if (layout == Layout::v1) {
    test::write_text(dir / "signing_prv.key", test::private_key_pem(key));
  } else {
    test::write_text(dir / "khash", "sha384\n");
  }
  return dir;
}

} // namespace

TEST_CASE("core::key_directory_files: one rule for every kernel-sign layout", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "layout test");
  for (const Layout layout : {Layout::v4, Layout::three_files, Layout::v1}) {
    INFO(static_cast<int>(layout));
    const fs::path dir = make_kernel_sign_directory(tmp.path() / std::to_string(static_cast<int>(layout)), key, layout);
    const KeyFiles files = key_directory_files(dir);
    // kernel-sign signs with signing_key.pem: it is there in every layout.
    CHECK(files.key == dir / "signing_key.pem");
    CHECK(files.certificate == dir / "signing_crt.crt");
    CHECK(files.hash == (layout == Layout::v1 ? std::nullopt : std::optional<HashAlgo>(HashAlgo::sha384)));
    CHECK_NOTHROW(check_key_directory(files, std::nullopt));
  }
  SECTION("signing_prv.pem alone, or signing_prv.key alone, still holds the key")
  {
    const fs::path dir = make_kernel_sign_directory(tmp.path() / "only", key, Layout::v1);
    fs::remove(dir / "signing_key.pem");
    CHECK(key_directory_files(dir).key == dir / "signing_prv.key");
    test::write_text(dir / "signing_prv.pem", test::private_key_pem(key));
    CHECK(key_directory_files(dir).key == dir / "signing_prv.pem");
  }
  SECTION("certificates only: no key, and no certificate at all is an error")
  {
    const fs::path dir = tmp.path() / "public";
    fs::create_directories(dir);
    write_der(dir / "signing_crt.crt", test::certificate_der(key));
    CHECK(key_directory_files(dir).key.empty());
    fs::remove(dir / "signing_crt.crt");
    CHECK_THROWS_WITH(key_directory_files(dir), KSIGN_CONTAINS("has no signing_crt.crt"));
  }
  CHECK(is_private_key_name("signing_prv.key"));
  CHECK(is_private_key_name("signing_key.pem"));
  CHECK_FALSE(is_private_key_name("signing_crt.pem"));
}

TEST_CASE("core::check_key_directory refuses a private key that is not the certificate's", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "right");
  const SigningKey other = test::make_key(KeyType::ec, "wrong");
  const fs::path dir = make_kernel_sign_directory(tmp.path(), key, Layout::v4);
  // Any of the private key files: the one signed with first and the others.
  for (const char* name : {"signing_key.pem", "signing_prv.pem", "signing_prv.key"}) {
    INFO(name);
    const fs::path file = dir / name;
    const bool existed = fs::exists(file);
    const Bytes saved = existed ? test::read_whole(file) : Bytes{};
    test::write_text(file, test::private_key_pem(other));
    CHECK_THROWS_WITH(check_key_directory(key_directory_files(dir), std::nullopt),
                      KSIGN_CONTAINS(std::string(name) + "' does not match the certificate"));
    if (existed) {
      write_der(file, saved);
    } else {
      fs::remove(file);
    }
  }
  CHECK_NOTHROW(check_key_directory(key_directory_files(dir), std::nullopt));
}

TEST_CASE("core::complete_key_directory adopts a kernel-sign directory", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "adopt");
  SECTION("the three-file store gets signing_prv.pem and signing_crt.pem")
  {
    const fs::path dir = make_kernel_sign_directory(tmp.path(), key, Layout::three_files);
    CHECK(complete_key_directory(dir) == std::vector<std::string>{"signing_crt.pem", "signing_prv.pem"});
    CHECK(test::mode_of(dir / "signing_prv.pem") == 0600);
    CHECK(test::mode_of(dir / "signing_crt.pem") == 0644);
    const SigningKey loaded = load_signing_key(dir / "signing_prv.pem", dir / "signing_crt.pem", std::nullopt);
    CHECK(loaded.certificate == test::certificate_der(key));
    CHECK(complete_key_directory(dir).empty()); // once only
  }
  SECTION("1.x: signing_prv.key's sibling signing_key.pem gives signing_prv.pem")
  {
    const fs::path dir = make_kernel_sign_directory(tmp.path(), key, Layout::v1);
    fs::remove(dir / "signing_key.pem");
    fs::remove(dir / "signing_crt.crt");
    test::write_text(dir / "signing_crt.pem", test::certificate_pem(key));
    CHECK(complete_key_directory(dir) == std::vector<std::string>{"signing_crt.crt", "signing_prv.pem", "signing_key.pem"});
    CHECK(test::mode_of(dir / "signing_key.pem") == 0600);
    CHECK(test::read_whole(dir / "signing_crt.crt") == test::certificate_der(key));
    const SigningKey loaded = load_signing_key(dir / "signing_key.pem", std::nullopt, std::nullopt);
    CHECK(loaded.certificate == test::certificate_der(key));
    CHECK_NOTHROW(check_key_directory(key_directory_files(dir), std::nullopt));
  }
}

TEST_CASE("core::kernel_key_files: the headers' key, else the registry's, else why not", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "kernel key");
  const fs::path moduledir = tmp.path() / "modules";
  const fs::path registry = tmp.path() / "keys.d";
  const fs::path headers = kernel_key_store(moduledir, "6.99.0");
  fs::create_directories(moduledir / "6.98.0" / "build");
  CHECK_FALSE(kernel_key_files(moduledir, "6.98.0", registry).has_value());
  CHECK_FALSE(kernel_key_files(moduledir, "6.97.0", registry).has_value());

  // A kernel-sign 3-file store installed with the kernel: its signing_key.pem is the key.
  const fs::path installed = make_kernel_sign_directory(headers, key, Layout::three_files);
  fs::create_directory_symlink(installed.filename(), headers / "current");
  std::optional<KernelKeyFiles> found = kernel_key_files(moduledir, "6.99.0", registry);
  REQUIRE(found.has_value());
  CHECK(found->source == KernelKeyFiles::Source::headers);
  CHECK(found->key == installed / "signing_key.pem");
  CHECK(found->certificate == installed / "signing_crt.crt");
  CHECK(found->hash == HashAlgo::sha384);

  // The certificates only: the registry link named after the key id.
  fs::remove(installed / "signing_key.pem");
  found = kernel_key_files(moduledir, "6.99.0", registry);
  REQUIRE(found.has_value());
  CHECK(found->source == KernelKeyFiles::Source::registry);
  CHECK(found->key.empty());
  CHECK(found->problem == KernelKeyFiles::LinkProblem::missing);
  CHECK(found->link == registry / subject_key_id_hex(parse_certificate(test::certificate_der(key)).get()));

  const fs::path owner = make_kernel_sign_directory(tmp.path() / "owner", key, Layout::v1);
  fs::create_directories(registry);
  fs::create_directory_symlink(owner, found->link);
  found = kernel_key_files(moduledir, "6.99.0", registry);
  CHECK(found->problem == KernelKeyFiles::LinkProblem::none);
  CHECK(found->key == found->link / "signing_key.pem");

  // The owner's store moved away (or not mounted in a chroot): the link dangles.
  fs::rename(owner.parent_path(), tmp.path() / "moved");
  found = kernel_key_files(moduledir, "6.99.0", registry);
  CHECK(found->key.empty());
  CHECK(found->problem == KernelKeyFiles::LinkProblem::dangling);
  CHECK(found->link_target == owner);

  // A link to a key directory with another certificate is not this kernel's key.
  const SigningKey other = test::make_key(KeyType::ec, "other");
  make_kernel_sign_directory(tmp.path() / "owner", other, Layout::v4);
  found = kernel_key_files(moduledir, "6.99.0", registry);
  CHECK(found->key.empty());
  CHECK(found->problem == KernelKeyFiles::LinkProblem::other_certificate);

  // ... and one with the certificate but no private key leads nowhere either.
  const fs::path certificates_only = owner;
  fs::remove_all(certificates_only);
  fs::create_directories(certificates_only);
  write_der(certificates_only / "signing_crt.crt", test::certificate_der(key));
  found = kernel_key_files(moduledir, "6.99.0", registry);
  CHECK(found->problem == KernelKeyFiles::LinkProblem::no_private_key);
}

TEST_CASE("core::load_kernel_signing_key reads the kernel's key through its directories, never a link", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "kernel key");
  const fs::path moduledir = tmp.path() / "modules";
  const fs::path registry = tmp.path() / "keys.d";
  const fs::path headers = kernel_key_store(moduledir, "6.99.0");
  const fs::path installed = make_kernel_sign_directory(headers, key, Layout::v4);
  fs::create_directory_symlink(installed.filename(), headers / "current");

  // In the headers: key and certificate from the installed directory.
  std::optional<KernelKeyFiles> found = kernel_key_files(moduledir, "6.99.0", registry);
  REQUIRE(found.has_value());
  CHECK(load_kernel_signing_key(*found, std::nullopt).certificate == test::certificate_der(key));

  // Through the registry: the key of the registered directory, the installed certificate.
  fs::remove(installed / "signing_key.pem");
  fs::remove(installed / "signing_prv.pem");
  const fs::path owner = make_kernel_sign_directory(tmp.path() / "owner", key, Layout::v4);
  fs::create_directories(registry);
  fs::create_directory_symlink(owner, registry / subject_key_id_hex(parse_certificate(test::certificate_der(key)).get()));
  found = kernel_key_files(moduledir, "6.99.0", registry);
  REQUIRE(found.has_value());
  REQUIRE(found->source == KernelKeyFiles::Source::registry);
  REQUIRE(found->key == found->holder.key);
  CHECK(load_kernel_signing_key(*found, std::nullopt).certificate == test::certificate_der(key));

  // The key file swapped for a link (to a copy of the same key) after it was found: refused,
  // where reading by path would have followed it.
  const fs::path copy = tmp.path() / "copy.pem";
  fs::copy_file(owner / found->key.filename(), copy);
  fs::remove(owner / found->key.filename());
  fs::create_symlink(copy, owner / found->key.filename());
  CHECK_THROWS_WITH(load_kernel_signing_key(*found, std::nullopt), KSIGN_CONTAINS("is a symbolic link"));

  // No key reached: said, not guessed.
  found->key.clear();
  CHECK_THROWS_WITH(load_kernel_signing_key(*found, std::nullopt), KSIGN_CONTAINS("no private key"));
}

TEST_CASE("core::key_directory_files reads through the directory's descriptor, never a planted link", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "planted");
  const SigningKey other = test::make_key(KeyType::ec, "someone else's");
  const fs::path elsewhere = make_kernel_sign_directory(tmp.path() / "elsewhere", other, Layout::v4);
  const fs::path dir = make_kernel_sign_directory(tmp.path() / "store", key, Layout::v4);
  {
    const KeyFiles files = key_directory_files(dir);
    CHECK(key_directory_certificate(files) == test::certificate_der(key));
    CHECK(key_directory_signing_key(files, std::nullopt).certificate == test::certificate_der(key));
  }
  // Another key's files linked into the directory: refused, not read.
  fs::remove(dir / "signing_key.pem");
  fs::create_symlink(elsewhere / "signing_key.pem", dir / "signing_key.pem");
  CHECK_THROWS_WITH(key_directory_files(dir), KSIGN_CONTAINS("signing_key.pem' is a symbolic link"));
  fs::remove(dir / "signing_key.pem");
  REQUIRE(::mkfifo((dir / "signing_key.pem").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(key_directory_files(dir), KSIGN_CONTAINS("signing_key.pem' is not a regular file"));
  fs::remove(dir / "signing_key.pem");
  // A file swapped for a link after the directory was looked at is refused when it is read.
  const KeyFiles files = key_directory_files(dir);
  REQUIRE(files.key == dir / "signing_prv.pem");
  fs::remove(dir / "signing_prv.pem");
  fs::create_symlink(elsewhere / "signing_prv.pem", dir / "signing_prv.pem");
  CHECK_THROWS_WITH(key_directory_signing_key(files, std::nullopt), KSIGN_CONTAINS("is a symbolic link"));
  CHECK_THROWS_WITH(check_key_directory(files, std::nullopt), KSIGN_CONTAINS("is a symbolic link"));
}

TEST_CASE("core::current_certificate_files opens the key directory `current` names inside the store", "[key_directory]")
{
  const test::TempDir tmp;
  const SigningKey key = test::make_key(KeyType::ec, "current");
  const fs::path store = tmp.path() / "store";
  const fs::path dir = make_kernel_sign_directory(store, key, Layout::v4);
  fs::create_directory_symlink(dir.filename(), store / "current");
  CHECK(current_key_files(store).directory == fs::canonical(dir));
  // A key directory name that became a link to a directory elsewhere is not followed.
  const fs::path elsewhere = make_kernel_sign_directory(tmp.path() / "elsewhere", key, Layout::v4);
  fs::rename(dir, store / "moved");
  fs::create_directory_symlink(elsewhere, dir);
  CHECK_THROWS_WITH(current_key_files(store), KSIGN_CONTAINS("not to a key directory inside the key store"));
}
