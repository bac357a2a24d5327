// SPDX-License-Identifier: MIT
#pragma once

#include "util/file.hpp"

#include <sys/types.h>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

// The key store's lock (two runs on one store take turns) and ssh's ownership rule for a store
// ksign writes to.
namespace ksign::core {

// Waiting for a store lock another process holds.
struct LockWait
{
  std::filesystem::path lock;
  std::optional<pid_t> holder;       // the holder's pid, as /proc/locks tells it
  std::chrono::milliseconds timeout; // how long it is waited for
};

inline constexpr std::chrono::minutes k_default_lock_timeout{10};

// An exclusive flock(2) on store/.lock, held until destroyed, so that two `ksign keys` runs on one
// store take turns. Creates the store directory (0700) and its missing parents (0755), whatever
// the umask, when it does not exist yet. The lock file is opened without following a link. When
// another process holds the lock, `waiting` is called once; after `timeout` it throws
// Error(Errc::failure) naming the lock and the holder.
class KeyStoreLock
{
public:
  explicit KeyStoreLock(const std::filesystem::path& store,
                        std::chrono::milliseconds timeout = k_default_lock_timeout,
                        const std::function<void(const LockWait&)>& waiting = {});

private:
  util::Fd m_fd;
};

// The ssh rule for a key store ksign writes to (keys, pruning, config's record): the store and
// every directory above it must be owned by root, the effective user or `sudo_invoker` (who ran
// sudo, util::sudo_invoker), and not writable by others (above the store, the sticky bit makes it
// safe). Throws Error(Errc::failure) naming the first directory that breaks it, why (its owner
// could plant links or swap what ksign writes), and the fix. Reading a store is not checked here.
void require_safe_store(const std::filesystem::path& store, std::optional<uid_t> sudo_invoker);

} // namespace ksign::core
