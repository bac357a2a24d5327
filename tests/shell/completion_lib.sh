# SPDX-License-Identifier: MIT
# Helpers for the completion and man-page tests, sourced after tests/lib.sh.
# The truth about commands and options is the built binary's own help text.

: "${KSIGN_BUILD_ROOT:?KSIGN_BUILD_ROOT must name the meson build directory}"
COMPLETIONS=$KSIGN_BUILD_ROOT/completions # configured copies: what gets installed
MAN_SOURCE=$KSIGN_SOURCE_ROOT/man

# The commands `ksign --help` lists: "  <name>  <summary>" lines under "Commands:".
ksign_commands() {
  "$KSIGN" --help | awk '
    /^Commands:/ { in_list = 1; next }
    in_list && /^$/ { exit }
    in_list && /^  [a-z][a-z0-9-]*( |$)/ { print $1 }'
}

# ksign_options COMMAND: every option `ksign COMMAND --help` prints, one per line, short
# and long forms separately (cxxopts prints "  -k, --key FILE  ..." and "      --keyid  ...";
# sign-file prints "  -d  ..."). Continuation lines are indented deeper, so they never match.
ksign_options() {
  "$KSIGN" "$1" --help | sed -nE \
    -e 's/^ {1,6}(-[A-Za-z0-9]), (--[A-Za-z0-9][A-Za-z0-9-]*)( .*)?$/\1\n\2/p' \
    -e 's/^ {1,6}(-[A-Za-z0-9])( .*)?$/\1/p' \
    -e 's/^ {1,6}(--[A-Za-z0-9][A-Za-z0-9-]*)( .*)?$/\1/p'
}

# The hash names `ksign sign --help` offers for --hash.
ksign_hashes() {
  "$KSIGN" sign --help | grep -oE '\bsha3?-?[0-9]{3}\b' | sort -u
}

# bash_complete_words WORD...: run the bash completion the way readline would, with the
# words of the command line (the last one is being completed), and print the candidates,
# one per line, sorted.
bash_complete_words() (
  # shellcheck source=/dev/null
  . "$COMPLETIONS/ksign"
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _ksign ksign "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
  if [ "${#COMPREPLY[@]}" -gt 0 ]; then
    printf '%s\n' "${COMPREPLY[@]}" | sort
  fi
)

# bash_complete LINE: the same for a command line typed as one string; a trailing space
# starts a new, empty word, and "--opt=value" is split at '=' as bash does (COMP_WORDBREAKS).
bash_complete() {
  local line=$1 word
  local -a words=() split=()
  read -r -a words <<<"$line"
  for word in "${words[@]}"; do
    if [[ $word == --*=* ]]; then
      split+=("${word%%=*}" "=")
      [ -n "${word#*=}" ] && split+=("${word#*=}")
    else
      split+=("$word")
    fi
  done
  [[ $line == *" " || $line == *"=" ]] && split+=("")
  bash_complete_words "${split[@]}"
}

# zsh_function_body NAME FILE: the lines of zsh function NAME() { ... } in FILE.
zsh_function_body() {
  awk -v name="$1" '
    $0 ~ "^" name "\\(\\) *\\{" { inside = 1; next }
    inside && /^}/ { exit }
    inside { print }' "$2"
}

# fish_options COMMAND FILE: the options the fish completion offers after `ksign COMMAND`.
fish_options() {
  grep -F "__ksign_using $1'" "$2" | grep -oE -- ' -(s [A-Za-z0-9]|l [A-Za-z0-9-]+)' |
    sed -E 's/^ -s /-/; s/^ -l /--/'
}

# man_options PAGE: the options a man page documents in its OPTIONS section
# ("*-k*, *--key* _FILE_" lines).
man_options() {
  awk '/^# OPTIONS/ { inside = 1; next } /^# / { inside = 0 } inside && /^\*-/' "$1" |
    grep -oE -- '\*--?[A-Za-z0-9][A-Za-z0-9-]*\*' | tr -d '*'
}

# man_page COMMAND: the scdoc source documenting COMMAND (help is part of ksign(1)).
man_page() {
  if [ "$1" = help ]; then
    echo "$MAN_SOURCE/ksign.1.scd"
  else
    echo "$MAN_SOURCE/ksign-$1.1.scd"
  fi
}
