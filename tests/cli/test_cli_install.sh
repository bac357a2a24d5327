#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign install`: the current key and its link copied into a package tree with their modes,
# as a PKGBUILD's _package-headers() does it (also under fakeroot when available).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

S="$T/certs-local"
P="$T/pkg/usr/lib/modules/6.99.0-arch1-1/build/certs-local"

check_status 0 "install --help" "$KSIGN" install --help
check_status 2 "no destination" "$KSIGN" install --dir "$S"
check_status 2 "two destinations" "$KSIGN" install --dir "$S" "$T/a" "$T/b"
check_status 1 "no key store" "$KSIGN" install --dir "$S" "$P"
check_grep "says to run ksign keys" "ksign keys" "$T/.err"
[ -e "$P" ] && fail "a failed install created the destination" || pass

check "make two keys" bash -c "'$KSIGN' keys --dir '$S' && '$KSIGN' keys --dir '$S' --refresh always"
name=$(readlink "$S/current")
check "install into a new tree" "$KSIGN" install --dir "$S" "$P"
# One line for the package build's log: the key, where it came from, whether the private key went in.
keyid=$(openssl x509 -in "$S/current/signing_crt.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :' | tr 'A-F' 'a-f')
fpr=$(openssl x509 -in "$S/current/signing_crt.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
check_line "install says which key went in" "installed key id $keyid (sha256 $fpr) from '$(realpath "$S/$name")' into '$P': private key included ('$P/$name/signing_key.pem')" "$T/.err"
check "install -q says nothing" "$KSIGN" install -q --dir "$S" "$P"
[ -s "$T/.err" ] && fail "install -q printed: $(cat "$T/.err")" || pass
[ "$(readlink "$P/current")" = "$name" ] && pass || fail "current link: $(readlink "$P/current"), expected $name"
check_same "exactly the current key is copied" <(cd "$S/$name" && find . -mindepth 1 -printf '%p %y %m %s\n' | sort) \
  <(cd "$P/$name" && find . -mindepth 1 -printf '%p %y %m %s\n' | sort)
for f in signing_key.pem signing_prv.pem signing_crt.crt signing_crt.pem khash ktype; do
  check_same "$f copied" "$S/current/$f" "$P/current/$f"
done
check_grep "private key stays 0600" '^600$' <(stat -c %a "$P/current/signing_key.pem")
check_grep "installed key directory is world-readable (0755)" '^755$' <(stat -c %a "$P/$name")
check_grep "its certificate is world-readable" '^644$' <(stat -c %a "$P/current/signing_crt.pem")
[ "$(find "$P" -mindepth 1 -maxdepth 1 | wc -l)" -eq 2 ] && pass || fail "more than the key and the link: $(ls -A "$P")"

# The installed key signs and its certificate verifies, through ksign's own --keydir.
cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$T/m.ko"
check "sign with the installed key" "$KSIGN" sign --keydir "$P" "$T/m.ko"
check "verify with the store's certificate" "$KSIGN" verify --cert "$S/current/signing_crt.pem" "$T/m.ko"

# Again after a refresh: the new key and link replace the old link; nothing half-copied.
check "refresh" "$KSIGN" keys --dir "$S" --refresh always
check "install again" "$KSIGN" install --dir "$S" "$P"
[ "$(readlink "$P/current")" = "$(readlink "$S/current")" ] && pass || fail "the link did not follow the new key"
[ -z "$(find "$P" -name '.*')" ] && pass || fail "temporary files left: $(find "$P" -name '.*')"
check "KSIGN_DIR names the store" env KSIGN_DIR="$S" "$KSIGN" install "$T/pkg2"

# makepkg packages under fakeroot as a normal user.
if command -v fakeroot >/dev/null; then
  check "install under fakeroot" fakeroot "$KSIGN" install --dir "$S" "$T/fake/certs-local"
  check_grep "fakeroot: private key 0600" '^600$' <(stat -c %a "$T/fake/certs-local/current/signing_key.pem")
fi
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && as_nobody "$KSIGN" --version >/dev/null 2>&1; then
  # As an unprivileged user with its own store, the way makepkg runs.
  U="$T/user"
  mkdir -p "$U" && chmod 0755 "$T" && chown 65534:65534 "$U"
  check "as a normal user" as_nobody bash -c "cd '$U' && '$KSIGN' keys && '$KSIGN' install pkg/build/certs-local"
  check_grep "user: private key 0600" '^600$' <(stat -c %a "$U/pkg/build/certs-local/current/signing_key.pem")
fi

# The key must be the one the kernel config trusts: ./.config, or --config.
check "another store" "$KSIGN" keys --dir "$T/other"
printf 'CONFIG_MODULES=y\nCONFIG_SYSTEM_TRUSTED_KEYS="%s"\n' "$(realpath "$T/other/current/signing_crt.pem")" >"$T/kconfig"
check_status 1 "install refuses a key the config does not trust" "$KSIGN" install --dir "$S" --config "$T/kconfig" "$T/pkg3"
check_contains "names the config" "$T/kconfig" "$T/.err"
check_grep "says what the kernel would do" "would refuse modules signed with" "$T/.err"
check_grep "names the override" "--allow-untrusted-key" "$T/.err"
[ -e "$T/pkg3/current" ] && fail "a refused install copied the key" || pass
check "--allow-untrusted-key installs anyway" "$KSIGN" install --dir "$S" --config "$T/kconfig" --allow-untrusted-key "$T/pkg3"
check_grep "with a warning" "warning: .*installing anyway" "$T/.err"
mkdir -p "$T/src" && cp "$T/kconfig" "$T/src/.config"
check_status 1 "./.config is read without --config" bash -c "cd '$T/src' && '$KSIGN' install --dir '$S' '$T/pkg4'"
check "the trusted key installs" "$KSIGN" install --dir "$T/other" --config "$T/kconfig" "$T/pkg5"

# Installing over a copy never leaves a moment without it, and concurrent installs all succeed.
check "first copy" "$KSIGN" install -q --dir "$S" "$T/race"
( end=$((SECONDS + 4)); misses=0; while [ $SECONDS -lt $end ]; do
    [ -e "$T/race/current/signing_crt.crt" ] || misses=$((misses + 1)); done; echo "$misses" >"$T/misses" ) &
prober=$!
for round in 1 2 3 4 5; do
  for i in 1 2 3 4; do "$KSIGN" install -q --dir "$S" "$T/race" 2>>"$T/race.err" & done
  wait $(jobs -p | grep -v "^$prober\$")
done
wait "$prober"
[ "$(cat "$T/misses")" = 0 ] && pass || fail "a reader missed current/signing_crt.crt $(cat "$T/misses") times"
[ ! -s "$T/race.err" ] && pass || fail "concurrent installs failed: $(head -3 "$T/race.err")"
# A destination that is a link is replaced by a directory; what it pointed to is left alone.
mkdir -p "$T/elsewhere" && echo keep >"$T/elsewhere/file" && ln -s elsewhere "$T/linked"
check "install over a link" "$KSIGN" install -q --dir "$S" "$T/linked"
[ -d "$T/linked" ] && [ ! -L "$T/linked" ] && pass || fail "the link was written through"
[ "$(ls -A "$T/elsewhere")" = file ] && pass || fail "the link's target changed: $(ls -A "$T/elsewhere")"
mkdir -p "$T/elsewhere2" && ln -s elsewhere2 "$T/linked2"
check "install over a link, not quiet" "$KSIGN" install --dir "$S" "$T/linked2"
check_grep "says the link was replaced" "linked2' was a link to 'elsewhere2': replaced it by a directory" "$T/.err"
[ -z "$(ls -A "$T/elsewhere2")" ] && pass || fail "the link's target was written to: $(ls -A "$T/elsewhere2")"
