#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Private keys the ssh way: sign, keys and install refuse a key file that group or others can
# read (naming the file and 'chmod 600'), and a key store below a directory anyone can write to
# without the sticky bit; --allow-loose-key uses them with a warning; sign-file only warns.
# install under umask 000 creates directories 0755 and private keys 0600. RSA under 2048 bits warns.
# Then the private key kept out of the headers package: install --public and sign --kernel.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
make_key ec "$T/keys" ec
cp "$sample" "$T/a.ko"
cp "$sample" "$T/orig.ko"

# sign --key: 0644 refused, the module untouched; 0640 too (group); 0600 fine.
chmod 644 "$T/keys/ec.pem"
check_status 1 "sign: a world-readable key" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/a.ko"
check_contains "names the file" "'$T/keys/ec.pem' can be read by group or others (mode 0644)" "$T/.err"
check_contains "says the fix" "chmod 600 '$T/keys/ec.pem'" "$T/.err"
check_contains "and the override" "--allow-loose-key" "$T/.err"
check_same "module untouched" "$sample" "$T/a.ko"
chmod 640 "$T/keys/ec.pem"
check_status 1 "sign: a group-readable key" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/a.ko"
chmod 620 "$T/keys/ec.pem"
check_status 1 "sign: a group-writable key" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/a.ko"
check_contains "says changed" "can be changed by group or others (mode 0620)" "$T/.err"
chmod 644 "$T/keys/ec.pem"
check "sign --allow-loose-key" "$KSIGN" sign --allow-loose-key --key "$T/keys/ec.pem" "$T/a.ko"
check_grep "warns" "warning: .*can be read by group or others.*--allow-loose-key" "$T/.err"
check "it signed" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/a.ko"
# sign-file (DKMS, Kbuild): a warning, and it signs.
cp "$sample" "$T/sf.ko"
check "sign-file with a loose key" "$KSIGN" sign-file sha256 "$T/keys/ec.pem" "$T/keys/ec.der" "$T/sf.ko"
check_grep "sign-file warns" "warning: the private key .*can be read by group or others.*chmod 600" "$T/.err"
check "sign-file signed" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/sf.ko"
chmod 600 "$T/keys/ec.pem"
check "sign with a 0600 key" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/a.ko"
check_no_contains "no warning" "warning" "$T/.err"

# A key below a directory anyone can write to, without the sticky bit: refused.
mkdir -p "$T/open/keys"
cp "$T/keys/ec.pem" "$T/open/keys/ec.pem"
chmod 777 "$T/open"
check_status 1 "sign: key below a world-writable directory" "$KSIGN" sign --key "$T/open/keys/ec.pem" "$T/a.ko"
check_contains "names the directory" "anyone can write to '$T/open' (mode 0777, no sticky bit)" "$T/.err"
check_contains "says the fix" "chmod o-w '$T/open'" "$T/.err"
chmod 1777 "$T/open"
check "sticky bit: fine (like /tmp)" "$KSIGN" sign --key "$T/open/keys/ec.pem" "$T/a.ko"
chmod 755 "$T/open"

# keys: a store in a world-writable directory; a loose current key.
mkdir -p "$T/ww" && chmod 777 "$T/ww"
check_status 1 "keys: store in a world-writable directory" "$KSIGN" keys --dir "$T/ww/store"
check_contains "names it" "anyone can write to '$T/ww'" "$T/.err"
[ ! -e "$T/ww/store" ] && pass || fail "keys created the store anyway"
# Writing to a store is refused outright (ssh's rule for what ksign writes): no override.
check_status 1 "keys --allow-loose-key still refuses to write there" "$KSIGN" keys --allow-loose-key --dir "$T/ww/store"
check_contains "says the fix" "chmod o-w '$T/ww'" "$T/.err"
[ ! -e "$T/ww/store" ] && pass || fail "keys --allow-loose-key created the store anyway"
chmod 755 "$T/ww"
check "keys once the directory is fixed" "$KSIGN" keys --dir "$T/ww/store"
chmod 644 "$T/ww/store/current/signing_key.pem"
check_status 1 "keys: a loose current key" "$KSIGN" keys --dir "$T/ww/store"
check_contains "names it" "/signing_key.pem' can be read by group or others" "$T/.err"
check "keys --allow-loose-key" "$KSIGN" keys --allow-loose-key --dir "$T/ww/store"

