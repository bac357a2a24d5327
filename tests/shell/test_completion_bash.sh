#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion, driven the way readline drives it (COMP_WORDS/COMP_CWORD), on a
# fake module directory and a directory of files.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
. "$KSIGN_SOURCE_ROOT/tests/shell/completion_lib.sh"

[ -f "$COMPLETIONS/ksign" ] || { fail "no configured bash completion at $COMPLETIONS/ksign"; exit 1; }

# expect "description" "want (space separated, any order)" LINE: the candidates for LINE
# are exactly the wanted words.
expect() {
  local what=$1 want=$2 line=$3
  _checks=$((_checks + 1))
  local got wanted
  got=$(bash_complete "$line" | tr '\n' ' ')
  wanted=$(for word in $want; do echo "$word"; done | sort | tr '\n' ' ')
  if [ "$got" != "$wanted" ]; then
    fail "$what: completing '$line' gave '$got', expected '$wanted'"
  fi
}

check_no_grep "the module directory default is filled in" '@MODULEDIR@' "$COMPLETIONS/ksign"

# Commands and global options.
expect "every command" "$(ksign_commands)" "ksign "
expect "commands by prefix" "sign sign-file" "ksign si"
expect "global options" "-h --help -V --version" "ksign -"
expect "help takes a command" "$(ksign_commands)" "ksign help "
expect "no command, no completion" "" "ksign frobnicate --"

# Options of sign: the long ones, by prefix.
expect "sign's long options" \
  "--key --cert --hash --keyid --dir --kernel --output --recursive --jobs --compress-level --allow-loose-key --allow-unsupported-key --verbose --quiet --help" \
  "ksign sign --"
expect "sign's options starting --k" "--key --keyid --kernel" "ksign sign --k"
expect "verify has --json, sign does not" "--json" "ksign verify --js"
expect "sign has no --json" "" "ksign sign --js"

# Hash names, also after '=' and for sign-file's first argument.
expect "every hash" "sha256 sha384 sha512 sha3-256 sha3-384 sha3-512" "ksign sign --hash "
expect "hashes by prefix" "sha3-256 sha3-384 sha3-512 sha384" "ksign sign --hash sha3"
expect "--hash=value" "sha512" "ksign sign --hash=sha5"
expect "sign-file's hash" "sha256 sha384 sha512 sha3-256 sha3-384 sha3-512" "ksign sign-file "
expect "sign-file's hash after -k" "sha512" "ksign sign-file -k sha51"
expect "sign-file's flags" "-d -p -k -s -h --help" "ksign sign-file -"

# --kernel: the directories in $KSIGN_MODULEDIR, not the files there.
mkdir -p "$T/modules/6.12.1-arch1-1" "$T/modules/6.6.30-1-lts" "$T/modules/6.13.0-rc1"
touch "$T/modules/not-a-kernel"
export KSIGN_MODULEDIR=$T/modules
expect "installed kernels" "6.12.1-arch1-1 6.6.30-1-lts 6.13.0-rc1" "ksign sign --kernel "
expect "installed kernels by prefix" "6.12.1-arch1-1 6.13.0-rc1" "ksign verify --kernel 6.1"
expect "--kernel=value" "6.6.30-1-lts" "ksign verify --kernel=6.6"
KSIGN_MODULEDIR=$T/empty
expect "no kernels installed" "" "ksign sign --kernel "
unset KSIGN_MODULEDIR

# Module arguments: *.ko, *.ko.gz, *.ko.xz, *.ko.zst and directories, nothing else.
mkdir -p "$T/work/drivers/net" "$T/work/spaces/my dir"
touch "$T/work/a.ko" "$T/work/b.ko.gz" "$T/work/c.ko.xz" "$T/work/d.ko.zst" \
  "$T/work/notes.txt" "$T/work/e.ko.bak" "$T/work/f.ko.zstd" "$T/work/signing_key.pem" \
  "$T/work/drivers/net/g.ko.zst" "$T/work/drivers/net/Makefile" "$T/work/spaces/my module.ko"
cd "$T/work" || exit 1
expect "modules and directories" "a.ko b.ko.gz c.ko.xz d.ko.zst drivers spaces" "ksign sign "
expect "modules in a subdirectory" "drivers/net/g.ko.zst" "ksign verify drivers/net/"
expect "modules after options" "a.ko" "ksign sign -k signing_key.pem -r a"
_checks=$((_checks + 1))
if [ "$(bash_complete_words ksign sign "spaces/my")" != "$(printf '%s\n' "spaces/my dir" "spaces/my module.ko")" ]; then
  fail "names with a space are not offered whole: $(bash_complete_words ksign sign "spaces/my" | tr '\n' '|')"
fi

# Option values: files for --key/--cert, directories for --dir, configs for keys.
expect "--key takes any file" "signing_key.pem" "ksign sign --key sig"
expect "--cert takes any file" "notes.txt" "ksign verify --cert no"
expect "--dir takes directories" "drivers spaces" "ksign sign --dir "
expect "--output takes any file" "e.ko.bak" "ksign sign -o e"
expect "--jobs takes a number" "" "ksign sign --jobs "
expect "keys --dir takes directories" "drivers" "ksign keys --dir d"
expect "keys --config takes files" "notes.txt" "ksign keys --config n"
expect "keys --config: files" "notes.txt" "ksign keys --config n"
expect "keys --refresh: periods" "always 1d 7d 30d 2w" "ksign keys --refresh "
expect "keys --keep: a number" "" "ksign keys --keep "
expect "sign -k is --key: files" "signing_key.pem" "ksign sign -k sig"
expect "sign -r is --recursive: then modules" "a.ko" "ksign sign -r a"
expect "install -d takes directories" "drivers" "ksign install -d d"
expect "install's destination is a directory" "drivers" "ksign install d"
expect "config takes config files" "notes.txt" "ksign config n"

# sign-file's positions: <hash> <key> <x509> <module> [<dest>]; -s <raw sig> drops <key>.
expect "sign-file's key is any file" "signing_key.pem" "ksign sign-file sha512 sig"
expect "sign-file's module is a module" "d.ko.zst drivers" "ksign sign-file sha512 k.pem c.der d"
expect "sign-file -s: its file" "notes.txt" "ksign sign-file -s n"
expect "sign-file -s: then the hash" "sha512" "ksign sign-file -s sig.p7s sha51"
expect "sign-file -s: module third" "d.ko.zst drivers" "ksign sign-file -s sig.p7s sha512 c.der d"
