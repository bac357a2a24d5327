// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "core/module_files.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>

using namespace ksign;
using namespace ksign::core;
namespace fs = std::filesystem;

TEST_CASE("core::has_module_name and module_name_patterns", "[module_files]")
{
  CHECK(has_module_name("a.ko"));
  CHECK(has_module_name("dir/a.ko.zst"));
  CHECK(has_module_name("a.ko.gz"));
  CHECK(has_module_name("a.ko.xz"));
  CHECK_FALSE(has_module_name(".ko"));
  CHECK_FALSE(has_module_name("a.ko.bz2"));
  CHECK_FALSE(has_module_name("a.o"));
  CHECK(module_name_patterns() == "*.ko, *.ko.gz, *.ko.xz, *.ko.zst");
}

TEST_CASE("core::collect_modules", "[module_files]")
{
  const test::TempDir dir;
  const fs::path top = dir.path() / "m";
  fs::create_directories(top / "sub");
  test::write_text(top / "small.ko", "x");
  test::write_text(top / "large.ko.zst", std::string(100, 'x'));
  test::write_text(top / "notes.txt", "not a module");
  test::write_text(top / "sub" / "deep.ko", "xx");
  const std::string top_name = top.string();

  const std::vector<ModuleFile> flat = collect_modules(std::span(&top_name, 1), false);
  REQUIRE(flat.size() == 2);
  CHECK(flat[0].path.filename() == "large.ko.zst"); // largest first
  CHECK(flat[1].path.filename() == "small.ko");

  const std::vector<ModuleFile> deep = collect_modules(std::span(&top_name, 1), true);
  CHECK(deep.size() == 3);

  // A file is taken whatever its name; the same module twice counts once.
  const std::vector<std::string> files = {(top / "notes.txt").string(), (top / "small.ko").string(),
                                          (top / "." / "small.ko").string()};
  CHECK(collect_modules(files, false).size() == 2);

  const std::vector<std::string> missing = {(top / "nope.ko").string()};
  CHECK_THROWS_WITH(collect_modules(missing, false), KSIGN_CONTAINS("cannot find"));

  const std::vector<std::string> mixed = {top_name, (top / "small.ko").string()};
  CHECK(directories_among(mixed) == std::vector<fs::path>{top});
}

TEST_CASE("core::compression_of_file reads the magic bytes, not the name", "[module_files]")
{
  const test::TempDir dir;
  const fs::path gzip = dir.path() / "named.ko";
  util::replace_file_atomically(gzip, compress(Compression::gzip, test::sample_module()));
  const fs::path zstd = dir.path() / "z.ko.gz";
  util::replace_file_atomically(zstd, compress(Compression::zstd, test::sample_module()));
  const fs::path plain = dir.path() / "p.ko.xz";
  util::replace_file_atomically(plain, test::sample_module());
  const fs::path tiny = dir.path() / "tiny.ko";
  test::write_text(tiny, "\x1f");
  CHECK(compression_of_file(gzip) == Compression::gzip);
  CHECK(compression_of_file(zstd) == Compression::zstd);
  CHECK(compression_of_file(plain) == Compression::none);
  CHECK(compression_of_file(tiny) == Compression::none);
  // Nothing to read: left to whoever reads the file whole to explain.
  CHECK_FALSE(compression_of_file(dir.path() / "missing.ko").has_value());
  CHECK_FALSE(compression_of_file(dir.path()).has_value());
  const fs::path fifo = dir.path() / "fifo.ko";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(compression_of_file(fifo).has_value()); // and does not block
}

TEST_CASE("core::collect_modules and links", "[module_files]")
{
  const test::TempDir dir;
  const fs::path tree = dir.path() / "tree";
  const fs::path outside = dir.path() / "outside";
  fs::create_directories(tree / "sub");
  fs::create_directories(outside);
  test::write_text(tree / "sub" / "real.ko", "xx");
  test::write_text(outside / "far.ko", "xxx");
  fs::create_symlink("sub/real.ko", tree / "alias.ko");
  fs::create_symlink("../../outside/far.ko", tree / "sub" / "far.ko");
  fs::create_hard_link(tree / "sub" / "real.ko", tree / "hard.ko");
  const std::string tree_name = tree.string();

  std::vector<SkippedLink> skipped;
  const std::vector<ModuleFile> modules = collect_modules(std::span(&tree_name, 1), true, &skipped);
  // One file, however many names: the symbolic link inside is an alias, the hard link a second name.
  REQUIRE(modules.size() == 1);
  CHECK(modules[0].link_count == 2);
  REQUIRE(modules[0].hard_links.size() == 1);
  const std::set<fs::path> names = {modules[0].path, modules[0].hard_links[0]};
  CHECK(names == std::set<fs::path>{tree / "sub" / "real.ko", tree / "hard.ko"});
  // The link out of the tree is not followed.
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].link == tree / "sub" / "far.ko");
  CHECK(skipped[0].target == fs::canonical(outside / "far.ko"));

  // Given as an argument, a link is followed wherever it leads (and keeps its name).
  const std::vector<std::string> link = {(tree / "sub" / "far.ko").string()};
  const std::vector<ModuleFile> given = collect_modules(link, false);
  REQUIRE(given.size() == 1);
  CHECK(given[0].path == tree / "sub" / "far.ko");
  CHECK(given[0].size == 3);
}
