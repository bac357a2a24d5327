// SPDX-License-Identifier: MIT
#pragma once

#include "util/file.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
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

  // A thread writing a file it will add(), from before the file is written until it is added or
  // given up (the whole lifetime of a Writer). A full disk (blocks or inodes) is the writers'
  // common problem, and make_room() is how they share it: once any file did not fit, writers
  // take turns (two half-written temporaries can each keep the other from fitting), and a
  // writer that is blocked is told to write again whenever room may have been made since it
  // began.
  class Writer
  {
  public:
    explicit Writer(StagedCommitter& committer);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

  private:
    friend class StagedCommitter;
    StagedCommitter& m_committer;
    std::unique_lock<std::mutex> m_turn; // held once the disk was full
    std::uint64_t m_seen = 0;            // m_freed when this writer last began writing
    unsigned m_retries = 0;              // rewrites for room that others' temporaries left
  };

  // For `writer`, whose temporary did not fit and is gone: whether to write it again (room was
  // made, or may have been: queued files were committed, freeing the files they replace, or a
  // file was committed or another writer's temporary given up since this writer began), or to
  // give up (nothing is queued and no other writer is still writing: the disk is as empty as it
  // gets). Waits for the other writers when neither is known yet. A writer is sent back for
  // another's given-up temporary only a few times, so that two files that each do not fit
  // cannot take turns for ever. Meant for ReplaceOptions::make_room.
  bool make_room(Writer& writer);

private:
  void run();
  void committed(std::size_t files); // m_mutex held

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
  // A full disk (make_room): `m_freed` counts the events that may have made room (a batch
  // committed, a temporary given up); writers are Writers alive, waiting those in make_room.
  std::uint64_t m_freed = 0;
  unsigned m_writers = 0;
  unsigned m_waiting = 0;
  bool m_disk_full = false;
  std::mutex m_turn; // once the disk was full, one writer at a time
  std::thread m_thread;
};

} // namespace ksign::util
