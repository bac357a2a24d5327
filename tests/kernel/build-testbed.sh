#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build a testbed for the kernel suite from a distro kernel source package: a small x86-64
# kernel with MODULE_SIG_FORCE that boots under qemu, its trusted and untrusted test keys, and
# a tree to build out-of-tree modules against. The result is laid out like shared/testbed:
#   vmlinux System.map config keys/ bin/insert-sys-cert build/ hello/
# Then: KSIGN_TESTBED=OUTDIR meson test -C <builddir> --suite kernel
#
# usage: build-testbed.sh [--config-only] [-j N] OUTDIR [linux-source tarball]
# On Debian 12: apt-get install linux-source-6.12 build-essential bc bison flex libelf-dev
# libssl-dev openssl xz-utils zstd. Takes about 7 minutes on 2 cores.
set -euo pipefail

usage() {
  echo "usage: $0 [--config-only] [-j N] OUTDIR [linux-source-*.tar.xz]" >&2
  exit 2
}

config_only=no
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
  --config-only) config_only=yes; shift ;;
  -j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) break ;;
  esac
done
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
out=$1
source=${2:-}
if [ -z "$source" ]; then
  source=$(printf '%s\n' /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)
  [ -f "$source" ] || { echo "no /usr/src/linux-source-*.tar.xz: apt-get install linux-source-6.12" >&2; exit 1; }
fi
for tool in make gcc bc bison flex openssl tar xz zstd; do
  command -v "$tool" >/dev/null || { echo "'$tool' is missing" >&2; exit 1; }
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "'$out' exists and is not empty" >&2
  exit 1
fi
mkdir -p "$out"
out=$(realpath "$out")

work=$(mktemp -d "${TMPDIR:-/tmp}/ksign-testbed.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "extracting $source"
tar -xf "$source" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$src/Makefile" ] || { echo "'$source' holds no kernel tree" >&2; exit 1; }

# Test keys, made the way the kernel's certs/Makefile makes its own: key usage digitalSignature,
# a subjectKeyIdentifier (for sign-file -k style signatures). The private keys stay test keys.
make_key() {
  local name=$1 subject=$2; shift 2
  openssl req -new -nodes -utf8 -sha512 -days 36500 -batch -x509 -subj "/CN=$subject" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=digitalSignature" \
    -addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=keyid" \
    "$@" -keyout "$out/keys/$name.pem" -out "$out/keys/$name.crt" 2>/dev/null
  openssl x509 -in "$out/keys/$name.crt" -outform DER -out "$out/keys/$name.der"
}
mkdir -p "$out/keys"
make_key trusted-rsa "testbed trusted RSA-4096" -newkey rsa:4096
make_key trusted-ec "testbed trusted EC P-384" -newkey ec -pkeyopt ec_paramgen_curve:secp384r1
make_key untrusted-ec "testbed untrusted EC P-384" -newkey ec -pkeyopt ec_paramgen_curve:secp384r1
cat "$out/keys/trusted-rsa.crt" "$out/keys/trusted-ec.crt" >"$out/keys/trusted-bundle.pem"
cp "$out/keys/trusted-bundle.pem" "$src/certs/testbed-trusted-bundle.pem"

# tinyconfig plus what signature enforcement, a qemu PVH boot and a busybox userland need.
options=(
  64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD BINFMT_ELF BINFMT_SCRIPT
  DEVTMPFS DEVTMPFS_MOUNT PROC_FS SYSFS MODULES MODULE_UNLOAD MODULE_SIG MODULE_SIG_FORCE
  MODULE_SIG_SHA512 MODULE_SIG_KEY_TYPE_ECDSA SYSTEM_TRUSTED_KEYRING SYSTEM_EXTRA_CERTIFICATE
  HYPERVISOR_GUEST PVH MODULE_COMPRESS MODULE_COMPRESS_ZSTD MODULE_DECOMPRESS ZSTD_DECOMPRESS
  X509_CERTIFICATE_PARSER PKCS7_MESSAGE_PARSER CRYPTO_RSA CRYPTO_ECDSA CRYPTO_SHA256 CRYPTO_SHA512
  CRYPTO_SHA3
  ACPI PCI PRINTK_TIME EARLY_PRINTK RD_GZIP TMPFS MULTIUSER FUTEX EPOLL SIGNALFD TIMERFD EVENTFD
  SHMEM FILE_LOCKING POSIX_TIMERS
)
cd "$src"
make -s tinyconfig
enable=()
for option in "${options[@]}"; do
  enable+=(--enable "$option")
done
scripts/config "${enable[@]}" \
  --disable MODULE_SIG_ALL --disable MODULE_COMPRESS_ALL --disable LOCALVERSION_AUTO --set-str LOCALVERSION "" \
  --set-str MODULE_SIG_KEY certs/signing_key.pem \
  --set-str SYSTEM_TRUSTED_KEYS certs/testbed-trusted-bundle.pem \
  --set-val SYSTEM_EXTRA_CERTIFICATE_SIZE 4096
# Twice: options whose dependencies were only switched on in the first pass stick in the second.
make -s olddefconfig
scripts/config "${enable[@]}"
make -s olddefconfig
# Kconfig silently drops what it cannot satisfy: check that everything asked for is there.
missing=()
for option in "${options[@]}"; do
  grep -qx "CONFIG_$option=y" .config || missing+=("$option")
done
grep -qx 'CONFIG_SYSTEM_TRUSTED_KEYS="certs/testbed-trusted-bundle.pem"' .config || missing+=(SYSTEM_TRUSTED_KEYS)
if [ ${#missing[@]} -gt 0 ]; then
  echo "the kernel configuration lacks: ${missing[*]}" >&2
  exit 1
fi
cp .config "$out/config"
if [ "$config_only" = yes ]; then
  echo "configuration written to $out/config (--config-only: not building)"
  exit 0
fi

# modules gives Module.symvers (out-of-tree modpost needs it); scripts gives insert-sys-cert.
echo "building the kernel with $jobs jobs"
make -s -j"$jobs" bzImage vmlinux modules modules_prepare scripts
cp vmlinux System.map "$out/"
mkdir -p "$out/bin"
cp scripts/insert-sys-cert "$out/bin/"

# A tree to build modules against: headers, configuration, symbol versions, and the kbuild
# scripts with their host tools (fixdep, modpost, module.lds, sign-file, objtool) built.
mkdir -p "$out/build"
tar -cf - --exclude='*.o' --exclude='.*.cmd' --exclude='*.a' \
  Makefile .config Module.symvers include arch/x86/Makefile arch/x86/Makefile_32.cpu arch/x86/include \
  scripts tools/objtool/objtool | tar -xf - -C "$out/build"

mkdir -p "$out/hello"
cat >"$out/hello/hello.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
// Smallest useful module: says when it comes and goes.
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_start(void) { pr_info("hello: in\n"); return 0; }
static void __exit hello_stop(void) { pr_info("hello: out\n"); }
module_init(hello_start);
module_exit(hello_stop);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("module-signature testbed module");
EOF
echo "obj-m := hello.o" >"$out/hello/Makefile"

echo "testbed ready in $out: KSIGN_TESTBED=$out meson test -C <builddir> --suite kernel"
