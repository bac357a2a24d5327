#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign keys`: the key store it makes (layout, modes, certificate shape), when it refreshes,
# pruning, configs (globs, disagreement, missing line), ML-DSA-44/65/87 keys, an old kernel-sign
# store, and two runs at once on one store.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

arch_config="$KSIGN_SOURCE_ROOT/tests/data/arch-config"
# A listing of everything in a directory with modes, sizes and mtimes: equal listings = nothing changed.
snapshot() { find "$1" -printf '%P %y %m %s %T@ %l\n' | sort; }
key_dirs() { find "$1" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort; }

check_status 0 "keys --help" "$KSIGN" keys --help
check_grep "help names the options" '--refresh' "$T/.out"

# A new store, as a normal umask 000 would make it: modes must not depend on the umask.
S="$T/certs-local"
check "first run makes a key" bash -c "umask 000; '$KSIGN' keys --dir '$S'"
check_grep "first run says why" 'new ec key \(sha512\).*there is no current key' "$T/.err"
[ -L "$S/current" ] && pass || fail "no current link"
first=$(readlink "$S/current")
case "$first" in /*) fail "current is absolute: $first" ;; *) pass ;; esac
[[ "$first" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}$ ]] && pass || fail "odd key directory name '$first'"
for f in signing_key.pem signing_prv.pem signing_crt.crt signing_crt.pem khash ktype; do
  [ -f "$S/current/$f" ] && pass || fail "missing $f"
done
check_grep "store is 0700" '^700$' <(stat -c %a "$S")
check_grep "key dir is 0700" '^700$' <(stat -c %a "$S/$first")
check_grep "signing_key.pem is 0600" '^600$' <(stat -c %a "$S/current/signing_key.pem")
check_grep "signing_prv.pem is 0600" '^600$' <(stat -c %a "$S/current/signing_prv.pem")
check_grep "ktype ec without a config" '^ec$' "$S/current/ktype"
check_grep "khash sha512 without a config" '^sha512$' "$S/current/khash"

# The certificate: the kernel's shape, checked by openssl.
openssl x509 -in "$S/current/signing_crt.pem" -noout -text >"$T/cert.txt" 2>&1
check_grep "EC P-384" 'NIST CURVE: P-384|secp384r1' "$T/cert.txt"
check_grep "self-signed with sha512" 'Signature Algorithm: ecdsa-with-SHA512' "$T/cert.txt"
check_grep "basicConstraints critical" 'X509v3 Basic Constraints: critical' "$T/cert.txt"
check_grep "CA:FALSE" 'CA:FALSE' "$T/cert.txt"
check_grep "keyUsage" 'Digital Signature' "$T/cert.txt"
check_grep "subject key id" 'X509v3 Subject Key Identifier' "$T/cert.txt"
check_grep "authority key id" 'X509v3 Authority Key Identifier' "$T/cert.txt"
check_grep "subject names the host" "CN *= *\"?Local out-of-tree module signing key \\($(re_quote "$(hostname)")," "$T/cert.txt"
check_grep "valid for a century" "Not After : .* 21[0-9][0-9] GMT" "$T/cert.txt"
check "DER and PEM certificates agree" cmp <(openssl x509 -in "$S/current/signing_crt.crt" -inform DER -outform DER) \
  <(openssl x509 -in "$S/current/signing_crt.pem" -outform DER)
check "signing_key.pem holds key and certificate" grep -q 'BEGIN CERTIFICATE' "$S/current/signing_key.pem"
check "signing_prv.pem matches the certificate" cmp <(openssl pkey -in "$S/current/signing_prv.pem" -pubout) \
  <(openssl x509 -in "$S/current/signing_crt.pem" -noout -pubkey)
check_no_grep "signing_crt.pem has no private key" 'PRIVATE KEY' "$S/current/signing_crt.pem"

# No refresh due: nothing in the store changes.
before=$(snapshot "$S")
check "second run keeps the key" "$KSIGN" keys --dir "$S"
[ "$before" = "$(snapshot "$S")" ] && pass || fail "the store changed without a refresh"
check "second run with -v" "$KSIGN" keys --dir "$S" -v
check_grep "-v says the key is kept" 'keeping the current key' "$T/.err"
check_status 0 "KSIGN_DIR names the store" env KSIGN_DIR="$S" "$KSIGN" keys
[ "$before" = "$(snapshot "$S")" ] && pass || fail "KSIGN_DIR run changed the store"

# Refresh by age: a 3-day-old key stays under the 7d default, a 40-day-old one goes at 30d.
touch -d '3 days ago' "$S/current/signing_key.pem"
check "3-day-old key, default 7d" "$KSIGN" keys --dir "$S"
[ "$(readlink "$S/current")" = "$first" ] && pass || fail "a 3-day-old key was replaced"
touch -d '40 days ago' "$S/current/signing_key.pem"
check "40-day-old key, 30days" "$KSIGN" keys --dir "$S" --refresh 30days
second=$(readlink "$S/current")
check_grep "the age is the reason" 'the current key is 40 days old \(--refresh 30 days\)' "$T/.err"
[ "$second" != "$first" ] && pass || fail "a 40-day-old key was kept with --refresh 30days"
[ -d "$S/$first" ] && pass || fail "the old key directory is gone without --keep"
check "refresh in seconds" "$KSIGN" keys --dir "$S" --refresh 2weeks
[ "$(readlink "$S/current")" = "$second" ] && pass || fail "a fresh key was replaced with --refresh 2weeks"
check "--refresh always, twice in one second" bash -c "'$KSIGN' keys --dir '$S' --refresh always && '$KSIGN' keys --dir '$S' --refresh always"
[ "$(key_dirs "$S" | wc -l)" -eq 4 ] && pass || fail "expected 4 key directories: $(key_dirs "$S")"
[ "$(key_dirs "$S" | tail -n 1)" = "$(readlink "$S/current")" ] && pass || fail "names do not sort by age: $(key_dirs "$S"), current $(readlink "$S/current")"
for bad in never 3x -1d 1.5d ''; do
  check_status 2 "bad refresh '$bad'" "$KSIGN" keys --dir "$S" --refresh "$bad"
done
check_grep "bad refresh is explained" 'refresh period' "$T/.err"

# One rule for the period, as --help says: without --refresh, the last run's (2weeks: 'always'
# is a one-off and not remembered), else 7d; --show uses the same.
check_grep "the last period is recorded, not 'always'" '^2weeks$' "$S/.refresh"
touch -d '10 days ago' "$S/current/signing_key.pem"
kept=$(readlink "$S/current")
check "a 10-day-old key, no --refresh, 2weeks recorded" "$KSIGN" keys --dir "$S"
[ "$(readlink "$S/current")" = "$kept" ] && pass || fail "keys without --refresh used 7d, not the recorded 2weeks: $(cat "$T/.err")"
check "--show with the recorded period" "$KSIGN" keys --show --dir "$S"
check_grep "--show: next refresh after 2 weeks" "^next refresh: .*\(in 3 days 23 hours\)" "$T/.out"
check_grep "--show: the age in spelled-out units" "^created: .*\(10 days 0 hours ago\)" "$T/.out"
touch "$S/current/signing_key.pem"
check "--show of a fresh key" "$KSIGN" keys --show --dir "$S"
check_grep "--show: minutes are minutes" "^created: .*\([0-9]+ minutes? ago\)" "$T/.out"

# --keep: the newest N stay, and the current key always.
current=$(readlink "$S/current")
check "--keep 2" "$KSIGN" keys --dir "$S" --keep 2
[ "$(key_dirs "$S" | wc -l)" -eq 2 ] && pass || fail "--keep 2 left: $(key_dirs "$S")"
[ -d "$S/$current" ] && pass || fail "--keep removed the current key"
[ -d "$S/$first" ] && fail "--keep kept the oldest key" || pass
check_status 2 "--keep 0 is refused" "$KSIGN" keys --dir "$S" --keep 0

# Configs: key type and hash come from them; the config is pointed at the certificate.
mkdir -p "$T/cfg"
cp "$arch_config" "$T/cfg/config.x86_64"
sed 's/^CONFIG_MODULE_SIG_HASH=.*/CONFIG_MODULE_SIG_HASH="sha384"/' "$arch_config" >"$T/cfg/config.i686"
cp "$T/cfg/config.i686" "$T/cfg/config.i686.orig"
cp "$T/cfg/config.x86_64" "$T/cfg/config.x86_64.orig"
before=$(snapshot "$S")
check_status 1 "configs that disagree" "$KSIGN" keys --dir "$S" --config "$T/cfg/config.*"
check_grep "disagreement is explained" 'kernel configs disagree' "$T/.err"
[ "$before" = "$(snapshot "$S")" ] && pass || fail "the store changed although the configs disagree"
check_same "first config untouched" "$T/cfg/config.x86_64.orig" "$T/cfg/config.x86_64"
check_same "second config untouched" "$T/cfg/config.i686.orig" "$T/cfg/config.i686"
check_status 1 "configs that disagree, no store yet" "$KSIGN" keys --dir "$T/new-store" --config "$T/cfg/config.*"
[ -e "$T/new-store" ] && fail "a failed run created the store" || pass
check_status 1 "a glob without a match" "$KSIGN" keys --dir "$S" --config "$T/cfg/nothing.*"
check_grep "no match is explained" 'no kernel config matches' "$T/.err"
check_status 1 "a missing config" "$KSIGN" keys --dir "$S" --config "$T/cfg/config"
[ "$before" = "$(snapshot "$S")" ] && pass || fail "the store changed on a bad --config"

