#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ksign's pacman hook under a real pacman: a package holding what a *-dkms package, a kernel, its
# headers and an extramodules package install is installed into a scratch root (pacman --root)
# with ksign's hook and a stand-in for DKMS's 70-dkms-install.hook (same triggers). The hook
# must fire on each of those paths (alpm's own matching), not on an in-tree module, and after
# DKMS's hook; the paths it receives must map to the kernel release, once, and ksign verify must
# run for it. Needs root (pacman runs hooks chrooted into the root), pacman, makepkg, fakeroot,
# bsdtar and a static busybox (the root's /bin/sh).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?}"
[ "$(id -u)" -eq 0 ] || skip "needs root (pacman chroots into the scratch root to run hooks)"
for tool in pacman makepkg fakeroot bsdtar; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
busybox=$(command -v busybox) || skip "busybox is not installed"
ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable' || skip "$busybox is not statically linked (busybox-static)"
hook="$KSIGN_BUILD_ROOT/contrib/90-ksign-verify.hook"
script="$KSIGN_BUILD_ROOT/contrib/ksign-verify-hook"
[ -f "$hook" ] || skip "the build has no pacman hook (-Dverify_hooks=false)"
user=ksignbuild
if ! id -u "$user" >/dev/null 2>&1; then
  useradd -m "$user" || { fail "cannot add the user $user to run makepkg"; exit 1; }
fi
chmod 0755 "$T"

# One package with every kind of path the hook is meant for, and one it is not.
release=6.99.1-arch1-1
mkdir -p "$T/pkg"
cat >"$T/pkg/PKGBUILD" <<EOF_PKGBUILD
pkgname=ksign-hook-probe
pkgver=1
pkgrel=1
arch=(any)
options=(!strip !debug)
package() {
  local m="\$pkgdir/usr/lib/modules"
  install -Dm644 /dev/null "\$pkgdir/usr/src/foo-1.0/dkms.conf"
  install -Dm644 /dev/null "\$m/$release/vmlinuz"
  install -Dm644 /dev/null "\$m/$release/modules.order"
  install -Dm644 /dev/null "\$m/$release/build/include/linux/probe.h"
  install -Dm644 /dev/null "\$m/$release/extramodules/nv.ko.zst"
  install -Dm644 /dev/null "\$m/extramodules-6.99-arch1/nv-old.ko.zst"
  echo $release >"\$m/extramodules-6.99-arch1/version"
  install -Dm644 /dev/null "\$m/$release/kernel/fs/intree.ko.zst"
}
EOF_PKGBUILD
chown -R "$user:" "$T/pkg"
check "makepkg the probe package" bash -c "cd '$T/pkg' && runuser -u $user -- env -i PATH=/usr/bin:/bin HOME='$T/pkg' makepkg -f --nodeps --noconfirm"
package=$(ls "$T/pkg"/ksign-hook-probe-1-1-any.pkg.tar.* 2>/dev/null | head -n 1)
[ -n "$package" ] || { fail "makepkg made no package"; exit 1; }

# The scratch root: a shell, and probes that record what each hook was given and in which order.
root="$T/root"
mkdir -p "$root/var/lib/pacman" "$root/bin" "$T/hooks"
cp "$busybox" "$root/bin/sh"
printf '#!/bin/sh\necho dkms >>/order\n' >"$root/dkms-probe"
printf '#!/bin/sh\necho ksign >>/order\nwhile IFS= read -r line; do echo "$line"; done >/targets\n' >"$root/ksign-probe"
chmod 0755 "$root/dkms-probe" "$root/ksign-probe"
# ksign's hook as installed, but running the probe; DKMS's stand-in under its real name.
check_grep "the installed hook runs the script" '^Exec = .*/ksign/ksign-verify-hook --paths$' "$hook"
sed 's|^Exec = .*|Exec = /ksign-probe|' "$hook" >"$T/hooks/90-ksign-verify.hook"
# Arch's dkms package's 70-dkms-install.hook triggers on these (its Exec runs DKMS).
printf '%s\n' '[Trigger]' 'Operation = Install' 'Operation = Upgrade' 'Type = Path' 'Target = usr/src/*/dkms.conf' \
  'Target = usr/lib/modules/*/build/include/' 'Target = usr/lib/modules/*/modules.order' '' '[Action]' \
  'Description = DKMS stand-in' 'When = PostTransaction' 'Exec = /dkms-probe' 'NeedsTargets' >"$T/hooks/70-dkms-install.hook"
# A pacman.conf of the test's own: the distribution's may demand signed packages (sid's does).
printf '%s\n' '[options]' 'SigLevel = Never' 'LocalFileSigLevel = Never' >"$T/pacman.conf"
check "pacman -U into the scratch root" pacman --config "$T/pacman.conf" --root "$root" --dbpath "$root/var/lib/pacman" \
  --hookdir "$T/hooks" --noconfirm --noprogressbar -U "$package"
check_same "DKMS's hook ran first, then ksign's" <(printf 'dkms\nksign\n') "$root/order"
for path in usr/src/foo-1.0/dkms.conf "usr/lib/modules/$release/vmlinuz" "usr/lib/modules/$release/modules.order" \
  "usr/lib/modules/$release/build/include/" "usr/lib/modules/$release/extramodules/nv.ko.zst" \
  usr/lib/modules/extramodules-6.99-arch1/nv-old.ko.zst; do
  check_line "the hook fired on $path" "$path" "$root/targets"
done
check_no_grep "not on an in-tree module" 'intree\.ko' "$root/targets"

# What the script makes of those paths in that root: the one release, checked once.
check "the releases" env KSIGN_MODULEDIR="$root/usr/lib/modules" sh "$script" --list-releases <"$root/targets"
check_same "one release" <(echo "$release") "$T/.out"
check "the script on those paths" env KSIGN="$KSIGN" KSIGN_MODULEDIR="$root/usr/lib/modules" KSIGN_BOOTDIR="$root/boot" \
  KSIGN_VERIFY_HOOK_CONF=/nonexistent sh "$script" --paths <"$root/targets"
check_line "ksign verify ran for it once" 1 <(grep -cE "^ksign: (cannot check )?kernel ${release}[: ]" "$T/.out")
