// SPDX-License-Identifier: MIT
// The one home of an installed kernel's layout (modules, headers, image, System.map, certs-local)
// and the kernels installed under a module root with the ksign key each carries.
#include "catch.hpp"

#include "core/certificate.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_install.hpp"
#include "core/keystore.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::is_kernel_release: one directory under the module root", "[installed_kernel]")
{
  CHECK(core::is_kernel_release("6.12.1-arch1-1"));
  CHECK_FALSE(core::is_kernel_release(""));
  CHECK_FALSE(core::is_kernel_release("../6.12"));
  CHECK_FALSE(core::is_kernel_release("6.12/build"));
  // The module root itself and its parent are no kernel: installed_kernel("..") was the directory
  // above the module root.
  CHECK_FALSE(core::is_kernel_release("."));
  CHECK_FALSE(core::is_kernel_release(".."));
  const test::TempDir tmp;
  fs::create_directories(tmp.path() / "modules");
  CHECK_THROWS_WITH(core::installed_kernel(tmp.path() / "modules", ".."), KSIGN_CONTAINS("no installed kernel '..'"));
}

TEST_CASE("core::installed_kernel_layout: where a release's files are", "[installed_kernel]")
{
  const InstalledKernelLayout layout = installed_kernel_layout("/usr/lib/modules", "6.12.1-arch1-1", "/boot");
  CHECK(layout.root == "/usr/lib/modules/6.12.1-arch1-1");
  CHECK(layout.build == "/usr/lib/modules/6.12.1-arch1-1/build");
  CHECK(layout.key_store == "/usr/lib/modules/6.12.1-arch1-1/build/certs-local");
  CHECK(layout.config == "/usr/lib/modules/6.12.1-arch1-1/build/.config");
  CHECK(layout.build_key == "/usr/lib/modules/6.12.1-arch1-1/build/certs/signing_key.x509");
  // The build tree's vmlinux first (it has symbols), then Arch's vmlinuz, then Debian's.
  CHECK(layout.images == std::vector<fs::path>{"/usr/lib/modules/6.12.1-arch1-1/build/vmlinux",
                                               "/usr/lib/modules/6.12.1-arch1-1/vmlinuz", "/boot/vmlinuz-6.12.1-arch1-1"});
  CHECK(layout.system_maps
        == std::vector<fs::path>{"/boot/System.map-6.12.1-arch1-1", "/usr/lib/modules/6.12.1-arch1-1/build/System.map"});
  CHECK(kernel_key_store("/m", "6.99") == installed_kernel_layout("/m", "6.99").key_store);
}

TEST_CASE("core::installed_kernel, its config and module directories", "[installed_kernel]")
{
  const test::TempDir dir;
  const fs::path moduledir = dir.path() / "modules";
  const fs::path kernel = moduledir / "6.99.0-test";
  fs::create_directories(kernel / "build");
  fs::create_directories(kernel / "kernel");
  fs::create_directories(kernel / "updates" / "dkms");
  fs::create_directories(kernel / "source");
  CHECK(installed_kernel(moduledir, "6.99.0-test") == kernel);
  CHECK_THROWS_WITH(installed_kernel(moduledir, "1.2.3-none"), KSIGN_CONTAINS("no installed kernel '1.2.3-none'"));
  CHECK_THROWS_WITH(installed_kernel(moduledir, "../modules/6.99.0-test"), KSIGN_CONTAINS("no installed kernel"));
  CHECK_FALSE(installed_kernel_config(moduledir, "6.99.0-test").has_value());
  test::write_text(kernel / "build" / ".config", "CONFIG_MODULES=y\n");
  CHECK(installed_kernel_config(moduledir, "6.99.0-test") == kernel / "build" / ".config");
  CHECK(kernel_module_directories(moduledir, "6.99.0-test")
        == std::vector<std::string>{(kernel / "kernel").string(), (kernel / "updates").string()});
}

TEST_CASE("core::installed_kernel_keys: each release with the key it carries", "[installed_kernel]")
{
  const test::TempDir dir;
  const fs::path moduledir = dir.path() / "modules";
  const fs::path store = dir.path() / "store";
  const SigningKey key = test::make_key(KeyType::ec, "installed");
  fs::create_directories(store / "2026-01-01_00-00-00");
  test::write_text(store / "2026-01-01_00-00-00" / "signing_key.pem", test::private_key_pem(key) + test::certificate_pem(key));
  test::write_text(store / "2026-01-01_00-00-00" / "signing_crt.pem", test::certificate_pem(key));
  fs::create_directory_symlink("2026-01-01_00-00-00", store / "current");
  fs::create_directories(moduledir / "6.99.2" / "kernel");
  // Arch's shared extramodules-* directory holds modules but no kernel.
  fs::create_directories(moduledir / "extramodules-6.99-arch");
  (void)install_current_key(current_certificate_files(store), kernel_key_store(moduledir, "6.99.1"),
                            InstallWhat::certificates);
  const std::vector<KernelKey> kernels = installed_kernel_keys(moduledir);
  REQUIRE(kernels.size() == 2);
  CHECK(kernels[0].release == "6.99.1");
  CHECK(kernels[0].fingerprint == fingerprint_sha256(parse_certificate(key.certificate).get()));
  CHECK(kernels[0].key_id == subject_key_id_hex(parse_certificate(key.certificate).get()));
  CHECK(kernels[1].release == "6.99.2");
  CHECK(kernels[1].key_id.empty());
  CHECK_FALSE(kernels[1].unreadable.has_value());
}

TEST_CASE("core::installed_kernel_releases: directories that hold a kernel, in order", "[installed_kernel]")
{
  const test::TempDir dir;
  const fs::path moduledir = dir.path();
  fs::create_directories(moduledir / "6.99.3" / "build");
  fs::create_directories(moduledir / "6.99.1" / "kernel");
  fs::create_directories(moduledir / "extramodules-6.99-arch");
  fs::create_directories(moduledir / "leftover");
  fs::create_directories(moduledir / "6.99.2-dep");
  test::write_text(moduledir / "6.99.2-dep" / "modules.dep", "");
  test::write_text(moduledir / "not-a-directory", "");
  CHECK(installed_kernel_releases(moduledir) == std::vector<std::string>{"6.99.1", "6.99.2-dep", "6.99.3"});
  CHECK(installed_kernel_releases(moduledir / "missing").empty());
}
