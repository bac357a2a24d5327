#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign verify --kernel KVER` with no modules: audit an installed kernel's module tree against
# everything that kernel trusts; and the terminal behaviour (progress, colour, NO_COLOR).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
rel=6.99.1-audit
root="$T/modules/$rel"
mkdir -p "$root/kernel/drivers" "$root/updates/dkms" "$root/extra" "$root/build/certs"
make_key ec "$T/keys" build      # the kernel build's own key: build/certs/signing_key.x509
make_key ec "$T/keys" local      # ksign's key store installed with the kernel
make_key rsa "$T/keys" extra     # a certificate named by CONFIG_SYSTEM_TRUSTED_KEYS
make_key ec "$T/keys" stranger
cp "$T/keys/build.der" "$root/build/certs/signing_key.x509"
cp "$T/keys/extra.crt" "$root/build/certs/extra.pem"
printf 'CONFIG_MODULE_SIG=y\nCONFIG_SYSTEM_TRUSTED_KEYS="certs/extra.pem"\n' >"$root/build/.config"
mkdir -p "$root/build/certs-local/2026-01-01_00-00-00"
cp "$T/keys/local.pem" "$root/build/certs-local/2026-01-01_00-00-00/signing_key.pem"
cp "$T/keys/local.der" "$root/build/certs-local/2026-01-01_00-00-00/signing_crt.crt"
ln -s 2026-01-01_00-00-00 "$root/build/certs-local/current"
cp "$sample" "$root/build/not-a-module-dir.ko"   # the build tree is not audited

sign() { cp "$sample" "$2"; "$KSIGN" sign -q --key "$T/keys/$1.pem" "$2"; }
sign build "$root/kernel/drivers/intree.ko"
sign local "$root/updates/dkms/nvidia.ko"
zstd -q --rm "$root/updates/dkms/nvidia.ko" 2>/dev/null || true
sign extra "$root/extra/vbox.ko"
sign stranger "$root/extra/foreign.ko"
cp "$sample" "$root/extra/unsigned.ko"

export KSIGN_MODULEDIR="$T/modules"
check_status 1 "audit finds the modules that would not load" "$KSIGN" verify --kernel "$rel"
check_grep "foreign module listed" "foreign.ko: unknown key" "$T/.out"
check_grep "unsigned module listed" "unsigned.ko: unsigned" "$T/.out"
check_no_grep "loadable modules not listed" "intree.ko|nvidia.ko|vbox.ko" "$T/.out"
check_no_grep "build tree not audited" "not-a-module-dir" "$T/.out"
check_grep "summary" "5 modules: .*3 ok" "$T/.err"
check_grep "would fail" "2 modules would fail to load with module.sig_enforce=1" "$T/.err"
check_grep "build key trusted" "signing_key.x509' \(the kernel build's own key\)" "$T/.err"
check_grep "ksign key trusted" "certs-local" "$T/.err"
check_grep "config's trusted keys" "extra.pem' \(CONFIG_SYSTEM_TRUSTED_KEYS\)" "$T/.err"

check_status 1 "audit --json" "$KSIGN" verify --kernel "$rel" --json
cp "$T/.out" "$T/audit.json"
check "audit json parses" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["summary"]["ok"]==3 and d["summary"]["total"]==5, d' "$T/audit.json"

rm "$root/extra/foreign.ko" "$root/extra/unsigned.ko"
check "a clean kernel passes" "$KSIGN" verify --kernel "$rel"
check_grep "all would load" "all modules would load" "$T/.err"
check_status 1 "an unknown kernel" "$KSIGN" verify --kernel 1.2.3-none
check_grep "names the missing kernel" "no installed kernel" "$T/.err"

# Terminal behaviour, on a real pseudo-terminal (script(1)), not a faked isatty.
if command -v script >/dev/null; then
  cp "$sample" "$T/tty.ko"
  script -qec "'$KSIGN' verify --cert '$T/keys/build.crt' '$T/tty.ko'" "$T/tty.log" >/dev/null 2>&1 || true
  check_grep "colour on a terminal" $'\033\\[1;31munsigned' "$T/tty.log"
  NO_COLOR=1 script -qec "'$KSIGN' verify --cert '$T/keys/build.crt' '$T/tty.ko'" "$T/nocolor.log" >/dev/null 2>&1 || true
  check_no_grep "NO_COLOR honoured" $'\033\\[[0-9;]*m' "$T/nocolor.log"
  script -qec "'$KSIGN' verify --kernel '$rel'" "$T/progress.log" >/dev/null 2>&1 || true
  check_grep "progress line on a terminal" "verifying [0-9]+/3 modules" "$T/progress.log"
  "$KSIGN" verify --kernel "$rel" >"$T/pipe.out" 2>"$T/pipe.err"
  check_no_grep "no progress when not a terminal" "verifying [0-9]+/" "$T/pipe.err"
  check_no_grep "no colour when not a terminal" $'\033' "$T/pipe.out"
  check_no_grep "no escapes on stderr when not a terminal" $'\033' "$T/pipe.err"
  script -qec "'$KSIGN' verify --quiet --kernel '$rel'" "$T/quiet.log" >/dev/null 2>&1 || true
  check_no_grep "no progress with --quiet" "verifying [0-9]+/" "$T/quiet.log"
fi
