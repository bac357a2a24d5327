// SPDX-License-Identifier: MIT
// Signing many modules with one key (cli/sign_batch), with real keys and the sample module in
// temporary directories; every signed file is checked with ksign's verifier and OpenSSL's.
#include "catch.hpp"

#include "cli/output.hpp"
#include "cli/sign_batch.hpp"
#include "core/certificate.hpp"
#include "core/compress.hpp"
#include "core/modsig.hpp"
#include "core/module_files.hpp"
#include "core/module_signer.hpp"
#include "core/module_verifier.hpp"
#include "test_support.hpp"
#include "util/cleanup.hpp"
#include "util/error.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace ksign;
namespace fs = std::filesystem;

namespace {

// What the callbacks saw, from any thread.
struct Calls
{
  std::mutex mutex;
  std::map<std::size_t, std::vector<std::string>> signed_modules; // index -> each description given
  std::vector<std::size_t> failed;
  std::vector<std::size_t> accepted;

  cli::SignBatch batch()
  {
    cli::SignBatch batch;
    batch.on_signed = [this](std::size_t index, const std::string& description) {
      const std::lock_guard lock(mutex);
      signed_modules[index].push_back(description);
    };
    batch.on_failed = [this](std::size_t index) {
      const std::lock_guard lock(mutex);
      failed.push_back(index);
    };
    return batch;
  }
};

struct Fixture
{
  test::TempDir dir;
  fs::path modules = dir.path() / "modules";
  std::shared_ptr<const core::SigningKey> key = test::shared_key(test::make_key(core::KeyType::ec, "batch"));
  core::ModuleSigner signer{key, {}};
  cli::Output out{"test"};
  Bytes sample = test::sample_module();

  Fixture() { fs::create_directories(modules); }

