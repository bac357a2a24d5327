// SPDX-License-Identifier: MIT
#include "util/staged_committer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

namespace ksign::util {

namespace {

// At most a quarter of the descriptors this process may open: two batches are held open
// (one committing, one queued), and the rest of the program needs some too.
std::size_t fitting_batch_size(std::size_t wanted)
{
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::max<std::size_t>(wanted, 1);
  }
  return std::clamp<std::size_t>(static_cast<std::size_t>(limit.rlim_cur / 4), 1, std::max<std::size_t>(wanted, 1));
}

} // namespace

StagedCommitter::StagedCommitter(std::size_t batch_size, Done done, Mode mode)
  : m_batch_size(fitting_batch_size(batch_size)), m_done(std::move(done)), m_in_caller(mode == Mode::in_caller)
{
  if (!m_in_caller) {
    m_thread = std::thread([this] { run(); });
  }
}

StagedCommitter::~StagedCommitter()
{
  finish();
}

void StagedCommitter::add(StagedFile file, std::size_t tag)
{
  if (m_in_caller) {
    const StagedFile files[] = {std::move(file)};
    m_done(tag, commit_staged(files).front());
    std::lock_guard lock(m_mutex);
    ++m_added;
    committed(1);
    return;
  }
  std::unique_lock lock(m_mutex);
  m_progress.wait(lock, [this] { return m_queue.size() < m_batch_size || m_finishing; });
  m_queue.emplace_back(std::move(file), tag);
  ++m_added;
  if (m_queue.size() >= m_batch_size) {
    m_wake.notify_one();
  }
  m_progress.notify_all(); // a writer in make_room: there is something to commit
}

void StagedCommitter::committed(std::size_t files)
{
  m_committed += files;
  ++m_freed; // the files they replaced are gone
}

StagedCommitter::Writer::Writer(StagedCommitter& committer) : m_committer(committer), m_turn(committer.m_turn, std::defer_lock)
{
  bool full = false;
  {
    std::lock_guard lock(m_committer.m_mutex);
    full = m_committer.m_disk_full;
  }
  if (full) {
    m_turn.lock();
  }
  std::lock_guard lock(m_committer.m_mutex);
  ++m_committer.m_writers;
  m_seen = m_committer.m_freed;
}

StagedCommitter::Writer::~Writer()
{
  {
    std::lock_guard lock(m_committer.m_mutex);
    --m_committer.m_writers;
  }
  m_committer.m_progress.notify_all();
}

bool StagedCommitter::make_room(Writer& writer)
{
  std::unique_lock lock(m_mutex);
  m_disk_full = true;
  // Room made since the writer began, not counting its own temporary, which is gone now.
  bool freed_since = m_freed != writer.m_seen;
  std::uint64_t seen = ++m_freed;
  ++m_waiting;
  m_progress.notify_all();
  bool again = false;
  // Only a bound against a writer that never comes back; every writer ends up adding its file
  // or in make_room.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (freed_since && writer.m_retries < 3) {
      ++writer.m_retries;
      again = true;
      break;
    }
    if (m_committed < m_added) {
      const std::size_t target = m_added;
      m_urgent = true;
      m_wake.notify_one();
      m_progress.wait(lock, [&] { return m_committed >= target; });
      again = true; // each commit is progress: no bound needed
      break;
    }
    if (m_writers <= m_waiting) {
      break; // nothing queued, nobody else writing: the disk is as empty as it gets
    }
    const std::size_t added = m_added;
    if (!m_progress.wait_until(lock, deadline, [&] {
          return m_freed != seen || m_added != added || m_writers <= m_waiting;
        })) {
      break;
    }
    freed_since = m_freed != seen;
    seen = m_freed;
  }
  if (again && !writer.m_turn.owns_lock()) {
    // From now on writers take turns; this one waits for its turn as one in make_room.
    lock.unlock();
    writer.m_turn.lock();
    lock.lock();
  }
  --m_waiting;
  writer.m_seen = m_freed;
  return again;
}

bool StagedCommitter::commit_now()
{
  if (m_in_caller) {
    return false; // every file was committed as it came
  }
  std::unique_lock lock(m_mutex);
  const std::size_t target = m_added;
  if (m_committed >= target) {
    return false;
  }
  m_urgent = true;
  m_wake.notify_one();
  m_progress.wait(lock, [&] { return m_committed >= target; });
  return true;
}

void StagedCommitter::finish()
{
  {
    std::lock_guard lock(m_mutex);
    m_finishing = true;
  }
  m_wake.notify_one();
  m_progress.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void StagedCommitter::run()
{
  for (;;) {
    std::vector<std::pair<StagedFile, std::size_t>> batch;
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_finishing || m_urgent || m_queue.size() >= m_batch_size; });
      batch.swap(m_queue);
      m_urgent = false;
      if (batch.empty() && m_finishing) {
        return;
      }
    }
    m_progress.notify_all(); // room in the queue
    std::vector<StagedFile> files;
    files.reserve(batch.size());
    for (auto& [file, tag] : batch) {
      files.push_back(std::move(file));
    }
    const std::vector<std::string> errors = commit_staged(files);
    files.clear(); // the temporaries are renamed or removed: let go of their locks
    for (std::size_t i = 0; i < batch.size(); ++i) {
      m_done(batch[i].second, errors[i]);
    }
    {
      std::lock_guard lock(m_mutex);
      committed(batch.size());
    }
    m_progress.notify_all();
  }
}

} // namespace ksign::util
