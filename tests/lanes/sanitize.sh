#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sanitizer lane, run from CI (.ci/run) or by hand from anywhere:
#   1. build-asan: the whole project with gcc -fsanitize=address,undefined, and the whole test
#      suite there (unit, cli, module, shell, kernel when a testbed is found). Any ASan or LSan
#      report fails the lane, even from a ksign run that a test expected to fail (reports go to
#      build-asan/sanitizer-logs/ and are printed at the end); UBSan stops the program with
#      status 97. meson's log stays at build-asan/meson-logs/testlog.json.
#   2. build-fuzz: the libFuzzer targets of tests/fuzz with clang, each run for
#      KSIGN_FUZZ_SECONDS (default 30) from a copy of its seed corpus; a crash, leak, timeout or
#      out-of-memory fails the lane and leaves the input in build-fuzz/fuzz-run/<target>/; one
#      result per target in build-fuzz/fuzz-run/results.json (meson's test-log form).
# Usage: tests/lanes/sanitize.sh [asan|fuzz]... (default: both). Installs nothing: a missing
# tool is reported with the Debian package that provides it. Exits non-zero when anything fails.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(asan fuzz)
want() {
  local part
  for part in "${parts[@]}"; do [ "$part" = "$1" ] && return 0; done
  return 1
}
for part in "${parts[@]}"; do
  case $part in
    asan | fuzz) ;;
    *) echo "usage: $0 [asan|fuzz]..." >&2; exit 2 ;;
  esac
done

fuzz_seconds=${KSIGN_FUZZ_SECONDS:-30}
if ! [[ $fuzz_seconds =~ ^[0-9]+$ ]] || [ "$fuzz_seconds" -lt 1 ]; then
  echo "KSIGN_FUZZ_SECONDS must be a whole number of seconds, not '$fuzz_seconds'" >&2
  exit 2
fi
fuzz_targets=(modsig cms verify gzip xz zstd kconfig elf)

# ---- what must be installed (checked by trying it, reported as Debian packages) ----
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
missing=()
for tool in meson:meson ninja:ninja-build pkg-config:pkg-config python3:python3; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if want asan; then
  printf 'int main() { return 0; }\n' > "$probe_dir/probe.cpp"
  if ! command -v g++ >/dev/null; then
    missing+=(g++)
  elif ! g++ -fsanitize=address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" 2>/dev/null; then
    missing+=("libasan8 libubsan1 (gcc's sanitizer runtimes)")
  fi
fi
if want fuzz; then
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }\n' \
    > "$probe_dir/fuzz.cpp"
  if ! command -v clang++ >/dev/null; then
    missing+=(clang libclang-rt-dev)
  elif ! clang++ -fsanitize=fuzzer,address,undefined "$probe_dir/fuzz.cpp" -o "$probe_dir/fuzz" 2>/dev/null; then
    clang_major=$(clang++ -dumpversion | cut -d. -f1)
    missing+=("libclang-rt-$clang_major-dev (clang's libFuzzer and sanitizer runtimes)")
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "sanitize.sh: missing, please install: ${missing[*]}" >&2
  echo "  (Debian 12: apt-get install g++ libasan8 libubsan1 clang libclang-rt-14-dev, besides .ci/run's list)" >&2
  exit 1
fi

status=0
lane_start=$SECONDS
elapsed() { echo "$(( SECONDS - $1 )) s"; }

# Configure `dir` with `options`, or re-apply them to an existing build directory.
setup() {
  local dir=$1
  shift
  local log=$probe_dir/setup.log
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
  else
    meson setup "$dir" "$@" >"$log" 2>&1
  fi || { cat "$log" >&2; echo "sanitize.sh: meson setup $dir failed" >&2; return 1; }
}

