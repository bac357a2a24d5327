#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rebuild ksign_sample.ko against the installed Debian kernel headers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
headers=$(ls -d /usr/src/linux-headers-*-amd64 | sort -V | tail -n1)
work=$(mktemp -d)
cp "$here/ksign_sample.c" "$here/Makefile" "$work/"
make -s -C "$headers" M="$work" modules
cp "$work/ksign_sample.ko" "$here/"
rm -rf "$work"
