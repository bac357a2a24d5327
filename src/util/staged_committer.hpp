// SPDX-License-Identifier: MIT
#pragma once

#include "util/file.hpp"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ksign::util {

// Commits staged files (see commit_staged) on a background thread, a batch at a time, so the
// threads that produce them never wait for the disk: while one batch is being synced, the
// next is being written. For a single file a thread only costs time, so the committer can
// also work in the caller's thread, committing each file as it is added.
class StagedCommitter
{
public:
  // `done(tag, error)` runs once per file on the committer's thread (in_caller: inside add());
  // `error` is empty on success.
  using Done = std::function<void(std::size_t tag, const std::string& error)>;
  enum class Mode { background, in_caller };

  StagedCommitter(std::size_t batch_size, Done done, Mode mode = Mode::background);
  StagedCommitter(const StagedCommitter&) = delete;
  StagedCommitter& operator=(const StagedCommitter&) = delete;
  ~StagedCommitter();

  // Queue `file`; `tag` comes back in `done`. Safe from any thread.
  void add(StagedFile file, std::size_t tag);

  // Commit whatever is queued and wait for the thread; called by the destructor too.
  void finish();

private:
  void run();

  std::size_t m_batch_size;
  Done m_done;
  bool m_in_caller;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<std::pair<StagedFile, std::size_t>> m_queue;
  bool m_finishing = false;
  std::thread m_thread;
};

} // namespace ksign::util
