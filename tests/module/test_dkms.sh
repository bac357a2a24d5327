#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real DKMS (Debian's, 3.0.x) builds a tiny module for the installed kernel headers with
# ksign's framework.conf.d drop-in: DKMS's own signing step must run ksign's sign-file with the
# ksign key installed for that kernel (<moduledir>/<kver>/build/certs-local), and the module it
# leaves must verify against that key. Then the POST_BUILD hook (kernel-sign.conf) on the same
# module. Needs root (it writes into /etc/dkms and the headers tree, and removes all of it again).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?}"
[ "$(id -u)" -eq 0 ] || skip "needs root (writes /etc/dkms/framework.conf.d and the kernel headers tree)"
command -v dkms >/dev/null || skip "dkms is not installed"
headers=$(find_kernel_headers) || skip "no kernel headers installed"
kver=$(headers_release "$headers") || skip "no /lib/modules/<kver>/build for $headers"
arch=$(uname -m)
certs_local="/usr/lib/modules/$kver/build/certs-local"   # the drop-in's default moduledir
dropin=/etc/dkms/framework.conf.d/zz-ksign-test.conf   # last, so it wins over an installed ksign.conf
hook_link=/etc/dkms/ksign_dkms_test.conf
hook_installed=/etc/dkms/kernel-sign.sh
for existing in "$certs_local" "$dropin" "$hook_link" "$hook_installed"; do
  [ -e "$existing" ] && skip "$existing exists already; not touching a real setup"
done

# Remove everything this test puts outside $T, whatever happens.
cleanup() { rm -rf "$certs_local"; rm -f "$dropin" "$hook_link" "$hook_installed"; }
trap 'cleanup; _finish' EXIT

# DKMS's sign_file must be a file named sign-file; meson installs it as a link to ksign.
mkdir -p "$T/bin"
ln -s "$KSIGN" "$T/bin/sign-file"
sed -e "s|^sign_file=.*|sign_file='$T/bin/sign-file'|" -e "s|^ksign_program=.*|ksign_program='$KSIGN'|" \
  "$KSIGN_BUILD_ROOT/dkms/ksign.conf" >"$T/ksign.conf"
check_grep "the drop-in asks ksign about \${kernelver}" 'keys --key-files "\$\{kernelver\}"' "$T/ksign.conf"

# The drop-in on its own, sourced like DKMS does: keys only for a kernel that has them.
check "keys" "$KSIGN" keys --dir "$T/store"
probe() { # kernelver -> the mok_* values the drop-in leaves
  env -i kernelver="$1" bash -c ". '$T/ksign.conf'; echo \"key=\${mok_signing_key:-} cert=\${mok_certificate:-} sign=\$sign_file\""
}
check_grep "no keys yet: DKMS defaults kept" '^key= cert= sign=' <(probe "$kver")
check_grep "DKMS 3.0 first read (no kernelver): defaults kept" '^key= cert= ' <(probe "")

check "install the key for $kver" "$KSIGN" install --dir "$T/store" "$certs_local"
installed=$(realpath "$certs_local/current")
check_line "kernel with keys: ksign's key" "key=$installed/signing_key.pem cert=$installed/signing_crt.crt sign=$T/bin/sign-file" <(probe "$kver")
check_grep "other kernel: DKMS defaults kept" '^key= cert= ' <(probe 6.99.0-nokeys)
# kernel-sign's three-file store (signing_key.pem, signing_crt.crt, khash) is a whole key too.
rm -f "$installed/signing_prv.pem" "$installed/signing_crt.pem" "$installed/ktype"
check_line "three-file store: its signing_key.pem" "key=$installed/signing_key.pem cert=$installed/signing_crt.crt sign=$T/bin/sign-file" <(probe "$kver")

# Headers with the certificates only (install --public): the key is found through keys.d.
rm -rf "$certs_local"
check "install --public for $kver" env KSIGN_CONFIG_DIR="$T/etc" "$KSIGN" install --public --dir "$T/store" "$certs_local"
probe_public() { # config dir -> the mok_* values the drop-in leaves
  env -i kernelver="$kver" KSIGN_CONFIG_DIR="$1" bash -c ". '$T/ksign.conf'; echo \"key=\${mok_signing_key:-} cert=\${mok_certificate:-} sign=\$sign_file\"" 2>"$T/probe.err"
}
keyid=$(ls "$T/etc/keys.d")
# The release as a regular expression: Debian's own spell it with '+' (7.2.13+deb14-amd64).
kver_re=$(printf '%s' "$kver" | sed 's/[][\\.*^$+?(){}|]/\\&/g')
installed=$(realpath "$certs_local/current")
check_line "public: the key through keys.d" "key=$T/etc/keys.d/$keyid/signing_key.pem cert=$installed/signing_crt.crt sign=$T/bin/sign-file" \
  <(probe_public "$T/etc")
# No link: no key of DKMS's own either, and no sign-file DKMS could run.
check_grep "public, no link: no key for DKMS, no sign-file" "^key= cert= sign=/.*/ksign-has-no-private-key-for-$kver_re\$" <(probe_public "$T/nothing")
check_grep "and says why, naming the link" "has its certificate .* but no private key: .*'$T/nothing/keys.d/$keyid' does not exist" "$T/probe.err"
check_grep "and what DKMS will do" "DKMS will NOT sign the modules it builds for kernel $kver_re" "$T/probe.err"

