# SPDX-License-Identifier: MIT
# Shared helpers for ksign's shell tests. Source it from a test script:
#   . "$KSIGN_SOURCE_ROOT/tests/lib.sh"
# Every test gets its own temporary directory ($T), kept when the test fails.
set -u

: "${KSIGN:?KSIGN must name the built ksign binary}"
: "${KSIGN_SOURCE_ROOT:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/ksign-test.XXXXXX")
_failures=0
_checks=0
# Only the test's own shell cleans up. A child forked for a command or a background job is a
# copy of this shell, EXIT trap included, until it execs: a signal landing in that window (a
# test that kills what it started) would run _finish there and delete $T under the test.
_lib_shell=$BASHPID

_finish() {
  local status=$?
  [ "$BASHPID" = "$_lib_shell" ] || exit "$status"
  if [ "$_failures" -ne 0 ] || [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    echo "test data left in $T" >&2
    [ "$status" -eq 0 ] && status=1
  else
    rm -rf "$T"
  fi
  echo "$_checks checks, $_failures failed" >&2
  exit "$status"
}
trap _finish EXIT

fail() { echo "FAIL: $*" >&2; _failures=$((_failures + 1)); }
pass() { _checks=$((_checks + 1)); }

# skip "why": the whole test is skipped (meson counts exit 77 as SKIP).
skip() {
  echo "SKIP: $*" >&2
  [ "$BASHPID" = "$_lib_shell" ] || exit "$status"
  trap - EXIT; rm -rf "$T"; exit 77
}

# check "description" command...: the command must succeed.
check() {
  local what=$1; shift
  _checks=$((_checks + 1))
  if ! "$@" >"$T/.out" 2>"$T/.err"; then
    fail "$what: '$*' failed: $(cat "$T/.err")"
  fi
}

# check_status N "description" command...: the command must exit with status N.
check_status() {
  local want=$1 what=$2; shift 2
  _checks=$((_checks + 1))
  local got=0
  "$@" >"$T/.out" 2>"$T/.err" || got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: '$*' exited $got, expected $want; stderr: $(cat "$T/.err")"
  fi
}

# The last check's stdout / stderr.
last_out() { cat "$T/.out"; }
last_err() { cat "$T/.err"; }

# check_grep "description" pattern file: the file must contain the (extended) regex.
check_grep() {
  _checks=$((_checks + 1))
  if ! grep -Eq -- "$2" "$3"; then
    fail "$1: '$2' not found in $3: $(head -c 2000 "$3")"
  fi
}

# Values (paths, kernel releases, host names) are not patterns: match them literally.
# check_contains "description" text file: the file contains the text.
check_contains() {
  _checks=$((_checks + 1))
  if ! grep -Fq -- "$2" "$3"; then
    fail "$1: '$2' not found in $3: $(head -c 2000 "$3")"
  fi
}

# check_line "description" text file: some line of the file is exactly the text.
check_line() {
  _checks=$((_checks + 1))
  if ! grep -Fxq -- "$2" "$3"; then
    fail "$1: no line '$2' in $3: $(head -c 2000 "$3")"
  fi
}

check_no_contains() {
  _checks=$((_checks + 1))
  if grep -Fq -- "$2" "$3"; then
    fail "$1: '$2' unexpectedly found in $3"
  fi
}

# re_quote text: the text as an extended regex that matches only itself, to embed a value
# in a pattern.
re_quote() { printf '%s' "$1" | sed 's/[][\\.|$(){}?+*^]/\\&/g'; }

check_no_grep() {
  _checks=$((_checks + 1))
  if grep -Eq -- "$2" "$3"; then
    fail "$1: '$2' unexpectedly found in $3"
  fi
}

# check_same "description" file1 file2: byte-identical.
check_same() {
  _checks=$((_checks + 1))
  if ! cmp -s "$2" "$3"; then
    fail "$1: $2 and $3 differ"
  fi
}

check_differ() {
  _checks=$((_checks + 1))
  if cmp -s "$2" "$3"; then
    fail "$1: $2 and $3 are identical"
  fi
}

# The kernel headers tree to build test modules against (the distro's), or empty.
find_kernel_headers() {
  local dir
  for dir in /lib/modules/*/build /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*; do
    if [ -f "$dir/Makefile" ] && [ -f "$dir/Module.symvers" ] || [ -f "$dir/Makefile" ] && [ -d "$dir/include/generated" ]; then
      echo "$dir"; return 0
    fi
  done
  return 1
}

# headers_release HEADERS: the kernel release whose /lib/modules/<release>/build is the headers
# tree HEADERS (not uname -r, which may be another kernel); fails when none is.
headers_release() {
  local dir
  for dir in /lib/modules/*/build; do
    if [ "$(realpath "$dir")" = "$(realpath "$1")" ]; then basename "$(dirname "$dir")"; return 0; fi
  done
  return 1
}

# The kernel's own sign-file (Debian ships it in linux-kbuild-*), or empty.
find_sign_file() {
  local f
  for f in /usr/lib/linux-kbuild-*/scripts/sign-file /lib/modules/*/build/scripts/sign-file; do
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# build_test_module DIR NAME: build a tiny out-of-tree module NAME.ko in DIR against the
# distro's headers and set $built_module to its path. Skips the test when no headers are
# installed (so call it in the test's own shell, not in $(...)); returns 1 when the build fails.
built_module=
build_test_module() {
  local dir=$1 name=${2:-ksigntest} headers
  headers=$(find_kernel_headers) || skip "no kernel headers installed (linux-headers-amd64)"
  mkdir -p "$dir"
  cat >"$dir/$name.c" <<EOC
// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
static int __init ${name}_init(void) { pr_info("${name} loaded\n"); return 0; }
static void __exit ${name}_exit(void) { }
module_init(${name}_init);
module_exit(${name}_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksign test module");
EOC
  echo "obj-m := $name.o" >"$dir/Makefile"
  make -s -C "$headers" M="$dir" modules >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
  built_module=$dir/$name.ko
}

# make_key TYPE DIR NAME: a throwaway key+cert (TYPE rsa or ec) with openssl, as the kernel's
# certs/Makefile makes them: DIR/NAME.pem (key + cert), DIR/NAME.crt (PEM), DIR/NAME.der.
make_key() {
  local type=$1 dir=$2 name=$3
  local newkey=(-newkey rsa:2048)
  [ "$type" = ec ] && newkey=(-newkey ec -pkeyopt ec_paramgen_curve:secp384r1)
  [ "$type" = rsa4096 ] && newkey=(-newkey rsa:4096)
  mkdir -p "$dir"
  openssl req -new -nodes -utf8 -sha512 -days 36500 -batch -x509 \
    -subj "/CN=ksign test $name" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=digitalSignature" \
    -addext "subjectKeyIdentifier=hash" \
    "${newkey[@]}" -keyout "$dir/$name.key" -out "$dir/$name.crt" 2>/dev/null
  cat "$dir/$name.key" "$dir/$name.crt" >"$dir/$name.pem"
  # Private keys readable by their owner only, as ksign requires (the ssh rule).
  chmod 600 "$dir/$name.key" "$dir/$name.pem"
  openssl x509 -in "$dir/$name.crt" -outform DER -out "$dir/$name.der"
}

# may_change_system_or_skip WHAT: the test changes the system outside $T (WHAT says how: a
# package installed with dpkg, a module installed by DKMS). It goes on only as root in a
# throwaway root: a lane's Debian root (tests/lanes/*.sh write /etc/ksign-lane into it only), or
# where KSIGN_TEST_MAY_INSTALL is set; otherwise it is skipped, saying why.
may_change_system_or_skip() {
  [ "$(id -u)" -eq 0 ] || skip "needs root: $1"
  [ -f /etc/ksign-lane ] || [ -n "${KSIGN_TEST_MAY_INSTALL:-}" ] \
    || skip "$1; runs only in a lane's throwaway root (/etc/ksign-lane) or with KSIGN_TEST_MAY_INSTALL=1"
}