# ---- 1. the whole suite under ASan + UBSan (gcc) ----
if want asan; then
  start=$SECONDS
  echo "== build-asan: gcc, -fsanitize=address,undefined"
  # b_lundef=false: sanitizer runtimes resolve symbols at load time. The static C++ runtime is
  # off: with it, libstdc++'s own operator new hides ASan's (no new/delete mismatch checks).
  if setup build-asan --wrap-mode=nodownload -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dstatic_cxx_runtime=false && meson compile -C build-asan; then
    if [ -z "${KSIGN_TESTBED:-}" ] && [ -d ../shared/testbed ]; then
      KSIGN_TESTBED=$(realpath ../shared/testbed)
      export KSIGN_TESTBED
    fi
    logs=$root/build-asan/sanitizer-logs
    rm -rf "$logs"
    mkdir -p "$logs"
    # verify_asan_link_order=0: fakeroot preloads its library ahead of ASan's runtime.
    # ASan and LSan reports go to files, so one fails the lane even when the test expected
    # ksign to fail anyway. gcc's UBSan ignores log_path next to ASan: it stops with exit
    # status 97, which no ksign error has, and its "runtime error:" lines are looked for in
    # meson's log as well.
    export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1:halt_on_error=1:exitcode=96:log_path=$logs/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=97"
    # Sanitized code runs 2-3 times slower: stretch the suites' timeouts to match.
    meson test -C build-asan --print-errorlogs --timeout-multiplier 3 || status=1
    unset ASAN_OPTIONS UBSAN_OPTIONS
    grep -o 'runtime error: [^"]*' build-asan/meson-logs/testlog.json >"$logs/ubsan-in-testlog" \
      || rm -f "$logs/ubsan-in-testlog"
    reports=("$logs"/*)
    # The reports are one more result in meson's log, so a report fails the lane's count too.
    [ -f build-asan/meson-logs/testlog.json ] \
      && printf '{"name": "sanitizer-reports", "result": "%s"}\n' "$([ -e "${reports[0]}" ] && echo FAIL || echo OK)" \
        >>build-asan/meson-logs/testlog.json
    if [ -e "${reports[0]}" ]; then
      echo "== sanitizer reports (${#reports[@]} files in $logs):"
      for report in "${reports[@]}"; do
        echo "--- ${report##*/}"
        head -n 60 "$report"
      done
      status=1
    else
      echo "== no sanitizer reports"
    fi
  else
    echo "sanitize.sh: the ASan build failed" >&2
    status=1
  fi
  echo "== build-asan took $(elapsed "$start")"
fi

# ---- 2. libFuzzer targets (clang) ----
if want fuzz; then
  start=$SECONDS
  echo "== build-fuzz: clang, -fsanitize=fuzzer,address,undefined, $fuzz_seconds s per target"
  if CXX=clang++ setup build-fuzz --wrap-mode=nodownload -Dwerror=true -Dfuzzing=true -Dtests=false \
    -Dstatic_cxx_runtime=false -Dmanpages=disabled -Doptimization=1 && meson compile -C build-fuzz; then
    run=$root/build-fuzz/fuzz-run
    rm -rf "$run"
    mkdir -p "$run"
    # One line per target in meson's test-log form, for .ci/run's counts.
    results=$run/results.json
    : >"$results"
    for target in "${fuzz_targets[@]}"; do
      dir=$run/$target
      mkdir -p "$dir/corpus"
      cp -r "tests/fuzz/corpus/$target/." "$dir/corpus/"
      # -timeout: one input taking this long is a hang. A bomb is cut by the target itself.
      if "build-fuzz/tests/fuzz/fuzz-$target" "$dir/corpus" -max_total_time="$fuzz_seconds" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1; then
        result=ok
      else
        result=FAILED
        status=1
      fi
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n1)
      printf '{"name": "fuzz-%s", "result": "%s"}\n' "$target" "$([ "$result" = ok ] && echo OK || echo FAIL)" >>"$results"
      printf '%-8s %-6s %12s executions in %s s, corpus %s -> %s files\n' "$target" "$result" "${runs:-?}" \
        "$fuzz_seconds" "$(find "tests/fuzz/corpus/$target" -type f | wc -l)" "$(find "$dir/corpus" -type f | wc -l)"
      if [ "$result" != ok ]; then
        tail -n 60 "$dir/log"
        find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
          -printf '  input kept: %p\n'
      fi
    done
  else
    echo "sanitize.sh: the fuzz build failed" >&2
    status=1
  fi
  echo "== build-fuzz took $(elapsed "$start")"
fi

echo "== sanitize.sh: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(elapsed "$lane_start")"
exit $status
