#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the man pages promise beyond their OPTIONS sections (test_drift checks those): a SYNOPSIS
# that spells its options out instead of saying [options] names every option the command takes
# (but -h, -v, -q), and ksign(1)'s ENVIRONMENT names every KSIGN_ variable the binary reads.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
. "$KSIGN_SOURCE_ROOT/tests/shell/completion_lib.sh"

# section FILE NAME: the lines of the man page's section NAME.
section() { awk -v name="# $2" '$0 == name { inside = 1; next } /^# / { inside = 0 } inside' "$1"; }

mapfile -t commands < <(ksign_commands)
_checks=$((_checks + 1))
[ "${#commands[@]}" -ge 5 ] || fail "could not read the command list from '$KSIGN --help'"
for command in "${commands[@]}"; do
  [ "$command" = help ] && continue
  page=$(man_page "$command")
  [ -f "$page" ] || continue # test_drift names a missing page
  synopsis=$(section "$page" SYNOPSIS)
  grep -qF '_options_' <<<"$synopsis" && continue
  # Long options, and short options that have no long form.
  options=$("$KSIGN" "$command" --help | sed -nE \
    -e 's/^ {1,6}-[A-Za-z0-9], (--[A-Za-z0-9][A-Za-z0-9-]*)( .*)?$/\1/p' \
    -e 's/^ {1,6}(--[A-Za-z0-9][A-Za-z0-9-]*)( .*)?$/\1/p' \
    -e 's/^ {1,6}(-[A-Za-z0-9])( .*)?$/\1/p')
  for option in $options; do
    case $option in --help | --verbose | --quiet) continue ;; esac
    _checks=$((_checks + 1))
    if [[ $option == --* ]]; then
      grep -qF -- "*$option*" <<<"$synopsis" && continue
    else
      # A short option may sit in a cluster: [*-dpk*].
      grep -qE -- "\*-[A-Za-z0-9]*${option#-}[A-Za-z0-9]*\*" <<<"$synopsis" && continue
    fi
    fail "$(basename "$page"): SYNOPSIS lacks $option"
  done
done

environment=$(section "$MAN_SOURCE/ksign.1.scd" ENVIRONMENT)
# Read directly (getenv) or once by the dispatcher (cli/paths: from_environment).
variables=$(grep -rhoE '(getenv|from_environment)\("KSIGN_[A-Z0-9_]+"' "$KSIGN_SOURCE_ROOT/src" \
  | sed -E 's/.*\("(.*)"/\1/' | sort -u)
_checks=$((_checks + 1))
[ -n "$variables" ] || fail "found no getenv(\"KSIGN_...\") in src/"
for variable in $variables; do
  _checks=$((_checks + 1))
  grep -qxF -- "*$variable*" <<<"$environment" || fail "ksign.1.scd: ENVIRONMENT lacks $variable"
done
