// SPDX-License-Identifier: MIT
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ksign::util {

// Temporary files a run must not leave behind. While a path is remembered, SIGINT, SIGTERM and
// SIGHUP unlink it before the process dies (install_cleanup_handlers). The registry takes no
// lock, so the signal handler can read it at any moment; remembering costs one atomic store.
// A run killed outright (SIGKILL, a crash) leaves its temporaries: their names carry the pid
// (temporary_name) and a live run holds them locked, so a later run can tell them apart from
// live ones, in any PID namespace (remove_dead_temporaries).

// No core dump of this process, whatever kills it (PR_SET_DUMPABLE 0, which the kernel checks
// before any core_pattern, file or pipe). Called first thing in main: a private key's bytes
// pass through many heap buffers (the file read, the PEM text, its base64 decoding, the
// decoder's DER, OpenSSL's numbers, KBUILD_SIGN_PIN), and freed memory is not wiped, so marking
// some pages MADV_DONTDUMP would still leave copies. Side effects: /proc/<pid> belongs to root
// and a debugger needs CAP_SYS_PTRACE to attach (sanitizers' leak checks lift it themselves).
void forbid_core_dumps() noexcept;

// SIGXFSZ ignored: past RLIMIT_FSIZE (ulimit -f) a write then fails with EFBIG and is reported
// like a full disk, naming the file, and the temporary is removed, where the signal would kill
// the process silently (exit 153) mid-write.
void ignore_file_size_signal() noexcept;

// Handlers for SIGINT, SIGTERM and SIGHUP that unlink every remembered path, then let the signal
// kill the process as it would have (default action, same exit status). Idempotent.
void install_cleanup_handlers();

// Remember `path` until forget_temporary(token). Returns the token (never 0).
[[nodiscard]] std::size_t remember_temporary(const std::filesystem::path& path);

// Stop remembering; 0 is ignored. Call it once the path is renamed away or removed.
void forget_temporary(std::size_t token) noexcept;

// True once a cleanup handler has started: a file created from now on must be removed by its
// creator (the handler has already swept, or is sweeping).
[[nodiscard]] bool cleanup_started() noexcept;

// The name of a temporary for `base` made by this process: ".<base>.ksign-<pid>-<tag>" with
// `tag` eight random lower-case letters or digits.
[[nodiscard]] std::string temporary_name(std::string_view base, std::string_view prefix = ".",
                                         std::string_view infix = ".ksign-");

// The pid in `name` when it is exactly a name temporary_name(base, prefix, infix) makes, with
// `base` any non-empty string accepted by `base_ok`; otherwise 0.
[[nodiscard]] pid_t temporary_owner(std::string_view name, const std::function<bool(std::string_view)>& base_ok,
                                    std::string_view prefix = ".", std::string_view infix = ".ksign-");

// Whether process `pid` exists (it may belong to someone else; a reused pid counts as alive).
[[nodiscard]] bool process_alive(pid_t pid) noexcept;

// Remove the entries of `directory` that temporary_owner() gives a pid for that is neither this
// process nor alive. A pid can belong to another PID namespace (a container, unshare -p), so
// a regular file is removed only when it is not locked either (a live run holds its
// temporaries locked: util::StagedFile). Only regular files and symbolic links are removed, or with `directories`
// only real directories (removed with what they hold). Returns what was removed; errors are ignored (a
// directory that cannot be listed has nothing to tidy).
std::vector<std::filesystem::path> remove_dead_temporaries(const std::filesystem::path& directory,
                                                           const std::function<bool(std::string_view)>& base_ok,
                                                           std::string_view prefix = ".",
                                                           std::string_view infix = ".ksign-",
                                                           bool directories = false);

// SIGINT, SIGTERM and SIGHUP wait while this is alive (in the calling thread), so that a short
// piece of work that leaves several files, like a key directory, is finished rather than cut.
class SignalsDeferred
{
public:
  SignalsDeferred();
  ~SignalsDeferred();
  SignalsDeferred(const SignalsDeferred&) = delete;
  SignalsDeferred& operator=(const SignalsDeferred&) = delete;

private:
  sigset_t m_old_mask;
};

} // namespace ksign::util
