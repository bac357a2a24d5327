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
check_contains "names the owner and the fix" "refusing to write to the key store '$T/s': '$T/s' belongs to $user, not to root or root" "$T/.err"
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
