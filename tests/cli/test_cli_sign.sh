#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign sign` on the sample module: in place, --output, key sources, and every kind of bad
# input getting a clear error while the file stays exactly as it was.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
make_key ec "$T/keys" ec
make_key rsa "$T/keys" rsa
make_key ec "$T/keys" other

cp "$sample" "$T/a.ko"
chmod 0640 "$T/a.ko"
check "sign in place" "$KSIGN" sign --key "$T/keys/ec.key" --cert "$T/keys/ec.crt" "$T/a.ko"
check_grep "signed module ends with the marker" 'Module signature appended' "$T/a.ko"
check "verify after sign" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/a.ko"
check_grep "verify says ok" ": ok \(signer 'ksign test ec'" "$T/.out"
check_grep "mode kept" '^640$' <(stat -c %a "$T/a.ko") 
[ "$(stat -c %a "$T/a.ko")" = 640 ] && pass || fail "mode not kept: $(stat -c %a "$T/a.ko")"
[ -z "$(find "$T" -name '.*.ksign-*')" ] && pass || fail "temporary files left behind"

# key + certificate in one PEM (like CONFIG_MODULE_SIG_KEY files)
cp "$sample" "$T/b.ko"
check "sign with a combined PEM" "$KSIGN" sign --key "$T/keys/rsa.pem" --hash sha256 "$T/b.ko"
check "combined PEM verifies" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/b.ko"
check_grep "hash recorded" 'sha256' "$T/.out"

# --output leaves the input alone
cp "$sample" "$T/c.ko"
check "sign --output" "$KSIGN" sign --key "$T/keys/ec.pem" --output "$T/c-signed.ko" "$T/c.ko"
check_same "--output leaves the input alone" "$sample" "$T/c.ko"
check "--output result verifies" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/c-signed.ko"
check_status 2 "--output with two modules" "$KSIGN" sign --key "$T/keys/ec.pem" --output "$T/x.ko" "$T/a.ko" "$T/b.ko"

# key stores: --keydir DIR uses DIR/current and its khash
mkdir -p "$T/store/2026-01-01_00-00-00"
cp "$T/keys/ec.pem" "$T/store/2026-01-01_00-00-00/signing_key.pem"
cp "$T/keys/ec.der" "$T/store/2026-01-01_00-00-00/signing_crt.crt"
echo sha384 >"$T/store/2026-01-01_00-00-00/khash"
ln -s 2026-01-01_00-00-00 "$T/store/current"
cp "$sample" "$T/d.ko"
check "sign --keydir" "$KSIGN" sign --keydir "$T/store" "$T/d.ko"
check "verify --keydir" "$KSIGN" verify --keydir "$T/store" "$T/d.ko"
check_grep "khash chose sha384" 'sha384' "$T/.out"
# --kernel KVER: <moduledir>/KVER/build/certs-local
mkdir -p "$T/modules/6.99.0-test/build"
ln -s "$T/store" "$T/modules/6.99.0-test/build/certs-local"
cp "$sample" "$T/e.ko"
check "sign --kernel" env KSIGN_MODULEDIR="$T/modules" "$KSIGN" sign --kernel 6.99.0-test "$T/e.ko"
check "verify --kernel" env KSIGN_MODULEDIR="$T/modules" "$KSIGN" verify --kernel 6.99.0-test "$T/e.ko"
mkdir -p "$T/modules/6.98.0/build"
check_status 1 "a kernel without ksign keys" env KSIGN_MODULEDIR="$T/modules" "$KSIGN" sign --kernel 6.98.0 "$T/e.ko"
check_grep "says what is missing" "no current key" "$T/.err"
check_status 1 "a kernel that is not installed" env KSIGN_MODULEDIR="$T/modules" "$KSIGN" sign --kernel 6.97.0 "$T/e.ko"
check_contains "says so" "no installed kernel '6.97.0' in '$T/modules'" "$T/.err"
check_status 2 "no key at all" "$KSIGN" sign "$T/e.ko"
check_status 2 "unknown hash" "$KSIGN" sign --key "$T/keys/ec.pem" --hash md5 "$T/e.ko"
check_status 2 "sha1 is refused for new signatures" "$KSIGN" sign --key "$T/keys/ec.pem" --hash sha1 "$T/e.ko"

