// SPDX-License-Identifier: MIT
#include "util/cleanup.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>

namespace ksign::util {

namespace fs = std::filesystem;

namespace {

// Slots in chunks that are allocated when needed and never freed, so the handler can walk
// them at any time. A slot holds a heap copy of the path, or null.
constexpr std::size_t k_chunk_slots = 256;
constexpr std::size_t k_max_chunks = 4096; // a million temporaries at once
constexpr int k_signals[] = {SIGINT, SIGTERM, SIGHUP};

struct Chunk
{
  std::array<std::atomic<char*>, k_chunk_slots> slots{};
};

std::array<std::atomic<Chunk*>, k_max_chunks> g_chunks{};
std::atomic<std::size_t> g_hint{0};
std::atomic<bool> g_cleanup_started{false};
std::atomic<bool> g_handlers_installed{false};

std::atomic<char*>* slot_at(std::size_t index)
{
  const std::size_t chunk_index = index / k_chunk_slots;
  Chunk* chunk = g_chunks[chunk_index].load();
  if (chunk == nullptr) {
    auto fresh = std::make_unique<Chunk>();
    if (g_chunks[chunk_index].compare_exchange_strong(chunk, fresh.get())) {
      chunk = fresh.release();
    }
  }
  return &chunk->slots[index % k_chunk_slots];
}

// Async-signal-safe: atomics and unlink only.
void unlink_remembered()
{
  for (const std::atomic<Chunk*>& entry : g_chunks) {
    Chunk* chunk = entry.load();
    if (chunk == nullptr) {
      break; // chunks are filled in order
    }
    for (std::atomic<char*>& slot : chunk->slots) {
      if (const char* path = slot.load()) {
        ::unlink(path);
      }
    }
  }
}

// Async-signal-safe: atomics, unlink, nanosleep, sigaction and raise only.
void remove_temporaries_and_die(int signal_number)
{
  const int saved_errno = errno;
  g_cleanup_started.store(true);
  unlink_remembered();
  // Another thread may have remembered a temporary just before the flag and be creating it
  // now (it checks the flag after its open and removes the file itself, unless the process is
  // gone first): wait a moment and sweep once more.
  const struct timespec pause = {0, 50'000'000};
  ::nanosleep(&pause, nullptr);
  unlink_remembered();
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal_number, &action, nullptr);
  // Delivered when the handler returns and the signal is unblocked: the default action kills
  // the process, so its parent sees the status it would have seen without us.
  ::raise(signal_number);
  errno = saved_errno;
}

} // namespace

void forbid_core_dumps() noexcept
{
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void ignore_file_size_signal() noexcept
{
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGXFSZ, &action, nullptr);
}

