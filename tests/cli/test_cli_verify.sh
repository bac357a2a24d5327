#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign verify`: every verdict, certificate bundles, --json, exit status.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
make_key ec "$T/keys" trusted
make_key rsa "$T/keys" second
make_key ec "$T/keys" stranger
cat "$T/keys/trusted.crt" "$T/keys/second.crt" >"$T/keys/bundle.pem"

mkdir "$T/m"
cp "$sample" "$T/m/unsigned.ko"
cp "$sample" "$T/m/good.ko"; "$KSIGN" sign -q --key "$T/keys/trusted.pem" "$T/m/good.ko"
cp "$sample" "$T/m/rsa.ko"; "$KSIGN" sign -q --key "$T/keys/second.pem" --hash sha3-512 "$T/m/rsa.ko"
cp "$sample" "$T/m/foreign.ko"; "$KSIGN" sign -q --key "$T/keys/stranger.pem" "$T/m/foreign.ko"
cp "$T/m/good.ko" "$T/m/tampered.ko"
printf 'X' | dd of="$T/m/tampered.ko" bs=1 seek=4000 conv=notrunc 2>/dev/null
cp "$T/m/good.ko" "$T/m/badsig.ko"
size=$(stat -c %s "$T/m/badsig.ko")
# flip a byte near the end of the ECDSA signature value (just before the 40-byte trailer)
printf '\x00' | dd of="$T/m/badsig.ko" bs=1 seek=$((size - 45)) conv=notrunc 2>/dev/null
cp "$T/m/good.ko" "$T/m/malformed.ko"
printf '\x01' | dd of="$T/m/malformed.ko" bs=1 seek=$((size - 35)) conv=notrunc 2>/dev/null

check "a good module" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/good.ko"
check_grep "ok with signer and hash" "good.ko: ok \(signer 'ksign test trusted', key id [0-9a-f]{40}, sha512\)" "$T/.out"
check "RSA + SHA3 from a PEM bundle" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/rsa.ko"
check_grep "sha3-512" "rsa.ko: ok .*sha3-512" "$T/.out"
check "a DER certificate" "$KSIGN" verify --cert "$T/keys/trusted.der" "$T/m/good.ko"
check "two --cert options" "$KSIGN" verify --cert "$T/keys/trusted.der" --cert "$T/keys/second.der" "$T/m/good.ko" "$T/m/rsa.ko"

check_status 1 "unsigned" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/unsigned.ko"
check_grep "unsigned verdict" "unsigned.ko: unsigned$" "$T/.out"
check_status 1 "foreign key" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/foreign.ko"
check_grep "unknown key verdict" "foreign.ko: unknown key \(signer 'ksign test stranger'" "$T/.out"
check_status 1 "tampered module" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/tampered.ko"
check_grep "bad signature verdict" "tampered.ko: bad signature" "$T/.out"
check_status 1 "corrupted signature" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/badsig.ko"
check_grep "corrupted signature is bad or malformed" "badsig.ko: (bad signature|malformed)" "$T/.out"
check_status 1 "malformed trailer" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m/malformed.ko"
check_grep "malformed verdict" "malformed.ko: malformed \(.*non-zero" "$T/.out"

check_status 1 "a directory with mixed results" "$KSIGN" verify --cert "$T/keys/bundle.pem" "$T/m"
check_grep "summary" "7 modules: .*2 ok" "$T/.err"

check_status 1 "--json" "$KSIGN" verify --json --cert "$T/keys/bundle.pem" "$T/m"
cp "$T/.out" "$T/result.json"
check "--json is valid JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/result.json"
check "--json content" python3 - "$T/result.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
by_name = {m["path"].rsplit("/", 1)[1]: m for m in data["modules"]}
assert by_name["good.ko"]["status"] == "ok", by_name["good.ko"]
assert by_name["good.ko"]["hash"] == "sha512"
assert by_name["good.ko"]["signer"] == "ksign test trusted"
assert len(by_name["good.ko"]["key_id"]) == 40
assert by_name["unsigned.ko"]["status"] == "unsigned"
assert by_name["foreign.ko"]["status"] == "unknown_key"
assert by_name["tampered.ko"]["status"] == "bad_signature"
assert by_name["malformed.ko"]["status"] == "malformed" and "problem" in by_name["malformed.ko"]
assert data["summary"]["total"] == 7 and data["summary"]["ok"] == 2
PY
check_status 2 "no certificate" "$KSIGN" verify "$T/m/good.ko"
check_status 1 "an unreadable certificate file" "$KSIGN" verify --cert "$T/nope.pem" "$T/m/good.ko"

# --help: verify's --kernel says what verify does with it, not sign's "use the ksign key".
check "--help" "$KSIGN" verify --help
check_grep "--kernel judges by the installed kernel" "--kernel KVER +judge by installed kernel KVER" "$T/.out"
check_no_contains "--kernel is not sign's" "use the ksign key installed with kernel KVER" "$T/.out"
