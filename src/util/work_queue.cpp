// SPDX-License-Identifier: MIT
#include "util/work_queue.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace ksign::util {

void run_parallel(std::size_t count, unsigned jobs, const std::function<void(std::size_t)>& task)
{
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      task(i);
    }
  };
  const std::size_t threads = std::min<std::size_t>(std::max(1u, jobs), count);
  std::vector<std::jthread> helpers;
  for (std::size_t t = 1; t < threads; ++t) {
    helpers.emplace_back(worker);
  }
  worker();
}

} // namespace ksign::util
