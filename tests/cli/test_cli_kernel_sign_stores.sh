#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Key stores as kernel-sign users have them on disk, made by kernel-sign 4.4.0's own genkeys.py
# and install-certs.py, and by hand in the layouts of older kernel-sign versions (the three-file
# store of signing_key.pem + signing_crt.crt + khash; 1.x with signing_prv.key and no khash).
# Every path that needs a kernel's private key must find it in each: sign --kernel, keys
# --key-files (which the DKMS drop-in asks), the drop-in itself, the POST_BUILD hook, keys
# adopting the store (adding what ksign's layout needs) and install. A private key that does
# not match its certificate is refused, and a kernel whose key cannot be reached (a dangling
# keys.d link) never gets a module signed with another key.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

: "${KSIGN_BUILD_ROOT:?}"
kernel_sign=${KSIGN_KERNEL_SIGN:-$KSIGN_SOURCE_ROOT/../shared/kernel-sign-4.4.0}
[ -f "$kernel_sign/certs-local/genkeys.py" ] || skip "no kernel-sign 4.4.0 in $kernel_sign (KSIGN_KERNEL_SIGN)"
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || skip "python3 is not installed"
"$python" -c 'import zstandard' 2>/dev/null || skip "python3-zstandard is not installed (kernel-sign imports it)"
command -v rsync >/dev/null || skip "rsync is not installed (install-certs.py runs it)"
command -v openssl >/dev/null || skip "openssl is not installed"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
M="$T/modules"                       # the installed kernels (KSIGN_MODULEDIR)
export KSIGN_MODULEDIR="$M" KSIGN_CONFIG_DIR="$T/etc/ksign"
mkdir -p "$M" "$T/etc/ksign"
# Whatever the umask, what the tests write must not be group/other writable.
umask 022

# kernel-sign 4.4.0, runnable here: its lib uses Python 3.12's `type X = ...` statement once.
K="$T/kernel-sign/certs-local"
mkdir -p "$T/kernel-sign"
cp -r "$kernel_sign/certs-local" "$K"
chmod -R u+w "$K"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  sed -i 's/^type _Opt = /_Opt = /' "$K/lib/_genkeys_base.py"
fi
cp "$KSIGN_SOURCE_ROOT/tests/data/arch-config" "$T/kernel-sign/config"
check "kernel-sign's genkeys.py makes a store" "$python" "$K/genkeys.py" --config "$T/kernel-sign/config"
for f in signing_key.pem signing_prv.pem signing_crt.crt khash; do
  [ -f "$K/current/$f" ] && pass || fail "genkeys.py made no $f: $(ls -la "$K/current/")"
done

# The drop-in and the hook as installed, pointed at this build.
mkdir -p "$T/bin"
ln -s "$KSIGN" "$T/bin/sign-file"
sed -e "s|^sign_file=.*|sign_file='$T/bin/sign-file'|" -e "s|^ksign_program=.*|ksign_program='$KSIGN'|" \
  "$KSIGN_BUILD_ROOT/dkms/ksign.conf" >"$T/ksign.conf"
check_grep "the drop-in asks ksign" '^ksign_program=' "$T/ksign.conf"
# probe KVER: what DKMS 3.0 takes from the drop-in for that kernel (it sources it with bash).
probe() {
  env -i PATH="$PATH" kernelver="$1" KSIGN_MODULEDIR="$M" KSIGN_CONFIG_DIR="$T/etc/ksign" \
    bash -c ". '$T/ksign.conf'; printf '%s\n' \"\$sign_file\" \"\${mok_signing_key:-}\" \"\${mok_certificate:-}\"" \
    >"$T/probe.out" 2>"$T/probe.err"
}