  fs::path add(const std::string& name, ByteView bytes)
  {
    const fs::path path = modules / name;
    test::write_text(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    return path;
  }

  [[nodiscard]] std::vector<core::ModuleFile> collected() const
  {
    const std::vector<std::string> arguments = {modules.string()};
    return core::collect_modules(arguments, false);
  }

  // The kernel's verdict on `path` with this key trusted.
  [[nodiscard]] core::Verdict verdict(const fs::path& path) const
  {
    core::TrustedKeys trusted;
    trusted.add(core::parse_certificate(key->certificate));
    return core::verify_module(test::read_whole(path), trusted).verdict;
  }

  // Whether OpenSSL's CMS verifier takes the signature of the uncompressed module `path`.
  [[nodiscard]] bool openssl_verifies(const fs::path& path) const
  {
    const Bytes file = test::read_whole(path);
    const core::Trailer trailer = core::parse_trailer(file);
    if (trailer.status != core::TrailerStatus::signed_module) {
      return false;
    }
    return test::openssl_cms_verifies(trailer.cms, ByteView(file).first(trailer.signed_length), *key);
  }

  // The names in the module directory (temporaries would show here).
  [[nodiscard]] std::vector<std::string> names() const
  {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(modules)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::vector<std::size_t> indexes(std::size_t count)
{
  std::vector<std::size_t> all(count);
  for (std::size_t i = 0; i < count; ++i) {
    all[i] = i;
  }
  return all;
}

} // namespace

TEST_CASE("cli::sign_modules signs every module in parallel, reporting each once", "[sign_batch]")
{
  Fixture f;
  for (int i = 0; i < 12; ++i) {
    (void)f.add("m" + std::to_string(i) + ".ko", f.sample);
  }
  const std::vector<core::ModuleFile> modules = f.collected();
  REQUIRE(modules.size() == 12);
  const std::vector<std::string> before = f.names();

  for (const unsigned jobs : {1U, 4U}) {
    INFO("jobs " << jobs);
    Calls calls;
    cli::SignBatch batch = calls.batch();
    batch.jobs = jobs;
    std::size_t failures = 99;
    const std::string said = test::captured_stderr([&] { failures = cli::sign_modules(f.signer, modules, batch, f.out); });
    CHECK(failures == 0);
    CHECK(said.empty());
    CHECK(calls.failed.empty());
    REQUIRE(calls.signed_modules.size() == modules.size());
    for (const auto& [index, descriptions] : calls.signed_modules) {
      REQUIRE(index < modules.size());
      // Once per module; the second round replaces the first round's signatures.
      CHECK(descriptions == std::vector<std::string>{
                              "'" + modules[index].path.string() + "'" + (jobs == 1 ? "" : ", replacing its old signature")});
    }
    for (const core::ModuleFile& module : modules) {
      CHECK(f.verdict(module.path) == core::Verdict::ok);
      CHECK(f.openssl_verifies(module.path));
    }
    // Nothing left beside them.
    CHECK(f.names() == before);
  }
}

TEST_CASE("cli::sign_modules: compressed modules are signed in their format and said so", "[sign_batch]")
{
  Fixture f;
  const fs::path gz = f.add("a.ko.gz", core::compress(core::Compression::gzip, f.sample));
  const fs::path zst = f.add("b.ko.zst", core::compress(core::Compression::zstd, f.sample));
  const std::vector<core::ModuleFile> modules = f.collected();
  REQUIRE(modules.size() == 2);
  Calls calls;
  CHECK(cli::sign_modules(f.signer, modules, calls.batch(), f.out) == 0);
  std::vector<std::string> descriptions;
  for (const auto& [index, said] : calls.signed_modules) {
    descriptions.insert(descriptions.end(), said.begin(), said.end());
  }
  std::sort(descriptions.begin(), descriptions.end());
  CHECK(descriptions == std::vector<std::string>{"'" + gz.string() + "' (gzip)", "'" + zst.string() + "' (zstd)"});
  for (const fs::path& path : {gz, zst}) {
    CHECK(core::detect_compression(test::read_whole(path)) != core::Compression::none);
    CHECK(f.verdict(path) == core::Verdict::ok);
  }
}

TEST_CASE("cli::sign_modules: a module that fails fails only itself", "[sign_batch]")
{
  Fixture f;
  const fs::path good_a = f.add("a.ko", f.sample);
  const fs::path bad = f.add("bad.ko", Bytes(4096, 'x'));
  const fs::path good_b = f.add("b.ko", f.sample);
  const Bytes bad_before = test::read_whole(bad);
  const std::vector<core::ModuleFile> modules = f.collected();
  REQUIRE(modules.size() == 3);
  std::size_t bad_index = modules.size();
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (modules[i].path == bad) {
      bad_index = i;
    }
  }
  REQUIRE(bad_index < modules.size());

  Calls calls;
  const cli::SignBatch batch = calls.batch();
  std::size_t failures = 99;
  const std::string said = test::captured_stderr([&] { failures = cli::sign_modules(f.signer, modules, batch, f.out); });
  CHECK(failures == 1);
  CHECK(calls.failed == std::vector<std::size_t>{bad_index});
  CHECK(calls.signed_modules.size() == 2);
  CHECK(calls.signed_modules.count(bad_index) == 0);
  // Reported once, naming the file once.
  CHECK(said == "ksign test: error: '" + bad.string() + "': not an ELF file\n");
  CHECK(test::read_whole(bad) == bad_before);
  CHECK(f.verdict(good_a) == core::Verdict::ok);
  CHECK(f.verdict(good_b) == core::Verdict::ok);
  CHECK(f.names() == std::vector<std::string>{"a.ko", "b.ko", "bad.ko"});
}

TEST_CASE("cli::sign_modules: accept sees each file as read, and refuses one by throwing", "[sign_batch]")
{
  Fixture f;
  // One module signed already with another key: accept sees it as it is on disk.
  const auto other = test::shared_key(test::make_key(core::KeyType::rsa, "other"));
  const Bytes signed_by_other = core::ModuleSigner(other, {}).sign_image(f.sample);
  const fs::path refused = f.add("refused.ko", signed_by_other);
  const fs::path taken = f.add("taken.ko", f.sample);
  const std::vector<core::ModuleFile> modules = f.collected();
  REQUIRE(modules.size() == 2);

  Calls calls;
  cli::SignBatch batch = calls.batch();
  std::map<fs::path, Bytes> seen;
  batch.accept = [&](std::size_t index, ByteView file) {
    {
      const std::lock_guard lock(calls.mutex);
      calls.accepted.push_back(index);
      seen[modules[index].path] = Bytes(file.begin(), file.end());
    }
    if (modules[index].path == refused) {
      throw Error(Errc::failure, "it changed since it was judged");
    }
  };
  std::size_t failures = 99;
  const std::string said = test::captured_stderr([&] { failures = cli::sign_modules(f.signer, modules, batch, f.out); });
  CHECK(failures == 1);
  std::sort(calls.accepted.begin(), calls.accepted.end());
  CHECK(calls.accepted == indexes(2));
  CHECK(seen[refused] == signed_by_other);
  CHECK(seen[taken] == f.sample);
  // The refused module is left byte for byte; the other is signed.
  CHECK(test::read_whole(refused) == signed_by_other);
  CHECK(f.verdict(taken) == core::Verdict::ok);
  CHECK(said == "ksign test: error: '" + refused.string() + "': it changed since it was judged\n");
  CHECK(calls.failed.size() == 1);
  CHECK(calls.signed_modules.size() == 1);
  CHECK(f.names() == std::vector<std::string>{"refused.ko", "taken.ko"});
}

TEST_CASE("cli::sign_modules: without on_signed, a signed module is a --verbose line", "[sign_batch]")
{
  Fixture f;
  const fs::path module = f.add("a.ko", f.sample);
  const std::vector<core::ModuleFile> modules = f.collected();
  const cli::SignBatch batch;
  CHECK(test::captured_stderr([&] { CHECK(cli::sign_modules(f.signer, modules, batch, f.out) == 0); }).empty());
  f.out.set_verbosity(cli::Verbosity::verbose);
  CHECK(test::captured_stderr([&] { CHECK(cli::sign_modules(f.signer, modules, batch, f.out) == 0); })
        == "signed '" + module.string() + "', replacing its old signature\n");
}

TEST_CASE("cli::sign_modules: every name of a file or none", "[sign_batch]")
{
  Fixture f;
  const fs::path first = f.add("a.ko", f.sample);
  const fs::path second = f.modules / "also-a.ko";
  fs::create_hard_link(first, second);

  SECTION("one name of two given: refused, the file as it was")
  {
    const std::vector<std::string> arguments = {first.string()};
    const std::vector<core::ModuleFile> modules = core::collect_modules(arguments, false);
    REQUIRE(modules.size() == 1);
    Calls calls;
    std::size_t failures = 99;
    const std::string said =
      test::captured_stderr([&] { failures = cli::sign_modules(f.signer, modules, calls.batch(), f.out); });
    CHECK(failures == 1);
    CHECK_THAT(said, KSIGN_CONTAINS("'" + first.string() + "': it has 2 names (hard links) and only 1 of them is among"));
    CHECK(test::read_whole(first) == f.sample);
    CHECK(calls.failed == std::vector<std::size_t>{0});
  }
  SECTION("both names given: signed once, both names on the signed file")
  {
    const std::vector<core::ModuleFile> modules = f.collected();
    REQUIRE(modules.size() == 1);
    Calls calls;
    CHECK(cli::sign_modules(f.signer, modules, calls.batch(), f.out) == 0);
    REQUIRE(calls.signed_modules.count(0) == 1);
    CHECK_THAT(calls.signed_modules[0].front(), KSIGN_CONTAINS("and its 1 other names"));
    CHECK(fs::equivalent(first, second));
    CHECK(fs::hard_link_count(first) == 2);
    CHECK(f.verdict(first) == core::Verdict::ok);
  }
}

TEST_CASE("cli::sign_modules: -o writes the one module elsewhere", "[sign_batch]")
{
  Fixture f;
  const fs::path module = f.add("a.ko", f.sample);
  const fs::path output = f.dir.path() / "signed.ko";
  const std::vector<core::ModuleFile> modules = f.collected();
  Calls calls;
  cli::SignBatch batch = calls.batch();
  batch.output = output;
  CHECK(cli::sign_modules(f.signer, modules, batch, f.out) == 0);
  CHECK(test::read_whole(module) == f.sample);
  CHECK(f.verdict(output) == core::Verdict::ok);
  REQUIRE(calls.signed_modules.count(0) == 1);
  CHECK(calls.signed_modules[0].front() == "'" + module.string() + "'");
}

TEST_CASE("cli::sign_modules tidies the temporaries of killed runs where it writes", "[sign_batch]")
{
  Fixture f;
  const fs::path module = f.add("a.ko", f.sample);
  // A temporary as util::temporary_name makes them, of a process that is gone.
  pid_t dead = 4190000;
  while (util::process_alive(dead)) {
    ++dead;
  }
  const fs::path left = f.modules / (".a.ko.ksign-" + std::to_string(dead) + "-abcdefgh");
  test::write_text(left, "half a module");
  // One of a live process (this one) is not touched.
  const fs::path live = f.modules / util::temporary_name("b.ko");
  test::write_text(live, "being written");
  const std::vector<std::string> arguments = {module.string()};
  const std::vector<core::ModuleFile> modules = core::collect_modules(arguments, false);
  f.out.set_verbosity(cli::Verbosity::verbose);
  const cli::SignBatch batch;
  const std::string said = test::captured_stderr([&] { CHECK(cli::sign_modules(f.signer, modules, batch, f.out) == 0); });
  CHECK_FALSE(fs::exists(left));
  CHECK(fs::exists(live));
  CHECK_THAT(said, KSIGN_CONTAINS("removed '" + left.string() + "', left by an interrupted run"));
  CHECK(f.verdict(module) == core::Verdict::ok);
}
