// SPDX-License-Identifier: MIT
// Does a kernel use .platform for modules: the calls from mod_verify_sig to
// verify_pkcs7_signature, counted in programs gcc builds here (mainline's one call, the
// distributions' patch's two, as calls and as tail-call jumps), and in the testbeds' real images.
// (Debian's patched 6.12 was checked by hand: its -dbg vmlinux shows two calls. Its compiled code
// is GPL-2.0 and stays out of this repository.)
#include "catch.hpp"
#include "test_support.hpp"
#include "testbeds.hpp"

#include "core/kernel_image.hpp"
#include "core/platform_fallback.hpp"
#include "util/error.hpp"

#include <fstream>

using namespace ksign;
using core::FallbackEvidence;
using core::PlatformFallback;

namespace {

// mod_verify_sig as mainline writes it (one call), and as the distributions' patch does (a
// second call when the first returns -ENOKEY). The callee stays a real function (noinline) in
// its own section, as it is in the kernel (another file). linux_banner lets a System.map
// prove it fits.
constexpr std::string_view k_program = R"(
const char linux_banner[] = "Linux version 6.99.0-test (ksign@test) #1 SMP\n";
__attribute__((noinline, section(".text.other"))) int verify_pkcs7_signature(const void* data, unsigned long len, int which)
{
  __asm__ volatile("" : : "r"(data), "r"(len), "r"(which) : "memory");
  return which == 1 ? -126 : 0;
}
int mod_verify_sig(const void* mod, unsigned long len)
{
  int ret = verify_pkcs7_signature(mod, len, 1);
#ifdef PATCHED
  if (ret == -126)
    ret = verify_pkcs7_signature(mod, len, 2);
#endif
  return ret;
}
void _start(void) { mod_verify_sig(linux_banner, 1); for (;;) {} }
)";

// Build k_program into an executable in `dir`; empty path when there is no gcc to do it.
std::filesystem::path build_program(const test::TempDir& dir, const std::string& name, const std::string& flags)
{
  const std::filesystem::path source = dir.path() / "program.c";
  test::write_text(source, k_program);
  const std::filesystem::path program = dir.path() / name;
  if (!test::run("gcc -nostdlib -static -no-pie -fno-stack-protector " + flags + " -o " +
                 test::shell_quote(program.string()) + " " + test::shell_quote(source.string()) + " 2>/dev/null")) {
    return {};
  }
  return program;
}

core::PlatformFallbackProbe probe_file(const std::filesystem::path& image,
                                       std::optional<std::string_view> system_map = std::nullopt,
                                       std::optional<std::string_view> banner = std::nullopt)
{
  return core::probe_platform_fallback(test::read_whole(image), system_map, banner);
}

} // namespace

TEST_CASE("platform fallback: one call is mainline, two are the distributions' patch", "[platform]")
{
  test::TempDir dir;
  // -O2 makes the last call a tail call (e9 jmp), -O0 a plain call (e8).
  for (const char* optimization : {"-O2", "-O0"}) {
    CAPTURE(optimization);
    const auto mainline = build_program(dir, "mainline", optimization);
    const auto patched = build_program(dir, "patched", std::string(optimization) + " -DPATCHED");
    if (mainline.empty() || patched.empty()) {
      KSIGN_SKIP("gcc cannot build a static program here");
    }
    const core::PlatformFallbackProbe one = probe_file(mainline);
    CHECK(one.evidence == FallbackEvidence::calls_counted);
    CHECK(one.calls == 1);
    CHECK(one.fallback == PlatformFallback::unused);
    const core::PlatformFallbackProbe two = probe_file(patched);
    CHECK(two.evidence == FallbackEvidence::calls_counted);
    CHECK(two.calls == 2);
    CHECK(two.fallback == PlatformFallback::used);
  }
  CHECK(core::platform_fallback_name(PlatformFallback::used) == "yes");
  CHECK(core::platform_fallback_name(PlatformFallback::unused) == "no");
  CHECK(core::platform_fallback_name(PlatformFallback::unknown) == "unknown");
}

