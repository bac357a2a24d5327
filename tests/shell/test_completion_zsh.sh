#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The zsh completion parses (zsh -n), and zsh's completion system accepts it: compinit
# finds it by its #compdef line and binds it to ksign. (Which words it offers is checked
# by test_drift.sh.)
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

# The kernel release helper, run outside the completion system's widgets: the release
# names it would offer, from $KSIGN_MODULEDIR.
mkdir -p "$T/modules/6.12.1-arch1-1" "$T/modules/6.6.30-1-lts"
touch "$T/modules/not-a-kernel"
check "the kernel release glob" zsh -f -c '
  source <(sed -n "/^_ksign_kernels() {/,/^}/p" "$1")
  compadd() { print -l -- ${(P)2} }   # called as: compadd -a releases
  _wanted() { shift 3; "$@" }
  KSIGN_MODULEDIR=$2 _ksign_kernels' zsh "$ZSH_FILE" "$T/modules"
check_grep "offers 6.12.1-arch1-1" '^6.12.1-arch1-1$' "$T/.out"
check_grep "offers 6.6.30-1-lts" '^6.6.30-1-lts$' "$T/.out"
check_no_grep "does not offer a file" 'not-a-kernel' "$T/.out"