# The real thing: dkms add + build with the drop-in, in a private DKMS tree.
cp "$T/ksign.conf" "$dropin"
mkdir -p "$T/src" "$T/dkms"
cp -r "$KSIGN_SOURCE_ROOT/tests/data/dkms-module" "$T/src/ksign_dkms_test-1.0"
dkms_args=(--dkmstree "$T/dkms" --sourcetree "$T/src")
check "dkms add" dkms add -m ksign_dkms_test -v 1.0 "${dkms_args[@]}"

# First with the certificate only and no way to its private key (the keys.d link missing, as
# when the key store is not mounted in a chroot): DKMS must sign nothing rather than sign with
# a key of its own, say why, and verify --kernel must flag the module.
check "dkms build -k $kver, private key unreachable" env KSIGN_CONFIG_DIR="$T/nothing" \
  dkms build -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
cp "$T/.out" "$T/dkms-nokey.out"
cp "$T/.err" "$T/dkms-nokey.err"
check_contains "DKMS signed nothing" "modules won't be signed" "$T/dkms-nokey.out"
check_no_grep "DKMS made no key of its own" 'generating self signed certificate' "$T/dkms-nokey.out"
check_grep "DKMS's output says what is missing" "kernel $kver_re has its certificate .* but no private key" "$T/dkms-nokey.err"
check_grep "and how to mend it" "run: ksign install --public -d STORE" "$T/dkms-nokey.err"
unsigned=$(find "$T/dkms/ksign_dkms_test/1.0/$kver/$arch/module" -name 'ksign_dkms_test.ko*' | head -n 1)
[ -n "$unsigned" ] && pass || fail "no built module in $T/dkms: $(cat "$T/dkms-nokey.out")"
check_status 1 "verify --kernel $kver flags the module" "$KSIGN" verify --kernel "$kver" "$unsigned"
check_grep "as unsigned" "unsigned" "$T/.out"
check "dkms unbuild" dkms unbuild -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"

rm -rf "$certs_local"
check "install the whole key again" "$KSIGN" install --dir "$T/store" "$certs_local"
installed=$(realpath "$certs_local/current")
check "dkms build -k $kver" dkms build -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
cp "$T/.out" "$T/dkms-build.out"
check_contains "DKMS used ksign's sign-file" "Sign command: $T/bin/sign-file" "$T/dkms-build.out"
check_contains "DKMS used the ksign key" "Signing key: $installed/signing_key.pem" "$T/dkms-build.out"
check_no_grep "DKMS made no key of its own" 'generating self signed certificate' "$T/dkms-build.out"
built=$(find "$T/dkms/ksign_dkms_test/1.0/$kver/$arch/module" -name 'ksign_dkms_test.ko*' | head -n 1)
[ -n "$built" ] && pass || fail "no built module in $T/dkms: $(cat "$T/dkms-build.out")"
check "built module verifies against the ksign certificate" "$KSIGN" verify --cert "$T/store/current/signing_crt.pem" "$built"
check "verify --kernel $kver" "$KSIGN" verify --kernel "$kver" "$built"
check_grep "modinfo: signed by the ksign key" 'Local out-of-tree module signing key' <(modinfo -F signer "$built")
check_line "modinfo: hash from the kernel config" "$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"/\1/p' "$headers/.config")" \
  <(modinfo -F sig_hashalgo "$built")

# POST_BUILD (kernel-sign.conf) on top, with a fresh key so the hook's signature is told apart.
# POST_BUILD is relative to <dkms_tree>/<module>/<version>/build: six '..' from $T/dkms/... reach '/'
# only when $T is one level below '/'.
if [ "$(dirname "$T")" = /tmp ]; then
  cp "$KSIGN_BUILD_ROOT/dkms/kernel-sign.sh" "$hook_installed"
  # kernel-sign.conf as installed with sysconfdir /etc (this build's sysconfdir may differ).
  sed 's|^POST_BUILD=.*|POST_BUILD=../../../../../../etc/dkms/kernel-sign.sh|' "$KSIGN_BUILD_ROOT/dkms/kernel-sign.conf" >"$hook_link"
  check "new key" "$KSIGN" keys --dir "$T/store" --refresh always
  check "install the new key" "$KSIGN" install --dir "$T/store" "$certs_local"
  check "dkms unbuild" dkms unbuild -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
  # Turn DKMS's own signing off (a missing sign_file; without one DKMS would fall back to its
  # own MOK key and create /var/lib/dkms/mok.key): only the hook can sign with the new key now.
  echo "sign_file='$T/no-such-sign-file'" >"$dropin"
  check "dkms build with POST_BUILD" env KSIGN="$KSIGN" dkms build -m ksign_dkms_test -v 1.0 -k "$kver" "${dkms_args[@]}"
  check_grep "the POST_BUILD hook ran" 'Running the post_build script' "$T/.out"
  check "module verifies against the new key" "$KSIGN" verify --cert "$T/store/current/signing_crt.pem" "$built"
else
  echo "note: POST_BUILD part left out (needs \$T directly under /tmp)" >&2
fi