# kernel_checks KVER CERT: every path finds KVER's key, and what it signs verifies against CERT.
kernel_checks() {
  local kver=$1 cert=$2 key
  cp "$sample" "$T/$kver-a.ko"
  check "$kver: sign --kernel" "$KSIGN" sign --kernel "$kver" "$T/$kver-a.ko"
  check "$kver: verified against its certificate" "$KSIGN" verify --cert "$cert" "$T/$kver-a.ko"

  check "$kver: keys --key-files" "$KSIGN" keys --key-files "$kver"
  [ "$(wc -l <"$T/.out")" -eq 2 ] && pass || fail "$kver: keys --key-files printed: $(cat "$T/.out")"
  key=$(sed -n 1p "$T/.out")
  local named_cert
  named_cert=$(sed -n 2p "$T/.out")
  check "$kver: --key-files names the kernel's certificate" cmp "$named_cert" "$cert"
  case "$named_cert" in "$M/$kver/build/certs-local/"*) pass ;; *) fail "$kver: not the installed certificate: $named_cert" ;; esac

  probe "$kver"
  check_line "$kver: drop-in keeps ksign's sign-file" "$T/bin/sign-file" <(sed -n 1p "$T/probe.out")
  check_line "$kver: drop-in gives DKMS the key ksign names" "$key" <(sed -n 2p "$T/probe.out")
  [ -s "$T/probe.err" ] && fail "$kver: the drop-in complained: $(cat "$T/probe.err")" || pass
  # As DKMS then calls it: sign_file hash key certificate module.
  cp "$sample" "$T/$kver-b.ko"
  check "$kver: DKMS's sign-file call" "$(sed -n 1p "$T/probe.out")" sha512 "$(sed -n 2p "$T/probe.out")" \
    "$(sed -n 3p "$T/probe.out")" "$T/$kver-b.ko"
  check "$kver: DKMS's module verifies" "$KSIGN" verify --cert "$cert" "$T/$kver-b.ko"

  # The POST_BUILD hook, from <dkms tree>/<module>/<version>/build.
  local tree="$T/dkms-$kver/mod/1.0"
  mkdir -p "$tree/build" "$tree/$kver/x86_64/module"
  cp "$sample" "$tree/$kver/x86_64/module/ksign_sample.ko"
  check "$kver: the POST_BUILD hook" env -C "$tree/build" kernelver="$kver" arch=x86_64 KSIGN="$KSIGN" \
    KSIGN_MODULEDIR="$M" sh "$KSIGN_BUILD_ROOT/dkms/kernel-sign.sh"
  check "$kver: the hook's module verifies" "$KSIGN" verify --cert "$cert" "$tree/$kver/x86_64/module/ksign_sample.ko"
}

# 1. kernel-sign 4.x, installed into the headers by its own install-certs.py.
check "install-certs.py" "$python" "$K/install-certs.py" "$M/6.99.1-ks4/build/certs-local"
kernel_checks 6.99.1-ks4 "$K/current/signing_crt.crt"

# 2. The three-file store (what sign_module.py and kernel-sign's DKMS hook read).
three="$M/6.99.2-three/build/certs-local"
mkdir -p "$three/20250101-0000"
cp -p "$K/current/signing_key.pem" "$K/current/signing_crt.crt" "$K/current/khash" "$three/20250101-0000/"
ln -s 20250101-0000 "$three/current"
kernel_checks 6.99.2-three "$K/current/signing_crt.crt"

# 3. kernel-sign 1.x (genkeys.sh): signing_key.pem, signing_prv.key, signing_crt.crt, no khash.
v1_store="$T/v1/certs-local"
v1="$v1_store/20210101-0000"
mkdir -p "$v1"
openssl req -new -nodes -utf8 -sha512 -days 36500 -batch -x509 -subj "/CN=kernel-sign 1.x key" \
  -addext "subjectKeyIdentifier=hash" -outform PEM -out "$v1/signing_key.pem" -keyout "$v1/signing_key.pem" \
  -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 2>/dev/null
chmod 0600 "$v1/signing_key.pem"
openssl pkey -in "$v1/signing_key.pem" -out "$v1/signing_prv.key"
chmod 0644 "$v1/signing_prv.key" # genkeys.sh left it to the umask
openssl x509 -outform der -in "$v1/signing_key.pem" -out "$v1/signing_crt.crt"
ln -s 20210101-0000 "$v1_store/current"
mkdir -p "$M/6.99.3-v1/build"
cp -a "$v1_store" "$M/6.99.3-v1/build/certs-local"
chmod 600 "$M/6.99.3-v1/build/certs-local/20210101-0000/signing_prv.key"
kernel_checks 6.99.3-v1 "$v1/signing_crt.crt"

# 4. ksign keys adopts the stores: what ksign's layout needs is added, private files 0600.
check_status 1 "keys refuses 1.x's signing_prv.key readable by others" "$KSIGN" keys --dir "$v1_store"
check_contains "and names the fix" "chmod 600 '$v1/signing_prv.key'" "$T/.err"
chmod 600 "$v1/signing_prv.key"
check "keys adopts the 1.x store" "$KSIGN" keys --dir "$v1_store"
check_grep "says what it added" "added signing_crt.pem, signing_prv.pem to '$(re_quote "$v1")'" "$T/.err"
[ "$(readlink "$v1_store/current")" = 20210101-0000 ] && pass || fail "the 1.x key was replaced"
check_grep "1.x: signing_prv.pem 0600" '^600$' <(stat -c %a "$v1/signing_prv.pem")
check "1.x: signing_prv.pem fits the certificate" cmp <(openssl pkey -in "$v1/signing_prv.pem" -pubout) \
  <(openssl x509 -in "$v1/signing_crt.crt" -inform DER -noout -pubkey)
