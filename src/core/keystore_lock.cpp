// SPDX-License-Identifier: MIT
#include "core/keystore_lock.hpp"

#include "core/keystore.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace ksign::core {

namespace fs = std::filesystem;

KeyStoreLock::KeyStoreLock(const fs::path& store, std::chrono::milliseconds timeout,
                           const std::function<void(const LockWait&)>& waiting)
{
  std::error_code ec;
  if (!fs::exists(store, ec)) {
    // Explicit modes whatever the umask: parents 0755, the store 0700.
    const fs::path parent = store.parent_path();
    if (!parent.empty()) {
      (void)util::make_directories(parent, 0755);
    }
    if (::mkdir(store.c_str(), 0700) != 0 && errno != EEXIST) {
      util::throw_errno("cannot create the key store", store);
    }
  }
  const util::DirFd directory(store);
  const fs::path lock_path = store / k_lock_file;
  m_fd = directory.open_lock(k_lock_file, 0600);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      util::throw_errno("cannot lock", lock_path);
    }
    const std::optional<pid_t> holder = util::flock_holder(m_fd.get());
    if (!told && waiting) {
      waiting(LockWait{lock_path, holder, timeout});
      told = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Errc::failure, "gave up waiting for " + util::quote(lock_path) + " after "
                                   + util::whole_units(std::chrono::duration_cast<std::chrono::seconds>(timeout))
                                   + (holder ? ": process " + std::to_string(*holder) + " still holds it" : ": another process still holds it"));
    }
    ::usleep(100 * 1000);
  }
}

void require_safe_store(const fs::path& store, std::optional<uid_t> invoker)
{
  // ssh's "invoking user": the effective user, and under sudo the user who ran it (a store in
  // their home, written by `sudo ksign keys`).
  std::vector<uid_t> owners = {0, ::geteuid()};
  if (invoker) {
    owners.push_back(*invoker);
  }
  const std::vector<util::UnsafeDirectory> unsafe = util::unsafe_directories(store, owners, true);
  if (unsafe.empty()) {
    return;
  }
  const util::UnsafeDirectory& first = unsafe.front();
  const std::string at = util::quote(first.directory);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(first.mode));
  const std::string refusing = "refusing to write to the key store " + util::quote(store) + ": ";
  switch (first.why) {
  case util::UnsafeDirectory::Why::foreign_owner: {
    // "root", "root or alice", "root, alice or bob (who ran sudo)": each owner named once.
    std::vector<std::string> names = {"root"};
    if (::geteuid() != 0) {
      names.push_back(util::user_name(::geteuid()));
    }
    if (invoker && *invoker != ::geteuid() && *invoker != 0) {
      names.push_back(util::user_name(*invoker) + " (who ran sudo)");
    }
    std::string allowed = names.front();
    for (std::size_t i = 1; i < names.size(); ++i) {
      allowed += (i + 1 == names.size() ? " or " : ", ") + names[i];
    }
    throw Error(Errc::failure, refusing + at + " belongs to " + util::user_name(first.owner) + ", not to " + allowed
                                 + ", who could plant links there to make this run overwrite other files; use a key "
                                   "store of your own, or run: chown " + util::user_name(::geteuid()) + " " + at);
  }
  case util::UnsafeDirectory::Why::group_can_write:
    throw Error(Errc::failure, refusing + "group " + util::group_name(first.group) + " can write to " + at + " (mode "
                                 + mode + "), so its members could plant links there to make this run overwrite "
                                   "other files; run: chmod g-w " + at);
  case util::UnsafeDirectory::Why::others_can_write:
    break;
  }
  throw Error(Errc::failure, refusing + "anyone can write to " + at + " (mode " + mode
                               + "), so anyone could plant links there to make this run overwrite other files; run: "
                                 "chmod o-w " + at);
}

} // namespace ksign::core
