// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"

#include <sys/stat.h>

#include <filesystem>

using namespace ksign;

TEST_CASE("util::replace_file_atomically", "[file]")
{
  const test::TempDir dir;
  const auto target = dir.path() / "module.ko";
  test::write_text(target, "old");
  ::chmod(target.c_str(), 0640);

  const ByteView parts[] = {as_bytes("new "), as_bytes(""), as_bytes("content")};
  util::replace_file_atomically(target, parts);
  const Bytes data = util::read_file(target);
  CHECK(std::string(data.begin(), data.end()) == "new content");
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);

  SECTION("no temporary files are left behind")
  {
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      ++entries;
    }
    CHECK(entries == 1);
  }
  SECTION("a forced mode wins (private keys)")
  {
    util::ReplaceOptions options;
    options.force_mode = 0600;
    util::replace_file_atomically(target, as_bytes("key"), options);
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
  }
  SECTION("failure leaves nothing")
  {
    CHECK_THROWS_AS(util::replace_file_atomically(dir.path() / "missing-dir" / "x", as_bytes("y")), Error);
    CHECK_THROWS_WITH(util::read_file(dir.path() / "absent"), KSIGN_CONTAINS("cannot open"));
  }
}

TEST_CASE("util::stage_file and util::commit_staged", "[file]")
{
  const test::TempDir dir;
  std::vector<util::StagedFile> staged;
  for (const char* name : {"a.ko", "b.ko"}) {
    test::write_text(dir.path() / name, "old");
    const std::string content = std::string("new ") + name; // outlives the view below
    const ByteView parts[] = {as_bytes(content)};
    staged.push_back(util::stage_file(dir.path() / name, parts, {}, util::Durability::batched));
  }
  // Staged but not committed: the targets are untouched.
  Bytes before = util::read_file(dir.path() / "a.ko");
  CHECK(std::string(before.begin(), before.end()) == "old");

  // A target whose directory vanished fails alone; the others are replaced.
  util::StagedFile doomed = staged.back();
  doomed.target = dir.path() / "gone" / "c.ko";
  staged.push_back(doomed);
  const std::vector<std::string> errors = util::commit_staged(staged);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  CHECK_THAT(errors[2], KSIGN_CONTAINS("cannot replace"));
  const Bytes after = util::read_file(dir.path() / "b.ko");
  CHECK(std::string(after.begin(), after.end()) == "new b.ko");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 2); // no temporaries left
}

TEST_CASE("util::StagedCommitter", "[file]")
{
  const test::TempDir dir;
  std::vector<std::string> results(5, "not reported");
  const auto mode = GENERATE(util::StagedCommitter::Mode::background, util::StagedCommitter::Mode::in_caller);
  {
    util::StagedCommitter committer(2, [&](std::size_t tag, const std::string& error) { results[tag] = error; },
                                    mode);
    for (std::size_t i = 0; i < 5; ++i) {
      const std::string name = "m" + std::to_string(i) + ".ko";
      const ByteView parts[] = {as_bytes(name)};
      util::StagedFile staged = util::stage_file(dir.path() / name, parts, {}, util::Durability::batched);
      if (i == 3) {
        staged.target = dir.path() / "missing" / name; // this one cannot be renamed into place
      }
      committer.add(std::move(staged), i);
    }
    committer.finish();
  }
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("file " << i);
    if (i == 3) {
      CHECK_THAT(results[i], KSIGN_CONTAINS("cannot replace"));
      CHECK_FALSE(std::filesystem::exists(dir.path() / "m3.ko"));
    } else {
      CHECK(results[i].empty());
      const Bytes data = util::read_file(dir.path() / ("m" + std::to_string(i) + ".ko"));
      CHECK(std::string(data.begin(), data.end()) == "m" + std::to_string(i) + ".ko");
    }
  }
}
