#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fish completion parses (fish -n), and fish itself offers the right words
# (complete -C runs the completion the way the shell does).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
. "$KSIGN_SOURCE_ROOT/tests/shell/completion_lib.sh"

command -v fish >/dev/null || skip "fish is not installed (Debian package fish)"
FISH_FILE=$COMPLETIONS/ksign.fish

check "fish -n parses ksign.fish" fish -n "$FISH_FILE"
check_no_grep "the module directory default is filled in" '@MODULEDIR@' "$FISH_FILE"

# fish_complete LINE: the candidates fish offers for LINE, without descriptions, sorted.
fish_complete() {
  HOME=$T fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$FISH_FILE" "$1" | cut -f1 | sort
}

# expect "description" "want (space separated)" LINE
expect() {
  local what=$1 want=$2 line=$3 got wanted word
  _checks=$((_checks + 1))
  got=$(fish_complete "$line" | tr '\n' ' ')
  wanted=$(for word in $want; do echo "$word"; done | sort | tr '\n' ' ')
  [ "$got" = "$wanted" ] || fail "$what: fish completes '$line' to '$got', expected '$wanted'"
}

expect "every command" "$(ksign_commands)" "ksign "
expect "sign's options starting --k" "--key --keyid --kernel" "ksign sign --k"
expect "every hash" "sha256 sha384 sha512 sha3-256 sha3-384 sha3-512" "ksign sign --hash "

mkdir -p "$T/modules/6.12.1-arch1-1" "$T/modules/6.6.30-1-lts"
touch "$T/modules/not-a-kernel"
export KSIGN_MODULEDIR=$T/modules
expect "installed kernels" "6.12.1-arch1-1 6.6.30-1-lts" "ksign verify --kernel "
unset KSIGN_MODULEDIR

mkdir -p "$T/work/drivers"
touch "$T/work/a.ko" "$T/work/b.ko.gz" "$T/work/c.ko.xz" "$T/work/d.ko.zst" "$T/work/notes.txt" \
  "$T/work/e.ko.bak"
cd "$T/work" || exit 1
expect "modules and directories" "a.ko b.ko.gz c.ko.xz d.ko.zst drivers/" "ksign sign "
expect "modules to verify" "a.ko b.ko.gz c.ko.xz d.ko.zst drivers/" "ksign verify "
