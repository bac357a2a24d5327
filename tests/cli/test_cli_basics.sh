#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dispatcher: help, version, unknown commands, exit statuses.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

check "--version" "$KSIGN" --version
check_grep "version line" '^ksign [0-9]+\.[0-9]+' "$T/.out"
# +OPENSSL<major>: the OpenSSL ksign was built against (3 on Debian 12 and sid, 4 with experimental's).
openssl_major=$(pkg-config --modversion libcrypto 2>/dev/null | cut -d. -f1)
check_grep "feature line" "\\+OPENSSL${openssl_major:-[0-9]+} \\+ZSTD \\+XZ \\+GZIP" "$T/.out"

check "--help" "$KSIGN" --help
for command in keys config install sign verify sign-file help; do
  check_grep "--help lists $command" "^  $command " "$T/.out"
done

check_status 2 "no arguments is a usage error" "$KSIGN"
check_status 2 "unknown command" "$KSIGN" verfy
check_grep "did you mean" "Did you mean 'ksign verify'" "$T/.err"
check_status 2 "unknown global option" "$KSIGN" --frobnicate

# `ksign help <cmd>` and `ksign <cmd> --help` print the same text.
for command in sign verify sign-file keys config install; do
  "$KSIGN" help "$command" >"$T/help1" 2>&1
  "$KSIGN" "$command" --help >"$T/help2" 2>&1
  check_same "help $command matches $command --help" "$T/help1" "$T/help2"
  check_grep "$command help has a usage line" "(usage|Usage)" "$T/help1"
done
check_status 2 "help for an unknown command" "$KSIGN" help sgin
check_grep "help suggests" "did you mean 'sign'" "$T/.err"

check_status 2 "unknown option of a command" "$KSIGN" sign --no-such-option x.ko
check_grep "usage error names the command" "^ksign sign: error: " "$T/.err"

# A link named sign-file runs the kernel-compatible interface.
ln -s "$KSIGN" "$T/sign-file"
check "sign-file link --help" "$T/sign-file" --help
check_grep "sign-file usage" "sign-file \[-dpk\] <hash algo> <key> <x509> <module> \[<dest>\]" "$T/.out"
check_status 2 "sign-file with too few arguments" "$T/sign-file" sha512 key
