#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The field lane: an Arch user's whole journey with the real tools, run from CI (.ci/run) or by
# hand (as root, on Debian 12 with makepkg, pacman, DKMS, qemu and linux-source-6.12):
#
#   tests/lanes/field.sh
#
#  1. ksign is built in build-field (--prefix=/usr --sysconfdir=/etc) and installed into a
#     staging tree, whose ksign is on PATH for makepkg.
#  2. makepkg, as a normal user, builds tests/field/linux-field/PKGBUILD (README's ksign lines
#     verbatim, the key store next to the PKGBUILD, pinned sha256sums): twice, then
#     --cleanbuild, then the `install --public --register` variant; the packages' contents are
#     checked. Each run starts with a new store, so the kept kernel tree redoes certs/ and the
#     link (and nothing else) once per run.
#  3. pacman -U --root installs them into a Debian test root with DKMS, Arch's DKMS hook (a
#     stand-in in tests/field/hooks) and ksign's own hook: the hook reports for the kernel and
#     for a *-dkms package, and prints what the kernel would refuse.
#  4. DKMS builds hello-dkms for five kernels: the makepkg'd one, one with a second ksign key,
#     and three whose key stores the real kernel-sign 4.4.0 made (its own layout, the 3-file
#     layout users copy around, and the 1.x layout); each module must carry its kernel's key.
#  5. qemu boots the makepkg'd kernel, which trusts its key through CONFIG_SYSTEM_TRUSTED_KEYS
#     (compiled by the kernel's own build), with module.sig_enforce=1: its DKMS module loads, the
#     one signed with the second kernel's key is refused, and `ksign verify` agrees.
#
# Everything heavy is kept in $KSIGN_LANE_CACHE/field (default /var/cache/ksign-lanes/field):
# the extracted kernel source, the kernel's build tree (make O=..., so a new key only rebuilds
# certs/ and relinks) and the Debian test root (reused while its package list is unchanged).
# One result per journey step goes to build-field/field-run/results.json (meson's test-log
# form, counted by .ci/run); the lane ends with the journey table. Exit: 0 when no step failed,
# 1 when one did, 3 when the lane cannot be set up.
set -uo pipefail

source_root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSIGN_LANE_CACHE:-/var/cache/ksign-lanes}/field
build=$source_root/build-field
run_dir=$build/field-run
results=$run_dir/results.json
user=${KSIGN_FIELD_USER:-ksignbuild}
stage=$cache/stage
work=$cache/run
root=$work/root
python=/usr/bin/python3 # Debian's, with python3-zstandard (kernel-sign imports it)
srcname=linux-source-6.12
tarball=/usr/src/$srcname.tar.xz
kernel_sign=${KSIGN_SHARED:-$(cd "$source_root/.." && pwd)/shared}/kernel-sign-4.4.0/certs-local
lane_start=$SECONDS

