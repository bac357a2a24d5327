#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `meson install --destdir` puts every file where the distro's conventions want it. The
# expected places are worked out here from the build's options, independently of the
# meson.build files that do the installing.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?KSIGN_BUILD_ROOT must name the meson build directory}"
command -v meson >/dev/null || skip "meson is not on PATH"
command -v python3 >/dev/null || skip "python3 is needed to read the build options"

# The build's options, as NAME=VALUE lines.
meson introspect --buildoptions "$KSIGN_BUILD_ROOT" >"$T/options.json" ||
  { fail "meson introspect failed"; exit 1; }
option() {
  python3 -c '
import json, sys
for entry in json.load(open(sys.argv[1])):
    if entry["name"] == sys.argv[2]:
        value = entry["value"]
        print(str(value).lower() if isinstance(value, bool) else value)
        break
else:
    sys.exit("no option " + sys.argv[2])' "$T/options.json" "$1"
}
# in_prefix DIR: DIR as meson resolves a directory option (relative ones are under prefix).
prefix=$(option prefix)
in_prefix() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(in_prefix "$(option bindir)")
libexecdir=$(in_prefix "$(option libexecdir)")
datadir=$(in_prefix "$(option datadir)")
mandir=$(in_prefix "$(option mandir)")
sysconfdir=$(in_prefix "$(option sysconfdir)")
moduledir=$(option moduledir)

D=$T/root
check "meson install --destdir" meson install -C "$KSIGN_BUILD_ROOT" --no-rebuild --destdir "$D"
cp "$T/.out" "$T/install.log"

# The binary, in bindir, and it runs.
check "ksign is installed in $bindir" test -x "$D$bindir/ksign"
check "the installed ksign runs" "$D$bindir/ksign" --version
check_grep "it is this build's ksign" "^ksign [0-9]" "$T/.out"