TEST_CASE("platform fallback: a stripped image needs a System.map that fits it", "[platform]")
{
  test::TempDir dir;
  const auto patched = build_program(dir, "patched", "-O2 -DPATCHED");
  if (patched.empty()) {
    KSIGN_SKIP("gcc cannot build a static program here");
  }
  const std::filesystem::path map = dir.path() / "System.map";
  const std::filesystem::path stripped = dir.path() / "stripped";
  REQUIRE(test::run("nm -n " + test::shell_quote(patched.string()) + " > " + test::shell_quote(map.string())));
  REQUIRE(test::run("strip -o " + test::shell_quote(stripped.string()) + " " + test::shell_quote(patched.string())));
  const std::string map_text = test::read_text(map);

  const core::PlatformFallbackProbe blind = probe_file(stripped);
  CHECK(blind.fallback == PlatformFallback::unknown);
  CHECK(blind.evidence == FallbackEvidence::no_symbols);

  const core::PlatformFallbackProbe by_map = probe_file(stripped, map_text);
  CHECK(by_map.evidence == FallbackEvidence::calls_counted);
  CHECK(by_map.fallback == PlatformFallback::used);

  // Another program's map (linux_banner elsewhere) does not fit: no answer rather than a wrong one.
  const auto other = build_program(dir, "other", "-O0 -DPATCHED -DUNUSED=1 -falign-functions=4096");
  REQUIRE_FALSE(other.empty());
  const std::filesystem::path other_map = dir.path() / "other.map";
  REQUIRE(test::run("nm -n " + test::shell_quote(other.string()) + " > " + test::shell_quote(other_map.string())));
  const std::string other_text = test::read_text(other_map);
  if (other_text != map_text) {
    CHECK(probe_file(stripped, other_text).evidence == FallbackEvidence::no_symbols);
  }

  // A banner other than the image's own: the image is another build of the kernel.
  const core::PlatformFallbackProbe same = probe_file(patched, std::nullopt, "Linux version 6.99.0-test (ksign@test) #1 SMP\n");
  CHECK(same.fallback == PlatformFallback::used);
  const core::PlatformFallbackProbe rebuilt = probe_file(patched, std::nullopt, "Linux version 6.99.0-test (ksign@test) #2 SMP\n");
  CHECK(rebuilt.fallback == PlatformFallback::unknown);
  CHECK(rebuilt.evidence == FallbackEvidence::other_build);
}

TEST_CASE("platform fallback: what is not an x86 kernel with mod_verify_sig is unknown", "[platform]")
{
  test::TempDir dir;
  const auto mainline = build_program(dir, "mainline", "-O2");
  if (mainline.empty()) {
    KSIGN_SKIP("gcc cannot build a static program here");
  }
  // The same program claiming to be arm64 code.
  Bytes image = test::read_whole(mainline);
  image[18] = 183; // e_machine = EM_AARCH64
  image[19] = 0;
  const core::PlatformFallbackProbe arm = core::probe_platform_fallback(image, std::nullopt);
  CHECK(arm.fallback == PlatformFallback::unknown);
  CHECK(arm.evidence == FallbackEvidence::other_architecture);

  // No mod_verify_sig at all (a kernel without module signing, or one that inlined it).
  test::write_text(dir.path() / "plain.c", "void _start(void) { for (;;) {} }\n");
  REQUIRE(test::run("gcc -nostdlib -static -no-pie -O2 -o " + test::shell_quote((dir.path() / "plain").string()) + " " +
                    test::shell_quote((dir.path() / "plain.c").string())));
  const core::PlatformFallbackProbe plain = probe_file(dir.path() / "plain");
  CHECK(plain.fallback == PlatformFallback::unknown);
  CHECK(plain.evidence == FallbackEvidence::no_function);

  CHECK_THROWS_AS(core::probe_platform_fallback(as_bytes(std::string_view("not a kernel at all")), std::nullopt), Error);
}