# install: the same refusal, then umask 000.
check_status 1 "install: a loose key" "$KSIGN" install --dir "$T/ww/store" "$T/pkg0/certs-local"
check_contains "names it" "can be read by group or others" "$T/.err"
[ ! -e "$T/pkg0" ] && pass || fail "install created the destination anyway"
chmod 600 "$T/ww/store/current/signing_key.pem"
check "install under umask 000" bash -c "umask 000 && '$KSIGN' install --dir '$T/ww/store' '$T/pkg/usr/lib/modules/6.99/build/certs-local'"
for d in "$T/pkg" "$T/pkg/usr" "$T/pkg/usr/lib/modules/6.99/build" "$T/pkg/usr/lib/modules/6.99/build/certs-local"; do
  check_line "umask 000: $d is 0755" 755 <(stat -c %a "$d")
done
for f in signing_key.pem signing_prv.pem; do
  check_line "umask 000: $f is 0600" 600 <(stat -c %a "$T/pkg/usr/lib/modules/6.99/build/certs-local/current/$f")
done
check_line "umask 000: the key directory 0755 (certificates readable for verify)" 755 <(stat -c %a "$(realpath "$T/pkg/usr/lib/modules/6.99/build/certs-local/current")")
check_line "umask 000: the certificate 0644" 644 <(stat -c %a "$T/pkg/usr/lib/modules/6.99/build/certs-local/current/signing_crt.pem")

# keys under umask 000: the parents it creates are 0755, the store 0700, and the next run
# accepts the store (it refused it when the parents were 0777).
check "keys under umask 000" bash -c "umask 000 && '$KSIGN' keys --dir '$T/um/a/b/store'"
for d in "$T/um" "$T/um/a" "$T/um/a/b"; do
  check_line "umask 000: $d is 0755" 755 <(stat -c %a "$d")
done
check_line "umask 000: the store is 0700" 700 <(stat -c %a "$T/um/a/b/store")
check "keys again under umask 000" bash -c "umask 000 && '$KSIGN' keys --dir '$T/um/a/b/store'"

# RSA keys under 2048 bits: a warning (sign and keys).
openssl req -new -nodes -x509 -days 1 -batch -subj "/CN=short" -addext "subjectKeyIdentifier=hash" \
  -newkey rsa:1024 -keyout "$T/keys/short.key" -out "$T/keys/short.crt" 2>/dev/null
chmod 600 "$T/keys/short.key"
check "sign with RSA-1024" "$KSIGN" sign --key "$T/keys/short.key" --cert "$T/keys/short.crt" "$T/a.ko"
check_grep "warns about the length" "warning: the key .*short.key' is an RSA key of 1024 bits.*2048" "$T/.err"
mkdir -p "$T/short/2026-01-01_00-00-00"
cat "$T/keys/short.key" "$T/keys/short.crt" >"$T/short/2026-01-01_00-00-00/signing_key.pem"
cp "$T/keys/short.key" "$T/short/2026-01-01_00-00-00/signing_prv.pem"
chmod 600 "$T/short/2026-01-01_00-00-00/"*.pem
openssl x509 -in "$T/keys/short.crt" -outform DER -out "$T/short/2026-01-01_00-00-00/signing_crt.crt"
echo rsa >"$T/short/2026-01-01_00-00-00/ktype"
echo sha512 >"$T/short/2026-01-01_00-00-00/khash"
ln -s 2026-01-01_00-00-00 "$T/short/current"
check "keys keeps an RSA-1024 current key" "$KSIGN" keys --dir "$T/short" --refresh 1000d
check_grep "keys warns" "warning: the current key .* is an RSA key of 1024 bits" "$T/.err"
check "a long enough RSA key: no warning" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/a.ko"
check_no_contains "no warning" "warning" "$T/.err"

