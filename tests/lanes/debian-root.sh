#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run ksign's whole test suite inside a Debian root of another suite (the toolchains our users
# run: gcc 16, OpenSSL 3.6 or 4.0, kernel 7.x headers, DKMS 3.2).
#
#   tests/lanes/debian-root.sh LANE [meson test arguments...]
#
# LANE is `sid` (the whole suite, kernel suite on shared/testbed-7) or `openssl4` (sid with
# experimental's OpenSSL 4.0 and fmt: unit and cli suites). The root is made once with
# mmdebstrap under $KSIGN_LANE_CACHE (default /var/cache/ksign-lanes) and reused while its
# package list is unchanged. Builds in LANE's own build directory (build-LANE) with
# -Dwerror=true. The test log stays at build-LANE/meson-logs/testlog.json for the caller to count.
# Exit: meson's status; 3 when the lane cannot be set up (the reason is printed).
set -uo pipefail

lane=${1:?usage: debian-root.sh sid|openssl4 [meson test arguments]}
shift
source_root=$(cd "$(dirname "$0")/../.." && pwd)
shared=$(cd "$source_root/.." && pwd)/shared
cache=${KSIGN_LANE_CACHE:-/var/cache/ksign-lanes}
root=$cache/$lane
# The Debian mirror this machine's own apt uses (the first active debian/ URI of its sources,
# one-line or deb822), unless KSIGN_DEBIAN_MIRROR names one.
system_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    sed -nE -e 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z]+:[^[:space:]]*\/debian)\/?[[:space:]].*/\2/p' \
      -e 's/^[[:space:]]*URIs:[[:space:]]*([a-z]+:[^[:space:]]*\/debian)\/?([[:space:]].*)?$/\1/p' "$file"
  done | head -n 1
}
mirror=${KSIGN_DEBIAN_MIRROR:-$(system_mirror)}

setup_failed() { echo "lane $lane: cannot set up: $*" >&2; exit 3; }

# What the build and the tests need, as in .ci/run, plus what only this lane tests.
packages=(
  meson ninja-build pkg-config g++ make libssl-dev libzstd-dev liblzma-dev zlib1g-dev
  libcxxopts-dev libfmt-dev catch2 scdoc
  linux-headers-amd64 kmod openssl gzip xz-utils zstd python3 file
  dkms fakeroot qemu-system-x86 busybox-static cpio zsh fish bash-completion
  softhsm2 pkcs11-provider opensc
  python3-zstandard rsync makepkg pacman-package-manager libarchive-tools
  mount # no longer essential in sid; cli-full-disk mounts tmpfs
)
suites=(unit cli module kernel shell)
experimental=()
case $lane in
  sid) ;;
  openssl4)
    packages=(meson ninja-build pkg-config g++ make libssl-dev libzstd-dev liblzma-dev zlib1g-dev
              libcxxopts-dev libfmt-dev catch2 scdoc openssl gzip xz-utils zstd python3 file kmod)
    experimental=(libssl-dev openssl libfmt-dev)
    suites=(unit cli) ;;
  *) setup_failed "unknown lane (sid or openssl4)" ;;
esac

[ -n "$mirror" ] || setup_failed "no Debian mirror in /etc/apt/sources.list{,.d}: set KSIGN_DEBIAN_MIRROR"
for tool in mmdebstrap unshare chroot; do
  command -v "$tool" >/dev/null || setup_failed "$tool is missing (apt-get install mmdebstrap util-linux)"
done
[ "$(id -u)" -eq 0 ] || setup_failed "needs root (mmdebstrap, chroot and bind mounts)"

# sid's and experimental's Release files here may be past their Valid-Until date.
apt_options=(-o 'Acquire::Check-Valid-Until=false' -o 'APT::Install-Recommends=false')
stamp="packages: ${packages[*]} | experimental: ${experimental[*]}"

in_root() {
  # A private mount namespace: the bind mounts vanish with the process, even when it is killed.
  unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 source_root=$2 shared=$3; shift 3
    # The root a mount point of its own: otherwise `unshare -m` inside cannot make / private
    # (EINVAL) and the tests that mount a tmpfs in a namespace of their own skip.
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"       # /dev/pts: zsh completion tests need a terminal
    mount -t tmpfs tmpfs "$root/tmp"
    mkdir -p "$root/work/ksign" "$root/work/shared"
    mount --bind "$source_root" "$root/work/ksign"
    [ -d "$shared" ] && mount --bind "$shared" "$root/work/shared"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" "$@"
  ' in_root "$root" "$source_root" "$shared" "$@"
}

make_root() {
  local fresh=$root.new.$$
  rm -rf "$fresh"
  mkdir -p "$cache"
  local sources=("deb $mirror sid main")
  [ ${#experimental[@]} -gt 0 ] && sources+=("deb $mirror experimental main")
  echo "lane $lane: making a Debian sid root in $root (about 3 minutes)"
  mmdebstrap --variant=apt --quiet --aptopt='Acquire::Check-Valid-Until "false"' \
    --aptopt='APT::Install-Recommends "false"' --include="$(IFS=,; echo "${packages[*]}")" \
    sid "$fresh" "${sources[@]}" >"$cache/$lane.log" 2>&1 \
    || { rm -rf "$fresh"; setup_failed "mmdebstrap failed (log: $cache/$lane.log): $(tail -n 3 "$cache/$lane.log")"; }
  if [ ${#experimental[@]} -gt 0 ]; then
    # mmdebstrap leaves no package lists behind: read them again, then take experimental's.
    { chroot "$fresh" apt-get "${apt_options[@]}" -qq update &&
      chroot "$fresh" apt-get "${apt_options[@]}" -y -qq -t experimental install "${experimental[@]}"; } \
      >>"$cache/$lane.log" 2>&1 \
      || { rm -rf "$fresh"; setup_failed "installing ${experimental[*]} from experimental failed (log: $cache/$lane.log)"; }
  fi
  echo "$stamp" >"$fresh/etc/ksign-lane"
  rm -rf "$root"
  mv "$fresh" "$root"
}

if [ ! -f "$root/etc/ksign-lane" ] || [ "$(cat "$root/etc/ksign-lane")" != "$stamp" ]; then
  make_root
else
  echo "lane $lane: reusing the Debian root in $root"
fi
rm -rf "$cache/$lane".new.*

versions=$(chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' g++ libssl-dev libfmt-dev catch2 dkms \
  linux-headers-amd64 2>/dev/null | tr '\n' ';')
echo "lane $lane: $versions"

build=build-$lane
test_args=("$@")
if [ ${#test_args[@]} -eq 0 ]; then
  for suite in "${suites[@]}"; do test_args+=(--suite "$suite"); done
fi
testbed=
[ "$lane" = sid ] && [ -d "$shared/testbed-7" ] && testbed=/work/shared/testbed-7
in_root bash -c '
  set -e
  cd /work/ksign
  build=$1 testbed=$2; shift 2
  if [ -d "$build" ]; then
    meson setup --reconfigure "$build" -Dwerror=true --wrap-mode=nodownload >/dev/null
  else
    meson setup "$build" -Dwerror=true --wrap-mode=nodownload >/dev/null
  fi
  meson compile -C "$build" >/dev/null || meson compile -C "$build"
  [ -n "$testbed" ] && export KSIGN_TESTBED=$testbed
  exec meson test -C "$build" --print-errorlogs "$@"
' lane "$build" "$testbed" "${test_args[@]}"
