// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
  const Bytes data = test::read_whole(target);
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
    CHECK_THROWS_WITH(test::read_whole(dir.path() / "absent"), KSIGN_CONTAINS("cannot open"));
  }
}

TEST_CASE("util::replace_file_atomically and a symbolic link: through it by default, the link itself on request",
          "[file]")
{
  const test::TempDir dir;
  const auto real = dir.path() / "real";
  const auto link = dir.path() / "link";
  test::write_text(real, "old");
  REQUIRE(::chmod(real.c_str(), 0640) == 0);
  std::filesystem::create_symlink("real", link);

  SECTION("default: the file the link leads to is replaced, the link stays")
  {
    util::replace_file_atomically(link, as_bytes("new"));
    CHECK(std::filesystem::is_symlink(link));
    CHECK(std::filesystem::read_symlink(link) == "real");
    const Bytes data = test::read_whole(real);
    CHECK(std::string(data.begin(), data.end()) == "new");
  }
  SECTION("replace_link: the link becomes a file with the target's mode, the target is untouched")
  {
    util::ReplaceOptions options;
    options.replace_link = true;
    util::replace_file_atomically(link, as_bytes("new"), options);
    CHECK_FALSE(std::filesystem::is_symlink(link));
    CHECK(std::filesystem::is_regular_file(link));
    const Bytes written = test::read_whole(link);
    CHECK(std::string(written.begin(), written.end()) == "new");
    const Bytes kept = test::read_whole(real);
    CHECK(std::string(kept.begin(), kept.end()) == "old");
    struct stat st {};
    REQUIRE(::lstat(link.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      ++entries;
    }
    CHECK(entries == 2); // no temporary left
  }
  SECTION("replace_link on a plain file replaces it as before")
  {
    util::ReplaceOptions options;
    options.replace_link = true;
    util::replace_file_atomically(real, as_bytes("plain"), options);
    const Bytes data = test::read_whole(link);
    CHECK(std::string(data.begin(), data.end()) == "plain");
    CHECK(std::filesystem::is_symlink(link));
  }
}

TEST_CASE("util::stage_file and util::commit_staged", "[file]")
{
  const test::TempDir dir;
  std::vector<util::StagedFile> staged;
  for (const char* name : {"a.ko", "b.ko", "c.ko"}) {
    test::write_text(dir.path() / name, "old");
    const std::string content = std::string("new ") + name; // outlives the view below
    const ByteView parts[] = {as_bytes(content)};
    staged.push_back(util::stage_file(dir.path() / name, parts, {}, util::Durability::batched));
  }
  // Staged but not committed: the targets are untouched.
  Bytes before = test::read_whole(dir.path() / "a.ko");
  CHECK(std::string(before.begin(), before.end()) == "old");

  // A target whose directory vanished fails alone; the others are replaced.
  staged.back().target = dir.path() / "gone" / "c.ko";
  const std::vector<std::string> errors = util::commit_staged(staged);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  CHECK_THAT(errors[2], KSIGN_CONTAINS("cannot replace"));
  const Bytes after = test::read_whole(dir.path() / "b.ko");
  CHECK(std::string(after.begin(), after.end()) == "new b.ko");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 3); // no temporaries left
}

TEST_CASE("util::commit_staged: a temporary someone else removed fails its own file only", "[file]")
{
  const test::TempDir dir;
  std::vector<util::StagedFile> staged;
  for (const char* name : {"a.ko", "b.ko", "c.ko"}) {
    test::write_text(dir.path() / name, "old");
    const ByteView parts[] = {as_bytes("new")};
    staged.push_back(util::stage_file(dir.path() / name, parts, {}, util::Durability::batched));
  }
  REQUIRE(std::filesystem::remove(staged[1].temporary)); // an older ksign, a cleaner
  const std::vector<std::string> errors = util::commit_staged(staged);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].empty());
  CHECK_THAT(errors[1], KSIGN_CONTAINS("was removed by another program"));
  CHECK(errors[2].empty());
  const Bytes a = test::read_whole(dir.path() / "a.ko");
  const Bytes b = test::read_whole(dir.path() / "b.ko");
  const Bytes c = test::read_whole(dir.path() / "c.ko");
  CHECK(std::string(a.begin(), a.end()) == "new");
  CHECK(std::string(b.begin(), b.end()) == "old");
  CHECK(std::string(c.begin(), c.end()) == "new");
}

