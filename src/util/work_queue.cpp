// SPDX-License-Identifier: MIT
#include "util/work_queue.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace ksign::util {

void run_parallel(std::size_t count, unsigned jobs, const std::function<void(std::size_t, unsigned)>& task,
                  const std::function<void(unsigned)>& finish)
{
  std::atomic<std::size_t> next{0};
  const auto worker = [&](unsigned id) {
    for (std::size_t i = next++; i < count; i = next++) {
      task(i, id);
    }
    finish(id);
  };
  const auto threads = static_cast<unsigned>(std::min<std::size_t>(std::max(1u, jobs), std::max<std::size_t>(count, 1)));
  std::vector<std::jthread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    helpers.emplace_back(worker, t);
  }
  worker(0);
}

void run_parallel(std::size_t count, unsigned jobs, const std::function<void(std::size_t)>& task)
{
  run_parallel(count, jobs, [&](std::size_t index, unsigned) { task(index); }, [](unsigned) {});
}

} // namespace ksign::util
