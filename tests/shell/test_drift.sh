#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drift between the command table and the words the completions and man pages know.
# The truth is the binary: `ksign --help` lists the commands, `ksign <cmd> --help` their
# options. Every command and option must be offered by each completion and documented in
# the man page; a completion or man page must not offer an option the command lacks.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
. "$KSIGN_SOURCE_ROOT/tests/shell/completion_lib.sh"

BASH_FILE=$COMPLETIONS/ksign
ZSH_FILE=$COMPLETIONS/_ksign
FISH_FILE=$COMPLETIONS/ksign.fish
for file in "$BASH_FILE" "$ZSH_FILE" "$FISH_FILE"; do
  [ -f "$file" ] || { fail "no configured completion $file"; exit 1; }
done

mapfile -t commands < <(ksign_commands)
_checks=$((_checks + 1))
if [ "${#commands[@]}" -lt 5 ]; then
  fail "could not read the command list from '$KSIGN --help' (got: ${commands[*]})"
fi

# missing "what" "wanted words" "offered words": each wanted word must be offered.
missing() {
  local what=$1 want=$2 have=$3 word
  for word in $want; do
    _checks=$((_checks + 1))
    if ! grep -qxF -- "$word" <<<"$have"; then
      fail "$what: '$word' is missing"
    fi
  done
}

# extra "what" "allowed words" "offered words": nothing offered beyond the allowed words.
extra() {
  local what=$1 allowed=$2 have=$3 word
  for word in $have; do
    _checks=$((_checks + 1))
    if ! grep -qxF -- "$word" <<<"$allowed"; then
      fail "$what: '$word' is offered but '$KSIGN' does not know it"
    fi
  done
}

# Commands.
bash_commands=$(bash_complete "ksign ")
zsh_commands=$(sed -nE "s/^ +['\"]([a-z][a-z0-9-]*):.*/\1/p" "$ZSH_FILE")
fish_commands=$(grep -F "not __fish_seen_subcommand_from" "$FISH_FILE" | sed -nE 's/.* -a ([a-z][a-z0-9-]*) .*/\1/p')
man_commands=$(awk '/^# COMMANDS/ { inside = 1; next } /^# / { inside = 0 } inside' "$MAN_SOURCE/ksign.1.scd" |
  sed -nE 's/^\*([a-z][a-z0-9-]*)\*.*/\1/p')
all_commands=$(printf '%s\n' "${commands[@]}")
missing "bash completion, commands" "$all_commands" "$bash_commands"
missing "zsh completion, commands" "$all_commands" "$zsh_commands"
missing "fish completion, commands" "$all_commands" "$fish_commands"
missing "ksign(1), COMMANDS" "$all_commands" "$man_commands"
extra "bash completion, commands" "$all_commands" "$bash_commands"
extra "zsh completion, commands" "$all_commands" "$zsh_commands"
extra "fish completion, commands" "$all_commands" "$fish_commands"
extra "ksign(1), COMMANDS" "$all_commands" "$man_commands"

# Options, command by command.
for command in "${commands[@]}"; do
  options=$(ksign_options "$command")
  [ "$command" = help ] && continue # it only takes a command name

  # bash: what the completion offers after "ksign <command> -".
  bash_options=$(bash_complete "ksign $command -")
  missing "bash completion, ksign $command" "$options" "$bash_options"
  extra "bash completion, ksign $command" "$options"$'\n-h\n--help' "$bash_options"

  # zsh: the option specs in _ksign_<command>().
  zsh_body=$(zsh_function_body "_ksign_$command" "$ZSH_FILE")
  _checks=$((_checks + 1))
  if [ -z "$zsh_body" ]; then
    fail "zsh completion: no function _ksign_$command"
  fi
  zsh_options=$(grep -v '_arguments' <<<"$zsh_body" | grep -oE -- "(^|[{,'( ])--?[A-Za-z0-9][A-Za-z0-9-]*" |
    sed -E "s/^[{,'( ]//" | sort -u)
  missing "zsh completion, ksign $command" "$options" "$zsh_options"
  extra "zsh completion, ksign $command" "$options"$'\n-h\n--help' "$zsh_options"

  # fish: the complete lines conditioned on the command.
  fish_command_options=$(fish_options "$command" "$FISH_FILE")
  missing "fish completion, ksign $command" "$options" "$fish_command_options"
  extra "fish completion, ksign $command" "$options"$'\n-h\n--help' "$fish_command_options"

  # The man page: every option in its OPTIONS section, and nothing else there.
  page=$(man_page "$command")
  _checks=$((_checks + 1))
  if [ ! -f "$page" ]; then
    fail "ksign $command has no man page ($page)"
    continue
  fi
  page_options=$(man_options "$page")
  missing "$(basename "$page"), OPTIONS" "$options" "$page_options"
  extra "$(basename "$page"), OPTIONS" "$options"$'\n-h\n--help' "$page_options"
done

# The hash names --hash takes.
hashes=$(ksign_hashes)
_checks=$((_checks + 1))
[ -n "$hashes" ] || fail "could not read the hash names from '$KSIGN sign --help'"
bash_hashes=$(bash_complete "ksign sign --hash ")
missing "bash completion, --hash" "$hashes" "$bash_hashes"
extra "bash completion, --hash" "$hashes" "$bash_hashes"
zsh_hashes=$(zsh_function_body _ksign_hashes "$ZSH_FILE" | grep -oE '\bsha3?-?[0-9]{3}\b')
missing "zsh completion, hashes" "$hashes" "$zsh_hashes"
extra "zsh completion, hashes" "$hashes" "$zsh_hashes"
fish_hashes=$(grep -F -- "-l hash" "$FISH_FILE" | grep -oE '\bsha3?-?[0-9]{3}\b')
missing "fish completion, --hash" "$hashes" "$fish_hashes"
extra "fish completion, --hash" "$hashes" "$fish_hashes"
for page in "$MAN_SOURCE/ksign-sign.1.scd" "$MAN_SOURCE/ksign-sign-file.1.scd"; do
  missing "$(basename "$page"), hashes" "$hashes" "$(grep -oE '\*sha3?-?[0-9]{3}\*' "$page" | tr -d '*')"
done

# Every page the man/ directory has is built by man/meson.build.
for page in "$MAN_SOURCE"/*.scd; do
  _checks=$((_checks + 1))
  name=$(basename "$page" .1.scd)
  grep -q "'$name'" "$MAN_SOURCE/meson.build" || fail "man/meson.build does not build $name"
done
