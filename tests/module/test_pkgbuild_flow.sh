#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel-sign workflow end to end, the way a kernel PKGBUILD and DKMS drive it:
#   prepare():          ksign keys --refresh 30d --config '../config*'   (config updated; again: no-op)
#   _package-headers(): ksign install "$builddir/certs-local"            (under fakeroot)
#   DKMS POST_BUILD:    kernel-sign.sh in <dkms_tree>/<module>/<version>/build with kernelver/arch set
# and the modules DKMS left in ../$kernelver/$arch/module/ (.ko and .ko.zst, one already signed
# by DKMS's own key) verify against the certificate installed with the kernel.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?}"
hook="$KSIGN_BUILD_ROOT/dkms/kernel-sign.sh"
[ -x "$hook" ] || fail "no executable $hook"
command -v zstd >/dev/null || skip "zstd is not installed"
build_test_module "$T/src-module" ksignflow || { fail "cannot build the test module"; exit 1; }
ko=$built_module
fakeroot=()
command -v fakeroot >/dev/null && fakeroot=(fakeroot)

kver=6.99.0-arch1-1
startdir="$T/linux-custom"          # where the PKGBUILD lives
srcdir="$startdir/src"
pkgdir="$startdir/pkg/linux-custom-headers"
mkdir -p "$srcdir/linux-$kver"
cp "$KSIGN_SOURCE_ROOT/tests/data/arch-config" "$startdir/config"
cp "$KSIGN_SOURCE_ROOT/tests/data/arch-config" "$startdir/config.x86_64"

# prepare(): from $srcdir, key store next to the PKGBUILD.
prepare() {
  (cd "$srcdir" && "$KSIGN" keys --dir ../certs-local --refresh 30d --config '../config*')
}
check "prepare: ksign keys" prepare
cert=$(realpath "$startdir/certs-local/current/signing_crt.pem")
check_line "config trusts the key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$startdir/config"
check_line "config.x86_64 trusts the key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$startdir/config.x86_64"
check_grep "key type from the config" '^ec$' "$startdir/certs-local/current/ktype"
check_status 0 "config --check is happy" "$KSIGN" config --check "$startdir/config"

# A second makepkg run: nothing changes (the kernel build is not invalidated).
touch -d '1 hour ago' "$startdir/config" "$startdir/config.x86_64"
before=$(find "$startdir" -printf '%P %i %m %s %T@ %l\n' | sort)
check "prepare again" prepare
[ "$before" = "$(find "$startdir" -printf '%P %i %m %s %T@ %l\n' | sort)" ] && pass || fail "a second prepare() changed something"

# _package-headers(): cwd is the kernel tree, $builddir a local.
builddir="$pkgdir/usr/lib/modules/$kver/build"
check "package-headers: ksign install" bash -c \
  "cd '$srcdir/linux-$kver' && ${fakeroot[*]} '$KSIGN' install --dir ../../certs-local '$builddir/certs-local'"
installed="$builddir/certs-local"
check_same "installed certificate" "$cert" "$installed/current/signing_crt.pem"
check_grep "installed private key 0600" '^600$' <(stat -c %a "$installed/current/signing_key.pem")

# What DKMS leaves behind for kernel-sign.sh: <dkms_tree>/<module>/<version>/{build,<kver>/<arch>/module}.
dkms_tree="$T/var/lib/dkms"
moddir="$dkms_tree/ksignflow/1.0/$kver/x86_64/module"
mkdir -p "$dkms_tree/ksignflow/1.0/build" "$moddir"
cp "$ko" "$moddir/ksignflow.ko"
# DKMS already signed this one with its own MOK key, then compressed it.
make_key rsa "$T/mok" mok
cp "$ko" "$T/other.ko"
check "DKMS-style MOK signature" "$KSIGN" sign --key "$T/mok/mok.key" --cert "$T/mok/mok.der" "$T/other.ko"
zstd -q -19 --rm "$T/other.ko" -o "$moddir/ksignflow_zst.ko.zst"
check_status 1 "before the hook: not signed by the ksign key" "$KSIGN" verify --cert "$cert" "$moddir"

run_hook() { # kernelver moduledir
  (cd "$dkms_tree/ksignflow/1.0/build" && env kernelver="$1" arch=x86_64 KSIGN="$KSIGN" KSIGN_MODULEDIR="$2" "$hook")
}
check "kernel-sign.sh signs" run_hook "$kver" "$pkgdir/usr/lib/modules"
check "modules verify against the installed certificate" "$KSIGN" verify --cert "$installed/current/signing_crt.pem" "$moddir"
check_grep ".ko ok" 'ksignflow\.ko: ok' "$T/.out"
check_grep ".ko.zst ok" 'ksignflow_zst\.ko\.zst: ok' "$T/.out"
check "verify --kernel" env KSIGN_MODULEDIR="$pkgdir/usr/lib/modules" "$KSIGN" verify --kernel "$kver" "$moddir"
check "still zstd" zstd -q -t "$moddir/ksignflow_zst.ko.zst"
if command -v modinfo >/dev/null; then
  check_grep "modinfo: signer is the ksign key" "Local out-of-tree module signing key" <(modinfo -F signer "$moddir/ksignflow.ko")
fi
if sign_file=$(find_sign_file); then
  # The kernel's own tool agrees that the key and certificate belong together.
  cp "$ko" "$T/referee.ko"
  check "kernel sign-file takes the installed key" "$sign_file" sha512 "$installed/current/signing_prv.pem" \
    "$installed/current/signing_crt.crt" "$T/referee.ko"
  check "ksign verifies the kernel's signature" "$KSIGN" verify --cert "$cert" "$T/referee.ko"
fi

# A kernel without ksign keys: said, exit 0, modules untouched.
sums=$(sha256sum "$moddir"/*)
check "kernel without keys" run_hook 6.1.0-other "$pkgdir/usr/lib/modules"
check_grep "says there are no keys" "doesn't have ksign keys" "$T/.out"
[ "$sums" = "$(sha256sum "$moddir"/*)" ] && pass || fail "modules changed for a kernel without keys"
mkdir -p "$dkms_tree/empty/1.0/build"
check_status 1 "no module directory (DKMS 3.1.7 order) is loud" \
  bash -c "cd '$dkms_tree/empty/1.0/build' && kernelver='$kver' arch=x86_64 KSIGN='$KSIGN' KSIGN_MODULEDIR='$pkgdir/usr/lib/modules' '$hook'"
check_grep "says what is missing" 'nothing to sign' "$T/.err"
check_status 1 "hook without kernelver" env -u kernelver arch=x86_64 "$hook"

# kernel-sign.conf's POST_BUILD reaches kernel-sign.sh from /var/lib/dkms/<m>/<v>/build.
post_build=$(sed -n 's/^POST_BUILD=//p' "$KSIGN_BUILD_ROOT/dkms/kernel-sign.conf")
resolved=$(realpath -m "/var/lib/dkms/somemodule/1.0/build/$post_build")
check_grep "POST_BUILD names kernel-sign.sh in the DKMS config dir" '/dkms/kernel-sign\.sh$' <(echo "$resolved")
[ "$(dirname "$resolved")" = "$(dirname "$(sed -n 's/^POST_BUILD=\(\.\.\/\)*//p' "$KSIGN_BUILD_ROOT/dkms/kernel-sign.conf" | sed 's|^|/|')")" ] \
  && pass || fail "POST_BUILD resolves to $resolved"
