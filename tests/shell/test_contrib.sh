#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# contrib/: the pacman hook of the gate before a reboot fires on what DKMS's own hook fires on
# (a *-dkms package's dkms.conf, a kernel's headers or modules.order) plus the kernel image and
# prebuilt extramodules, and its script maps each path to the kernel releases to check, each
# release once (against a fake module directory). The Arch package declares the conflict with
# kernel-sign whose DKMS files it installs under the same names.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

hook_source="$KSIGN_SOURCE_ROOT/contrib/ksign-verify.hook"
script="$KSIGN_SOURCE_ROOT/contrib/ksign-verify-hook"
# The configured script when the build has one (placeholders filled in), else the source.
[ -f "${KSIGN_BUILD_ROOT:-}/contrib/ksign-verify-hook" ] && script="$KSIGN_BUILD_ROOT/contrib/ksign-verify-hook"

# Which paths make pacman run the hook: its Target lines, matched as alpm does (fnmatch
# without flags, so '*' also matches '/'; bash's [[ == ]] matches the same way).
mapfile -t targets < <(sed -n 's/^Target = //p' "$hook_source")
triggers() {
  local target
  for target in "${targets[@]}"; do
    # shellcheck disable=SC2053 # the target is a pattern
    [[ $1 == $target ]] && return 0
  done
  return 1
}
# What Arch's dkms package's 70-dkms-install.hook triggers on, and what extramodules packages install.
for path in usr/src/nvidia-560.35/dkms.conf usr/lib/modules/6.12.1-arch1-1/build/include/ \
  usr/lib/modules/6.12.1-arch1-1/modules.order usr/lib/modules/6.12.1-arch1-1/vmlinuz \
  usr/lib/modules/6.12.1-arch1-1/extramodules/nvidia.ko.zst usr/lib/modules/extramodules-6.12-arch1/nvidia.ko.zst; do
  _checks=$((_checks + 1))
  triggers "$path" || fail "the pacman hook does not fire on $path"
done
for path in usr/share/doc/foo/README usr/lib/modules/6.12.1-arch1-1/kernel/fs/ext4.ko.zst; do
  _checks=$((_checks + 1))
  triggers "$path" && fail "the pacman hook fires on $path"
done
grep -Fxq 'NeedsTargets' "$hook_source" && pass || fail "the hook does not pass its targets"
grep -Fxq 'When = PostTransaction' "$hook_source" && pass || fail "the hook does not run after the transaction"
# pacman runs hooks in file-name order: ours must sort after DKMS's 70-dkms-install.hook.
installed_name=$(sed -n "s/.*input: 'ksign-verify.hook', output: '\([^']*\)'.*/\1/p" "$KSIGN_SOURCE_ROOT/contrib/meson.build")
[ -n "$installed_name" ] && [[ $installed_name > 71-dkms-remove.hook ]] && pass \
  || fail "the hook is installed as '$installed_name', which does not run after DKMS's hooks"

# A module directory: two kernels with headers, one without; Arch's old extramodules layout
# (extramodules-X/ with a version file, and a link to it from the release's directory), the new
# one (R/extramodules/), and an extramodules directory known only through a link.
M="$T/modules"
mkdir -p "$M/6.99.1-arch1-1/build/include" "$M/6.99.2-custom/build" "$M/6.99.3-nobuild" \
  "$M/6.99.4-new/extramodules" "$M/extramodules-6.99-arch1" "$M/extramodules-6.99-custom" "$M/extramodules-6.98-old"
echo 6.99.1-arch1-1 >"$M/extramodules-6.99-arch1/version"
ln -s ../extramodules-6.99-arch1 "$M/6.99.1-arch1-1/extramodules"
ln -s ../extramodules-6.99-custom "$M/6.99.2-custom/extramodules"
echo 6.98.0-removed >"$M/extramodules-6.98-old/version"
list() { KSIGN_MODULEDIR="$M" sh "$script" --list-releases; }

check "a dkms.conf means every kernel with headers" list <<<"usr/src/foo-1.0/dkms.conf"
check_same "those two" <(printf '6.99.1-arch1-1\n6.99.2-custom\n') "$T/.out"
check "extramodules-X: the release in its version file" list <<<"usr/lib/modules/extramodules-6.99-arch1/foo.ko.zst"
check_same "the release named" <(echo 6.99.1-arch1-1) "$T/.out"
check "extramodules-X without a version file: the release linking to it" list <<<"usr/lib/modules/extramodules-6.99-custom/foo.ko"
check_same "the linking release" <(echo 6.99.2-custom) "$T/.out"
check "extramodules-X of a removed kernel" list <<<"usr/lib/modules/extramodules-6.98-old/foo.ko"
check_same "nothing" /dev/null "$T/.out"
check "R/extramodules/, R/modules.order, R/build/include/, R/vmlinuz" list <<EOF_PATHS
usr/lib/modules/6.99.4-new/extramodules/foo.ko.zst
usr/lib/modules/6.99.3-nobuild/modules.order
usr/lib/modules/6.99.2-custom/build/include/
usr/lib/modules/6.99.1-arch1-1/vmlinuz
usr/lib/modules/6.99.9-not-installed/vmlinuz
EOF_PATHS
check_same "each its own release, a missing one left out" <(printf '6.99.4-new\n6.99.3-nobuild\n6.99.2-custom\n6.99.1-arch1-1\n') "$T/.out"