setup_failed() { echo "field lane: cannot set up: $*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || setup_failed "needs root (useradd, mmdebstrap, chroot, pacman --root)"
for tool in makepkg pacman bsdtar mmdebstrap dkms qemu-system-x86_64 cpio runuser unshare meson make gcc rsync; do
  command -v "$tool" >/dev/null || setup_failed "$tool is missing (see .ci/run's package list)"
done
[ -f "$tarball" ] || setup_failed "$tarball is missing (apt-get install linux-source-6.12)"
[ -x /bin/busybox ] || setup_failed "/bin/busybox is missing (apt-get install busybox-static)"
[ -d "$kernel_sign" ] || setup_failed "kernel-sign 4.4.0 is not at $kernel_sign"
"$python" -c 'import zstandard' 2>/dev/null || setup_failed "python3-zstandard is missing (kernel-sign needs it)"

id -u "$user" >/dev/null 2>&1 \
  || useradd --system --home-dir "$cache/home" --shell /usr/sbin/nologin "$user" \
  || setup_failed "cannot create the build user $user"
# The cache and the run directory belong to root (ksign refuses to write a key store of root's
# below another user's directory); the build user owns only what makepkg and the kernel write.
mkdir -p "$cache" /var/lib/pacman # makepkg asks the host's (empty) pacman database for .BUILDINFO
chown root: "$cache"
rm -rf "$work" "$run_dir"
mkdir -p "$cache/home" "$cache/makepkg" "$cache/kbuild" "$work/srcdest" "$run_dir"
chown "$user:" "$cache/home" "$cache/makepkg" "$cache/kbuild" "$work/srcdest"
: >"$results"

# ---- the journey's bookkeeping: one result and one table row per step ----
table=()
failed=0
declare -A outcome=()
# step NAME 'COMMAND AS A USER WOULD TYPE IT' FUNCTION [STEP THAT MUST HAVE PASSED]...
# FUNCTION sets `what` (what happened, one line) and returns 0 (passed), 1 (failed) or 77
# (skipped); its output goes to $run_dir/NAME.log, whose tail is shown when it fails.
step() {
  local name=$1 command=$2 function=$3 result status needed started=$SECONDS
  shift 3
  what=
  for needed in "$@"; do
    if [ "${outcome[$needed]:-}" != OK ]; then
      what="not run: step $needed did not pass"
      status=77
      break
    fi
  done
  if [ -z "$what" ]; then
    echo "== field: $name: $command"
    "$function" >"$run_dir/$name.log" 2>&1
    status=$?
  fi
  case $status in
  0) result=OK ;;
  77) result=SKIP ;;
  *) result=FAIL; failed=1 ;;
  esac
  [ -n "$what" ] || what="(no description: see $run_dir/$name.log)"
  outcome[$name]=$result
  printf '{"name": "field/%s", "result": "%s", "duration": %d}\n' "$name" "$result" "$((SECONDS - started))" >>"$results"
  table+=("$name|$result|$command|$what ($((SECONDS - started)) s)")
  echo "   $result: $what"
  if [ "$result" = FAIL ]; then
    echo "   --- last lines of $run_dir/$name.log:"
    tail -n 25 "$run_dir/$name.log" | sed 's/^/   | /'
  fi
}

# as_user COMMAND...: run as the build user, with the staged ksign first on PATH.
as_user() {
  runuser -u "$user" -- env -i PATH="$stage/usr/bin:/usr/local/bin:/usr/bin:/bin" HOME="$cache/home" \
    LANG=C.UTF-8 KSIGN_FIELD_CACHE="$cache" BUILDDIR="$cache/makepkg" SRCDEST="$work/srcdest" \
    PKGEXT=.pkg.tar.zst "$@"
}

# makepkg_kernel PKGDEST-NAME [makepkg options]...: build linux-field from $work/linux-field.
makepkg_kernel() {
  local dest=$work/$1
  shift
  mkdir -p "$dest"
  chown "$user:" "$dest"
  (cd "$work/linux-field" && as_user PKGDEST="$dest" ${KSIGN_FIELD_PUBLIC:+KSIGN_FIELD_PUBLIC=1} \
    makepkg --noconfirm "$@")
}

store=$work/linux-field/certs-local # next to the PKGBUILD, as README's lines have it
kbuild=$cache/kbuild
# The current key's certificate in the makepkg key store, as a fingerprint.
store_key() { sha256sum <"$store/current/signing_crt.crt" | cut -c1-16; }
package() { printf '%s\n' "$work/$1"/"$2"-[0-9]*.pkg.tar.zst; }

# ---- the steps ----
build_ksign() {
  cd "$source_root" || return 1
  local options=(--prefix=/usr --sysconfdir=/etc -Dwerror=true -Dtests=false --wrap-mode=nodownload)
  if [ -d "$build/meson-private" ]; then
    meson setup --reconfigure "$build" "${options[@]}"
  else
    meson setup "$build" "${options[@]}"
  fi || { what="meson setup failed"; return 1; }
  meson compile -C "$build" || { what="the build failed"; return 1; }
  rm -rf "$stage"
  meson install -C "$build" --no-rebuild --destdir "$stage" || { what="meson install failed"; return 1; }
  chmod 755 "$stage"
  what="built and installed into $stage: $("$stage/usr/bin/ksign" --version 2>&1 | head -n 1)"
}

