#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rebuild the seed corpus (corpus/<target>/) and seed-signer.crt from real inputs: the sample
# module stripped of debug info, signed by the kernel's sign-file with a fresh throw-away key
# (only its certificate is kept), compressed as the kernel's Makefile.modinst does, and
# excerpts of tests/data/arch-config. Needs openssl, binutils, gzip, xz, zstd, kernel headers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sign_file=
for candidate in /usr/src/linux-headers-*/scripts/sign-file /usr/lib/linux-kbuild-*/scripts/sign-file; do
  [ -x "$candidate" ] && { sign_file=$candidate; break; }
done
[ -n "$sign_file" ] || { echo "make-seeds.sh: no scripts/sign-file (install linux-headers-amd64)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

strip --strip-debug -o plain.ko "$root/tests/data/sample/ksign_sample.ko"
# EC P-256 signs the seeds the verify target trusts; an RSA key gives a second, unknown signer.
openssl req -new -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -days 36500 \
  -subj "/CN=ksign fuzz seed signer" -addext subjectKeyIdentifier=hash -keyout ec.pem -out ec.crt 2>/dev/null
openssl req -new -x509 -nodes -newkey rsa:2048 -sha256 -days 36500 \
  -subj "/CN=ksign fuzz unknown signer" -addext subjectKeyIdentifier=hash -keyout rsa.pem -out rsa.crt 2>/dev/null
cp plain.ko signed.ko && "$sign_file" sha256 ec.pem ec.crt signed.ko
cp plain.ko signed-keyid.ko && "$sign_file" -k sha512 ec.pem ec.crt signed-keyid.ko
cp plain.ko signed-rsa.ko && "$sign_file" sha512 rsa.pem rsa.crt signed-rsa.ko
cp signed.ko signed-twice.ko && "$sign_file" sha256 ec.pem ec.crt signed-twice.ko
# The CMS blob of a signed module: between the signed bytes and the 40-byte trailer.
cms_of() {
  local size sig_len
  size=$(stat -c %s "$1")
  sig_len=$(tail -c 40 "$1" | head -c 12 | tail -c 4 | od -An -tu1 | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  head -c $((size - 40)) "$1" | tail -c "$sig_len"
}
gzip -9n -c signed.ko > signed.ko.gz
xz --check=crc32 --lzma2=dict=1MiB -c signed.ko > signed.ko.xz
zstd -q -19 -c signed.ko > signed.ko.zst
printf 'CONFIG_MODULE_SIG=y\n' > text
gzip -n -c text > text.gz
xz --check=crc32 --lzma2=dict=1MiB -c text > text.xz
zstd -q -c text > text.zst

corpus=$here/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{modsig,cms,verify,gzip,xz,zstd,kconfig,elf}
cp plain.ko signed.ko signed-keyid.ko signed-twice.ko "$corpus/modsig/"
cms_of signed.ko > "$corpus/cms/ec-issuer-serial.p7s"
cms_of signed-keyid.ko > "$corpus/cms/ec-key-id.p7s"
cms_of signed-rsa.ko > "$corpus/cms/rsa-sha512.p7s"
cp plain.ko signed.ko signed-keyid.ko signed-rsa.ko signed.ko.gz signed.ko.xz signed.ko.zst "$corpus/verify/"
for codec in gz:gzip xz:xz zst:zstd; do
  cp "signed.ko.${codec%%:*}" "text.${codec%%:*}" "$corpus/${codec#*:}/"
done
cp plain.ko signed.ko "$corpus/elf/"
# kconfig input: the key-store path on the first line, then the config.
{ echo 'certs/ksign/current/cert.pem'; grep -v '^#.*SPDX\|^# Test data\|^# settings of' "$root/tests/data/sample/demo.config"; } \
  > "$corpus/kconfig/demo.config"
{ echo '/etc/kernel "sign" \keys'; sed -n '890,925p;10085,10100p' "$root/tests/data/arch-config"; } \
  > "$corpus/kconfig/arch-excerpt.config"
printf '\n# CONFIG_SYSTEM_TRUSTED_KEYS is not set\nCONFIG_MODULES=y' > "$corpus/kconfig/not-set-no-newline.config"
cp ec.crt "$here/seed-signer.crt"
du -sh "$corpus"
