// SPDX-License-Identifier: MIT
// util::StagedCommitter::make_room: how writers share a full disk (issue 21). A writer whose
// temporary did not fit is sent back to write again whenever room may have been made since it
// began, and told to give up only when nothing queued and no other writer can make any.
#include "catch.hpp"

#include "test_support.hpp"
#include "util/file.hpp"
#include "util/staged_committer.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace ksign;

namespace {

// Stage `name` in `dir` (its old content "old") and queue it.
void add_file(util::StagedCommitter& committer, const test::TempDir& dir, const std::string& name, std::size_t tag)
{
  test::write_text(dir.path() / name, "old");
  const ByteView parts[] = {as_bytes("new")};
  committer.add(util::stage_file(dir.path() / name, parts, {}, util::Durability::batched), tag);
}

} // namespace

TEST_CASE("util::StagedCommitter::make_room: a lone writer with nothing queued gives up", "[file]")
{
  util::StagedCommitter committer(256, [](std::size_t, const std::string&) {});
  util::StagedCommitter::Writer writer(committer);
  CHECK_FALSE(committer.make_room(writer));
}

TEST_CASE("util::StagedCommitter::make_room commits what is queued and sends the writer back", "[file]")
{
  const test::TempDir dir;
  std::vector<std::string> results(1, "not reported");
  util::StagedCommitter committer(256, [&](std::size_t tag, const std::string& error) { results[tag] = error; });
  util::StagedCommitter::Writer writer(committer);
  {
    util::StagedCommitter::Writer other(committer);
    add_file(committer, dir, "queued.ko", 0);
  }
  CHECK(committer.make_room(writer));
  CHECK(results[0].empty()); // committed by make_room, long before a batch of 256
}

TEST_CASE("util::StagedCommitter::make_room counts a commit made after the writer began", "[file]")
{
  // The disk filled while another writer's file was committed: by the time this writer asks,
  // nothing is queued and nobody else writes, but room was made after it began writing (the
  // old file is gone). The writer that asked only "is anything queued now" failed its module.
  const test::TempDir dir;
  util::StagedCommitter committer(256, [](std::size_t, const std::string&) {});
  util::StagedCommitter::Writer writer(committer);
  {
    util::StagedCommitter::Writer other(committer);
    add_file(committer, dir, "other.ko", 0);
  }
  REQUIRE(committer.commit_now());
  CHECK(committer.make_room(writer));
  // Once only: with nothing new since, the same writer gives up.
  CHECK_FALSE(committer.make_room(writer));
}

TEST_CASE("util::StagedCommitter::make_room: two writers that both did not fit both write again", "[file]")
{
  // Each gave its temporary up; whichever asks second must see the first one's room, not take
  // "everybody is waiting" for "the disk is as empty as it gets" (1 module lost in ~20 runs of
  // cli-full-disk with two jobs).
  for (int round = 0; round < 50; ++round) {
    util::StagedCommitter committer(256, [](std::size_t, const std::string&) {});
    std::atomic<int> started{0};
    std::atomic<int> again{0};
    const auto worker = [&] {
      util::StagedCommitter::Writer writer(committer);
      ++started;
      while (started.load() < 2) {
        std::this_thread::yield();
      }
      if (committer.make_room(writer)) {
        ++again;
      }
    };
    std::thread first(worker);
    std::thread second(worker);
    first.join();
    second.join();
    INFO("round " << round);
    REQUIRE(again.load() == 2);
  }
}