# Same hash in both: one new key (the hash changed from sha512), both configs point at it.
sed -i 's/^CONFIG_MODULE_SIG_HASH=.*/CONFIG_MODULE_SIG_HASH="sha384"/' "$T/cfg/config.x86_64"
check "a quoted glob of two configs" "$KSIGN" keys --dir "$S" --config "$T/cfg/config.*[0-9]"
check_grep "hash change makes a key" 'new ec key \(sha384\)' "$T/.err"
check_grep "khash follows the config" '^sha384$' "$S/current/khash"
cert=$(realpath "$S/current/signing_crt.pem")
check_line "x86_64 config trusts the new certificate" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/cfg/config.x86_64"
check_line "i686 config trusts the new certificate" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/cfg/config.i686"
check_same "backup files are not configs" "$T/cfg/config.i686.orig" "$T/cfg/config.i686.orig"
diff "$T/cfg/config.i686.orig" "$T/cfg/config.i686" >"$T/diff.txt"
[ "$(grep -c '^[<>]' "$T/diff.txt")" -eq 2 ] && pass || fail "more than the one line changed: $(cat "$T/diff.txt")"
# Repeating --config of one file, or a glob and a name for it, is one config.
check "the same config twice" "$KSIGN" keys --dir "$S" --config "$T/cfg/config.x86_64" --config "$T/cfg/config.x*4"

