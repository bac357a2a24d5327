#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Keys that never touch the disk: RSA and EC P-384 keys made inside a SoftHSM2 token, used by
# `ksign sign --key pkcs11:...` and `ksign sign-file` through OpenSSL's pkcs11 provider. The
# kernel's own sign-file (same token key) is the RSA referee; `ksign verify` checks the rest.
# A bulk run logs in to the token once (counted with OpenSC's pkcs11-spy when installed). A
# wrong PIN, a missing PIN, a missing object and a missing provider give one line each.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

command -v softhsm2-util >/dev/null || skip "softhsm2 is not installed"
command -v pkcs11-tool >/dev/null || skip "pkcs11-tool is not installed (opensc)"
modules_dir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
[ -f "$modules_dir/pkcs11.so" ] || skip "OpenSSL's pkcs11 provider is not installed (pkcs11-provider)"
softhsm=
for f in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so /usr/lib/libsofthsm2.so; do
  [ -f "$f" ] && { softhsm=$f; break; }
done
[ -n "$softhsm" ] || skip "libsofthsm2.so not found"
spy=
for f in /usr/lib/*/pkcs11/pkcs11-spy.so /usr/lib/pkcs11/pkcs11-spy.so; do
  [ -f "$f" ] && { spy=$f; break; }
done
build_test_module "$T/src" ksignp11 || { fail "cannot build the test module"; exit 1; }
module=$built_module

# A token of our own: SOFTHSM2_CONF points SoftHSM2 at a token directory under $T.
export SOFTHSM2_CONF=$T/softhsm2.conf
mkdir "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label ksign --pin 1234 --so-pin 123456 >/dev/null \
  || { fail "softhsm2-util --init-token failed"; exit 1; }
p11tool() { pkcs11-tool --module "$softhsm" --token-label ksign --login --pin 1234 "$@" >/dev/null 2>"$T/p11tool.err"; }
p11tool --keypairgen --key-type rsa:2048 --label rsa --id 01 || { fail "RSA keypairgen: $(cat "$T/p11tool.err")"; exit 1; }
p11tool --keypairgen --key-type EC:secp384r1 --label ec --id 02 || { fail "EC keypairgen: $(cat "$T/p11tool.err")"; exit 1; }

# openssl and the kernel's sign-file read the provider from a config. SoftHSM2 hashes with
# OpenSSL's default library context: were the provider's digests offered there, they would
# call back into the token and deadlock, so they are blocked. (ksign needs no config.)
cat >"$T/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
pkcs11 = pkcs11_sect
[default_sect]
activate = 1
[pkcs11_sect]
module = $modules_dir/pkcs11.so
pkcs11-module-path = $softhsm
pkcs11-module-block-operations = digest
activate = 1
EOF
rsa_key="pkcs11:token=ksign;object=rsa;type=private"
ec_key="pkcs11:token=ksign;object=ec;type=private"
mkdir "$T/certs"
for name in rsa ec; do
  key=$rsa_key hash=-sha512
  [ $name = ec ] && key=$ec_key hash=-sha384
  OPENSSL_CONF=$T/openssl.cnf timeout 60 openssl req -new -x509 -utf8 $hash -days 30 -batch \
    -subj "/CN=ksign token $name" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=digitalSignature" -addext "subjectKeyIdentifier=hash" \
    -key "$key?pin-value=1234" -outform DER -out "$T/certs/$name.der" 2>"$T/req.err" \
    || { fail "openssl req with the token's $name key: $(cat "$T/req.err")"; exit 1; }
  id=01; [ $name = ec ] && id=02
  p11tool --write-object "$T/certs/$name.der" --type cert --label $name --id $id \
    || { fail "importing the $name certificate: $(cat "$T/p11tool.err")"; exit 1; }
done

# ksign finds the PKCS#11 module through KSIGN_PKCS11_MODULE: no openssl.cnf.
export KSIGN_PKCS11_MODULE=$softhsm
unset KBUILD_SIGN_PIN OPENSSL_CONF

# check_one_line "description" pattern: the last command wrote exactly one line to stderr,
# matching pattern, and never the PIN.
check_one_line() {
  _checks=$((_checks + 1))
  local lines
  lines=$(wc -l <"$T/.err")
  [ "$lines" -eq 1 ] || fail "$1: expected one line on stderr, got $lines: $(cat "$T/.err")"
  check_grep "$1" "$2" "$T/.err"
  check_no_grep "$1: no PIN in the message" "1234|9999" "$T/.err"
}

# 1. One module, PIN from KBUILD_SIGN_PIN, certificate from the token.
cp "$module" "$T/one.ko"
KBUILD_SIGN_PIN=1234 check "sign with the token's RSA key" "$KSIGN" sign --key "$rsa_key" "$T/one.ko"
check "verify the token-signed module" "$KSIGN" verify --cert "$T/certs/rsa.der" "$T/one.ko"
check_grep "verify says ok" ": ok" "$T/.out"
check "modinfo signer" modinfo -F signer "$T/one.ko"
check_grep "signer is the token's certificate" "^ksign token rsa$" "$T/.out"

# 2. PIN in the URI, certificate from a file or named by its own URI.
cp "$module" "$T/uri-pin.ko"
check "pin-value in the URI, --cert file" "$KSIGN" sign --key "$rsa_key?pin-value=1234" --cert "$T/certs/rsa.der" "$T/uri-pin.ko"
check_same "same signature whichever way the PIN and certificate came" "$T/one.ko" "$T/uri-pin.ko"
cp "$module" "$T/cert-uri.ko"
KBUILD_SIGN_PIN=1234 check "--cert pkcs11: URI" "$KSIGN" sign --key "$rsa_key" \
  --cert "pkcs11:token=ksign;object=rsa;type=cert" "$T/cert-uri.ko"
check_same "certificate by URI gives the same module" "$T/one.ko" "$T/cert-uri.ko"
# The scheme in another letter case (RFC 3986: case-insensitive) is the same key, not a file.
cp "$module" "$T/upper.ko"
check "PKCS11: in capitals" "$KSIGN" sign --key "PKCS11:token=ksign;object=rsa;type=private?pin-value=1234" "$T/upper.ko"
check_same "PKCS11: gives the same module" "$T/one.ko" "$T/upper.ko"

# 3. RSA: byte-identical to the kernel's sign-file with the same token key.
if sign_file=$(find_sign_file); then
  echo "referee: $sign_file ($(dpkg -S "$(realpath "$sign_file")" 2>/dev/null | cut -d: -f1 || echo "no package")," \
    "$(ldd "$sign_file" | grep -o 'libcrypto[^ ]*' | head -n 1))" >&2
  for hash in sha256 sha512; do
    cp "$module" "$T/ref.ko"; cp "$module" "$T/ours.ko"
    # sign-file asks for no PIN with OpenSSL 3: the URI carries it.
    if OPENSSL_CONF=$T/openssl.cnf timeout 60 "$sign_file" "$hash" "$rsa_key?pin-value=1234" "$T/certs/rsa.der" \
         "$T/ref.ko" 2>"$T/sf.err"; then
      KBUILD_SIGN_PIN=1234 check "ksign sign-file $hash with the token key" "$KSIGN" sign-file "$hash" "$rsa_key" \
        "$T/certs/rsa.der" "$T/ours.ko"
      check_same "RSA $hash from the token equals $sign_file" "$T/ref.ko" "$T/ours.ko"
    else
      fail "$sign_file could not sign with $rsa_key: $(cat "$T/sf.err")"
    fi
  done
else
  echo "no kernel sign-file installed: the byte-identity check is left out" >&2
fi

# 4. EC P-384 in the token: sign and sign-file (-k), both verify.
cp "$module" "$T/ec.ko"
KBUILD_SIGN_PIN=1234 check "sign with the token's EC key" "$KSIGN" sign --hash sha384 --key "$ec_key" "$T/ec.ko"
check "verify EC" "$KSIGN" verify --cert "$T/certs/ec.der" "$T/ec.ko"
check_grep "EC verify says ok" ": ok" "$T/.out"
cp "$module" "$T/ec-sf.ko"
check "sign-file -k with the token's EC key" "$KSIGN" sign-file -k sha512 "$ec_key?pin-value=1234" \
  "$T/certs/ec.der" "$T/ec-sf.ko"
check "verify EC sign-file -k" "$KSIGN" verify --cert "$T/certs/ec.der" "$T/ec-sf.ko"
check_grep "EC sign-file verify says ok" ": ok" "$T/.out"

# 5. Bulk: a tree of modules (plain and compressed), several workers, one token login.
mkdir -p "$T/tree/a/b" "$T/tree/c"
for i in 1 2 3; do cp "$module" "$T/tree/a/m$i.ko"; cp "$module" "$T/tree/a/b/n$i.ko"; done
xz -c --check=crc32 "$module" >"$T/tree/c/x.ko.xz"
zstd -q -c "$module" >"$T/tree/c/z.ko.zst"
if [ -n "$spy" ]; then
  # pkcs11-spy sits between the provider and SoftHSM2 and logs every PKCS#11 call.
  KSIGN_PKCS11_MODULE=$spy PKCS11SPY=$softhsm PKCS11SPY_OUTPUT=$T/spy.log KBUILD_SIGN_PIN=1234 \
    check "bulk sign -r through pkcs11-spy" "$KSIGN" sign -r -j 4 --key "$rsa_key" "$T/tree"
  logins=$(grep -c 'C_Login' "$T/spy.log" || true)
  signs=$(grep -c '^[0-9]*: C_Sign$' "$T/spy.log" || true)
  _checks=$((_checks + 1))
  [ "$logins" -eq 1 ] || fail "bulk sign logged in $logins times, expected once"
  _checks=$((_checks + 1))
  [ "$signs" -ge 8 ] || fail "the spy saw $signs C_Sign calls for 8 modules: was the token used?"
  echo "bulk: $logins token login, $signs C_Sign calls for 8 modules" >&2
else
  KBUILD_SIGN_PIN=1234 check "bulk sign -r" "$KSIGN" sign -r -j 4 --key "$rsa_key" "$T/tree"
  echo "pkcs11-spy not installed: token logins not counted" >&2
fi
check "verify the bulk-signed tree" "$KSIGN" verify -r --cert "$T/certs/rsa.der" "$T/tree"
check_status 0 "all 8 verify" test "$(grep -c ': ok' "$T/.out")" -eq 8

# 6. A wrong PIN: one line naming the URI (without the PIN), exit 1, module unchanged.
cp "$module" "$T/wrong.ko"
KBUILD_SIGN_PIN=9999 check_status 1 "wrong PIN in KBUILD_SIGN_PIN" "$KSIGN" sign --key "$rsa_key" "$T/wrong.ko"
check_one_line "wrong PIN explained" "refused the PIN for '$(re_quote "$rsa_key")' \(KBUILD_SIGN_PIN\)"
check_same "module unchanged after a wrong PIN" "$module" "$T/wrong.ko"
check_status 1 "wrong pin-value" "$KSIGN" sign --key "$rsa_key?pin-value=9999" "$T/wrong.ko"
check_one_line "wrong pin-value explained" "refused the PIN for '$(re_quote "$rsa_key")' \(the URI's pin-value\)"
check_status 1 "wrong pin-value after Pkcs11:" "$KSIGN" sign --key "Pkcs11:token=ksign;object=rsa;type=private?pin-value=9999" "$T/wrong.ko"
check_one_line "wrong pin-value after Pkcs11: explained" "refused the PIN for 'pkcs11:token=ksign;object=rsa;type=private' \(the URI's pin-value\)"
check_status 1 "sign-file with a wrong PIN" "$KSIGN" sign-file sha512 "$rsa_key?pin-value=9999" "$T/certs/rsa.der" "$T/wrong.ko"
check_one_line "sign-file wrong PIN explained" "refused the PIN"
check_same "module unchanged after sign-file's wrong PIN" "$module" "$T/wrong.ko"

# 7. No PIN at all, a missing object, a certificate of another key.
check_status 1 "no PIN" "$KSIGN" sign --key "$rsa_key" "$T/wrong.ko"
# pkcs11-provider 1.3 itself prints its "Enter PIN for PKCS#11 Token ..." prompt text before
# ksign's answer (no PIN) is taken: only ksign's own line is counted here.
grep -v '^Enter PIN for ' "$T/.err" >"$T/.err.own"; mv "$T/.err.own" "$T/.err"
check_one_line "missing PIN explained" "needs the token's PIN: set KBUILD_SIGN_PIN"
KBUILD_SIGN_PIN=1234 check_status 1 "missing object" "$KSIGN" sign --key "pkcs11:token=ksign;object=nosuch" "$T/wrong.ko"
check_one_line "missing object explained" "no PKCS#11 private key 'pkcs11:token=ksign;object=nosuch'"
KBUILD_SIGN_PIN=1234 check_status 1 "missing token" "$KSIGN" sign --key "pkcs11:token=nosuch;object=rsa?pin-value=1234" "$T/wrong.ko"
check_one_line "missing token explained" "no PKCS#11 private key 'pkcs11:token=nosuch;object=rsa'"
KBUILD_SIGN_PIN=1234 check_status 1 "certificate of another key" "$KSIGN" sign --key "$rsa_key" --cert "$T/certs/ec.der" "$T/wrong.ko"
check_one_line "mismatch explained" "does not match the certificate"
check_same "module unchanged after every refusal" "$module" "$T/wrong.ko"

# 8. An OpenSSL without the pkcs11 provider (OPENSSL_MODULES points elsewhere): what to install.
mkdir "$T/no-modules"
OPENSSL_MODULES=$T/no-modules KBUILD_SIGN_PIN=1234 check_status 1 "no pkcs11 provider" "$KSIGN" sign --key "$rsa_key" "$T/wrong.ko"
check_one_line "missing provider explained" "PKCS#11 keys need OpenSSL's pkcs11 provider.*install pkcs11-provider"
