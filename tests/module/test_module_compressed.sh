#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compressed modules: recognised by magic, signed inside, recompressed the way the kernel's
# Makefile.modinst does, checked with the real gzip/xz/zstd tools.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

for tool in gzip xz zstd; do command -v $tool >/dev/null || skip "$tool is not installed"; done
build_test_module "$T/src" ksigncomp || { fail "cannot build the test module"; exit 1; }
module=$built_module
make_key rsa "$T/keys" rsa
make_key ec "$T/keys" stranger

# The reference: the uncompressed module signed by ksign (RSA is deterministic).
cp "$module" "$T/plain.ko"
"$KSIGN" sign -q --key "$T/keys/rsa.pem" "$T/plain.ko"

declare -A compressor=([gz]="gzip -n -c" [xz]="xz --check=crc32 --lzma2=dict=1MiB -c" [zst]="zstd -q -c")
declare -A decompressor=([gz]="gzip -dc" [xz]="xz -dc" [zst]="zstd -qdc")
for ext in gz xz zst; do
  ${compressor[$ext]} "$module" >"$T/m.ko.$ext"
  # a misleading name: the format comes from the magic bytes
  cp "$T/m.ko.$ext" "$T/misnamed-$ext.ko"
  check "sign .ko.$ext" "$KSIGN" sign --key "$T/keys/rsa.pem" "$T/m.ko.$ext" "$T/misnamed-$ext.ko"
  check "the $ext tool accepts it" ${decompressor[$ext]} "$T/m.ko.$ext"
  ${decompressor[$ext]} "$T/m.ko.$ext" >"$T/m-$ext.ko"
  check_same ".ko.$ext holds the signed module" "$T/plain.ko" "$T/m-$ext.ko"
  ${decompressor[$ext]} "$T/misnamed-$ext.ko" >"$T/misnamed-$ext.out"
  check_same "misnamed $ext file signed inside its compression" "$T/plain.ko" "$T/misnamed-$ext.out"
  check "verify .ko.$ext" "$KSIGN" verify --cert "$T/keys/rsa.crt" "$T/m.ko.$ext"
  check_grep "verify $ext" "ok \(signer" "$T/.out"
  # Debian's kmod reads .xz and .zst modules but is built without zlib.
  if [ "$ext" != gz ] || modinfo -F description "$T/m.ko.gz" >/dev/null 2>&1; then
    check "modinfo reads .ko.$ext" modinfo -F signer "$T/m.ko.$ext"
    check_grep "modinfo signer in .ko.$ext" "^ksign test rsa$" "$T/.out"
  fi
  # re-sign with a different key: still one signature inside
  check "re-sign .ko.$ext" "$KSIGN" sign --key "$T/keys/stranger.pem" "$T/m.ko.$ext"
  check "re-signed $ext verifies with the new key" "$KSIGN" verify --cert "$T/keys/stranger.crt" "$T/m.ko.$ext"
done

# Kernel-compatible container settings.
check "xz uses CRC32" xz --robot -lvv "$T/m.ko.xz"
check_grep "xz check is CRC32" "CRC32" "$T/.out"
check_grep "xz single stream, single block" "^totals	1	1	" "$T/.out"
check_grep "xz dictionary 1 MiB" "^block	.*--lzma2=dict=1MiB$" "$T/.out"
flags=$(od -An -tu1 -j3 -N1 "$T/m.ko.gz" | tr -d ' ')
[ "$flags" = 0 ] && pass || fail "gzip FLG byte is $flags, the kernel needs 0 (no name/extra/comment/hcrc)"
check "zstd frame info" zstd -lv "$T/m.ko.zst"
check_grep "zstd one frame" "# Zstandard Frames: 1" "$T/.out"
check_grep "zstd checksum" "Check: XXH64" "$T/.out"

# Levels: --compress-level changes the output, the result still verifies.
cp "$T/m.ko.zst" "$T/level.ko.zst"
check "--compress-level 19" "$KSIGN" sign --key "$T/keys/rsa.pem" --compress-level 19 "$T/level.ko.zst"
check "level 19 verifies" "$KSIGN" verify --cert "$T/keys/rsa.crt" "$T/level.ko.zst"
check_status 2 "a bad level" "$KSIGN" sign --key "$T/keys/rsa.pem" --compress-level 99 "$T/level.ko.zst"
# A level zstd takes but gzip does not: refused before any module is touched, naming the
# option, the format and a module in it; the .ko.zst beside it is left alone too.
cp "$T/m.ko.gz" "$T/level.ko.gz"
cp "$T/level.ko.zst" "$T/level-before.ko.zst"
cp "$T/level.ko.gz" "$T/level-before.ko.gz"
check_status 2 "level 15 on a .ko.gz" "$KSIGN" sign --key "$T/keys/rsa.pem" --compress-level 15 \
  "$T/level.ko.zst" "$T/level.ko.gz"
check_grep "the refusal names the option and gzip's range" "--compress-level: gzip level 15 is out of range \\(1-9\\); 1 module is gzip \\('.*/level\\.ko\\.gz'\\)$" "$T/.err"
check_same "the .ko.zst is untouched" "$T/level-before.ko.zst" "$T/level.ko.zst"
check_same "the .ko.gz is untouched" "$T/level-before.ko.gz" "$T/level.ko.gz"
# Told by the magic bytes, not the name: a gzip module named .ko is refused as gzip.
cp "$T/m.ko.gz" "$T/gzip-named.ko"
check_status 2 "level 15 on gzip named .ko" "$KSIGN" sign --key "$T/keys/rsa.pem" --compress-level 15 "$T/gzip-named.ko"
check_grep "refused as gzip" "1 module is gzip" "$T/.err"
# A level every format present takes is used.
check "level 9 on .ko.gz and .ko.zst" "$KSIGN" sign --key "$T/keys/rsa.pem" --compress-level 9 "$T/level.ko.zst" "$T/level.ko.gz"
check "level 9 .ko.gz verifies" "$KSIGN" verify --cert "$T/keys/rsa.crt" "$T/level.ko.gz"

# Corrupt compressed data: error, file untouched.
for ext in gz xz zst; do
  cp "$T/m.ko.$ext" "$T/bad.ko.$ext"
  size=$(stat -c %s "$T/bad.ko.$ext")
  head -c $((size / 2)) "$T/m.ko.$ext" >"$T/bad.ko.$ext"
  cp "$T/bad.ko.$ext" "$T/bad.orig.$ext"
  check_status 1 "truncated .ko.$ext" "$KSIGN" sign --key "$T/keys/rsa.pem" "$T/bad.ko.$ext"
  check_grep "truncated $ext reported" "bad.ko.$ext'" "$T/.err"
  check_same "truncated $ext untouched" "$T/bad.orig.$ext" "$T/bad.ko.$ext"
  check_status 1 "verify truncated .ko.$ext" "$KSIGN" verify --cert "$T/keys/rsa.crt" "$T/bad.ko.$ext"
  check_grep "malformed $ext" "malformed" "$T/.out"
done
