#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sign-file drop-in: the kernel's argument contract, -p, -d, -k, -s, dest, exit statuses.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
make_key rsa "$T/keys" rsa
ln -s "$KSIGN" "$T/sign-file"
sf="$T/sign-file"

cp "$sample" "$T/a.ko"
check "in place" "$sf" sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/a.ko"
check "verifies" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/a.ko"
[ ! -e "$T/a.ko.p7s" ] && pass || fail "no -p, yet a .p7s was written"

cp "$sample" "$T/b.ko"
check "same as ksign sign-file" "$KSIGN" sign-file sha512 "$T/keys/rsa.key" "$T/keys/rsa.crt" "$T/b.ko"
check_same "link and subcommand give the same bytes" "$T/a.ko" "$T/b.ko"

cp "$sample" "$T/c.ko"
check "-p keeps the signature" "$sf" -p sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/c.ko"
check "the .p7s is DER CMS" openssl cms -cmsout -inform DER -in "$T/c.ko.p7s" -noout
p7s_size=$(stat -c %s "$T/c.ko.p7s")
tail -c $((p7s_size + 40)) "$T/c.ko" | head -c "$p7s_size" >"$T/c.blob"
check_same ".p7s equals the appended blob" "$T/c.ko.p7s" "$T/c.blob"

cp "$sample" "$T/d.ko"
check "-d writes only the signature" "$sf" -d sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/d.ko"
check_same "-d leaves the module" "$sample" "$T/d.ko"
check_same "-d signature equals -p signature" "$T/c.ko.p7s" "$T/d.ko.p7s"

cp "$sample" "$T/e.ko"
check "dest" "$sf" sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/e.ko" "$T/e-signed.ko"
check_same "dest leaves the module" "$sample" "$T/e.ko"
check_same "dest holds the signed module" "$T/a.ko" "$T/e-signed.ko"

cp "$sample" "$T/f.ko"
check "-s appends a ready signature" "$sf" -s "$T/c.ko.p7s" sha512 "$T/keys/rsa.der" "$T/f.ko"
check_same "-s gives the same module" "$T/a.ko" "$T/f.ko"

cp "$sample" "$T/g.ko"
check "-k" "$sf" -k sha256 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/g.ko"
check "-k verifies" "$KSIGN" verify --cert "$T/keys/rsa.der" "$T/g.ko"

check_status 2 "bad option" "$sf" -x sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/g.ko"
check_status 2 "too many arguments" "$sf" sha512 a b c d e
check_status 1 "missing key file" "$sf" sha512 "$T/nokey" "$T/keys/rsa.der" "$T/g.ko"
check_status 1 "pkcs11 key" "$sf" sha512 "pkcs11:token=x" "$T/keys/rsa.der" "$T/g.ko"
check_grep "pkcs11 explained" "PKCS#11" "$T/.err"
echo junk >"$T/junk.ko"
check_status 1 "not a module" "$sf" sha512 "$T/keys/rsa.key" "$T/keys/rsa.der" "$T/junk.ko"