# Bad input: a clear one-line error naming the file, and the file untouched.
echo "not a module" >"$T/text.ko"
cp "$T/text.ko" "$T/text.orig"
check_status 1 "a text file" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/text.ko"
check_grep "error names the file and the reason" "text.ko': not an ELF file" "$T/.err"
check_same "text file untouched" "$T/text.orig" "$T/text.ko"

head -c 50000 "$sample" >"$T/truncated.ko"
cp "$T/truncated.ko" "$T/truncated.orig"
check_status 1 "a truncated module" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/truncated.ko"
check_grep "truncation reported" "truncated.ko': ELF section headers lie outside the file" "$T/.err"
check_same "truncated module untouched" "$T/truncated.orig" "$T/truncated.ko"

cp "$T/a.ko" "$T/badtrailer.ko"
size=$(stat -c %s "$T/badtrailer.ko")
printf '\xff\xff\xff\xff' | dd of="$T/badtrailer.ko" bs=1 seek=$((size - 32)) conv=notrunc 2>/dev/null
cp "$T/badtrailer.ko" "$T/badtrailer.orig"
check_status 1 "a malformed trailer" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/badtrailer.ko"
check_grep "malformed trailer reported" "badtrailer.ko': malformed signature trailer" "$T/.err"
check_same "malformed trailer untouched" "$T/badtrailer.orig" "$T/badtrailer.ko"

cp "$sample" "$T/f.ko"
check_status 1 "key does not match the certificate" "$KSIGN" sign --key "$T/keys/ec.key" --cert "$T/keys/other.crt" "$T/f.ko"
check_grep "mismatch reported" "does not match the certificate" "$T/.err"
check_same "untouched after key mismatch" "$sample" "$T/f.ko"

# A damaged key file: one byte of the private number flipped (PKCS#8 P-384: it starts at
# byte 35 of the DER), the public half intact, so the key still matches the certificate.
openssl pkey -in "$T/keys/ec.key" -outform DER -out "$T/ec.der"
byte=$(od -An -tu1 -j40 -N1 "$T/ec.der")
# shellcheck disable=SC2059 # the format is the octal escape of the flipped byte
{ head -c 40 "$T/ec.der"; printf "\\$(printf '%03o' $((byte ^ 255)))"; tail -c +42 "$T/ec.der"; } >"$T/damaged.der"
openssl pkey -inform DER -in "$T/damaged.der" -out "$T/damaged.key"
check_status 1 "damaged private key" "$KSIGN" sign --key "$T/damaged.key" --cert "$T/keys/ec.crt" "$T/f.ko"
check_grep "damaged key reported" "the key file is damaged" "$T/.err"
check_same "untouched after a damaged key" "$sample" "$T/f.ko"

printf '\x28\xb5\x2f\xfd garbage' >"$T/corrupt.ko.zst"
cp "$T/corrupt.ko.zst" "$T/corrupt.orig"
check_status 1 "corrupt zstd data" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/corrupt.ko.zst"
check_grep "corrupt data reported" "corrupt.ko.zst'" "$T/.err"
check_same "corrupt file untouched" "$T/corrupt.orig" "$T/corrupt.ko.zst"

# Many files: keep going, report each failure, exit 1 at the end.
mkdir -p "$T/tree/sub"
for n in 1 2 3; do cp "$sample" "$T/tree/m$n.ko"; done
cp "$sample" "$T/tree/sub/deep.ko"
cp "$T/text.orig" "$T/tree/broken.ko"
echo "ignored" >"$T/tree/README"
check_status 1 "a tree with one bad module" "$KSIGN" sign --key "$T/keys/ec.pem" --jobs 2 "$T/tree"
check_grep "the bad one is reported" "broken.ko': not an ELF file" "$T/.err"
check_grep "summary counts" "signed 3 of 4 modules" "$T/.err"
check "the good ones verify" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/tree/m1.ko" "$T/tree/m2.ko" "$T/tree/m3.ko"
check_status 1 "without --recursive the subdirectory was left alone" "$KSIGN" verify --cert "$T/keys/ec.crt" "$T/tree/sub/deep.ko"
rm "$T/tree/broken.ko"
check "--recursive reaches subdirectories" "$KSIGN" sign --key "$T/keys/ec.pem" --recursive --verbose "$T/tree"
check_grep "verbose names each module" "signed '.*deep.ko'" "$T/.err"
check "whole tree verifies" "$KSIGN" verify --cert "$T/keys/ec.crt" --recursive "$T/tree"
check_status 1 "a missing file" "$KSIGN" sign --key "$T/keys/ec.pem" "$T/nope.ko"
check_grep "missing file named" "nope.ko" "$T/.err"