kernel_source() {
  local version stamp=$cache/$srcname.version
  version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
  if [ -f "$cache/$srcname/Makefile" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    what="reusing the extracted linux-source-6.12 $version and the build tree"
    return 0
  fi
  # A new source: the old build tree and makepkg's copy of the tree are stale too.
  rm -rf "${cache:?}/$srcname" "$cache/extract" "$kbuild" "$cache/makepkg" "$stamp"
  mkdir -p "$cache/extract" "$kbuild" "$cache/makepkg"
  chown "$user:" "$cache/extract" "$kbuild" "$cache/makepkg"
  as_user tar -xf "$tarball" -C "$cache/extract" || { what="cannot extract $tarball"; return 1; }
  mv "$cache/extract/$srcname" "$cache/$srcname" && rmdir "$cache/extract" || { what="cannot move the source into place"; return 1; }
  echo "$version" >"$stamp"
  what="extracted linux-source-6.12 $version (the kernel builds from scratch once)"
}

# A fingerprint of the kernel objects that do not depend on the key, and of those that do.
objects_stamp() { stat -c %Y "$kbuild/kernel/fork.o" 2>/dev/null; }
certs_stamp() { stat -c %Y "$kbuild/certs/system_certificates.o" 2>/dev/null; }

makepkg_first() {
  rm -rf "$work/linux-field"
  cp -r "$source_root/tests/field/linux-field" "$work/linux-field"
  chown -R "$user:" "$work/linux-field"
  local objects_before certs_before
  objects_before=$(objects_stamp) certs_before=$(certs_stamp)
  makepkg_kernel pkg-first -f || { what="makepkg failed"; return 1; }
  [ -f "$(package pkg-first linux-field-headers)" ] || { what="no headers package"; return 1; }
  first_key=$(store_key)
  release=$(cat "$kbuild/include/config/kernel.release")
  if [ -z "$objects_before" ]; then
    what="built $release from scratch; key $first_key in \$startdir/certs-local"
    return 0
  fi
  # The kept build tree and a new key (each run's PKGBUILD directory starts without a store):
  # only certs/ and the link are redone.
  [ "$(objects_stamp)" = "$objects_before" ] || { what="the kernel was rebuilt beyond certs/ (kernel/fork.o is new)"; return 1; }
  [ "$(certs_stamp)" != "$certs_before" ] || { what="certs/ was not rebuilt for the new key"; return 1; }
  what="built $release with a new key $first_key in \$startdir/certs-local: only certs/ and the link were redone"
}

makepkg_again() {
  local log=$run_dir/makepkg-again.makepkg
  makepkg_kernel pkg-again -f 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  if ! grep -q 'config\.x86_64 \.\.\. Passed' "$log"; then
    what="config no longer matches its pinned sha256sum: ksign wrote through makepkg's link to the PKGBUILD's own file"
    return 1
  fi
  [ "$status" -eq 0 ] || { what="makepkg failed"; return 1; }
  [ "$(store_key)" = "$first_key" ] || { what="a new key ($(store_key)), though the key is younger than 30d"; return 1; }
  what="sha256 check passed, same key $first_key (--refresh 30d)"
}

# The PKGBUILD's config as committed: when ksign wrote through makepkg's link (makepkg-again
# fails on it), the later builds start from the committed file again, and say so.
restore_config() {
  local config=tests/field/linux-field/config.x86_64
  cmp -s "$source_root/$config" "$work/linux-field/config.x86_64" && return 0
  cp "$source_root/$config" "$work/linux-field/config.x86_64"
  restored=" (config restored: the previous build had changed the PKGBUILD's own file)"
}

makepkg_clean() {
  local objects_before certs_before restored=
  restore_config
  objects_before=$(objects_stamp) certs_before=$(certs_stamp)
  touch "$cache/makepkg/linux-field/src/$srcname/field-marker"
  makepkg_kernel pkg-clean -f --cleanbuild || { what="makepkg --cleanbuild failed"; return 1; }
  [ ! -e "$cache/makepkg/linux-field/src/$srcname/field-marker" ] || { what="\$srcdir was not emptied"; return 1; }
  clean_key=$(store_key)
  # README: the store next to the PKGBUILD keeps the key through a clean build.
  [ "$clean_key" = "$first_key" ] || { what="a new key $clean_key after --cleanbuild, though the store is next to the PKGBUILD"; return 1; }
  [ "$(objects_stamp)" = "$objects_before" ] && [ "$(certs_stamp)" = "$certs_before" ] \
    || { what="the kernel was rebuilt, though neither the source nor the key changed"; return 1; }
  what="\$srcdir emptied, same key $clean_key, nothing recompiled$restored"
}

headers_contents() {
  local headers kernel listing config
  headers=$(package pkg-clean linux-field-headers)
  kernel=$(package pkg-clean linux-field)
  listing=$(bsdtar -tvf "$headers") || { what="bsdtar cannot list $headers"; return 1; }
  echo "$listing" | grep certs-local
  grep -qx "usr/lib/modules/$release/vmlinuz" <<<"$(bsdtar -tf "$kernel")" || { what="no vmlinuz in the kernel package"; return 1; }
  grep -q " usr/lib/modules/$release/build/vmlinux$" <<<"$listing" || { what="no build/vmlinux in the headers"; return 1; }
  grep -Eq "^-rw------- .* usr/lib/modules/$release/build/certs-local/[^/]+/signing_prv\.pem$" <<<"$listing" \
    || { what="no certs-local/*/signing_prv.pem with mode 0600 in the headers"; return 1; }
  config=$(bsdtar -xOf "$headers" "usr/lib/modules/$release/build/.config") || { what="no .config in the headers"; return 1; }
  grep -q "^CONFIG_SYSTEM_TRUSTED_KEYS=\"$store/.*signing_crt.pem\"" <<<"$config" \
    || { what="the headers' .config does not name the key store's certificate: $(echo "$config" | grep SYSTEM_TRUSTED_KEYS)"; return 1; }
  what="private key 0600 in build/certs-local, vmlinux and .config ($(echo "$config" | grep SYSTEM_TRUSTED_KEYS))"
}

makepkg_public() {
  local restored=
  restore_config
  KSIGN_FIELD_PUBLIC=1 makepkg_kernel pkg-public -f || { what="makepkg failed"; return 1; }
  local listing headers link
  headers=$(package pkg-public linux-field-headers)
  listing=$(bsdtar -tvf "$headers") || { what="bsdtar cannot list $headers"; return 1; }
  echo "$listing" | grep -E 'certs-local|keys\.d'
  if grep -Eq 'signing_prv|signing_key\.pem' <<<"$listing"; then
    what="a private key is in the --public headers package"
    return 1
  fi
  grep -q "build/certs-local/.*signing_crt" <<<"$listing" || { what="no certificate in the headers"; return 1; }
  link=$(echo "$listing" | grep -E '^l.* etc/ksign/keys\.d/[^/]+ -> ' | head -n 1)
  [ -n "$link" ] || { what="no etc/ksign/keys.d/<key id> link in the package"; return 1; }
  public_link_target=${link##* -> }
  case $public_link_target in
  "$store"/*) ;;
  *) what="keys.d link points to $public_link_target, not into the key store $store"; return 1 ;;
  esac
  [ "$(store_key)" = "$clean_key" ] || { what="the key changed"; return 1; }
  what="no private key; certificate, and keys.d link -> ${public_link_target#"$cache"/}$restored"
}

makepkg_hello() {
  rm -rf "$work/hello-dkms"
  cp -r "$source_root/tests/field/hello-dkms" "$work/hello-dkms"
  chown -R "$user:" "$work/hello-dkms"
  mkdir -p "$work/pkg-dkms"
  chown "$user:" "$work/pkg-dkms"
  (cd "$work/hello-dkms" && as_user PKGDEST="$work/pkg-dkms" makepkg --noconfirm -f) || { what="makepkg failed"; return 1; }
  grep -qx 'usr/src/hello-1.0/dkms.conf' <<<"$(bsdtar -tf "$(package pkg-dkms hello-dkms)")" || { what="no usr/src/hello-1.0/dkms.conf"; return 1; }
  what="hello-dkms with usr/src/hello-1.0/dkms.conf"
}

# The Debian root the packages are installed into: pacman's hooks run chrooted into it, so it
# holds DKMS and the compiler. Made once, copied for each run.
root_packages=(dkms kmod make gcc libc6-dev libelf1 openssl zstd xz-utils libssl3 libzstd1 liblzma5 zlib1g)
test_root() {
  local base=$cache/root stamp="packages: ${root_packages[*]}"
  if [ ! -f "$base/etc/ksign-lane" ] || [ "$(cat "$base/etc/ksign-lane")" != "$stamp" ]; then
    rm -rf "$base" "$base.new"
    mmdebstrap --variant=apt --quiet --aptopt='APT::Install-Recommends "false"' \
      --include="$(IFS=,; echo "${root_packages[*]}")" bookworm "$base.new" http://deb.debian.org/debian \
      || { what="mmdebstrap failed"; return 1; }
    echo "$stamp" >"$base.new/etc/ksign-lane"
    mv "$base.new" "$base"
    what="made a Debian 12 root with mmdebstrap;"
  else
    what="reused the Debian 12 root;"
  fi
  cp -a "$base" "$root" || { what="cannot copy the root"; return 1; }
  cp -a "$stage/." "$root/" || { what="cannot install ksign into the root"; return 1; }
  install -Dm644 -t "$root/etc/pacman.d/hooks" "$source_root"/tests/field/hooks/*.hook
  install -Dm755 "$source_root/tests/field/hooks/dkms-alpm" "$root/usr/share/libalpm/scripts/dkms-alpm"
  mkdir -p "$root/var/lib/pacman" "$root/var/cache/pacman/pkg" "$root/var/log"
  cat >"$root/etc/pacman.conf" <<'EOF'
[options]
Architecture = x86_64
SigLevel = Never
LocalFileSigLevel = Never
EOF
  [ -f "$root/usr/share/libalpm/hooks/90-ksign-verify.hook" ] || { what="meson did not install ksign's pacman hook"; return 1; }
  what="$what ksign, its DKMS drop-in and pacman hook, and the DKMS hook installed"
}

# in_root [--bind DIR]... COMMAND...: run COMMAND on the host in a private mount namespace in
# which the test root has /proc, /sys and /dev (DKMS and the kernel's make want them) and each
# DIR is visible inside the root at its own path.
in_root() {
  local binds=()
  while [ "${1:-}" = --bind ]; do binds+=("$2"); shift 2; done
  unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 count=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    for ((i = 0; i < count; i++)); do
      mkdir -p "$root$1"
      mount --bind "$1" "$root$1"
      shift
    done
    exec "$@"
  ' in_root "$root" "${#binds[@]}" "${binds[@]}" "$@"
}

# pacman_install LOG [--bind DIR]... PACKAGE...: pacman -U into the test root, output in LOG.
pacman_install() {
  local log=$1
  shift
  local binds=()
  while [ "${1:-}" = --bind ]; do binds+=("$1" "$2"); shift 2; done
  in_root "${binds[@]}" pacman -U --noconfirm --root "$root" --dbpath "$root/var/lib/pacman" \
    --hookdir "$root/etc/pacman.d/hooks" --config "$root/etc/pacman.conf" \
    --logfile "$root/var/log/pacman.log" --cachedir "$root/var/cache/pacman/pkg" "$@" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

pacman_kernel() {
  local log=$run_dir/pacman-kernel.pacman
  pacman_install "$log" "$(package pkg-clean linux-field)" "$(package pkg-clean linux-field-headers)" \
    || { what="pacman -U failed"; return 1; }
  grep -q "ksign: kernel $release: every module would load" "$log" \
    || { what="ksign's hook did not report for kernel $release"; return 1; }
  [ -f "$root/usr/lib/modules/$release/build/certs-local/current/signing_prv.pem" ] \
    || { what="the key is not in the installed headers"; return 1; }
  what="installed $release; ksign's hook: \"every module would load\""
}

# Four more kernels in the root, sharing the makepkg'd headers (hard links) but each with its
# own key store and an image that trusts that key (insert-sys-cert, as the testbed does).
other_kernels() {
  local base=$root/usr/lib/modules/$release/build name kind dir config
  for name in two ks4 ks3file ks1x; do
    dir=$root/usr/lib/modules/$release-$name/build
    rm -rf "${dir%/build}"
    mkdir -p "${dir%/build}"
    cp -al "$base" "$dir"
    rm -rf "$dir/certs-local" "$dir/vmlinux" "$dir/.config"
    cp "$base/vmlinux" "$base/.config" "$dir/"
    config=$work/config-$name
    cp "$base/.config" "$config"
    case $name in
    two)
      # A second ksign key, installed the way the PKGBUILD installs it.
      "$stage/usr/bin/ksign" keys -d "$work/store-two" --config "$config" >/dev/null || { what="ksign keys failed for $name"; return 1; }
      "$stage/usr/bin/ksign" install -d "$work/store-two" "$dir/certs-local" || { what="ksign install failed for $name"; return 1; }
      cp "$work/store-two/current/signing_crt.crt" "$work/cert-$name.der"
      ;;
    ks*)
      # kernel-sign 4.4.0 itself: genkeys.py makes the store, install-certs.py fills the headers.
      kind=$work/kernel-sign-$name
      rm -rf "$kind"
      cp -r "$kernel_sign" "$kind"
      chmod -R u+w "$kind"
      # Python 3.11 has no `type X = ...` statement (see shared/kernel-sign-4.4.0/README.md).
      sed -i 's/^type _Opt = /_Opt = /' "$kind/lib/_genkeys_base.py"
      (cd "$kind" && "$python" genkeys.py --config "$config" --refresh 30d) || { what="genkeys.py failed for $name"; return 1; }
      (cd "$kind" && "$python" install-certs.py "$dir/certs-local") || { what="install-certs.py failed for $name"; return 1; }
      [ -f "$dir/certs-local/current/signing_key.pem" ] || { what="install-certs.py left no current/signing_key.pem for $name"; return 1; }
      cp "$kind/current/signing_crt.crt" "$work/cert-$name.der"
      local keydir
      keydir=$(readlink -f "$dir/certs-local/current")
      case $name in
      ks3file) # what users copy around: signing_key.pem, signing_crt.crt and khash only
        rm -f "$keydir/signing_prv.pem" "$keydir/ktype" ;;
      ks1x) # kernel-sign 1.x (genkeys.sh): signing_prv.key, no khash
        mv "$keydir/signing_prv.pem" "$keydir/signing_prv.key"
        rm -f "$keydir/khash" "$keydir/ktype" ;;
      esac
      ls -l "$keydir"
      ;;
    esac
    "$base/scripts/insert-sys-cert" -b "$dir/vmlinux" -c "$work/cert-$name.der" -s "$base/System.map" \
      || { what="insert-sys-cert failed for $name"; return 1; }
  done
  cp "$root/usr/lib/modules/$release/build/certs-local/current/signing_crt.crt" "$work/cert-field.der"
  what="$release-two (second ksign key), -ks4, -ks3file, -ks1x (kernel-sign 4.4.0 stores)"
}

pacman_dkms() {
  local log=$run_dir/pacman-dkms.pacman
  pacman_install "$log" "$(package pkg-dkms hello-dkms)" || { what="pacman -U failed"; return 1; }
  local built=() missing=() kernel
  for kernel in "$release" "$release-two" "$release-ks4" "$release-ks3file" "$release-ks1x"; do
    if compgen -G "$root/usr/lib/modules/$kernel/updates/dkms/hello.ko*" >/dev/null; then
      built+=("$kernel")
    else
      missing+=("$kernel")
    fi
  done
  [ ${#missing[@]} -eq 0 ] || { what="DKMS built no hello for: ${missing[*]}"; return 1; }
  what="DKMS's hook built hello for ${#built[@]} kernels"
}

# ksign's hook must check the modules DKMS built in that transaction, as it does for a kernel.
hook_dkms() {
  local log=$run_dir/pacman-dkms.pacman
  # The hook's own verdict line (the DKMS drop-in's messages start with "ksign: kernel" too).
  grep -Eq "^ksign: kernel ${release//./\\.}(: every module would load| would refuse modules:)$" "$log" \
    || { what="ksign's hook did not run for the *-dkms package (its modules went unchecked)"; return 1; }
  what="ksign's hook: $(grep -E "^ksign: kernel ${release//./\\.}(: every| would)" "$log" | head -n 1)"
}

# A kernel's DKMS module must be signed with that kernel's own key: ksign verify against that
# certificate alone, and against the kernel itself (its image), inside the root.
check_module() {
  local kernel=$1 cert=$2 module json
  module=$(compgen -G "$root/usr/lib/modules/$kernel/updates/dkms/hello.ko*" | head -n 1)
  [ -n "$module" ] || { what="no hello module for $kernel"; return 1; }
  json=$("$stage/usr/bin/ksign" verify --json -c "$cert" "$module")
  echo "$json"
  json=$("$python" -c 'import json,sys; m=json.load(sys.stdin)["modules"][0]; print(m["status"], m.get("signer") or "", m.get("key_id") or "")' <<<"$json")
  "$stage/usr/bin/ksign" verify -c "$cert" "$module" \
    || { what="hello for $kernel is not signed with its kernel's key: $json"; return 1; }
  in_root chroot "$root" ksign verify --kernel "$kernel" "${module#"$root"}" \
    || { what="ksign verify --kernel $kernel refuses its hello"; return 1; }
  what="${module#"$root"}: $json"
}
dkms_field() { check_module "$release" "$work/cert-field.der"; }
dkms_two() { check_module "$release-two" "$work/cert-two.der"; }
dkms_ks4() { check_module "$release-ks4" "$work/cert-ks4.der"; }
dkms_ks3file() { check_module "$release-ks3file" "$work/cert-ks3file.der"; }
dkms_ks1x() { check_module "$release-ks1x" "$work/cert-ks1x.der"; }

# The guest's modules, kept before the headers change below: the makepkg'd kernel's own and
# the second kernel's.
keep_guest_modules() {
  mkdir -p "$work/guest"
  cp "$(compgen -G "$root/usr/lib/modules/$release/updates/dkms/hello.ko*" | head -n 1)" "$work/guest/own.ko" \
    && cp "$(compgen -G "$root/usr/lib/modules/$release-two/updates/dkms/hello.ko*" | head -n 1)" "$work/guest/other.ko"
}

public_refusal() {
  local log=$run_dir/public-refusal.pacman
  # Headers with the certificate only, on a machine without the builder's key store.
  pacman_install "$log" "$(package pkg-clean linux-field)" "$(package pkg-public linux-field-headers)" \
    || { what="pacman -U failed"; return 1; }
  grep -q "no private key" "$log" || { what="DKMS's ksign drop-in did not say that the key is missing"; return 1; }
  # Never signed with another key (DKMS's own MOK key): DKMS signs nothing and says so.
  grep -q "DKMS will NOT sign the modules it builds for kernel $release" "$log" \
    || { what="the drop-in did not say that DKMS will not sign"; return 1; }
  grep -q "modules won't be signed" "$log" || { what="DKMS did not skip signing"; return 1; }
  ! grep -q "generating self signed certificate" "$log" || { what="DKMS made a key of its own"; return 1; }
  grep -q "ksign: kernel $release would refuse modules" "$log" || { what="ksign's hook did not print a refusal"; return 1; }
  grep -q "hello.ko: unsigned" <<<"$(grep -A3 "ksign: kernel $release would refuse modules" "$log")" \
    || { what="ksign's hook did not name hello as unsigned"; return 1; }
  what="key store absent: DKMS signed nothing (no key of its own); ksign's hook: \"would refuse modules\", hello unsigned"
}

public_register() {
  local log=$run_dir/public-register.pacman
  # The same with the builder's store where the package's keys.d link points.
  pacman_install "$log" --bind "$store" "$(package pkg-clean linux-field)" "$(package pkg-public linux-field-headers)" \
    || { what="pacman -U failed"; return 1; }
  grep -q "ksign: kernel $release: every module would load" "$log" \
    || { what="ksign's hook does not report every module loading"; return 1; }
  check_module "$release" "$work/cert-field.der" || return 1
  what="signed through /etc/ksign/keys.d: $what"
}

qemu_boot() {
  local guest=$work/guest initramfs=$work/guest/initramfs vmlinux=$root/usr/lib/modules/$release/build/vmlinux
  cc -static -O2 -std=c11 -o "$guest/loader" "$source_root/tests/kernel/loader.c" || { what="cannot build the loader"; return 1; }
  rm -rf "$initramfs"
  mkdir -p "$initramfs"/{bin,dev,proc,sys,modules}
  mknod "$initramfs/dev/console" c 5 1
  install -m755 "$source_root/tests/kernel/init.sh" "$initramfs/init"
  install -m755 "$guest/loader" "$initramfs/loader"
  install -m755 /bin/busybox "$initramfs/bin/busybox"
  local name mode
  for name in own other; do
    mode=plain
    case $(head -c 4 "$guest/$name.ko" | od -An -tx1 | tr -d ' ') in 7f454c46) ;; *) mode=compressed ;; esac
    cp "$guest/$name.ko" "$initramfs/modules/$name.ko"
    echo "$name $name.ko $mode hello" >>"$initramfs/modules/list"
  done
  (cd "$initramfs" && find . | cpio -o -H newc -R 0:0 --quiet) >"$guest/initramfs.cpio"
  timeout 300 qemu-system-x86_64 -accel tcg -cpu max -m 256M -nographic -monitor none -no-reboot -net none \
    -kernel "$vmlinux" -initrd "$guest/initramfs.cpio" -append "console=ttyS0 module.sig_enforce=1 panic=-1" \
    </dev/null >"$guest/console.log" 2>&1
  grep -E 'KSIGN-GUEST|RESULT|UNLOAD|KMSG' "$guest/console.log"
  grep -q "KSIGN-GUEST-START $release sig_enforce=Y" "$guest/console.log" \
    || { what="the guest did not start $release with sig_enforce=Y"; return 1; }
  local own other
  own=$(grep -a '^RESULT own ' "$guest/console.log" | tr -d '\r')
  other=$(grep -a '^RESULT other ' "$guest/console.log" | tr -d '\r')
  [ "$own" = "RESULT own loaded errno=0 msg=none" ] || { what="its own DKMS module: '${own:-no result}'"; return 1; }
  [ "$other" = "RESULT other refused errno=129 msg=unavailable-key" ] \
    || { what="the module with the other kernel's key: '${other:-no result}', expected EKEYREJECTED, unavailable key"; return 1; }
  what="$release (key from CONFIG_SYSTEM_TRUSTED_KEYS), sig_enforce=Y: own module loaded, the other kernel's refused (EKEYREJECTED, unavailable key)"
}

verify_agrees() {
  local name status expected verdicts=()
  for name in own other; do
    expected=$([ "$name" = own ] && echo ok || echo unknown_key)
    status=$("$stage/usr/bin/ksign" verify --json --image "$root/usr/lib/modules/$release/build/vmlinux" "$work/guest/$name.ko" \
      | "$python" -c 'import json,sys; print(json.load(sys.stdin)["modules"][0]["status"])')
    [ "$status" = "$expected" ] || { what="ksign verify --image says '$status' for $name, expected $expected"; return 1; }
    cp "$work/guest/$name.ko" "$root/tmp/$name.ko"
    status=$(in_root chroot "$root" ksign verify --json --kernel "$release" "/tmp/$name.ko" \
      | "$python" -c 'import json,sys; print(json.load(sys.stdin)["modules"][0]["status"])')
    [ "$status" = "$expected" ] || { what="ksign verify --kernel says '$status' for $name, expected $expected"; return 1; }
    verdicts+=("$name: $status")
  done
  what="ksign verify --kernel and --image: ${verdicts[*]}"
}

# ---- the journey ----
step ksign-build "meson setup build-field --prefix=/usr --sysconfdir=/etc && meson install --destdir" build_ksign
step kernel-source "tar -xf $tarball (once)" kernel_source
step makepkg "makepkg -f (as $user)" makepkg_first ksign-build kernel-source
step makepkg-again "makepkg -f" makepkg_again makepkg
step makepkg-cleanbuild "makepkg -f --cleanbuild" makepkg_clean makepkg
step headers-package "bsdtar -tvf linux-field-headers-*.pkg.tar.zst" headers_contents makepkg-cleanbuild
step makepkg-public "makepkg -f with ksign install --public --register" makepkg_public makepkg-cleanbuild
step makepkg-hello-dkms "makepkg -f (hello-dkms)" makepkg_hello ksign-build
step test-root "mmdebstrap bookworm (once); meson install into it" test_root ksign-build
step pacman-kernel "pacman -U --root R linux-field linux-field-headers" pacman_kernel test-root makepkg-cleanbuild
step other-kernels "ksign keys/install; genkeys.py + install-certs.py; insert-sys-cert" other_kernels pacman-kernel
step pacman-dkms "pacman -U --root R hello-dkms" pacman_dkms other-kernels makepkg-hello-dkms
step hook-dkms "(the same transaction: ksign's hook)" hook_dkms pacman-dkms
step dkms-ksign "ksign verify -c <its key> / --kernel $release" dkms_field other-kernels
step dkms-ksign-two "ksign verify -c <its key> / --kernel -two" dkms_two other-kernels
step dkms-kernel-sign-4 "ksign verify -c <its key> / --kernel -ks4" dkms_ks4 other-kernels
step dkms-kernel-sign-3file "ksign verify -c <its key> / --kernel -ks3file" dkms_ks3file other-kernels
step dkms-kernel-sign-1x "ksign verify -c <its key> / --kernel -ks1x" dkms_ks1x other-kernels
keep_guest_modules 2>/dev/null || true
step public-refusal "pacman -U linux-field linux-field-headers(--public), no key store" public_refusal pacman-dkms makepkg-public
step public-register "pacman -U the same, key store where keys.d points" public_register pacman-dkms makepkg-public
step qemu-boot "qemu-system-x86_64 -kernel vmlinux -append module.sig_enforce=1" qemu_boot dkms-ksign dkms-ksign-two
step verify-agrees "ksign verify --kernel $release / --image vmlinux" verify_agrees qemu-boot

echo
echo "field lane: the journey ($((SECONDS - lane_start)) s)"
printf '%-22s %-6s %s\n' step result "command: what happened"
for row in "${table[@]}"; do
  IFS='|' read -r name result command what <<<"$row"
  printf '%-22s %-6s %s: %s\n' "$name" "$result" "$command" "$what"
done
exit "$failed"