void install_cleanup_handlers()
{
  if (g_handlers_installed.exchange(true)) {
    return;
  }
  struct sigaction action {};
  action.sa_handler = remove_temporaries_and_die;
  sigemptyset(&action.sa_mask);
  for (const int signal_number : k_signals) {
    sigaddset(&action.sa_mask, signal_number);
  }
  for (const int signal_number : k_signals) {
    struct sigaction old {};
    // A signal ignored by whoever started us (nohup) stays ignored.
    if (::sigaction(signal_number, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
      continue;
    }
    ::sigaction(signal_number, &action, nullptr);
  }
}

std::size_t remember_temporary(const fs::path& path)
{
  const std::string& text = path.native();
  char* copy = new char[text.size() + 1];
  std::memcpy(copy, text.c_str(), text.size() + 1);
  const std::size_t start = g_hint.load();
  for (std::size_t step = 0; step < k_chunk_slots * k_max_chunks; ++step) {
    const std::size_t index = (start + step) % (k_chunk_slots * k_max_chunks);
    std::atomic<char*>* slot = slot_at(index);
    char* expected = nullptr;
    if (slot->compare_exchange_strong(expected, copy)) {
      g_hint.store(index + 1);
      return index + 1;
    }
  }
  delete[] copy;
  throw Error(Errc::failure, "too many temporary files at once");
}

void forget_temporary(std::size_t token) noexcept
{
  if (token == 0) {
    return;
  }
  char* path = slot_at(token - 1)->exchange(nullptr);
  // Once the handler runs it may be reading `path`: leave it (the process is about to end).
  if (!g_cleanup_started.load()) {
    delete[] path;
  }
}

bool cleanup_started() noexcept
{
  return g_cleanup_started.load();
}

namespace {

constexpr std::size_t k_tag_length = 8;

bool is_tag(std::string_view text)
{
  if (text.size() != k_tag_length) {
    return false;
  }
  for (const char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

} // namespace

std::string temporary_name(std::string_view base, std::string_view prefix, std::string_view infix)
{
  std::string name(prefix);
  name += base;
  name += infix;
  name += std::to_string(::getpid());
  name += '-';
  name += random_tag();
  return name;
}

pid_t temporary_owner(std::string_view name, const std::function<bool(std::string_view)>& base_ok,
                      std::string_view prefix, std::string_view infix)
{
  // <prefix><base><infix><pid>-<tag>, read from the end: the base may contain anything.
  if (!name.starts_with(prefix) || name.size() < prefix.size() + infix.size() + k_tag_length + 2) {
    return 0;
  }
  if (!is_tag(name.substr(name.size() - k_tag_length)) || name[name.size() - k_tag_length - 1] != '-') {
    return 0;
  }
  const std::string_view head = name.substr(0, name.size() - k_tag_length - 1); // <prefix><base><infix><pid>
  std::size_t digits = 0;
  while (digits < head.size() && head[head.size() - 1 - digits] >= '0' && head[head.size() - 1 - digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || digits > 9 || head[head.size() - digits] == '0') {
    return 0;
  }
  const std::string_view rest = head.substr(0, head.size() - digits); // <prefix><base><infix>
  if (!rest.ends_with(infix) || rest.size() < prefix.size() + infix.size()) {
    return 0;
  }
  const std::string_view base = rest.substr(prefix.size(), rest.size() - prefix.size() - infix.size());
  if (!infix.empty() && base.empty()) {
    return 0;
  }
  if (!base.empty() && !base_ok(base)) {
    return 0;
  }
  pid_t pid = 0;
  const std::string_view number = head.substr(head.size() - digits);
  if (std::from_chars(number.data(), number.data() + number.size(), pid).ec != std::errc() || pid <= 0) {
    return 0;
  }
  return pid;
}

bool process_alive(pid_t pid) noexcept
{
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

namespace {

// Unlink the regular file `path` (whose lstat is `st`) if no process holds a lock on it: a run
// holds its temporary locked for as long as it may rename it (util::StagedFile), and a lock,
// unlike a pid, means the same in every PID namespace. The lock is held while unlinking, so
// the creator (util::create_locked) sees the name gone once it gets the lock.
bool unlink_if_unlocked(const fs::path& path, const struct stat& st)
{
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat opened {};
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 || ::fstat(fd.get(), &opened) != 0
      || opened.st_ino != st.st_ino || opened.st_dev != st.st_dev) {
    return false;
  }
  struct stat named {};
  return ::lstat(path.c_str(), &named) == 0 && named.st_ino == st.st_ino && named.st_dev == st.st_dev
         && ::unlink(path.c_str()) == 0;
}

} // namespace

std::vector<fs::path> remove_dead_temporaries(const fs::path& directory,
                                              const std::function<bool(std::string_view)>& base_ok,
                                              std::string_view prefix, std::string_view infix, bool directories)
{
  std::vector<fs::path> removed;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    const pid_t owner = temporary_owner(path.filename().native(), base_ok, prefix, infix);
    if (owner == 0 || owner == ::getpid() || process_alive(owner)) {
      continue;
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      continue;
    }
    std::error_code remove_ec;
    if (directories ? S_ISDIR(st.st_mode) && fs::remove_all(path, remove_ec) != static_cast<std::uintmax_t>(-1)
                    : (S_ISREG(st.st_mode) && unlink_if_unlocked(path, st))
                        || (S_ISLNK(st.st_mode) && ::unlink(path.c_str()) == 0)) {
      if (!remove_ec) {
        removed.push_back(path);
      }
    }
  }
  return removed;
}

SignalsDeferred::SignalsDeferred()
{
  sigset_t blocked;
  sigemptyset(&blocked);
  for (const int signal_number : k_signals) {
    sigaddset(&blocked, signal_number);
  }
  pthread_sigmask(SIG_BLOCK, &blocked, &m_old_mask);
}

SignalsDeferred::~SignalsDeferred()
{
  pthread_sigmask(SIG_SETMASK, &m_old_mask, nullptr);
}

} // namespace ksign::util
