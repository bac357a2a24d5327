// SPDX-License-Identifier: MIT
#include "util/staged_committer.hpp"

#include <sys/resource.h>

#include <algorithm>

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
    return;
  }
  std::unique_lock lock(m_mutex);
  m_progress.wait(lock, [this] { return m_queue.size() < m_batch_size || m_finishing; });
  m_queue.emplace_back(std::move(file), tag);
  ++m_added;
  if (m_queue.size() >= m_batch_size) {
    m_wake.notify_one();
  }
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
      m_committed += batch.size();
    }
    m_progress.notify_all();
  }
}

} // namespace ksign::util
