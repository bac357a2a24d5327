// SPDX-License-Identifier: MIT
#pragma once

#include "core/hash.hpp"
#include "core/installed_kernel.hpp"
#include "core/key_install.hpp"
#include "core/key_directory.hpp"
#include "core/keys.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::core {

inline constexpr std::string_view k_lock_file = ".lock";
// Hidden names of half-made entries in a key store or an install destination, which
// remove_unfinished_entries tidies after a killed run: ".new-<pid>-<tag>" directories and
// ".current-<pid>-<tag>" links.
inline constexpr std::string_view k_staging_prefix = ".new-";
inline constexpr std::string_view k_link_prefix = ".current-";
inline constexpr std::string_view k_refresh_file = ".refresh"; // the refresh period of the last run
inline constexpr std::string_view k_default_key_store = "certs-local"; // relative to the working directory

// The key store a command uses: --dir `option`, else `environment` ($KSIGN_DIR) when set and not
// empty, else ./certs-local (kernel-sign's place, beside the PKGBUILD).
[[nodiscard]] std::filesystem::path key_store_path(const std::optional<std::string>& option,
                                                   const char* environment);

// The current key of the key store `store` (store/current/...). Throws Error(Errc::failure)
// naming what is missing when there is no usable current key.
[[nodiscard]] KeyFiles current_key_files(const std::filesystem::path& store);

// The same for a key directory that may hold certificates only (ksign install --public): `key`
// is then empty.
[[nodiscard]] KeyFiles current_certificate_files(const std::filesystem::path& store);

// ---- write side -------------------------------------------------------------------------------

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
// every directory above it must be owned by root or the effective user, and not writable by
// others (above the store, the sticky bit makes it safe). Throws Error(Errc::failure) naming the
// first directory that breaks it, why (its owner could plant links or swap what ksign writes),
// and the fix. Reading a store is not checked here.
void require_safe_store(const std::filesystem::path& store);

// When `ksign keys` makes a new key: always, or when the current key is older than `max_age`.
struct RefreshPolicy
{
  bool always = false;
  std::chrono::seconds max_age{std::chrono::hours(24 * 7)};
};

// "always", or a number with an optional unit: s, m, h, d, w, also spelled out
// ("30d", "30days", "24h", "2weeks", "90 minutes"); a bare number means days.
// Throws Error for anything else.
[[nodiscard]] RefreshPolicy parse_refresh_policy(std::string_view text);

// Remember `period` (as the user wrote it) as the refresh period `store` is kept with, so that
// later runs without --refresh, and describing the store, use the same period. "always" is a
// one-off request and is not remembered.
void record_refresh_period(const std::filesystem::path& store, std::string_view period);

inline constexpr std::string_view k_default_refresh_period = "7d";

// The one rule for the refresh period of a run on `store`: `given` (--refresh), else the period
// recorded by the last run that gave one, else k_default_refresh_period. Making keys and
// describing the store both use it.
[[nodiscard]] std::string refresh_period(const std::filesystem::path& store, const std::optional<std::string>& given);

// The period recorded by the last record_refresh_period(), or nullopt.
[[nodiscard]] std::optional<std::string> recorded_refresh_period(const std::filesystem::path& store);

// What the store's current key is, as far as the store says.
struct CurrentKey
{
  std::filesystem::path directory;
  std::optional<KeyType> type;  // ktype, else the certificate's key
  std::optional<HashAlgo> hash; // khash
  std::filesystem::file_time_type created; // modification time of the key file
};

// The store's current key, or nullopt when there is none (no `current` link, or it dangles).
[[nodiscard]] std::optional<CurrentKey> current_key(const std::filesystem::path& store);

// What describing a key store shows (`ksign keys --show`): read-only, no lock, nothing created.
struct KeyStoreState
{
  std::optional<CurrentKey> current;
  std::string fingerprint; // of the current certificate (sha256, hex)
  std::string key_id;
  std::string subject;
  std::chrono::system_clock::time_point created;
  std::optional<std::chrono::system_clock::time_point> next_refresh; // nullopt: refreshed every run
  std::vector<std::string> fingerprints; // of every key directory's certificate, oldest first
  std::vector<KernelKey> kernels;
};

[[nodiscard]] KeyStoreState key_store_state(const std::filesystem::path& store, const std::filesystem::path& moduledir,
                                            const RefreshPolicy& policy);

