#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# makepkg itself runs the README's prepare() line twice. makepkg links $srcdir/config to the
# PKGBUILD's own config and checks that file against the PKGBUILD's pinned sha256sum on every
# run: `ksign keys --config ../config` must replace the link by the edited copy, never write
# through it, or the second `makepkg -f` stops with "One or more files did not pass the validity
# check!". Also: the default key store in $srcdir makes makepkg warn "Package contains reference
# to $srcdir" for a headers package that ships the kernel's .config; the store next to the
# PKGBUILD does not (what the README recommends). makepkg refuses to run as root: as root the
# builds run as the unprivileged user ksignbuild (added when missing); as another user, as it.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

command -v makepkg >/dev/null || skip "makepkg is not installed (Debian: apt-get install makepkg)"
command -v fakeroot >/dev/null || skip "fakeroot is not installed (makepkg runs package() under it)"
command -v bsdtar >/dev/null || skip "bsdtar is not installed (makepkg packs with it)"
user=$(id -un)
run_as() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  user=ksignbuild
  if ! id -u "$user" >/dev/null 2>&1; then
    useradd -m "$user" || { fail "cannot add the user $user to run makepkg"; exit 1; }
  fi
  run_as() { runuser -u "$user" -- "$@"; }
  chmod 0755 "$T"
fi
# The binary must be reachable by that user (a build tree inside a private home is not).
run_as test -x "$KSIGN" || skip "$user cannot run $KSIGN"

# build NAME KSIGN-ARGUMENTS: a PKGBUILD in $T/NAME with the kernel's config pinned by checksum
# and prepare() running ksign as the README says; package() ships the config as a headers
# package does (build/.config).
setup() {
  local dir="$T/$1"
  mkdir -p "$dir"
  cp "$KSIGN_SOURCE_ROOT/tests/data/arch-config" "$dir/config"
  cat >"$dir/PKGBUILD" <<EOF_PKGBUILD
pkgname=ksign-makepkg-$1
pkgver=1
pkgrel=1
pkgdesc='ksign test: a config pinned by checksum'
arch=(any)
license=(MIT)
options=(!strip !debug)
source=(config)
sha256sums=('$(sha256sum "$dir/config" | cut -d' ' -f1)')

prepare() {
  mkdir -p linux-test && cd linux-test
  '$KSIGN' keys --refresh 30d --config ../config $2
  cp ../config .config
}

package() {
  install -Dm644 linux-test/.config "\$pkgdir/usr/lib/modules/6.99.0-test/build/.config"
}
EOF_PKGBUILD
  [ "$(id -u)" -eq 0 ] && chown -R "$user:" "$dir"
  cp "$dir/config" "$T/$1.original"
}
makepkg_in() {
  (cd "$T/$1" && run_as env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$T/$1" LC_ALL=C.UTF-8 \
    makepkg -f --nodeps --noconfirm --nocolor)
}

# The README's lines: the key store in $srcdir.
setup default ''
check "first makepkg" makepkg_in default
cp "$T/.out" "$T/first.out"; cat "$T/.err" >>"$T/first.out"
check_same "the PKGBUILD's config is byte for byte the same" "$T/default.original" "$T/default/config"
srcconfig="$T/default/src/config"
[ -f "$srcconfig" ] && [ ! -L "$srcconfig" ] && pass || fail "\$srcdir/config is not the edited copy"
cert=$(realpath "$T/default/src/linux-test/certs-local/current/signing_crt.pem")
check_line "the copy trusts the key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$srcconfig"
check_contains "ksign says it replaced the link" \
  "'../config' was a link to '$T/default/config': replaced it by the edited copy (the original is unchanged)" \
  "$T/first.out"
key=$(readlink "$T/default/src/linux-test/certs-local/current")
check "second makepkg -f" makepkg_in default
cat "$T/.err" >>"$T/.out"
check_no_grep "no validity check failed" "FAILED|did not pass the validity check" "$T/.out"
check_grep "the config passed its checksum" "config \.\.\. Passed" "$T/.out"
check_same "still the same" "$T/default.original" "$T/default/config"
[ "$key" = "$(readlink "$T/default/src/linux-test/certs-local/current")" ] && pass || fail "the second build made a new key"
check_grep "the store in \$srcdir: makepkg warns (the README says why)" 'Package contains reference to \$srcdir' "$T/.out"

# The README's recommendation: the store next to the PKGBUILD.
setup startdir '--dir "$startdir/certs-local"'
check "makepkg with the store next to the PKGBUILD" makepkg_in startdir
cat "$T/.err" >>"$T/.out"
check_no_grep "no reference to \$srcdir" 'reference to \$srcdir' "$T/.out"
check_line "the copy trusts that key" \
  "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$T/startdir/certs-local/current/signing_crt.pem")\"" "$T/startdir/src/config"
check "makepkg -f again" makepkg_in startdir
check_same "its config is the same too" "$T/startdir.original" "$T/startdir/config"
