#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DKMS 3.2 and newer run framework.conf.d's post_transaction after every change they make to a
# kernel's modules. A real DKMS installs and removes a tiny module for the installed headers'
# kernel with ksign's post-transaction drop-in installed as meson installs it
# (<sysconfdir>/dkms/framework.conf.d/ksign-post-transaction.conf, running
# <libexecdir>/ksign/ksign-verify-hook) and repair=yes in the hook's configuration. DKMS's own
# signing is off, so only the hook can sign: after `dkms install` the module DKMS installed must
# be signed with the kernel's ksign key and load; after `dkms remove` the hook must have checked
# the kernel again. Skipped with DKMS before 3.2 (no post_transaction). dkms install writes into
# the kernel's module directory and runs depmod: runs only in a throwaway root, and removes all
# it added.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?}"
[ "$(id -u)" -eq 0 ] || skip "needs root (dkms install, /etc/dkms/framework.conf.d)"
command -v dkms >/dev/null || skip "dkms is not installed"
dkms_version=$(dkms --version 2>/dev/null | head -n 1)
read -r major minor < <(printf '%s\n' "$dkms_version" | sed -n 's/^dkms-\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
[ -n "${major:-}" ] || skip "cannot read DKMS's version from 'dkms --version': $dkms_version"
[ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 2 ]; } \
  || skip "$dkms_version has no post_transaction (DKMS 3.2 and newer run it)"
may_change_system_or_skip "dkms install puts a module into the kernel's module directory and runs depmod"
headers=$(find_kernel_headers) || skip "no kernel headers installed"
kver=$(headers_release "$headers") || skip "no /lib/modules/<kver>/build for $headers"
kver_re=$(re_quote "$kver")
arch=$(uname -m)
modules=/lib/modules/$kver
certs_local=$modules/build/certs-local
dropin=/etc/dkms/framework.conf.d/ksign-post-transaction.conf   # the name meson installs it as
nosign=/etc/dkms/framework.conf.d/zz-ksign-test-nosign.conf
for existing in "$certs_local" "$dropin" "$nosign" "$modules/updates/dkms/ksign_dkms_test.ko"*; do
  [ -e "$existing" ] && skip "$existing exists already; not touching a real setup"
done

# Everything this test adds outside $T is removed, whatever happens: the drop-ins, the key in
# the headers, the module DKMS installed and what depmod wrote (the files and directories of
# the kernel's module directory that were not there before).
listing() { find "$modules" -mindepth 1 \( -path "$modules/build" -o -path "$modules/source" \) -prune -o -print | LC_ALL=C sort; }
listing >"$T/modules-before"
dkms_args=(--dkmstree "$T/dkms" --sourcetree "$T/src")
cleanup() {
  if [ -d "$T/dkms/ksign_dkms_test" ]; then
    dkms remove -m ksign_dkms_test -v 1.0 --all "${dkms_args[@]}" >/dev/null 2>&1
  fi
  rm -f "$dropin" "$nosign"
  rm -rf "$certs_local"
  listing | LC_ALL=C comm -13 "$T/modules-before" - | LC_ALL=C sort -r | while IFS= read -r added; do
    if [ -d "$added" ] && [ ! -L "$added" ]; then rmdir "$added"; else rm -f "$added"; fi
  done
}
trap 'cleanup; _finish' EXIT

# The kernel's ksign key, in its headers.
check "keys" "$KSIGN" keys --dir "$T/store"
check "install the key for $kver" "$KSIGN" install --dir "$T/store" "$certs_local"

# The drop-in and the hook as meson installs them, the hook in a libexec directory of the
# test's own; the hook runs $KSIGN and reads its configuration from $KSIGN_VERIFY_HOOK_CONF.
mkdir -p "$T/libexec"
cp "$KSIGN_BUILD_ROOT/contrib/ksign-verify-hook" "$T/libexec/ksign-verify-hook"
chmod 755 "$T/libexec/ksign-verify-hook"
sed "s|[^ ]*/ksign-verify-hook|$T/libexec/ksign-verify-hook|g" "$KSIGN_BUILD_ROOT/dkms/ksign-post-transaction.conf" >"$dropin"
check_contains "the drop-in runs the test's hook" "[ ! -x $T/libexec/ksign-verify-hook ] ||" "$dropin"
# DKMS's own signing off (a sign_file that does not exist), so the module only gets signed if
# the hook signs it, and DKMS makes no MOK key of its own in /var/lib/dkms.
echo "sign_file='$T/no-such-sign-file'" >"$nosign"
echo 'repair=yes' >"$T/verify-hook.conf"
export KSIGN_VERIFY_HOOK_CONF="$T/verify-hook.conf"

mkdir -p "$T/src" "$T/dkms"
cp -r "$KSIGN_SOURCE_ROOT/tests/data/dkms-module" "$T/src/ksign_dkms_test-1.0"
check "dkms add" dkms add -m ksign_dkms_test -v 1.0 "${dkms_args[@]}"
check "dkms install -k $kver" env KSIGN="$KSIGN" dkms install -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
cp "$T/.out" "$T/install.out"
check_contains "DKMS signed nothing itself" "modules won't be signed" "$T/install.out"
check_contains "DKMS ran the post-transaction command" "Executing post-transaction command" "$T/install.out"
log=$T/dkms/post_transaction.log
[ -f "$log" ] && pass || fail "no $log: $(cat "$T/install.out")"
cp "$log" "$T/install.log"
check_contains "post_transaction: ksign's hook" "ksign-verify-hook" "$T/install.log"
check_grep "the hook repaired the module DKMS built" "^ksign: kernel $kver_re: repaired the modules DKMS built:" "$T/install.log"
check_grep "it names the module" "signed '[^']*/$kver_re/updates/dkms/ksign_dkms_test\.ko[^']*'.*\(was unsigned\)" "$T/install.log"
check_grep "then the kernel loads every module" "^ksign: kernel $kver_re: every module would load" "$T/install.log"
check_grep "the hook's exit status" "^# exit code: 0" "$T/install.log"
installed=$(find "$modules/updates/dkms" -name 'ksign_dkms_test.ko*' | head -n 1)
[ -n "$installed" ] && pass || fail "DKMS installed no module in $modules/updates/dkms"
check "the installed module is signed with the kernel's ksign key" \
  "$KSIGN" verify --cert "$T/store/current/signing_crt.pem" "$installed"
check "and the kernel would load it" "$KSIGN" verify --kernel "$kver" "$installed"

# dkms remove is a transaction too: the hook checks the kernel again (its log is new).
check "dkms remove -k $kver" env KSIGN="$KSIGN" dkms remove -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
check_contains "DKMS ran the post-transaction command again" "Executing post-transaction command" "$T/.out"
[ -e "$installed" ] && fail "dkms remove left $installed" || pass
cp "$log" "$T/remove.log"
# (The kernel has no modules left here: verify --kernel says so, and the hook reports it.)
check_grep "after remove: the hook checked the kernel" "^ksign: (kernel $kver_re[: ]|cannot check kernel $kver_re )" "$T/remove.log"
check_no_contains "after remove: nothing to repair" "repaired" "$T/remove.log"
