#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign repair` names the package that owns a module it will not sign. A tiny package (made
# with dpkg-deb, installed with dpkg -i) puts modules of a made-up kernel release under
# /usr/lib/modules; once installed, one is tampered with and one damaged, and a stray module no
# package owns is added. repair must tell to reinstall the package for the first two, say the
# third's owner is unknown, give the package in --json, and after the reinstall it advises,
# the package's modules must be whole again. Changes the system (dpkg): runs only in a throwaway
# root (tests/lib.sh may_change_system_or_skip); everything is purged and removed at the end.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

may_change_system_or_skip "installs a package with dpkg -i"
command -v dpkg-deb >/dev/null && command -v dpkg-query >/dev/null || skip "no dpkg (not a Debian system)"
sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
rel=0.0.0-ksign-test
pkg=ksign-test-modules
moddir=/usr/lib/modules
kernel=$moddir/$rel
[ -e "$kernel" ] && skip "$kernel exists already; not touching it"
dpkg-query -W "$pkg" >/dev/null 2>&1 && skip "package $pkg is installed already; not touching it"

cleanup() {
  dpkg --purge "$pkg" >/dev/null 2>&1
  rm -rf "$kernel"
}
trap 'cleanup; _finish' EXIT

export KSIGN_MODULEDIR=$moddir KSIGN_BOOTDIR="$T/boot" KSIGN_CONFIG_DIR="$T/etc" KSIGN_DKMS_TREE="$T/dkms"
mkdir -p "$T/boot" "$T/etc" "$T/dkms"
make_key ec "$T/keys" kp

# The package: two signed modules. With merged /usr (the /lib link), one is shipped as
# lib/modules/..., where older kernel packages put them: dpkg knows it by that name only.
root=$T/pkg
mkdir -p "$root/DEBIAN" "$root/usr/lib/modules/$rel/kernel"
cat >"$root/DEBIAN/control" <<EOF
Package: $pkg
Version: 1.0
Architecture: all
Maintainer: ksign tests <ksign@invalid>
Description: modules of a made-up kernel, for ksign's tests
EOF
damaged_dir=usr/lib/modules/$rel/kernel
if [ "$(readlink -f /lib)" = /usr/lib ]; then damaged_dir=lib/modules/$rel/kernel; fi
mkdir -p "$root/$damaged_dir"
for m in "usr/lib/modules/$rel/kernel/tampered.ko" "$damaged_dir/damaged.ko"; do
  cp "$sample" "$root/$m"
  check "sign $m" "$KSIGN" sign-file sha256 "$T/keys/kp.key" "$T/keys/kp.der" "$root/$m"
done
check "dpkg-deb --build" dpkg-deb --root-owner-group --build "$root" "$T/$pkg.deb"
check "dpkg -i" dpkg -i "$T/$pkg.deb"
check_line "dpkg knows the damaged module by the name it shipped" "$pkg: /$damaged_dir/damaged.ko" \
  <(dpkg-query -S "/$damaged_dir/damaged.ko")

# After it was installed: one byte of the module's text changed, a length field broken, and a
# file of nobody's.
python3 - "$kernel/kernel/tampered.ko" <<'EOF' || fail "tamper"
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[b.index(b'ksign test module')] ^= 0x20
open(p, 'wb').write(b)
EOF
printf '\x7f\xff\xff\xff' | dd of="$kernel/kernel/damaged.ko" bs=1 conv=notrunc status=none \
  seek=$(( $(stat -c %s "$kernel/kernel/damaged.ko") - 32 ))
cp "$root/usr/lib/modules/$rel/kernel/tampered.ko" "$kernel/kernel/stray.ko"
python3 - "$kernel/kernel/stray.ko" <<'EOF' || fail "tamper stray"
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[b.index(b'ksign test module')] ^= 0x20
open(p, 'wb').write(b)
EOF

check_status 1 "repair" "$KSIGN" repair --kernel $rel --cert "$T/keys/kp.crt"
cp "$T/.out" "$T/repair.out"
check_grep "tampered: reinstall the package" \
  "^tampered '$(re_quote "$kernel/kernel/tampered.ko")', not signed: .*; reinstall package '$pkg'\$" "$T/repair.out"
check_grep "damaged: reinstall the package" \
  "^damaged '$(re_quote "$kernel/kernel/damaged.ko")', not signed: .*; reinstall package '$pkg'\$" "$T/repair.out"
check_grep "stray: owner unknown" \
  "^tampered '$(re_quote "$kernel/kernel/stray.ko")', not signed: .*; reinstall it \(owner unknown" "$T/repair.out"

check_status 1 "repair --json" "$KSIGN" repair --kernel $rel --cert "$T/keys/kp.crt" --json
cp "$T/.out" "$T/repair.json"
check "json: the package" python3 - "$T/repair.json" "$pkg" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
got = {m["path"].rsplit("/", 1)[1]: (m["action"], m["package"]) for m in d["kernels"][0]["modules"]}
pkg = sys.argv[2]
assert got == {"tampered.ko": ("tampered", pkg), "damaged.ko": ("damaged", pkg), "stray.ko": ("tampered", None)}, got
EOF

# What it advises mends them: reinstalled, the package's modules are whole (they only lack this
# kernel's signature now), and only the stray one is still tampered.
check "reinstall" dpkg -i "$T/$pkg.deb"
check_status 1 "repair --dry-run after the reinstall" "$KSIGN" repair --kernel $rel --cert "$T/keys/kp.crt" --dry-run
check_grep "tampered.ko is whole" "^cannot sign '$(re_quote "$kernel/kernel/tampered.ko")' \(signed by 'ksign test kp'" "$T/.out"
check_grep "damaged.ko is whole" "^cannot sign '$(re_quote "$kernel/kernel/damaged.ko")' \(signed by 'ksign test kp'" "$T/.out"
check_grep "the stray one is not" "^tampered '$(re_quote "$kernel/kernel/stray.ko")'" "$T/.out"