# <libexecdir>/ksign/sign-file: a link to the ksign binary, for DKMS's sign_file=.
link=$D$libexecdir/ksign/sign-file
check "sign-file is a symlink" test -L "$link"
target=$(readlink "$link")
case $target in
/*) resolved=$D$target ;;            # absolute: it names the installed path
*) resolved=$(dirname "$link")/$target ;;
esac
check "sign-file resolves to the installed ksign ($target)" test "$resolved" -ef "$D$bindir/ksign"
check_no_grep "the link does not point into the destdir" "^$(re_quote "$D")" <(echo "$target")
# Called by that name, the binary behaves as sign-file.
ln -s "$D$bindir/ksign" "$T/sign-file"
check "ksign called as sign-file" "$T/sign-file" --help
check_grep "prints sign-file's usage" "^usage: sign-file " "$T/.out"

# Completions, each where its shell looks.
completion_dir() {
  local name=$1 default=$2 value
  value=$(option "$name")
  case $value in
  no) echo no ;;
  '') echo "$default" ;;
  *) echo "$value" ;;
  esac
}
bash_default=$datadir/bash-completion/completions
if pkg-config --exists bash-completion 2>/dev/null; then
  bash_default=$(pkg-config --define-variable=datadir="$datadir" --variable=completionsdir bash-completion)
fi
bash_dir=$(completion_dir bashcompletiondir "$bash_default")
zsh_dir=$(completion_dir zshcompletiondir "$datadir/zsh/site-functions")
fish_dir=$(completion_dir fishcompletiondir "$datadir/fish/vendor_completions.d")
for entry in "bash:$bash_dir:ksign" "zsh:$zsh_dir:_ksign" "fish:$fish_dir:ksign.fish"; do
  IFS=: read -r shell dir name <<<"$entry"
  if [ "$dir" = no ]; then
    check "no $shell completion installed (option 'no')" test -z "$(find "$D" -path "*$shell*" -name "$name")"
    continue
  fi
  file=$D$dir/$name
  check "$shell completion in $dir" test -f "$file"
  [ -f "$file" ] || continue
  check_no_grep "$shell completion: placeholders filled in" '@[A-Z]+@' "$file"
  check_contains "$shell completion: the module directory is $moduledir" "$moduledir" "$file"
done

# bash-completion loads a completion on first use, by the command's name, from
# <XDG_DATA_DIRS entry>/bash-completion/completions: it must find ours there.
bash_completion_main=/usr/share/bash-completion/bash_completion
if [ "$bash_dir" = "$datadir/bash-completion/completions" ] && [ -f "$bash_completion_main" ]; then
  check "bash-completion loads ksign's completion on demand" env XDG_DATA_DIRS="$D$datadir" \
    bash --norc -c '. "$1"; _completion_loader ksign; complete -p ksign' bash "$bash_completion_main"
  check_grep "bound to _ksign" '^complete -F _ksign ksign$' "$T/.out"
fi

# fish loads completions from <XDG_DATA_DIRS entry>/fish/vendor_completions.d, for a
# command on PATH; zsh's compinit binds what it finds in fpath by the #compdef line.
mkdir -p "$T/home"
if [ "$fish_dir" = "$datadir/fish/vendor_completions.d" ] && command -v fish >/dev/null; then
  check "fish loads the installed completion" env XDG_DATA_DIRS="$D$datadir" HOME="$T/home" \
    XDG_CONFIG_HOME="$T/home/.config" PATH="$D$bindir:$PATH" fish -c 'complete -C "ksign sig"'
  check_grep "fish offers sign-file" '^sign-file' "$T/.out"
fi
if [ "$zsh_dir" != no ] && command -v zsh >/dev/null; then
  check "zsh's compinit binds the installed _ksign" zsh -f -c \
    'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D; [[ $_comps[ksign] == _ksign ]]' \
    zsh "$D$zsh_dir"
fi

# Man pages: built when scdoc is there (option manpages auto) or demanded (enabled).
pages="ksign ksign-keys ksign-config ksign-install ksign-sign ksign-verify ksign-sign-file ksign-status"
manpages=$(option manpages)
if [ "$manpages" = enabled ] || { [ "$manpages" = auto ] && command -v scdoc >/dev/null; }; then
  for page in $pages; do
    file=$D$mandir/man1/$page.1
    check "man page $page(1) in $mandir/man1" test -f "$file"
    [ -f "$file" ] || continue
    # What a reader sees, whatever scdoc escapes (scdoc 1.11 writes sign\-file, 1.9 sign-file).
    sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\f[BIRP]//g' "$file" >"$T/$page.1.txt"
    check_grep "$page(1) is roff with its title" "^\.TH \"$page\" \"1\"" "$T/$page.1.txt"
    check_no_grep "$page(1): placeholders filled in" '@[A-Z]+@' "$file"
    check_no_grep "$page(1): the SPDX line is not shown" 'SPDX' "$file"
    if command -v groff >/dev/null; then
      check "$page(1): groff formats it without warnings" groff -man -ww -z -Tutf8 "$file"
      check_no_grep "$page(1): groff had nothing to warn about" '.' "$T/.err"
    fi
  done
  check_contains "ksign(1) names the sign-file link" "$libexecdir/ksign/sign-file" "$T/ksign.1.txt"
  check_contains "ksign(1) names the module directory" "$moduledir" "$T/ksign.1.txt"
  if command -v man >/dev/null; then
    check "man renders ksign(1)" env MANWIDTH=80 man -l "$D$mandir/man1/ksign.1"
    check_grep "ksign(1) has EXIT STATUS" '^EXIT STATUS' "$T/.out"
    check_grep "ksign(1) has ENVIRONMENT" '^ENVIRONMENT' "$T/.out"
    check_grep "ksign(1) has FILES" '^FILES' "$T/.out"
  fi
else
  check "no man pages without scdoc" test -z "$(find "$D" -path '*/man1/*')"
fi

# DKMS files: whatever dkms/ ships (a .in file is installed without the suffix), under
# <sysconfdir>/dkms, once.
dkms_sources=$(find "$KSIGN_SOURCE_ROOT/dkms" -type f ! -name meson.build -printf '%f\n' | sed 's/\.in$//' | sort)
if [ "$(option dkms)" = true ]; then
  for name in $dkms_sources; do
    _checks=$((_checks + 1))
    found=$(find "$D$sysconfdir/dkms" -name "$name" 2>/dev/null | head -n 1)
    if [ -z "$found" ]; then
      fail "dkms/$name is not installed under $sysconfdir/dkms"
      continue
    fi
    check_no_grep "${found#"$D"}: placeholders filled in" '@[A-Z]+@' "$found"
    case $name in
    *.sh) check "${found#"$D"} is executable" test -x "$found" ;;
    esac
  done
  if grep -rqs 'sign_file=' "$D$sysconfdir/dkms"; then
    check_grep "the DKMS drop-in names the installed sign-file link" \
      "sign_file=[\"']?$(re_quote "$libexecdir/ksign/sign-file")" <(grep -rhs 'sign_file=' "$D$sysconfdir/dkms")
  fi
else
  check "no DKMS files with -Ddkms=false" test ! -e "$D$sysconfdir/dkms"
fi

# The gate before a reboot: pacman hook, kernel-install plugin, and the script they run.
if [ "$(option verify_hooks)" = true ]; then
  hook=$D$datadir/libalpm/hooks/90-ksign-verify.hook
  plugin=$D$prefix/lib/kernel/install.d/90-ksign-verify.install
  script=$D$libexecdir/ksign/ksign-verify-hook
  check "pacman hook in $datadir/libalpm/hooks" test -f "$hook"
  check "kernel-install plugin in $prefix/lib/kernel/install.d" test -x "$plugin"
  check "hook script in $libexecdir/ksign" test -x "$script"
  check_contains "the pacman hook runs the installed script" "Exec = $libexecdir/ksign/ksign-verify-hook --paths" "$hook"
  check_contains "the plugin runs the installed script" "exec $libexecdir/ksign/ksign-verify-hook" "$plugin"
  check_contains "the script runs the installed ksign" "ksign=\${KSIGN:-$bindir/ksign}" "$script"
  # The script really calls `ksign verify --kernel` and reports a refusal without failing.
  mkdir -p "$T/hookmods/6.99.3-hook/extra"
  cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$T/hookmods/6.99.3-hook/extra/u.ko"
  check "the hook script reports and does not fail" env KSIGN="$D$bindir/ksign" KSIGN_MODULEDIR="$T/hookmods" \
    KSIGN_BOOTDIR="$T/hookmods" KSIGN_VERIFY_HOOK_CONF=/nonexistent sh "$script" 6.99.3-hook
  check_grep "names the refusal" "u.ko: unsigned" "$T/.out"
  check_grep "says it would refuse" "kernel 6.99.3-hook would refuse modules" "$T/.out"
fi

# Nothing lands outside the prefix except what must (sysconfdir of /usr is /etc) or what an
# option names (a completion directory).
while IFS= read -r path; do
  _checks=$((_checks + 1))
  case ${path#"$D"} in
  "$prefix"/* | "$sysconfdir"/* | "$bash_dir"/* | "$zsh_dir"/* | "$fish_dir"/*) ;;
  *) fail "installed outside the prefix: ${path#"$D"}" ;;
  esac
done < <(find "$D" -type f -o -type l)
