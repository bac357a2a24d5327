#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A key store no other user can turn against root (issue 21): ksign writes only to a store that
# it and every directory above it belong to root or the invoking user and others cannot write
# to (ssh's rule); in any store, links are never followed (.refresh, .lock), so a planted link
# cannot make root overwrite or create another file. Reading another user's store stays allowed.
# Needs root and a second user (created: ksigntest).
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (another user's store)"
user=ksigntest
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null || skip "cannot create user $user"
fi
command -v runuser >/dev/null || skip "runuser is missing"
chmod 755 "$T"
as_user() { runuser -u "$user" -- "$@"; }

# Files root owns that a planted link names.
printf 'secret\n' >"$T/shadow" && chmod 600 "$T/shadow"

# 1. The store belongs to the user, who planted s/.refresh -> a root file.
mkdir "$T/s" && chown "$user" "$T/s" && chmod 700 "$T/s"
as_user ln -s "$T/shadow" "$T/s/.refresh"
check_status 1 "keys refuses a store another user owns" "$KSIGN" keys -d "$T/s" --refresh 30d
check_contains "names the owner and the fix" "refusing to write to the key store '$T/s': '$T/s' belongs to $user, not to root, who could" "$T/.err"
check_contains "says how to fix it" "use a key store of your own" "$T/.err"
check_line "the link's target is untouched" secret "$T/shadow"
check_line "and keeps its mode" 600 <(stat -c %a "$T/shadow")
[ ! -e "$T/s/current" ] && pass || fail "a key was made in the user's store"

# 2. A planted .lock link would make root create any file.
mkdir "$T/s2" && chown "$user" "$T/s2"
as_user ln -s "$T/nologin" "$T/s2/.lock"
check_status 1 "keys refuses the store with the .lock link" "$KSIGN" keys -d "$T/s2"
[ ! -e "$T/nologin" ] && pass || fail "root created the .lock link's target"

# 3. A directory above the store belongs to the user (who could swap the store): refused too.
mkdir "$T/home" && chown "$user" "$T/home" && mkdir "$T/home/store"
check_status 1 "keys refuses a store below the user's directory" "$KSIGN" keys -d "$T/home/store"
check_contains "names that directory" "'$T/home' belongs to $user" "$T/.err"
[ ! -e "$T/home/store/.lock" ] && pass || fail "the store was written to"
# ... and a store below a directory anyone can write to (even with the sticky bit on the store itself).
mkdir -m 1777 "$T/open" && chmod 1777 "$T/open"
check_status 1 "keys refuses a store others can write to" "$KSIGN" keys -d "$T/open"
check_contains "names the mode" "anyone can write to '$T/open' (mode 1777)" "$T/.err"

# 4. config's record is a write too.
"$KSIGN" keys -d "$T/own" -q || fail "keys in root's own store failed"
printf 'CONFIG_MODULE_SIG=y\n' >"$T/config"
mkdir "$T/s3" && chown "$user" "$T/s3"
as_user cp -a "$T/own/." "$T/s3/" 2>/dev/null || cp -a "$T/own/." "$T/s3/"
chown -R "$user" "$T/s3"
check_status 1 "config refuses to record in another user's store" "$KSIGN" config -d "$T/s3" "$T/config"
check_contains "says why" "belongs to $user" "$T/.err"
check_no_contains "the config is unchanged" "CONFIG_SYSTEM_TRUSTED_KEYS" "$T/config"

# 5. Reading the user's store stays allowed (verify, keys --show).
as_user "$KSIGN" keys -d "$T/s3" -q || fail "the user cannot use the own store"
check "keys --show reads another user's store" "$KSIGN" keys --show -d "$T/s3"
cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$T/m.ko"
check "sign reads another user's store's key" "$KSIGN" sign -d "$T/s3" "$T/m.ko"
check "verify takes another user's store's certificate" "$KSIGN" verify -d "$T/s3" "$T/m.ko"
check_contains "and the module is signed by it" ": ok" "$T/.out"

# 6. In root's own store, links are never followed: .refresh and .lock.
ln -sf "$T/shadow" "$T/own/.refresh"
check "keys --refresh replaces a .refresh link, not its target" "$KSIGN" keys -d "$T/own" --refresh 30d
check_line "the target is untouched" secret "$T/shadow"
[ ! -L "$T/own/.refresh" ] && pass || fail ".refresh is still a link"
check_line "the period is recorded in the store" 30d "$T/own/.refresh"
ln -sf "$T/shadow" "$T/own/.refresh"
check "a .refresh link is not read (its target's text is no period)" "$KSIGN" keys --show -d "$T/own"
rm "$T/own/.refresh" "$T/own/.lock"
ln -s "$T/nologin" "$T/own/.lock"
check_status 1 "keys refuses a .lock link" "$KSIGN" keys -d "$T/own"
check_contains "names it" "'$T/own/.lock' is a symbolic link" "$T/.err"
[ ! -e "$T/nologin" ] && pass || fail "keys created the .lock link's target"

# 7. `current` is followed only to a key directory inside the store.
rm -f "$T/own/.lock"
mkdir -p "$T/elsewhere" && cp -a "$T/own/current/." "$T/elsewhere/"
ln -sfn "$T/elsewhere" "$T/own/current"
check_status 1 "keys refuses a current link leading out of the store" "$KSIGN" keys -d "$T/own"
check_contains "names it" "'$T/own/current' leads to '$T/elsewhere', not to a key directory inside the key store" "$T/.err"
check_status 1 "sign refuses it too" "$KSIGN" sign -d "$T/own" "$T/m.ko"

# 8. Inside any store root reads, every file is opened relative to the key directory's descriptor
#    and never through a link: a link, a FIFO or a device the store's owner plants where a key
#    file belongs is refused, not followed (issue 21).
rm -f "$T/own/current" && ln -s "$(basename "$(ls -d "$T"/own/20*/ | head -n 1)")" "$T/own/current"
rootdir=$(realpath "$T/own/current")
mkdir "$T/u" && chown "$user" "$T/u" && chmod 755 "$T/u"
as_user "$KSIGN" keys -d "$T/u/s" -q || fail "the user cannot make a store"
udir=$(realpath "$T/u/s/current")
cp "$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko" "$T/m8.ko" && cp "$T/m8.ko" "$T/m8.orig"
plant() { # plant NAME TARGET: the user replaces NAME in the key directory by a link to TARGET
  as_user rm -f "$udir/$1" && as_user ln -s "$2" "$udir/$1"
}
restore() { # the user's own key directory again
  as_user rm -rf "$udir" && as_user mkdir "$udir" && as_user cp "$T/u/saved/"* "$udir/"
}
mkdir "$T/u/saved" && cp "$udir/"* "$T/u/saved/" && chown -R "$user" "$T/u/saved"

# sign -d: the key directory's key and certificate are links to root's own key.
plant signing_key.pem "$rootdir/signing_key.pem"
plant signing_crt.crt "$rootdir/signing_crt.crt"
check_status 1 "sign refuses a key file that is a link in another user's store" "$KSIGN" sign -d "$T/u/s" "$T/m8.ko"
check_contains "names the link" "'$udir/signing_key.pem' is a symbolic link; ksign does not follow links in a key directory" "$T/.err"
check_same "the module was not signed with root's key" "$T/m8.orig" "$T/m8.ko"
# keys --show: the certificate shown is the store's own or none.
check_status 1 "keys --show refuses a certificate that is a link" "$KSIGN" keys --show -d "$T/u/s"
check_contains "names it" "is a symbolic link; ksign does not follow links in a key directory" "$T/.err"
# install --public --register: root would copy root's certificate into the headers and register
# the user's directory as the place of its private key.
check_status 1 "install --public --register refuses it" "$KSIGN" install --public -d "$T/u/s" \
  --register "$T/reg8/keys.d" "$T/pkg8/build/certs-local"
check_contains "names the link" "is a symbolic link; ksign does not follow links in a key directory" "$T/.err"
[ ! -e "$T/reg8/keys.d" ] && [ ! -e "$T/pkg8/build/certs-local/current" ] && pass || fail "install wrote something"
restore
# A FIFO where the DER certificate belongs: reading it would wait forever.
as_user rm -f "$udir/signing_crt.crt" && as_user mkfifo "$udir/signing_crt.crt"
check_status 1 "install --public --register refuses a FIFO (does not hang)" timeout 60 "$KSIGN" install --public \
  -d "$T/u/s" --register "$T/reg8/keys.d" "$T/pkg8/build/certs-local"
check_contains "says what it is" "'$udir/signing_crt.crt' is not a regular file" "$T/.err"
# A device where the certificate belongs.
as_user rm -f "$udir/signing_crt.crt" && plant signing_crt.crt /dev/zero
check_status 1 "keys --show refuses a link to a device" timeout 60 "$KSIGN" keys --show -d "$T/u/s"
restore

# sign --kernel and keys --key-files: the headers hold the certificate only and the registry
# leads to the user's key directory, where the user then links the private key to a root file.
M8="$T/mods8"
check "install --public from the user's store" env KSIGN_CONFIG_DIR="$T/etc8" "$KSIGN" install --public -d "$T/u/s" \
  "$M8/6.99.8/build/certs-local"
check "keys --key-files finds the user's key" env KSIGN_CONFIG_DIR="$T/etc8" KSIGN_MODULEDIR="$M8" \
  "$KSIGN" keys --key-files 6.99.8
plant signing_key.pem "$T/shadow"
as_user rm -f "$udir/signing_prv.pem"
check_status 1 "keys --key-files does not hand DKMS a linked key" env KSIGN_CONFIG_DIR="$T/etc8" KSIGN_MODULEDIR="$M8" \
  "$KSIGN" keys --key-files 6.99.8
check_contains "names the link" "'$T/etc8/keys.d/" "$T/.err"
check_contains "and why" "signing_key.pem' is a symbolic link; ksign does not follow links in a key directory" "$T/.err"
check_no_contains "prints no path" "signing_key.pem" "$T/.out"
check_status 1 "sign --kernel refuses it too" env KSIGN_CONFIG_DIR="$T/etc8" KSIGN_MODULEDIR="$M8" \
  "$KSIGN" sign --kernel 6.99.8 "$T/m8.ko"
check_contains "names the link" "signing_key.pem' is a symbolic link; ksign does not follow links in a key directory" "$T/.err"
check_no_contains "reads nothing of the linked file" "secret" "$T/.err"
check_same "the module is unchanged" "$T/m8.orig" "$T/m8.ko"
restore

# 9. ssh's invoking user includes the one who ran sudo: a store in their directory is written by
#    `sudo ksign keys`, but only when the real user is root and SUDO_UID names a user.
uid=$(id -u "$user")
mkdir "$T/sudo" && chown "$user" "$T/sudo" && chmod 755 "$T/sudo"
check_status 1 "without SUDO_UID the user's directory is refused" env -u SUDO_UID "$KSIGN" keys -d "$T/sudo/store"
check "with SUDO_UID of its owner, root writes there" env SUDO_UID="$uid" "$KSIGN" keys -d "$T/sudo/store"
[ -f "$T/sudo/store/current/signing_key.pem" ] && pass || fail "no key made under sudo"
check_status 1 "a SUDO_UID that is not a number is ignored" env SUDO_UID="${uid}x" "$KSIGN" keys -d "$T/sudo/store"
check_contains "and the message names who may own it" "belongs to $user, not to root, who could" "$T/.err"
check_status 1 "a SUDO_UID of no user is ignored" env SUDO_UID=3999999999 "$KSIGN" keys -d "$T/sudo/store"
check_status 1 "(uid_t)-1 is no user" env SUDO_UID=4294967295 "$KSIGN" keys -d "$T/sudo/store"
check_status 1 "another user's SUDO_UID does not make the store theirs" env SUDO_UID=65534 "$KSIGN" keys -d "$T/sudo/store"
check_contains "names both" "belongs to $user, not to root or $(id -un 65534 2>/dev/null || echo 'uid 65534') (who ran sudo)" "$T/.err"
mkdir "$T/nob" && chown 65534 "$T/nob" && chmod 755 "$T/nob"
check_status 1 "SUDO_UID counts only when the real user is root" \
  runuser -u "$user" -- env SUDO_UID=65534 "$KSIGN" keys -d "$T/nob/store"
[ ! -e "$T/nob/store" ] && pass || fail "a user's SUDO_UID made a store in nobody's directory"

# 10. A group that can write to the store or a directory above it could plant links too (ssh
#     refuses 022): refused, unless it is root's group (its members are as strong as root) or the
#     owner's private group (named after the owner, no other member), as Debian's ssh allows.
group=$(getent group staff >/dev/null && echo staff || true)
if [ -n "$group" ]; then
  mkdir -p "$T/g" && chgrp "$group" "$T/g" && chmod 775 "$T/g"
  check_status 1 "keys refuses a store below a directory a group can write to" "$KSIGN" keys -d "$T/g/store"
  check_contains "names the group, the mode and the fix" \
    "refusing to write to the key store '$T/g/store': group $group can write to '$T/g' (mode 0775), so its members could plant links there" "$T/.err"
  check_contains "the fix" "run: chmod g-w '$T/g'" "$T/.err"
  [ ! -e "$T/g/store" ] && pass || fail "the store was made below the group-writable directory"
  chmod 1775 "$T/g" && mkdir -m 700 "$T/g/store"
  check "above the store, the sticky bit makes it safe" "$KSIGN" keys -d "$T/g/store" -q
  chmod 2775 "$T/g/store" && chgrp "$group" "$T/g/store"
  check_status 1 "the store itself writable by a group is refused even with the sticky bit" "$KSIGN" keys -d "$T/g/store"
  check_contains "names the store" "group $group can write to '$T/g/store' (mode 2775)" "$T/.err"
  chgrp root "$T/g/store" "$T/g" && chmod 775 "$T/g"
  check "root's group may write" "$KSIGN" keys -d "$T/g/store" -q
fi
members=$(getent group "$user" | cut -d: -f4)
if [ "$(id -gn "$user")" = "$user" ] && { [ -z "$members" ] || [ "$members" = "$user" ]; }; then
  mkdir -p "$T/upg" && chown "$user:$user" "$T/upg" && chmod 775 "$T/upg"
  check "the owner's private group may write (user private groups)" as_user "$KSIGN" keys -d "$T/upg/store" -q
  if [ -n "$group" ]; then
    mkdir -p "$T/upg2" && chown "$user:$group" "$T/upg2" && chmod 775 "$T/upg2"
    check_status 1 "another group of the owner may not" as_user "$KSIGN" keys -d "$T/upg2/store"
  fi
fi