# A config without the line gets it; a config asking for RSA gets an RSA key (type changed).
grep -v '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$arch_config" \
  | sed -e 's/^CONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y/# CONFIG_MODULE_SIG_KEY_TYPE_ECDSA is not set/' \
        -e 's/^# CONFIG_MODULE_SIG_KEY_TYPE_RSA is not set/CONFIG_MODULE_SIG_KEY_TYPE_RSA=y/' >"$T/rsa-config"
check "RSA config" "$KSIGN" keys --dir "$S" --config "$T/rsa-config"
check_grep "key type change makes a key" 'new rsa key \(sha512\).*asks for a rsa key' "$T/.err"
check_grep "ktype rsa" '^rsa$' "$S/current/ktype"
check_grep "RSA 4096" 'Public-Key: \(4096 bit\)' <(openssl x509 -in "$S/current/signing_crt.pem" -noout -text)
check_line "missing line appended" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$S/current/signing_crt.pem")\"" "$T/rsa-config"

# ML-DSA-44/65/87: made when the linked OpenSSL has ML-DSA (3.5 or newer), and a module signed
# with the new key verifies; else a clear error naming what is needed, and nothing changed.
if openssl list -key-managers 2>/dev/null | grep -qi 'ml-dsa'; then have_mldsa=1; else have_mldsa=0; fi
echo "openssl $(openssl version | cut -d' ' -f2): ML-DSA key manager $([ $have_mldsa = 1 ] && echo present || echo absent)" >&2
for level in 44 65 87; do
  sed -e "s/^CONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y/CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_$level=y/" "$arch_config" >"$T/mldsa-config"
  M="$T/mldsa-$level"
  mkdir -m 700 "$M"
  before=$(snapshot "$M")
  if [ $have_mldsa = 1 ]; then
    check "ML-DSA-$level key" "$KSIGN" keys --dir "$M" --config "$T/mldsa-config"
    check_grep "ML-DSA-$level says what it made" "new ml-dsa-$level key" "$T/.err"
    check_grep "ktype ml-dsa-$level" "^ml-dsa-$level\$" "$M/current/ktype"
    check_grep "ML-DSA-$level certificate" "ML-DSA-$level" <(openssl x509 -in "$M/current/signing_crt.pem" -noout -text)
    check_line "config trusts the ML-DSA-$level key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$M/current/signing_crt.pem")\"" "$T/mldsa-config"
    cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$T/mldsa-$level.ko"
    check "sign with the ML-DSA-$level key" "$KSIGN" sign --keydir "$M" "$T/mldsa-$level.ko"
    check "verify the ML-DSA-$level module" "$KSIGN" verify --keydir "$M" "$T/mldsa-$level.ko"
    check_grep "ML-DSA-$level module ok" ": ok" "$T/.out"
  else
    check_status 1 "ML-DSA-$level without OpenSSL support" "$KSIGN" keys --dir "$M" --config "$T/mldsa-config"
    check_grep "ML-DSA-$level error names what is needed" "ml-dsa-$level keys need OpenSSL 3.5 or newer \(linked: OpenSSL 3" "$T/.err"
    [ "$before" = "$(snapshot "$M")" ] && pass || fail "the store changed on an ML-DSA-$level failure"
    check_grep "config untouched on failure" '^CONFIG_SYSTEM_TRUSTED_KEYS=""$' "$T/mldsa-config"
  fi
