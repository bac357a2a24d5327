// SPDX-License-Identifier: MIT
#include "util/staged_committer.hpp"

namespace ksign::util {

StagedCommitter::StagedCommitter(std::size_t batch_size, Done done, Mode mode)
  : m_batch_size(batch_size), m_done(std::move(done)), m_in_caller(mode == Mode::in_caller)
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
  std::lock_guard lock(m_mutex);
  m_queue.emplace_back(std::move(file), tag);
  if (m_queue.size() >= m_batch_size) {
    m_wake.notify_one();
  }
}

void StagedCommitter::finish()
{
  {
    std::lock_guard lock(m_mutex);
    m_finishing = true;
  }
  m_wake.notify_one();
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
      m_wake.wait(lock, [this] { return m_finishing || m_queue.size() >= m_batch_size; });
      batch.swap(m_queue);
      if (batch.empty() && m_finishing) {
        return;
      }
    }
    std::vector<StagedFile> files;
    files.reserve(batch.size());
    for (const auto& [file, tag] : batch) {
      files.push_back(file);
    }
    const std::vector<std::string> errors = commit_staged(files);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      m_done(batch[i].second, errors[i]);
    }
  }
}

} // namespace ksign::util
