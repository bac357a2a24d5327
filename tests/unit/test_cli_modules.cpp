// SPDX-License-Identifier: MIT
// Module operands (cli/modules): what is found, the links not followed, an empty result explained.
#include "catch.hpp"

#include "cli/modules.hpp"
#include "cli/output.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace ksign;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> paths_of(const std::vector<core::ModuleFile>& modules)
{
  std::vector<fs::path> paths;
  for (const core::ModuleFile& module : modules) {
    paths.push_back(module.path);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

} // namespace

TEST_CASE("cli::collect_modules_or_explain finds module files, links outside named", "[modules]")
{
  const test::TempDir dir;
  const fs::path modules = dir.path() / "modules";
  fs::create_directories(modules / "sub");
  test::write_text(modules / "a.ko", "a");
  test::write_text(modules / "b.ko.xz", "bb");
  test::write_text(modules / "readme.txt", "not a module");
  test::write_text(modules / "sub/c.ko.zst", "ccc");
  const fs::path outside = dir.path() / "outside.ko";
  test::write_text(outside, "outside");
  fs::create_symlink(outside, modules / "link.ko");
  cli::Output out("test");
  const std::vector<std::string> arguments = {modules.string()};

  SECTION("a directory: its module files, not below it; the link outside it named at normal verbosity")
  {
    std::vector<core::ModuleFile> found;
    const std::string said = test::captured_stderr([&] { found = cli::collect_modules_or_explain(arguments, false, out); });
    CHECK(paths_of(found) == std::vector<fs::path>{modules / "a.ko", modules / "b.ko.xz"});
    CHECK(said == "skipped '" + (modules / "link.ko").string() + "': a symbolic link to '" + outside.string()
                    + "', outside '" + modules.string() + "'\n");
    // --quiet: not named.
    out.set_verbosity(cli::Verbosity::quiet);
    CHECK(test::captured_stderr([&] { (void)cli::collect_modules_or_explain(arguments, false, out); }).empty());
  }
  SECTION("-r: the files below it too")
  {
    std::vector<core::ModuleFile> found;
    (void)test::captured_stderr([&] { found = cli::collect_modules_or_explain(arguments, true, out); });
    CHECK(paths_of(found) == std::vector<fs::path>{modules / "a.ko", modules / "b.ko.xz", modules / "sub/c.ko.zst"});
  }
  SECTION("a file is taken as it is, whatever its name, a link wherever it points")
  {
    const std::vector<std::string> files = {(modules / "readme.txt").string(), (modules / "link.ko").string()};
    std::vector<core::ModuleFile> found;
    CHECK(test::captured_stderr([&] { found = cli::collect_modules_or_explain(files, false, out); }).empty());
    CHECK(paths_of(found) == std::vector<fs::path>{modules / "link.ko", modules / "readme.txt"});
  }
}

TEST_CASE("cli::collect_modules_or_explain: an empty result is an error that says why", "[modules]")
{
  const test::TempDir dir;
  cli::Output out("test");
  const fs::path top = dir.path() / "top";
  fs::create_directories(top / "kernel/drivers");
  test::write_text(top / "modules.order", "kernel/drivers/d.ko\n");
  const std::vector<std::string> arguments = {top.string()};

  SECTION("modules only in subdirectories, without -r: says to give -r")
  {
    test::write_text(top / "kernel/drivers/d.ko", "d");
    const std::optional<test::Thrown> error =
      test::thrown_by([&] { (void)cli::collect_modules_or_explain(arguments, false, out); });
    REQUIRE(error);
    CHECK(error->code == Errc::failure);
    CHECK(error->message
          == "no modules directly in '" + top.string()
               + "'; its subdirectories hold some (give -r/--recursive to take them too)");
    CHECK(cli::collect_modules_or_explain(arguments, true, out).size() == 1);
  }
  SECTION("no modules anywhere: the names looked for")
  {
    for (const bool recursive : {false, true}) {
      const std::optional<test::Thrown> error =
        test::thrown_by([&] { (void)cli::collect_modules_or_explain(arguments, recursive, out); });
      REQUIRE(error);
      CHECK(error->code == Errc::failure);
      CHECK(error->message == "no modules (" + core::module_name_patterns() + ") found");
    }
  }
  SECTION("an operand that does not exist fails")
  {
    const std::vector<std::string> missing = {(dir.path() / "missing.ko").string()};
    CHECK_THROWS_AS(cli::collect_modules_or_explain(missing, false, out), Error);
  }
}

TEST_CASE("cli::about_module names the module once", "[modules]")
{
  CHECK(cli::about_module("/m/a.ko", "not an ELF file") == "'/m/a.ko': not an ELF file");
  // A problem that names the file already (util::read_file's) is left as it is.
  CHECK(cli::about_module("/m/a.ko", "cannot read '/m/a.ko': Permission denied") == "cannot read '/m/a.ko': Permission denied");
  // Named only as part of another name: named again.
  CHECK(cli::about_module("/m/a.ko", "cannot read '/m/a.ko.xz'") == "'/m/a.ko': cannot read '/m/a.ko.xz'");
  // A name with a control character is escaped, as util::quote escapes it.
  CHECK(cli::about_module("/m/\033[31m.ko", "bad") == util::quote("/m/\033[31m.ko") + ": bad");
  CHECK(cli::about_module("/m/\033[31m.ko", "bad").find('\033') == std::string::npos);
}