// Why a new key is made.
struct RefreshReason
{
  enum class Kind { no_key, always, key_type, hash, age };
  Kind kind;
  std::string text; // "the current key is 40 days old", ...
};

// Why a new key is needed for `type` and `hash` under `policy`, or nullopt when the current one will do.
[[nodiscard]] std::optional<RefreshReason> refresh_reason(const std::optional<CurrentKey>& current, KeyType type,
                                                        HashAlgo hash, const RefreshPolicy& policy,
                                                        std::filesystem::file_time_type now);

// Write `key` into a new dated key directory of `store` (0700; private files 0600) and return its
// path. The directory appears complete or not at all (written under a hidden name, then renamed).
// The name is the UTC date and time, YYYY-MM-DD_HH-MM-SS, with _02, _03... when taken.
std::filesystem::path write_key_directory(const std::filesystem::path& store, const SigningKey& key,
                                          HashAlgo hash);

// Remove what runs stopped by SIGKILL or a crash left in `directory` (a key store or an
// install destination), when their process is gone: hidden ".new-<pid>-<tag>" key directories,
// which may hold private keys, ".current-<pid>-<tag>" links and util::temporary_name files.
// With `locked` (the caller holds the store's KeyStoreLock) also the ".new-<tag>" directories
// of versions without pids in the names. Returns what was removed. (Other signals wait for a
// key directory to be complete, so they leave nothing.)
std::vector<std::filesystem::path> remove_unfinished_entries(const std::filesystem::path& directory, bool locked);

// Point store/current at `directory` (a child of `store`): a relative symlink made under a
// temporary name and renamed over `current`, so readers see the old or the new key, never none.
void switch_current(const std::filesystem::path& store, const std::filesystem::path& directory);

// The absolute path of the current key's certificate-only PEM (through the dated directory, not
// through `current`, so a new key changes the config and make rebuilds the kernel's key list).
// Throws Error(Errc::failure) when the store has no current key or the key has no signing_crt.pem.
[[nodiscard]] std::filesystem::path trusted_certificate(const std::filesystem::path& store);

// The key directories of `store`, oldest first (names sort by age). Hidden entries, `current` and
// anything that is not a real directory are not key directories.
[[nodiscard]] std::vector<std::filesystem::path> key_directories(const std::filesystem::path& store);

// The configs ksign pointed at a key of `store` (keys --config, config), remembered in
// store/.configs (absolute paths, one a line) so that pruning keeps the key directories they
// name. `configs` are added to what is recorded; files that no longer exist are dropped.
void record_updated_configs(const std::filesystem::path& store, std::span<const std::filesystem::path> configs);
[[nodiscard]] std::vector<std::filesystem::path> recorded_configs(const std::filesystem::path& store);

// Whether `directory` looks like one ksign or kernel-sign made: named YYYY-MM-DD_HH-MM-SS[_NN]
// (ksign) or YYYYMMDD-HHMM (kernel-sign), holding nothing but the files of a key directory.
[[nodiscard]] bool is_made_key_directory(const std::filesystem::path& directory);

// A key directory pruning left in place, and why.
struct KeptKeyDirectory
{
  enum class Why { current, registered, config, installed_kernel, not_a_key_directory };
  std::filesystem::path directory;
  Why why;
  std::string by; // the keys.d link, the config, or the kernel release that needs it
};

struct PruneResult
{
  std::vector<std::filesystem::path> removed;
  std::vector<KeptKeyDirectory> kept; // older than the newest `keep` but still needed (or not ours)
};

// Remove the oldest key directories beyond the newest `keep`. Only directories ksign or
// kernel-sign made (is_made_key_directory) count and are removed; never the current one, one a
// link in `registry` points at (install --public --register), one a recorded config names
// (CONFIG_SYSTEM_TRUSTED_KEYS) or one whose certificate a kernel under `moduledir` carries.
PruneResult prune_key_directories(const std::filesystem::path& store, std::size_t keep,
                                  const std::filesystem::path& registry, const std::filesystem::path& moduledir);

// Kernels installed with certificates only find their private key through a registry: a
// directory (by default /etc/ksign/keys.d) of symbolic links, each named after a certificate's
// subjectKeyIdentifier in lower-case hex ("sha256-<fingerprint>" without one) and pointing at
// the key directory, in its owner's key store, that holds the private key.
[[nodiscard]] std::string key_link_name(const X509* certificate);

} // namespace ksign::core