TEST_CASE("util::stage_file holds its temporary locked until the staged file is gone", "[file]")
{
  const test::TempDir dir;
  test::write_text(dir.path() / "a.ko", "old");
  const ByteView parts[] = {as_bytes("new")};
  std::filesystem::path temporary;
  {
    const util::StagedFile staged = util::stage_file(dir.path() / "a.ko", parts, {}, util::Durability::batched);
    temporary = staged.temporary;
    const util::Fd other(::open(temporary.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(other);
    CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) != 0); // another open file description: refused
    util::rename_staged(staged);
  }
  const util::Fd after(::open((dir.path() / "a.ko").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(after);
  CHECK(::flock(after.get(), LOCK_EX | LOCK_NB) == 0); // let go once committed and destroyed
}

TEST_CASE("util::create_locked: the name exists only locked, never over another file", "[file]")
{
  const test::TempDir dir;
  const auto path = dir.path() / ".m.ko.ksign-1-abcdefgh";
  const util::Fd fd = util::create_locked(path);
  REQUIRE(fd);
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  // The same file, and held: another open file description cannot take the lock.
  struct stat held {};
  REQUIRE(::fstat(fd.get(), &held) == 0);
  CHECK(held.st_ino == st.st_ino);
  const util::Fd other(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(other);
  CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) != 0);
  // A taken name is EEXIST (try another), and the file there is left as it is.
  test::write_text(dir.path() / "taken", "someone's");
  errno = 0;
  CHECK_FALSE(util::create_locked(dir.path() / "taken"));
  CHECK(errno == EEXIST);
  const Bytes taken = test::read_whole(dir.path() / "taken");
  CHECK(std::string(taken.begin(), taken.end()) == "someone's");
  // Nothing else is left in the directory (no unnamed file got a name of its own).
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 2);
}

TEST_CASE("util::StagedCommitter::commit_now commits a short queue at once", "[file]")
{
  const test::TempDir dir;
  std::vector<std::string> results(3, "not reported");
  util::StagedCommitter committer(256, [&](std::size_t tag, const std::string& error) { results[tag] = error; });
  CHECK_FALSE(committer.commit_now()); // nothing queued
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string name = "m" + std::to_string(i) + ".ko";
    test::write_text(dir.path() / name, "old");
    const ByteView parts[] = {as_bytes("new")};
    committer.add(util::stage_file(dir.path() / name, parts, {}, util::Durability::batched), i);
  }
  CHECK(committer.commit_now());
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(results[i].empty()); // reported before commit_now returned, long before a batch of 256
    const Bytes data = test::read_whole(dir.path() / ("m" + std::to_string(i) + ".ko"));
    CHECK(std::string(data.begin(), data.end()) == "new");
  }
  committer.finish();
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
      const Bytes data = test::read_whole(dir.path() / ("m" + std::to_string(i) + ".ko"));
      CHECK(std::string(data.begin(), data.end()) == "m" + std::to_string(i) + ".ko");
    }
  }
}

TEST_CASE("util::read_file takes regular files up to a limit, and refuses the rest without blocking", "[file]")
{
  const test::TempDir dir;
  const auto file = dir.path() / "small.ko";
  test::write_text(file, "0123456789");
  CHECK(util::read_file(file, 10).size() == 10);
  CHECK_THROWS_WITH(util::read_file(file, 9), KSIGN_CONTAINS("is larger than 9 bytes"));
  CHECK_THROWS_WITH(util::read_file(file, 9), KSIGN_CONTAINS("small.ko"));

  SECTION("a FIFO is refused at once (a blocking open would hang this test until its timeout)")
  {
    const auto fifo = dir.path() / "fifo.ko";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(util::read_file(fifo, 1 << 20), KSIGN_CONTAINS("fifo.ko': a FIFO, not a regular file"));
  }
  SECTION("devices and directories are refused")
  {
    CHECK_THROWS_WITH(util::read_file("/dev/zero", 1 << 20),
                      KSIGN_CONTAINS("'/dev/zero': a character device, not a regular file"));
    CHECK_THROWS_WITH(util::read_file(dir.path(), 1 << 20), KSIGN_CONTAINS("a directory, not a regular file"));
  }
  SECTION("a sparse file past the limit is refused by its size, before any allocation")
  {
    const auto sparse = dir.path() / "sparse.ko";
    test::write_text(sparse, "");
    std::filesystem::resize_file(sparse, std::uintmax_t{50} << 30); // 50 GiB, no blocks
    CHECK_THROWS_WITH(util::read_file(sparse, std::uint64_t{1} << 30), KSIGN_CONTAINS("is larger than 1 GiB"));
  }
  SECTION("a file without a size (/proc) is read to its end, and cut off at the limit")
  {
    const Bytes status = util::read_file("/proc/self/status", util::k_small_file_limit);
    CHECK(std::string(status.begin(), status.end()).find("Umask:") != std::string::npos);
    CHECK_THROWS_WITH(util::read_file("/proc/self/status", 16), KSIGN_CONTAINS("is larger than 16 bytes"));
  }
  SECTION("names are escaped in messages")
  {
    CHECK_THROWS_WITH(util::read_file(dir.path() / "a\nb\033.ko", 10), KSIGN_CONTAINS("a\\nb\\x1b.ko"));
  }
}

TEST_CASE("util::describe_size", "[file]")
{
  CHECK(util::describe_size(std::uint64_t{1} << 30) == "1 GiB");
  CHECK(util::describe_size(std::uint64_t{8} << 20) == "8 MiB");
  CHECK(util::describe_size((std::uint64_t{68} << 20) + 12345) == "68 MiB");
  CHECK(util::describe_size(4096) == "4096 bytes");
}
