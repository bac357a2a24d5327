// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "test_support.hpp"
#include "util/cleanup.hpp"
#include "util/file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

using namespace ksign;
namespace fs = std::filesystem;

namespace {

bool any_base(std::string_view /*base*/)
{
  return true;
}

bool no_base(std::string_view /*base*/)
{
  return false;
}

} // namespace

TEST_CASE("util::temporary_name and util::temporary_owner", "[cleanup]")
{
  const std::string name = util::temporary_name("a.ko");
  CHECK(name.starts_with(".a.ko.ksign-" + std::to_string(::getpid()) + "-"));
  CHECK(util::temporary_owner(name, any_base) == ::getpid());
  CHECK(util::temporary_owner(".a.ko.ksign-123-abcd1234", any_base) == 123);
  CHECK(util::temporary_owner(".a.ko.ksign-123-abcd1234", no_base) == 0);
  CHECK(util::temporary_owner(".a-b.ko.ksign-7.ko.ksign-123-abcd1234", any_base) == 123);
  // Anything that is not exactly such a name has no owner.
  for (const char* other : {".a.ko.ksign-abcd1234", ".a.ko.ksign-123-ABCD1234", ".a.ko.ksign-123-abcd123",
                            "a.ko.ksign-123-abcd1234", ".a.ko.ksign-0123-abcd1234", ".a.ko.ksign--abcd1234",
                            "..ksign-123-abcd1234", ".a.ko.ksign-123-abcd12345", ".a.ko.ksign-123_abcd1234"}) {
    INFO(other);
    CHECK(util::temporary_owner(other, any_base) == 0);
  }
  // Key-store staging names: ".new-<pid>-<tag>", no base.
  const std::string staging = util::temporary_name("", ".new-", "");
  CHECK(util::temporary_owner(staging, no_base, ".new-", "") == ::getpid());
  CHECK(util::temporary_owner(".new-42-abcd1234", no_base, ".new-", "") == 42);
  CHECK(util::temporary_owner(".new-abcd1234", no_base, ".new-", "") == 0);
  CHECK(util::temporary_owner(".new-x42-abcd1234", no_base, ".new-", "") == 0);
  CHECK(util::temporary_owner(".new-42-abcd1234", no_base) == 0); // not a module temporary
}

TEST_CASE("util::remove_dead_temporaries", "[cleanup]")
{
  const test::TempDir dir;
  // A pid that is gone: a child that has been reaped.
  const pid_t dead = ::fork();
  if (dead == 0) {
    ::_exit(0);
  }
  ::waitpid(dead, nullptr, 0);
  const std::string dead_name = ".m.ko.ksign-" + std::to_string(dead) + "-abcd1234";
  const std::string live_name = ".m.ko.ksign-" + std::to_string(::getppid()) + "-abcd1234";
  const std::string mine = util::temporary_name("m.ko");
  for (const std::string& name : {dead_name, live_name, mine, std::string(".m.ko.ksign-abcd1234")}) {
    test::write_text(dir.path() / name, "x");
  }
  fs::create_directory(dir.path() / (".d.ko.ksign-" + std::to_string(dead) + "-abcd1234"));
  const std::vector<fs::path> removed = util::remove_dead_temporaries(dir.path(), any_base);
  CHECK(removed == std::vector<fs::path>{dir.path() / dead_name});
  CHECK_FALSE(fs::exists(dir.path() / dead_name));
  CHECK(fs::exists(dir.path() / live_name));
  CHECK(fs::exists(dir.path() / mine));
  CHECK(fs::exists(dir.path() / ".m.ko.ksign-abcd1234"));
  CHECK(fs::exists(dir.path() / (".d.ko.ksign-" + std::to_string(dead) + "-abcd1234"))); // not a file
}

TEST_CASE("util::remove_dead_temporaries keeps a temporary someone holds locked (a run in another PID namespace)",
          "[cleanup]")
{
  const test::TempDir dir;
  const pid_t dead = ::fork();
  if (dead == 0) {
    ::_exit(0);
  }
  ::waitpid(dead, nullptr, 0);
  // The pid is gone here, but a live run in another PID namespace may carry the same number.
  const fs::path live = dir.path() / (".m.ko.ksign-" + std::to_string(dead) + "-abcd1234");
  test::write_text(live, "x");
  {
    const util::Fd held(::open(live.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(held);
    REQUIRE(::flock(held.get(), LOCK_EX) == 0);
    CHECK(util::remove_dead_temporaries(dir.path(), any_base).empty());
    CHECK(fs::exists(live));
  }
  // Its lock let go: the run is dead after all.
  CHECK(util::remove_dead_temporaries(dir.path(), any_base) == std::vector<fs::path>{live});
  CHECK_FALSE(fs::exists(live));
}

TEST_CASE("a signal removes the remembered temporaries, then kills as it would have", "[cleanup]")
{
  const test::TempDir dir;
  for (const int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    const fs::path kept = dir.path() / "kept";
    const fs::path doomed = dir.path() / util::temporary_name("x.ko");
    const fs::path forgotten = dir.path() / util::temporary_name("y.ko");
    const pid_t child = ::fork();
    if (child == 0) {
      ::signal(signal_number, SIG_DFL);
      util::install_cleanup_handlers();
      test::write_text(kept, "k");
      test::write_text(doomed, "d");
      (void)util::remember_temporary(doomed);
      test::write_text(forgotten, "f");
      util::forget_temporary(util::remember_temporary(forgotten));
      ::raise(signal_number);
      ::_exit(3); // not reached: the signal's default action ends the process
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("signal " << signal_number);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal_number);
    CHECK_FALSE(fs::exists(doomed));
    CHECK(fs::exists(kept));
    CHECK(fs::exists(forgotten));
    fs::remove(forgotten);
  }
}

TEST_CASE("staged files are remembered until they are renamed", "[cleanup]")
{
  const test::TempDir dir;
  const fs::path target = dir.path() / "m.ko";
  test::write_text(target, "old");
  const pid_t child = ::fork();
  if (child == 0) {
    util::install_cleanup_handlers();
    const ByteView parts[] = {as_bytes("new")};
    const util::StagedFile staged = util::stage_file(target, parts, {}, util::Durability::batched);
    ::raise(SIGTERM);
    ::_exit(3);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 1); // the target only, unchanged
  CHECK(test::read_whole(target) == Bytes{'o', 'l', 'd'});
}
