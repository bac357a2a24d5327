#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign config`: CONFIG_SYSTEM_TRUSTED_KEYS replaced or added, nothing else touched, no rewrite
# when already right; `--check` judging the module-signing settings.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

arch_config="$KSIGN_SOURCE_ROOT/tests/data/arch-config"
S="$T/certs-local"

check_status 0 "config --help" "$KSIGN" config --help
check_grep "help mentions --check" '--check' "$T/.out"
check_status 2 "no config given" "$KSIGN" config --dir "$S"

# No key store yet: an error, the config untouched.
cp "$arch_config" "$T/config"
check_status 1 "no current key" "$KSIGN" config --dir "$S" "$T/config"
check_grep "says to run ksign keys" "ksign keys" "$T/.err"
check_same "config untouched without a key" "$arch_config" "$T/config"

check "make a key" "$KSIGN" keys --dir "$S"
cert=$(realpath "$S/current/signing_crt.pem")

# An existing (empty) line is replaced; every other byte stays; the mode stays.
chmod 0640 "$T/config"
check "set the trusted key" "$KSIGN" config --dir "$S" "$T/config"
check_line "the line names the certificate" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/config"
check_same "only that line changed" <(grep -v '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$arch_config") \
  <(grep -v '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$T/config")
[ "$(grep -n '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$T/config" | cut -d: -f1)" = "$(grep -n '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$arch_config" | cut -d: -f1)" ] \
  && pass || fail "the line moved"
[ "$(wc -l <"$T/config")" -eq "$(wc -l <"$arch_config")" ] && pass || fail "line count changed"
check_grep "mode kept" '^640$' <(stat -c %a "$T/config")
check_no_grep "never the private key" "^CONFIG_SYSTEM_TRUSTED_KEYS=.*(signing_key.pem|signing_prv.pem)" "$T/config"

# Already right: not rewritten (same inode, same mtime), so make rebuilds nothing.
touch -d '2 hours ago' "$T/config"
before=$(stat -c '%i %Y' "$T/config")
check "second run" "$KSIGN" config --dir "$S" "$T/config"
[ "$before" = "$(stat -c '%i %Y' "$T/config")" ] && pass || fail "an up-to-date config was rewritten"
check "second run, -v" "$KSIGN" config --dir "$S" -v "$T/config"
check_grep "-v says it is already right" 'already trusts' "$T/.err"

# A new key: the line follows it.
check "new key" "$KSIGN" keys --dir "$S" --refresh always
check "config follows the new key" "$KSIGN" config --dir "$S" "$T/config"
check_line "new certificate named" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$S/current/signing_crt.pem")\"" "$T/config"
check_no_contains "old certificate gone" "$cert" "$T/config"

# "# ... is not set" is replaced in place; a missing line is added at the end; a file without
# a final newline keeps its last line intact.
# (A kernel config has a CONFIG_MODULES or CONFIG_MODULE_SIG line: CONFIG_MODULES=y here.)
printf 'CONFIG_MODULES=y\n# CONFIG_SYSTEM_TRUSTED_KEYS is not set\nCONFIG_B=y\n' >"$T/notset"
printf 'CONFIG_MODULES=y\nCONFIG_B="x"' >"$T/missing"
check "not-set and missing lines" "$KSIGN" config --dir "$S" "$T/notset" "$T/missing"
cert=$(realpath "$S/current/signing_crt.pem")
check_same "not set replaced in place" "$T/notset" <(printf 'CONFIG_MODULES=y\nCONFIG_SYSTEM_TRUSTED_KEYS="%s"\nCONFIG_B=y\n' "$cert")
check_same "missing line appended" "$T/missing" <(printf 'CONFIG_MODULES=y\nCONFIG_B="x"\nCONFIG_SYSTEM_TRUSTED_KEYS="%s"\n' "$cert")

# Globs work here too; a bad one changes nothing.
mkdir "$T/cfg"
cp "$arch_config" "$T/cfg/config.a"
cp "$arch_config" "$T/cfg/config.b"
check_status 1 "glob without a match" "$KSIGN" config --dir "$S" "$T/cfg/config.a" "$T/cfg/none.*"
check_same "nothing changed on a bad glob" "$arch_config" "$T/cfg/config.a"
check "quoted glob" "$KSIGN" config --dir "$S" "$T/cfg/config.*"
check_line "glob: first config" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/cfg/config.a"
check_line "glob: second config" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/cfg/config.b"
check "KSIGN_DIR names the store" env KSIGN_DIR="$S" "$KSIGN" config "$T/cfg/config.a"

# --check: the recommended settings with the trusted key set are all ok; the file is not changed.
before=$(stat -c '%i %Y' "$T/cfg/config.a")
check_status 0 "check a good config" "$KSIGN" config --check "$T/cfg/config.a"
check_grep "check: MODULE_SIG ok" '^  ok +CONFIG_MODULE_SIG:' "$T/.out"
check_grep "check: trusted keys ok" '^  ok +CONFIG_SYSTEM_TRUSTED_KEYS:.*1 certificate' "$T/.out"
check_no_grep "check: no errors or warnings" '^  (error|warning)' "$T/.out"
[ "$before" = "$(stat -c '%i %Y' "$T/cfg/config.a")" ] && pass || fail "--check changed the config"

# ... and the problems: no MODULE_SIG, SYSTEM_TRUSTED_KEYS at a private key, RSA, no zstd.
sed -e 's/^CONFIG_MODULE_SIG=y/# CONFIG_MODULE_SIG is not set/' \
    -e "s|^CONFIG_SYSTEM_TRUSTED_KEYS=.*|CONFIG_SYSTEM_TRUSTED_KEYS=\"$S/current/signing_key.pem\"|" \
    -e 's/^CONFIG_MODULE_COMPRESS_ZSTD=y/# CONFIG_MODULE_COMPRESS_ZSTD is not set/' \
    -e 's/^# CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS is not set/CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS=y/' \
    "$arch_config" >"$T/bad-config"
check_status 1 "check a bad config" "$KSIGN" config --check "$T/bad-config"
check_grep "MODULE_SIG off is an error" '^  error +CONFIG_MODULE_SIG: not set' "$T/.out"
check_grep "private key is an error" '^  error +CONFIG_SYSTEM_TRUSTED_KEYS:.*private key' "$T/.out"
check_grep "no zstd is a warning" '^  warning +CONFIG_MODULE_COMPRESS_ZSTD' "$T/.out"
check_grep "namespace imports is a warning" '^  warning +CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS' "$T/.out"
check_grep "counts on stderr" '2 errors, 2 warnings' "$T/.err"
check_status 1 "check the unmodified Arch config (no trusted key yet)" "$KSIGN" config --check "$arch_config"
check_grep "missing trusted key is an error" '^  error +CONFIG_SYSTEM_TRUSTED_KEYS: not set' "$T/.out"
sed "s|^CONFIG_SYSTEM_TRUSTED_KEYS=.*|CONFIG_SYSTEM_TRUSTED_KEYS=\"$T/nonexistent.pem\"|" "$arch_config" >"$T/gone-config"
check_status 1 "check a config naming a missing file" "$KSIGN" config --check "$T/gone-config"
check_grep "missing certificate is an error" "^  error +CONFIG_SYSTEM_TRUSTED_KEYS: '$(re_quote "$T")/nonexistent\\.pem' does not exist" "$T/.out"
check_status 0 "check -q prints only problems" "$KSIGN" config --check -q "$T/cfg/config.a"
check_no_grep "-q hides ok lines" '^  ok' "$T/.out"

# --check with the key store: a trusted-keys file that is not the store's current key is flagged.
check_status 0 "check against the store it trusts" "$KSIGN" config --check --dir "$S" "$T/cfg/config.a"
check_grep "the current key: ok" '^  ok +CONFIG_SYSTEM_TRUSTED_KEYS:' "$T/.out"
check "a newer key" "$KSIGN" keys --dir "$S" --refresh always
check_status 0 "check after the refresh" "$KSIGN" config --check --dir "$S" "$T/cfg/config.a"
check_grep "not the current key: a warning" "^  warning +CONFIG_SYSTEM_TRUSTED_KEYS: .* does not hold the key store's current key.*\(run 'ksign config'\)" "$T/.out"
check_no_grep "and not ok" '^  ok +CONFIG_SYSTEM_TRUSTED_KEYS' "$T/.out"
