#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The zsh completion parses (zsh -n), compinit binds it to ksign by its #compdef line, and
# a real interactive zsh offers the right words. (test_drift.sh checks every option.)
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
. "$KSIGN_SOURCE_ROOT/tests/shell/completion_lib.sh"

command -v zsh >/dev/null || skip "zsh is not installed (Debian package zsh)"
ZSH_FILE=$COMPLETIONS/_ksign

check "zsh -n parses _ksign" zsh -n "$ZSH_FILE"
check_grep "#compdef is the first line" '^#compdef ksign$' <(head -n 1 "$ZSH_FILE")
check_no_grep "the module directory default is filled in" '@MODULEDIR@' "$ZSH_FILE"

# A clean zsh (no user rc files) with only our directory added to fpath.
mkdir -p "$T/functions"
cp "$ZSH_FILE" "$T/functions/_ksign"
check "compinit binds _ksign to ksign" zsh -f -c '
  fpath=("$1" $fpath)
  autoload -Uz compinit && compinit -u -d "$2/zcompdump"
  [[ $_comps[ksign] == _ksign ]] || { print -u2 "ksign is bound to: ${_comps[ksign]:-nothing}"; exit 1 }
  autoload -Uz +X _ksign' zsh "$T/functions" "$T"

# What zsh offers, typed into a real interactive zsh (tests/shell/zsh_complete.zsh).
# zsh_offers LINE: the words, sorted, one per line.
zsh_offers() {
  rm -f "$T/offers"
  zsh -f "$KSIGN_SOURCE_ROOT/tests/shell/zsh_complete.zsh" "$T/functions" "$T/offers" "$1" ||
    fail "zsh could not complete '$1'"
  grep -v '^$' "$T/offers" | sort -u
}
# offers "description" "words that must be offered" "words that must not" LINE
offers() {
  local what=$1 want=$2 unwanted=$3 line=$4 got word
  got=$(zsh_offers "$line")
  for word in $want; do
    _checks=$((_checks + 1))
    grep -qxF -- "$word" <<<"$got" || fail "$what: zsh does not offer '$word' for '$line' (got: $(echo $got))"
  done
  for word in $unwanted; do
    _checks=$((_checks + 1))
    if grep -qxF -- "$word" <<<"$got"; then
      fail "$what: zsh offers '$word' for '$line'"
    fi
  done
}

offers "every command" "$(ksign_commands)" "--key" "ksign "
offers "sign's options starting --k" "--key --keyid --kernel" "--json --cert" "ksign sign --k"
offers "verify's --json" "--json" "--key" "ksign verify --j"
offers "every hash" "sha256 sha384 sha512 sha3-256 sha3-384 sha3-512" "" "ksign sign --hash "

mkdir -p "$T/modules/6.12.1-arch1-1" "$T/modules/6.6.30-1-lts"
touch "$T/modules/not-a-kernel"
export KSIGN_MODULEDIR=$T/modules
offers "installed kernels" "6.12.1-arch1-1 6.6.30-1-lts" "not-a-kernel" "ksign verify --kernel "
unset KSIGN_MODULEDIR

mkdir -p "$T/work/drivers"
touch "$T/work/a.ko" "$T/work/b.ko.gz" "$T/work/c.ko.xz" "$T/work/d.ko.zst" "$T/work/notes.txt" \
  "$T/work/e.ko.bak"
cd "$T/work" || exit 1
offers "modules and directories" "a.ko b.ko.gz c.ko.xz d.ko.zst drivers" "notes.txt e.ko.bak" "ksign sign "
offers "sign-file's module argument" "a.ko drivers" "notes.txt" "ksign sign-file sha512 k.pem c.der "