# install --public: the headers get certificates only; the private key stays in the store,
# found through $KSIGN_CONFIG_DIR/keys.d/<key id> by sign --kernel.
S="$T/builder/certs-local"
check "a builder's store" "$KSIGN" keys --dir "$S"
M="$T/modules"
C="$M/6.99.1-arch1-1/build/certs-local"
check "install --public" env KSIGN_CONFIG_DIR="$T/etc/ksign" "$KSIGN" install -v --public --dir "$S" "$C"
for f in signing_key.pem signing_prv.pem; do
  [ ! -e "$C/current/$f" ] && pass || fail "install --public copied $f"
done
for f in signing_crt.crt signing_crt.pem khash ktype; do
  check_same "install --public copied $f" "$S/current/$f" "$C/current/$f"
done
keyid=$(openssl x509 -in "$S/current/signing_crt.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f')
[ -L "$T/etc/ksign/keys.d/$keyid" ] && pass || fail "no link keys.d/$keyid: $(ls -la "$T/etc/ksign/keys.d" 2>&1)"
check_line "the link leads to the store's key directory" "$(realpath "$S/current")" <(readlink "$T/etc/ksign/keys.d/$keyid")
cp "$sample" "$T/k.ko"
check "sign --kernel finds the key by its id" env KSIGN_CONFIG_DIR="$T/etc/ksign" KSIGN_MODULEDIR="$M" \
  "$KSIGN" sign --kernel 6.99.1-arch1-1 "$T/k.ko"
check "and it verifies against the installed certificate" env KSIGN_MODULEDIR="$M" \
  "$KSIGN" verify --kernel 6.99.1-arch1-1 "$T/k.ko"
check_status 1 "no registry: a clear message" env KSIGN_CONFIG_DIR="$T/elsewhere" KSIGN_MODULEDIR="$M" \
  "$KSIGN" sign --kernel 6.99.1-arch1-1 "$T/k.ko"
check_contains "says what is missing" "has its certificate" "$T/.err"
check_contains "names the link it looked for" "'$T/elsewhere/keys.d/$keyid' does not exist" "$T/.err"
check_contains "says how to mend it" "ksign install --public" "$T/.err"
chmod 777 "$T/etc/ksign/keys.d"
check_status 1 "a registry anyone can write to" env KSIGN_CONFIG_DIR="$T/etc/ksign" KSIGN_MODULEDIR="$M" \
  "$KSIGN" sign --kernel 6.99.1-arch1-1 "$T/k.ko"
check_contains "names it" "anyone can write to '$T/etc/ksign/keys.d'" "$T/.err"
chmod 755 "$T/etc/ksign/keys.d"
# --register puts the link elsewhere (a PKGBUILD: "$pkgdir/etc/ksign/keys.d").
check "install --public --register" "$KSIGN" install --public --dir "$S" --register "$T/pkgdir/etc/ksign/keys.d" "$T/pkgdir/build/certs-local"
[ -L "$T/pkgdir/etc/ksign/keys.d/$keyid" ] && pass || fail "--register: no link"
check_status 2 "--register without --public" "$KSIGN" install --dir "$S" --register "$T/x" "$T/y"
# Today's layout still works: the key in the headers package.
check "install (full)" "$KSIGN" install --dir "$S" "$M/6.99.2/build/certs-local"
cp "$sample" "$T/k2.ko"
check "sign --kernel with the key in certs-local" env KSIGN_CONFIG_DIR="$T/elsewhere" KSIGN_MODULEDIR="$M" \
  "$KSIGN" sign --kernel 6.99.2 "$T/k2.ko"