done

# An existing kernel-sign store is used as it is (no signing_crt.pem, no ktype): the key is
# kept and the certificate-only PEM the config needs is added beside it.
L="$T/legacy"
make_key ec "$T/legacy-keys" k
mkdir -p "$L/20250101-000000"
cp "$T/legacy-keys/k.pem" "$L/20250101-000000/signing_key.pem"
cp "$T/legacy-keys/k.key" "$L/20250101-000000/signing_prv.pem"
cp "$T/legacy-keys/k.der" "$L/20250101-000000/signing_crt.crt"
echo sha512 >"$L/20250101-000000/khash"
ln -s 20250101-000000 "$L/current"
cp "$arch_config" "$T/legacy-config"
check "kernel-sign store" "$KSIGN" keys --dir "$L" --config "$T/legacy-config"
[ "$(readlink "$L/current")" = 20250101-000000 ] && pass || fail "the kernel-sign key was replaced"
check_line "config trusts the kernel-sign key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$L/20250101-000000/signing_crt.pem\"" "$T/legacy-config"
check "added PEM is the kernel-sign certificate" cmp <(openssl x509 -in "$L/current/signing_crt.pem" -outform DER) "$T/legacy-keys/k.der"

# Two runs at once on one store take turns (flock): both succeed, the store stays whole.
C="$T/concurrent"
"$KSIGN" keys --dir "$C" --refresh always 2>"$T/c1.err" & p1=$!
"$KSIGN" keys --dir "$C" --refresh always 2>"$T/c2.err" & p2=$!
"$KSIGN" keys --dir "$C" --refresh always 2>"$T/c3.err" & p3=$!
s1=0; s2=0; s3=0
wait $p1 || s1=$?; wait $p2 || s2=$?; wait $p3 || s3=$?
[ "$s1$s2$s3" = 000 ] && pass || fail "concurrent runs failed: $s1 $s2 $s3: $(cat "$T"/c?.err)"
[ "$(key_dirs "$C" | wc -l)" -eq 3 ] && pass || fail "concurrent runs made $(key_dirs "$C" | wc -l) key directories"
[ -z "$(find "$C" -name '.new-*' -o -name '.current-*' -o -name '.*.ksign-*')" ] && pass || fail "temporary files left behind"
check "the current key is whole" openssl x509 -in "$C/current/signing_crt.pem" -noout

