// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "util/work_queue.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace ksign::util;

TEST_CASE("util::run_parallel runs every item once, on up to `jobs` threads", "[work_queue]")
{
  for (const unsigned jobs : {0U, 1U, 3U, 16U}) {
    INFO("jobs " << jobs);
    std::vector<std::atomic<int>> runs(100);
    std::mutex lock;
    std::set<std::thread::id> threads;
    run_parallel(runs.size(), jobs, [&](std::size_t i) {
      ++runs[i];
      const std::lock_guard guard(lock);
      threads.insert(std::this_thread::get_id());
    });
    for (const auto& count : runs) {
      CHECK(count == 1);
    }
    CHECK(threads.size() <= std::max(1U, jobs));
    if (jobs <= 1) {
      CHECK(threads == std::set<std::thread::id>{std::this_thread::get_id()}); // the caller's own
    }
  }
}

TEST_CASE("util::run_parallel with no items, and with more threads than items", "[work_queue]")
{
  int calls = 0;
  run_parallel(0, 4, [&](std::size_t) { ++calls; });
  CHECK(calls == 0);
  std::atomic<int> two{0};
  run_parallel(2, 8, [&](std::size_t) { ++two; });
  CHECK(two == 2);
}