TEST_CASE("platform fallback: the testbeds' kernels (Debian source, no INTEGRITY_PLATFORM_KEYRING) do not use it",
          "[platform]")
{
  std::string why;
  const auto testbed = test::testbed_6(why);
  if (!testbed) {
    KSIGN_SKIP(why);
  }
  // Built from Debian's patched source, but without CONFIG_INTEGRITY_PLATFORM_KEYRING the second
  // call compiles away: one call, as mainline.
  const core::PlatformFallbackProbe six = probe_file(*testbed / "vmlinux");
  CHECK(six.evidence == FallbackEvidence::calls_counted);
  CHECK(six.fallback == PlatformFallback::unused);

  std::string why7;
  const auto testbed7 = test::testbed_7(why7);
  if (!testbed7) {
    KSIGN_SKIP(why7);
  }
  // The bzImage has no symbols: its System.map locates the code.
  const std::string map = test::read_text(*testbed7 / "System.map");
  const core::PlatformFallbackProbe seven = probe_file(*testbed7 / "bzImage", map);
  CHECK(seven.evidence == FallbackEvidence::calls_counted);
  CHECK(seven.fallback == PlatformFallback::unused);
  CHECK(probe_file(*testbed7 / "bzImage").evidence == FallbackEvidence::no_symbols);
}

TEST_CASE("platform fallback: an installed kernel's images, the debug image included", "[platform]")
{
  test::TempDir dir;
  const auto patched = build_program(dir, "patched", "-O2 -DPATCHED");
  const auto mainline = build_program(dir, "mainline", "-O2");
  if (patched.empty() || mainline.empty()) {
    KSIGN_SKIP("gcc cannot build a static program here");
  }
  const std::filesystem::path moduledir = dir.path() / "modules";
  const std::filesystem::path boot = dir.path() / "boot";
  const std::filesystem::path debug = dir.path() / "debug";
  std::filesystem::create_directories(moduledir / "6.99.0-test");
  std::filesystem::create_directories(boot);
  std::filesystem::create_directories(debug / "boot");

  const core::PlatformFallbackProbe none = core::probe_installed_platform_fallback(moduledir, "6.99.0-test", boot, debug);
  CHECK(none.evidence == FallbackEvidence::no_image);
  CHECK(none.fallback == PlatformFallback::unknown);

  // A stripped boot image (Debian's vmlinuz, no System.map worth the name) cannot tell; the
  // debug package's vmlinux can.
  REQUIRE(test::run("strip -o " + test::shell_quote((boot / "vmlinuz-6.99.0-test").string()) + " " +
                    test::shell_quote(patched.string())));
  test::write_text(boot / "System.map-6.99.0-test", "ffffffffffffffff B The real System.map is in the linux-image-dbg package\n");
  const core::PlatformFallbackProbe stripped = core::probe_installed_platform_fallback(moduledir, "6.99.0-test", boot, debug);
  CHECK(stripped.evidence == FallbackEvidence::no_symbols);
  CHECK(stripped.image == boot / "vmlinuz-6.99.0-test");
  std::filesystem::copy_file(patched, debug / "boot" / "vmlinux-6.99.0-test");
  const core::PlatformFallbackProbe with_debug = core::probe_installed_platform_fallback(moduledir, "6.99.0-test", boot, debug);
  CHECK(with_debug.fallback == PlatformFallback::used);
  CHECK(with_debug.image == debug / "boot" / "vmlinux-6.99.0-test");

  // The build tree's vmlinux comes first (Arch's headers ship it with symbols).
  std::filesystem::create_directories(moduledir / "6.99.0-test" / "build");
  std::filesystem::copy_file(mainline, moduledir / "6.99.0-test" / "build" / "vmlinux");
  const core::PlatformFallbackProbe arch = core::probe_installed_platform_fallback(moduledir, "6.99.0-test", boot, debug);
  CHECK(arch.fallback == PlatformFallback::unused);
  CHECK(arch.image == moduledir / "6.99.0-test" / "build" / "vmlinux");

  // An unreadable candidate is a failure on the way, not an error.
  test::write_text(moduledir / "6.99.0-test" / "vmlinuz", "not a kernel");
  std::filesystem::remove(moduledir / "6.99.0-test" / "build" / "vmlinux");
  const core::PlatformFallbackProbe past = core::probe_installed_platform_fallback(moduledir, "6.99.0-test", boot, debug);
  CHECK(past.fallback == PlatformFallback::used);
  REQUIRE(past.failures.size() == 1);
  CHECK(past.failures[0].file == moduledir / "6.99.0-test" / "vmlinuz");
}