check_status 2 "stray argument" "$KSIGN" keys --dir "$S" extra

# --show: the admin's view of the store and of the installed kernels; it changes nothing.
V="$T/show"
"$KSIGN" keys -q --dir "$V"
mkdir -p "$T/moddir/6.90.0-same/build" "$T/moddir/6.90.1-none/build" "$T/moddir/6.90.2-other/build"
"$KSIGN" install --dir "$V" "$T/moddir/6.90.0-same/build/certs-local" >/dev/null
"$KSIGN" keys -q --dir "$T/show-other"
"$KSIGN" install --dir "$T/show-other" "$T/moddir/6.90.2-other/build/certs-local" >/dev/null
before=$(find "$V" -printf '%p %T@\n' | sort)
check "keys --show" env KSIGN_MODULEDIR="$T/moddir" "$KSIGN" keys --show --dir "$V" --refresh 30d
check_grep "show: type and hash" "^type, hash: +ec, sha512$" "$T/.out"
check_grep "show: next refresh in 30 days, units spelled out" "^next refresh: .*\(in 29 days 23 hours\)" "$T/.out"
check_grep "show: key id" "^key id: +[0-9a-f]{40}$" "$T/.out"
check_grep "show: kernel with this key" "6.90.0-same +the current key" "$T/.out"
check_grep "show: kernel without ksign key" "6.90.1-none +no ksign key" "$T/.out"
check_grep "show: kernel with another key" "6.90.2-other +key id [0-9a-f]{40}, not from this key store; private key in its headers" "$T/.out"
[ "$before" = "$(find "$V" -printf '%p %T@\n' | sort)" ] && pass || fail "--show changed the store"
check "keys --show --json" env KSIGN_MODULEDIR="$T/moddir" "$KSIGN" keys --show --json --dir "$V"
cp "$T/.out" "$T/show.json"
check "--show --json content" python3 - "$T/show.json" "$(openssl x509 -in "$V/current/signing_crt.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
current = data["current"]
assert current["key_type"] == "ec" and current["hash"] == "sha512", current
assert current["fingerprint_sha256"] == sys.argv[2], (current, sys.argv[2])
kernels = {k["release"]: k for k in data["kernels"]}
assert kernels["6.90.0-same"]["is_current"] is True
assert kernels["6.90.1-none"]["has_ksign_key"] is False
assert kernels["6.90.2-other"]["is_current"] is False
PY
check "--show on an empty store" "$KSIGN" keys --show --dir "$T/no-store-here"
check_grep "says there is none" "current key: +none" "$T/.out"
[ ! -e "$T/no-store-here" ] && pass || fail "--show created a store"
check_status 2 "--json without --show" "$KSIGN" keys --json --dir "$V"