# Keys the kernel cannot load (crypto/rsa.c's sizes, x509_cert_parser.c's curves) are refused,
# and used with a warning under --allow-unsupported-key; verify says the kernel refuses them.
openssl req -new -nodes -x509 -batch -subj "/CN=k1" -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 \
  -keyout "$T/keys/k1.key" -out "$T/keys/k1.crt" 2>/dev/null && chmod 600 "$T/keys/k1.key"
openssl req -new -nodes -x509 -batch -subj "/CN=r1280" -newkey rsa:1280 \
  -keyout "$T/keys/r1280.key" -out "$T/keys/r1280.crt" 2>/dev/null && chmod 600 "$T/keys/r1280.key"
cp "$sample" "$T/k1.ko"
check_status 1 "a secp256k1 key is refused" "$KSIGN" sign --key "$T/keys/k1.key" --cert "$T/keys/k1.crt" "$T/k1.ko"
check_grep "names the curve and the override" "secp256k1.*--allow-unsupported-key" "$T/.err"
check_same "the refused module is untouched" "$sample" "$T/k1.ko"
check "--allow-unsupported-key signs" "$KSIGN" sign --allow-unsupported-key --key "$T/keys/r1280.key" --cert "$T/keys/r1280.crt" "$T/k1.ko"
check_grep "with a warning" "warning: .*RSA key of 1280 bits.*signing anyway" "$T/.err"
check_status 1 "verify: the kernel cannot load it" "$KSIGN" verify --cert "$T/keys/r1280.crt" "$T/k1.ko"
check_grep "verify says why" "unknown key .*the kernel cannot load the signer's certificate" "$T/.out"

# One DER reader, one verdict: a certificate whose serial number is not DER (zero-padded, as a
# hand-edited or broken CA makes it) is refused by sign, as by verify, OpenSSL and sign-file,
# and the module stays as it was. The certificate is the test key's own, its serial rewritten.
openssl req -new -nodes -batch -x509 -days 3650 -subj "/CN=ksign padded serial" -set_serial 1 \
  -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -keyout "$T/keys/padded.key" -outform DER \
  -out "$T/keys/serial1.der" 2>/dev/null
chmod 600 "$T/keys/padded.key"
python3 - "$T/keys/serial1.der" "$T/keys/padded.der" <<'PY'
import sys
der = bytearray(open(sys.argv[1], "rb").read())
# Certificate and tbsCertificate are SEQUENCEs with two-byte long-form lengths (30 82 hh ll);
# after the version [0] (a0 03 02 01 02) comes the serial 02 01 01: make it 02 02 00 01.
assert der[0] == 0x30 and der[1] == 0x82 and der[4] == 0x30 and der[5] == 0x82
serial = der.index(b"\xa0\x03\x02\x01\x02\x02\x01\x01") + 5
der[serial:serial + 3] = b"\x02\x02\x00\x01"
for at in (2, 6):
    length = int.from_bytes(der[at:at + 2], "big") + 1
    der[at:at + 2] = length.to_bytes(2, "big")
open(sys.argv[2], "wb").write(der)
PY
cp "$sample" "$T/serial.ko"
check_status 1 "a certificate with a zero-padded serial" "$KSIGN" sign --key "$T/keys/padded.key" --cert "$T/keys/padded.der" "$T/serial.ko"
# (Which reader words it, ksign's DER reader or OpenSSL's, depends on the OpenSSL version.)
check_grep "the refusal names the certificate" "error: .*padded\.der" "$T/.err"
check_same "the module is untouched" "$sample" "$T/serial.ko"
check "the same key with its DER certificate signs" "$KSIGN" sign --key "$T/keys/padded.key" --cert "$T/keys/serial1.der" "$T/serial.ko"
