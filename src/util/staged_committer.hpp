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
// Each staged file holds an open descriptor (its lock), so at most two batches wait: add()
// blocks while a full batch is queued behind the one being committed, and the batch size is
// kept to a quarter of the descriptors the process may open (RLIMIT_NOFILE).
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

  // Commit what is queued now, without waiting for a full batch, and wait until it and any
  // batch in progress are committed: for a disk that is full (their old files are freed).
  // Returns whether anything was committed. Safe from any thread but `done`.
  bool commit_now();

  // Commit whatever is queued and wait for the thread; called by the destructor too.
  void finish();

  [[nodiscard]] std::size_t batch_size() const noexcept { return m_batch_size; }

private:
  void run();

  std::size_t m_batch_size;
  Done m_done;
  bool m_in_caller;
  std::mutex m_mutex;
  std::condition_variable m_wake;      // the committer: a batch is full, or commit_now, or finish
  std::condition_variable m_progress;  // add() and commit_now(): the queue was taken, a batch done
  std::vector<std::pair<StagedFile, std::size_t>> m_queue;
  std::size_t m_added = 0;     // files ever queued
  std::size_t m_committed = 0; // files whose `done` has run
  bool m_urgent = false;       // commit_now() waits: commit the queue however short
  bool m_finishing = false;
  std::thread m_thread;
};

} // namespace ksign::util