# One transaction: a DKMS package, an nvidia package for two kernels, a kernel and its headers.
cat >"$T/paths" <<EOF_PATHS
usr/lib/modules/6.99.3-nobuild/vmlinuz
usr/lib/modules/6.99.3-nobuild/modules.order
usr/src/foo-1.0/dkms.conf
usr/src/bar-2.0/dkms.conf
usr/lib/modules/extramodules-6.99-arch1/nvidia.ko.zst
usr/lib/modules/extramodules-6.99-arch1/nvidia-drm.ko.zst
usr/lib/modules/6.99.4-new/extramodules/nvidia.ko.zst
usr/lib/modules/6.99.1-arch1-1/build/include/
EOF_PATHS
check "a whole transaction" list <"$T/paths"
check_same "each release once, in the order first seen" \
  <(printf '6.99.3-nobuild\n6.99.1-arch1-1\n6.99.2-custom\n6.99.4-new\n') "$T/.out"

# The real thing: ksign verify --kernel once per release, with an unsigned module in one.
mkdir -p "$M/6.99.4-new/updates"
cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$M/6.99.4-new/updates/u.ko"
check "the hook script on the transaction's paths" env KSIGN="$KSIGN" KSIGN_MODULEDIR="$M" KSIGN_BOOTDIR="$M" \
  KSIGN_VERIFY_HOOK_CONF=/nonexistent sh "$script" --paths <"$T/paths"
for release in 6.99.3-nobuild 6.99.1-arch1-1 6.99.2-custom 6.99.4-new; do
  check_line "$release checked once" 1 <(grep -cE "^ksign: (cannot check )?kernel ${release}[: ]" "$T/.out")
done
check_contains "the unsigned DKMS module is named" "u.ko: unsigned" "$T/.out"
check_contains "its kernel would refuse it" "ksign: kernel 6.99.4-new would refuse modules:" "$T/.out"
# fail_on_refusal=yes in the configuration file makes the refusal fail the transaction.
printf '# the gate\nfail_on_refusal = yes\n' >"$T/verify-hook.conf"
check_status 1 "fail_on_refusal=yes fails" env KSIGN="$KSIGN" KSIGN_MODULEDIR="$M" KSIGN_BOOTDIR="$M" \
  KSIGN_VERIFY_HOOK_CONF="$T/verify-hook.conf" sh "$script" 6.99.4-new
check_no_contains "and does not say it would not" "not failing the installation" "$T/.out"
# The configured script has every placeholder filled in (the configuration file in sysconfdir).
if [ "$script" != "$KSIGN_SOURCE_ROOT/contrib/ksign-verify-hook" ]; then
  check_no_grep "no placeholder left in the configured script" '@[A-Z]+@' "$script"
  check_grep "the configuration file is in sysconfdir" '^conf=\$\{KSIGN_VERIFY_HOOK_CONF:-/.*/ksign/verify-hook\.conf\}$' "$script"
fi

# contrib/PKGBUILD: ksign installs /etc/dkms/kernel-sign.{conf,sh}, kernel-sign's own paths.
# Read in a subshell, as makepkg sources it (its check() would replace the test's own).
pkgbuild_array() {
  # shellcheck disable=SC1091,SC2034
  (conflicts=() provides=() startdir="$KSIGN_SOURCE_ROOT/contrib"
    . "$KSIGN_SOURCE_ROOT/contrib/PKGBUILD" && eval 'printf "%s\n" "${'"$1"'[@]}"')
}
pkgbuild_array conflicts >"$T/conflicts"
check_line "contrib/PKGBUILD conflicts with kernel-sign" kernel-sign "$T/conflicts"
pkgbuild_array provides >"$T/provides"
check_no_grep "contrib/PKGBUILD does not provide kernel-sign, whose scripts it lacks" '^kernel-sign$' "$T/provides"
check_grep "ksign installs kernel-sign.conf (else the conflict can go)" "output: 'kernel-sign.conf'" \
  "$KSIGN_SOURCE_ROOT/dkms/meson.build"
