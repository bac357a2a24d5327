#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real module built against the distro's kernel headers, with the kernel's own tools as
# referees: ksign's RSA output equals sign-file's byte for byte, EC signatures pass
# `openssl cms -verify`, modinfo reads signer and hash, re-signing and verify's verdicts.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sign_file=$(find_sign_file) || skip "the kernel's sign-file is not installed (linux-kbuild-*)"
command -v modinfo >/dev/null || skip "modinfo is not installed (kmod)"
# Say which referee judged: its package (kernel release) and the OpenSSL it is linked against.
echo "referee: $sign_file ($(dpkg -S "$(realpath "$sign_file")" 2>/dev/null | cut -d: -f1 || echo "no package")," \
  "$(ldd "$sign_file" | grep -o 'libcrypto[^ ]*' | head -n 1))" >&2
build_test_module "$T/src" ksigntest || { fail "cannot build the test module"; exit 1; }
module=$built_module
make_key rsa4096 "$T/keys" rsa
make_key ec "$T/keys" ec
make_key rsa "$T/keys" other

# 1. RSA: byte-identical to sign-file, for every hash and both signer-id forms.
for hash in sha256 sha384 sha512 sha3-256 sha3-384 sha3-512; do
  for keyid in "" "-k"; do
    cp "$module" "$T/ref.ko"; cp "$module" "$T/ours.ko"
    if ! "$sign_file" $keyid "$hash" "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/ref.ko" 2>"$T/sf.err"; then
      fail "sign-file $keyid $hash failed: $(cat "$T/sf.err")"; continue
    fi
    flag=; [ -n "$keyid" ] && flag=--keyid
    check "ksign $flag $hash" "$KSIGN" sign $flag --key "$T/keys/rsa.key" --cert "$T/keys/rsa.der" --hash "$hash" "$T/ours.ko"
    check_same "RSA $hash $flag equals sign-file" "$T/ref.ko" "$T/ours.ko"
  done
done

# 2. EC: OpenSSL's CMS verifier accepts the signature over the unsigned module.
for hash in sha384 sha512; do
  cp "$module" "$T/ec.ko"
  check "ksign EC $hash" "$KSIGN" sign --key "$T/keys/ec.pem" --hash "$hash" "$T/ec.ko"
  check "extract the blob" "$KSIGN" sign-file -d "$hash" "$T/keys/ec.key" "$T/keys/ec.der" "$T/ec.ko"
  check "openssl cms -verify (EC $hash)" openssl cms -verify -binary -inform DER -in "$T/ec.ko.p7s" \
    -content "$module" -certfile "$T/keys/ec.crt" -nointern -noverify -out /dev/null
  rm -f "$T/ec.ko.p7s"
done
# ...and rejects it over different bytes.
cp "$module" "$T/ec2.ko"
"$KSIGN" sign-file -d sha512 "$T/keys/ec.key" "$T/keys/ec.der" "$T/ec2.ko"
head -c 1000 "$module" >"$T/other-content"
check_status 4 "openssl cms -verify fails on other content" openssl cms -verify -binary -inform DER \
  -in "$T/ec2.ko.p7s" -content "$T/other-content" -certfile "$T/keys/ec.crt" -nointern -noverify -out /dev/null

# 3. modinfo reads what ksign wrote.
cp "$module" "$T/info.ko"
check "sign for modinfo" "$KSIGN" sign --key "$T/keys/ec.pem" --hash sha384 "$T/info.ko"
check "modinfo signer" modinfo -F signer "$T/info.ko"
check_grep "modinfo shows the signer" "^ksign test ec$" "$T/.out"
check "modinfo hash" modinfo -F sig_hashalgo "$T/info.ko"
check_grep "modinfo shows the hash" "^sha384$" "$T/.out"
check "modinfo sig_id" modinfo -F sig_id "$T/info.ko"
check_grep "PKCS#7" "^PKCS#7$" "$T/.out"

# 4. Re-signing: a module signed by sign-file with another key, re-signed by ksign, has
#    exactly the bytes of signing the unsigned module (old signature removed, debug info kept).
cp "$module" "$T/resign.ko"
"$sign_file" sha512 "$T/keys/other.key" "$T/keys/other.der" "$T/resign.ko"
"$sign_file" sha512 "$T/keys/other.key" "$T/keys/other.der" "$T/resign.ko"   # twice: two stacked signatures
check "re-sign" "$KSIGN" sign --key "$T/keys/rsa.key" --cert "$T/keys/rsa.der" "$T/resign.ko"
cp "$module" "$T/fresh.ko"
"$sign_file" sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/fresh.ko"
check_same "re-signed equals freshly signed" "$T/fresh.ko" "$T/resign.ko"
check_grep "debug info kept" "debug_info" <(readelf -S "$T/resign.ko")

# 5. verify: positive and negative cases on the real module.
check "verify ok" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/resign.ko"
check_status 1 "verify unsigned" "$KSIGN" verify --cert "$T/keys/rsa.der" "$module"
check_grep "unsigned" ": unsigned$" "$T/.out"
check_status 1 "verify foreign key" "$KSIGN" verify --cert "$T/keys/ec.der" "$T/resign.ko"
check_grep "unknown key" ": unknown key" "$T/.out"
cp "$T/resign.ko" "$T/tampered.ko"
printf '\x90' | dd of="$T/tampered.ko" bs=1 seek=300 conv=notrunc 2>/dev/null
check_status 1 "verify tampered" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/tampered.ko"
check_grep "bad signature" ": bad signature" "$T/.out"
# verify agrees with sign-file's own output
cp "$module" "$T/sf.ko"
"$sign_file" -k sha3-384 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/sf.ko"
check "verify accepts sign-file -k output" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/sf.ko"
