// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <functional>

namespace ksign::util {

// Run `task(i)` for every i in [0, count) on up to `jobs` threads (the calling thread is one of
// them). Items are taken in index order, so callers order them largest-first for a short tail.
// `task` must not throw; each item reports its own failure.
void run_parallel(std::size_t count, unsigned jobs, const std::function<void(std::size_t)>& task);

} // namespace ksign::util
