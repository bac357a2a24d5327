#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
skip "not written yet"