three_store="$T/three/certs-local"
mkdir -p "$three_store"
cp -a "$three/20250101-0000" "$three_store/"
ln -s 20250101-0000 "$three_store/current"
check "keys adopts the three-file store" "$KSIGN" keys --dir "$three_store"
for f in signing_prv.pem signing_crt.pem; do
  [ -f "$three_store/current/$f" ] && pass || fail "three-file store: no $f added"
done
check_grep "three-file store: signing_prv.pem 0600" '^600$' <(stat -c %a "$three_store/current/signing_prv.pem")
check_grep "three-file store: signing_crt.pem 0644" '^644$' <(stat -c %a "$three_store/current/signing_crt.pem")
before=$(find "$three_store" -printf '%p %m %s %T@\n' | sort)
check "a second run changes nothing" "$KSIGN" keys --dir "$three_store"
[ "$before" = "$(find "$three_store" -printf '%p %m %s %T@\n' | sort)" ] && pass || fail "the adopted store changed again"
check "keys adopts genkeys.py's store with a config" "$KSIGN" keys --dir "$K" --config "$T/kernel-sign/config"
check_line "the config trusts the kernel-sign certificate" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$K/current")/signing_crt.pem\"" \
  <(grep '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$T/kernel-sign/config")

# 5. install carries the adopted store into new kernels, and says which key went in.
check "install the adopted 1.x store" "$KSIGN" install --dir "$v1_store" "$M/6.99.5-v1-installed/build/certs-local"
v1_id=$(openssl x509 -in "$v1/signing_crt.crt" -inform DER -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f')
check_grep "install names the key and the private key" "installed key id $v1_id \(sha256 [0-9a-f]{64}\) from .* private key included" "$T/.err"
check_grep "signing_prv.key is installed 0600" '^600$' <(stat -c %a "$M/6.99.5-v1-installed/build/certs-local/current/signing_prv.key")
kernel_checks 6.99.5-v1-installed "$v1/signing_crt.crt"
check "install --public of the three-file store" "$KSIGN" install --public --dir "$three_store" "$M/6.99.6-public/build/certs-local"
check_grep "install --public says the key stays behind" "certificates only, the private key stays in the key store" "$T/.err"
for f in signing_key.pem signing_prv.pem signing_prv.key; do
  [ ! -e "$M/6.99.6-public/build/certs-local/current/$f" ] && pass || fail "install --public copied $f"
done
check "install --public of the 1.x store keeps signing_prv.key out" "$KSIGN" install --public --dir "$v1_store" "$T/public-v1/certs-local"
[ ! -e "$T/public-v1/certs-local/current/signing_prv.key" ] && pass || fail "install --public copied 1.x's signing_prv.key"
kernel_checks 6.99.6-public "$K/current/signing_crt.crt"

# 6. A private key that does not match its certificate is refused by keys and install.
bad_store="$T/bad/certs-local"
mkdir -p "$bad_store"
cp -a "$three/20250101-0000" "$bad_store/"
cp "$v1/signing_key.pem" "$bad_store/20250101-0000/signing_key.pem"
ln -s 20250101-0000 "$bad_store/current"
before=$(find "$bad_store" -mindepth 1 ! -name .lock -printf '%p %m %s %T@\n' | sort)
check_status 1 "keys refuses a key that is not its certificate's" "$KSIGN" keys --dir "$bad_store"
check_contains "keys names the key" "'$bad_store/20250101-0000/signing_key.pem' does not match the certificate" "$T/.err"
[ "$before" = "$(find "$bad_store" -mindepth 1 ! -name .lock -printf '%p %m %s %T@\n' | sort)" ] && pass || fail "keys changed a mismatched store"
check_status 1 "install refuses it" "$KSIGN" install --dir "$bad_store" "$T/bad-install/certs-local"
check_contains "install names the key" "does not match the certificate" "$T/.err"
[ ! -e "$T/bad-install/certs-local/current" ] && pass || fail "install copied a mismatched key"

# 7. The key store behind a --public kernel is gone (moved, not mounted in a chroot): no path
# signs with another key, each says what is missing and how to mend it.
keyid=$(openssl x509 -in "$K/current/signing_crt.crt" -inform DER -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f')
[ -L "$T/etc/ksign/keys.d/$keyid" ] && pass || fail "no keys.d/$keyid: $(ls -l "$T/etc/ksign/keys.d")"
mv "$T/three" "$T/three-moved"
check_status 1 "sign --kernel with a dangling keys.d link" "$KSIGN" sign --kernel 6.99.6-public "$T/6.99.6-public-a.ko"
check_contains "names the link and where it points" "'$T/etc/ksign/keys.d/$keyid' points to '$three_store/20250101-0000', which does not exist" "$T/.err"
check_contains "says how to mend it" "run: ksign install --public -d STORE '$M/6.99.6-public/build/certs-local' (STORE: the key store that holds key id $keyid" "$T/.err"
check_status 1 "keys --key-files fails the same way" "$KSIGN" keys --key-files 6.99.6-public
check_contains "with the same words" "which does not exist" "$T/.err"
[ -s "$T/.out" ] && fail "keys --key-files printed paths for an unreachable key: $(cat "$T/.out")" || pass
probe 6.99.6-public
check_grep "the drop-in points DKMS at no sign-file" "/ksign-has-no-private-key-for-6\.99\.6-public$" <(sed -n 1p "$T/probe.out")
[ ! -e "$(sed -n 1p "$T/probe.out")" ] && pass || fail "the drop-in's sign_file exists: DKMS would sign"
check_grep "the drop-in says ksign's reason" "points to .* which does not exist" "$T/probe.err"
check_grep "and what DKMS will do" "DKMS will NOT sign the modules it builds for kernel 6.99.6-public" "$T/probe.err"
tree="$T/dkms-6.99.6-public/mod/1.0"
cp "$sample" "$tree/6.99.6-public/x86_64/module/ksign_sample.ko"
check_status 1 "the POST_BUILD hook fails loudly" env -C "$tree/build" kernelver=6.99.6-public arch=x86_64 KSIGN="$KSIGN" \
  KSIGN_MODULEDIR="$M" sh "$KSIGN_BUILD_ROOT/dkms/kernel-sign.sh"
check_grep "the hook says why" "not signing the modules for kernel 6.99.6-public" "$T/.err"
check_status 1 "the module stays unsigned" "$KSIGN" verify --kernel 6.99.6-public "$tree/6.99.6-public/x86_64/module/ksign_sample.ko"
check_grep "verify --kernel reports it unsigned" "unsigned" "$T/.out"
# keys --show says where each kernel's key is, and that this one has none.
check "keys --show" "$KSIGN" keys --show --dir "$K"
check_grep "show: the current key, in its headers" "6.99.1-ks4 +the current key \(key id [0-9a-f]+\); private key in its headers" "$T/.out"
check_grep "show: another store's key" "6.99.5-v1-installed +key id $v1_id, not from this key store; private key in its headers" "$T/.out"
check_grep "show: the unreachable key" "6.99.6-public +the current key \(key id [0-9a-f]+\); no private key: .*which does not exist" "$T/.out"
mv "$T/three-moved" "$T/three"
check "back in place, sign --kernel finds it again" "$KSIGN" sign --kernel 6.99.6-public "$T/6.99.6-public-a.ko"
# From / with no store there: no "another key" for every kernel, and the missing store said.
check "keys --show from /" env -C / "$KSIGN" keys --show
check_grep "show from /: the store does not exist" "^key store: +/certs-local \(does not exist\)" "$T/.out"
check_no_grep "show from /: no 'another key'" "another key|not from this key store" "$T/.out"
check_grep "show from /: each kernel's key id" "6.99.2-three +key id [0-9a-f]+; private key in its headers" "$T/.out"

# DKMS writes the drop-in's values out as shell text and sources them again: a path with $, `
# or " in it would be run as code there. A keys.d link is handed over by its own path, whatever
# its target is called; a path that itself holds such characters is refused, and DKMS signs nothing.
evil="$T/store\$(touch $T/pwned)\`touch $T/pwned\`"
mkdir -p "$evil"
cp -a "$three_store/20250101-0000" "$evil/"
ln -sfn "$evil/20250101-0000" "$T/etc/ksign/keys.d/$keyid"
check "keys --key-files through a link to an odd name" "$KSIGN" keys --key-files 6.99.6-public
check_line "hands over the link's own path" "$T/etc/ksign/keys.d/$keyid/signing_key.pem" <(sed -n 1p "$T/.out")
probe 6.99.6-public
check_line "the drop-in gives DKMS that path" "$T/etc/ksign/keys.d/$keyid/signing_key.pem" <(sed -n 2p "$T/probe.out")
ln -sfn "$three_store/20250101-0000" "$T/etc/ksign/keys.d/$keyid"
odd="$T/mod\$(touch $T/pwned)"
mkdir -p "$odd"
cp -a "$M/6.99.1-ks4" "$odd/"
check_status 1 "keys --key-files refuses a path DKMS would run" env KSIGN_MODULEDIR="$odd" "$KSIGN" keys --key-files 6.99.1-ks4
check_grep "and says why" "DKMS's configuration reader would interpret" "$T/.err"
[ -s "$T/.out" ] && fail "it printed: $(cat "$T/.out")" || pass
[ ! -e "$T/pwned" ] && pass || fail "a path was run as code"