# --keep removes only old key directories nobody needs (issue 21): not a directory of the
# user's own (archive/), not one a keys.d link leads to (install --public --register), not one
# a config updated by ksign names, not one an installed kernel carries; it says what it kept.
P="$T/prune"
export KSIGN_CONFIG_DIR="$T/etc-ksign" KSIGN_MODULEDIR="$T/prune-modules"
printf 'CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_KEY_TYPE_ECDSA=y\nCONFIG_MODULE_SIG_SHA512=y\nCONFIG_MODULE_SIG_HASH="sha512"\n' >"$T/prune.config"
"$KSIGN" keys -q --dir "$P" && registered=$(readlink "$P/current")
mkdir -p "$KSIGN_CONFIG_DIR/keys.d" "$KSIGN_MODULEDIR/6.99.1/build"
"$KSIGN" install -q --dir "$P" --public --register "$KSIGN_CONFIG_DIR/keys.d" "$KSIGN_MODULEDIR/6.99.0/build/certs-local"
rm -rf "$KSIGN_MODULEDIR/6.99.0" # the kernel is gone, its keys.d link stays (DKMS still reaches the key through it)
"$KSIGN" keys -q --dir "$P" --refresh always --config "$T/prune.config" && named=$(readlink "$P/current")
"$KSIGN" keys -q --dir "$P" --refresh always && carried=$(readlink "$P/current")
"$KSIGN" install -q --dir "$P" "$KSIGN_MODULEDIR/6.99.1/build/certs-local"
"$KSIGN" keys -q --dir "$P" --refresh always && unused=$(readlink "$P/current")
"$KSIGN" keys -q --dir "$P" --refresh always && newest=$(readlink "$P/current")
mkdir "$P/archive" && touch "$P/archive/notes"
check "--keep 1 with key directories in use" "$KSIGN" keys --dir "$P" --keep 1
check_line "only the unused one is removed" "$(printf '%s\n' "$carried" "$named" "$newest" "$registered" archive | sort)" <(key_dirs "$P" | tr '\n' ' ' | sed 's/ $//' | tr ' ' '\n' | sort | paste -sd '\n')
[ ! -e "$P/$unused" ] && pass || fail "--keep 1 kept the unused key directory"
check_contains "says it removed it" "removed the old key directory '$P/$unused'" "$T/.err"
check_contains "kept: the registered one" "kept '$P/$registered': the link '$KSIGN_CONFIG_DIR/keys.d/" "$T/.err"
check_contains "kept: the one a config names" "kept '$P/$named': the config '$T/prune.config' names its certificate" "$T/.err"
check_contains "kept: the one a kernel carries" "kept '$P/$carried': installed kernel 6.99.1 carries its certificate" "$T/.err"
check_contains "kept: the user's directory" "kept '$P/archive': not a key directory made by ksign or kernel-sign" "$T/.err"
[ -f "$P/archive/notes" ] && pass || fail "--keep touched archive/"
check "the registered link still leads to a key" "$KSIGN" keys --key-files 6.99.0
unset KSIGN_CONFIG_DIR KSIGN_MODULEDIR

# A store lock another run holds: keys says what it waits for, once, and gives up after
# $KSIGN_LOCK_TIMEOUT seconds naming the holder; it goes on when the lock is released.
L="$T/locked"
"$KSIGN" keys -q --dir "$L"
python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(30)' \
  "$L/.lock" "$T/held" &
holder=$!
for _ in $(seq 50); do [ -e "$T/held" ] && break; sleep 0.1; done
check_status 1 "keys gives up on a held lock" env KSIGN_LOCK_TIMEOUT=1 "$KSIGN" keys --dir "$L"
check_contains "says what it waits for, and who holds it" "waiting for '$L/.lock', held by process $holder" "$T/.err"
check_contains "gives up with a clear error" "gave up waiting for '$L/.lock' after 1 second: process $holder still holds it" "$T/.err"
check_line "says it once" 1 <(grep -c "warning: waiting for" "$T/.err")
( sleep 1; kill "$holder" ) &
check "keys goes on when the lock is released" env KSIGN_LOCK_TIMEOUT=30 "$KSIGN" keys --dir "$L"
check_contains "after saying what it waited for" "waiting for '$L/.lock'" "$T/.err"
wait
