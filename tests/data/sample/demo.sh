#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ksign's main job on the sample module the repository carries: make a throwaway key store
# from a kernel config, sign the module (plain and .ko.zst), and check it as the kernel would.
#   tests/data/sample/demo.sh [BUILD_DIR]     (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ksign=$(cd "${1:-build}" && pwd)/src/ksign
work=$(mktemp -d "${TMPDIR:-/tmp}/ksign-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

run() { printf '\n$ %s\n' "$*"; "$@"; }

cp "$here/demo.config" config
cp "$here/ksign_sample.ko" sample.ko
if command -v zstd >/dev/null; then zstd -q sample.ko -o sample2.ko.zst; fi

run "$ksign" keys --dir certs-local --config config
run grep CONFIG_SYSTEM_TRUSTED_KEYS config
run "$ksign" sign -d certs-local --verbose sample.ko $(ls sample2.ko.zst 2>/dev/null)
run "$ksign" verify -d certs-local sample.ko $(ls sample2.ko.zst 2>/dev/null)
if command -v modinfo >/dev/null; then
  run modinfo -F signer sample.ko
fi
printf '\nksign demo: signed and verified in %s (removed on exit)\n' "$work"
