#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign verify` on signatures with signed attributes (contentType, messageDigest, ...), as
# OpenSSL's CMS layer writes them: checked cryptographically, then judged by the kernel's rules:
# refused for RSA/ECDSA on every kernel; for ML-DSA ok only on a kernel with
# CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y (--config), "only with the waiver" when the
# kernel is not known. The ML-DSA half needs an OpenSSL with ML-DSA (3.5+).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"

# with_attributes KEY CERT HASH IN OUT: OUT = IN + CMS with signed attributes + the kernel's trailer.
with_attributes() {
  local key=$1 cert=$2 hash=$3 in=$4 out=$5
  openssl cms -sign -binary -nocerts -outform DER -md "$hash" -signer "$cert" -inkey "$key" \
    -in "$in" -out "$T/sig.der" || return 1
  cat "$in" "$T/sig.der" >"$out"
  # struct module_signature: algo, hash, id_type 2 (PKCS#7), signer_len, key_id_len, pad[3], be32 sig_len
  printf '\0\0\2\0\0\0\0\0' >>"$out"
  local n
  n=$(stat -c %s "$T/sig.der")
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))" >>"$out"
  printf '~Module signature appended~\n' >>"$out"
}

make_key rsa "$T/keys" rsa
make_key ec "$T/keys" ec
printf 'CONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\n' >"$T/strict.config"
printf 'CONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\nCONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y\n' >"$T/waiver.config"

for type in rsa ec; do
  check "openssl signs $type with attributes" with_attributes "$T/keys/$type.key" "$T/keys/$type.crt" sha256 \
    "$sample" "$T/$type-attrs.ko"
  check_status 1 "$type with signed attributes is refused" "$KSIGN" verify --cert "$T/keys/$type.crt" "$T/$type-attrs.ko"
  check_grep "$type: named as signed attributes, checked valid" \
    ": signed attributes \(signer 'ksign test $type'.*a valid signature with signed attributes" "$T/.out"
  check_status 1 "$type: the waiver is for ML-DSA only" "$KSIGN" verify --config "$T/waiver.config" \
    --cert "$T/keys/$type.crt" "$T/$type-attrs.ko"
  check_grep "$type: still refused with the waiver" ": signed attributes " "$T/.out"
done

# The attributes' messageDigest covers the module: a changed byte is a bad signature.
cp "$T/rsa-attrs.ko" "$T/rsa-attrs-tampered.ko"
printf 'X' | dd of="$T/rsa-attrs-tampered.ko" bs=1 seek=4000 conv=notrunc 2>/dev/null
check_status 1 "tampered module under signed attributes" "$KSIGN" verify --cert "$T/keys/rsa.crt" \
  "$T/rsa-attrs-tampered.ko"
check_grep "digest mismatch named" "bad signature \(the signed message digest does not match" "$T/.out"
# The signature covers the attributes: a changed signature byte is a bad signature too.
cp "$T/rsa-attrs.ko" "$T/rsa-attrs-badsig.ko"
size=$(stat -c %s "$T/rsa-attrs-badsig.ko")
printf '\x00' | dd of="$T/rsa-attrs-badsig.ko" bs=1 seek=$((size - 45)) conv=notrunc 2>/dev/null
check_status 1 "corrupt signature over signed attributes" "$KSIGN" verify --cert "$T/keys/rsa.crt" \
  "$T/rsa-attrs-badsig.ko"
check_grep "signature mismatch named" "bad signature \(the signature does not match its signed attributes" "$T/.out"

if ! openssl list -signature-algorithms 2>/dev/null | grep -qi 'ml-dsa-65'; then
  echo "this OpenSSL ($(openssl version)) has no ML-DSA: ML-DSA cases not run" >&2
  exit 0
fi
check "ML-DSA-65 key" openssl req -x509 -newkey ML-DSA-65 -nodes -keyout "$T/keys/mldsa.key" \
  -out "$T/keys/mldsa.crt" -subj "/CN=ksign test mldsa" -days 2 -addext basicConstraints=critical,CA:FALSE \
  -addext keyUsage=digitalSignature -addext subjectKeyIdentifier=hash
check "openssl signs ML-DSA with attributes (as kernel 7.2's sign-file does)" with_attributes \
  "$T/keys/mldsa.key" "$T/keys/mldsa.crt" sha512 "$sample" "$T/mldsa-attrs.ko"
check_status 1 "ML-DSA with attributes, kernel unknown" "$KSIGN" verify --cert "$T/keys/mldsa.crt" "$T/mldsa-attrs.ko"
check_grep "loads only with the waiver" "signed attributes .*loads only with the waiver" "$T/.out"
check "ML-DSA with attributes on a kernel with the waiver" "$KSIGN" verify --config "$T/waiver.config" \
  --cert "$T/keys/mldsa.crt" "$T/mldsa-attrs.ko"
check_grep "ok, naming the waiver" ": ok \(signer 'ksign test mldsa'.*let through by CONFIG_PKCS7_WAIVE" "$T/.out"
check "--json carries the note" "$KSIGN" verify --json --config "$T/waiver.config" --cert "$T/keys/mldsa.crt" \
  "$T/mldsa-attrs.ko"
check_grep "json note" '"status": "ok".*"note": "signed attributes, let through' "$T/.out"
check_status 1 "ML-DSA with attributes on a kernel without the waiver" "$KSIGN" verify --config "$T/strict.config" \
  --cert "$T/keys/mldsa.crt" "$T/mldsa-attrs.ko"
check_grep "this kernel refuses it" "signed attributes .*which this kernel refuses" "$T/.out"
cp "$T/mldsa-attrs.ko" "$T/mldsa-attrs-tampered.ko"
printf 'X' | dd of="$T/mldsa-attrs-tampered.ko" bs=1 seek=4000 conv=notrunc 2>/dev/null
check_status 1 "tampered ML-DSA module, even with the waiver" "$KSIGN" verify --config "$T/waiver.config" \
  --cert "$T/keys/mldsa.crt" "$T/mldsa-attrs-tampered.ko"
check_grep "ML-DSA digest mismatch" "bad signature \(the signed message digest" "$T/.out"
# ksign's own ML-DSA form (no signed attributes) needs no waiver.
cp "$sample" "$T/mldsa-ksign.ko"
check "ksign signs with ML-DSA" "$KSIGN" sign --key "$T/keys/mldsa.key" --cert "$T/keys/mldsa.crt" "$T/mldsa-ksign.ko"
check "no waiver needed for ksign's form" "$KSIGN" verify --config "$T/strict.config" --cert "$T/keys/mldsa.crt" \
  "$T/mldsa-ksign.ko"
