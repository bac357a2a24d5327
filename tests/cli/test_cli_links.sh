#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Links: a module given as a symbolic link is signed where it lies and the link kept; in a -r
# tree, links to files are followed only into the tree (the others are named and skipped);
# hard links stay one file, signed once, or the module is refused when some of its names are
# not among those given.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
make_key ec "$T/keys" ec
sign() { "$KSIGN" sign --key "$T/keys/ec.pem" "$@"; }
verify_ok() { "$KSIGN" verify --cert "$T/keys/ec.crt" "$@"; }

# A symbolic link given as an argument.
mkdir -p "$T/real"
cp "$sample" "$T/real/a.ko"
ln -s real/a.ko "$T/link.ko"
check "sign a link" sign "$T/link.ko"
[ -L "$T/link.ko" ] && pass || fail "the link became a file"
check_line "the link is unchanged" real/a.ko <(readlink "$T/link.ko")
check "its target is signed" verify_ok "$T/real/a.ko"
[ -z "$(find "$T" -name '.*.ksign-*')" ] && pass || fail "temporaries left"
# A link to a link; a dangling link.
ln -s link.ko "$T/link2.ko"
check "sign a link to a link" sign "$T/link2.ko"
[ -L "$T/link2.ko" ] && [ -L "$T/link.ko" ] && pass || fail "a link of the chain became a file"
ln -s nowhere.ko "$T/dangling.ko"
check_status 1 "a dangling link" sign "$T/dangling.ko"
[ -L "$T/dangling.ko" ] && pass || fail "the dangling link was replaced"

# A -r tree with links inside and out.
mkdir -p "$T/tree/sub" "$T/outside"
cp "$sample" "$T/tree/sub/in.ko"
cp "$sample" "$T/outside/out.ko"
cp "$sample" "$T/outside/orig.ko"
ln -s sub/in.ko "$T/tree/alias.ko"            # inside the tree: the same file, signed once
ln -s ../../outside/out.ko "$T/tree/sub/ext.ko" # outside: skipped
check "sign -r a tree with links" sign -v -r "$T/tree"
check_contains "names the skipped link" "skipped '$T/tree/sub/ext.ko': a symbolic link to '$T/outside/out.ko', outside '$T/tree'" "$T/.err"
check_line "one module signed, by its own name" "signed '$T/tree/sub/in.ko'" "$T/.err"
check_same "the file outside is untouched" "$T/outside/orig.ko" "$T/outside/out.ko"
[ -L "$T/tree/alias.ko" ] && [ -L "$T/tree/sub/ext.ko" ] && pass || fail "a link in the tree became a file"
check "the file inside is signed" verify_ok "$T/tree/sub/in.ko"

# Hard links: all names given: signed once, still one file.
mkdir -p "$T/hard/x" "$T/hard/y"
cp "$sample" "$T/hard/x/h.ko"
ln "$T/hard/x/h.ko" "$T/hard/y/h.ko"
ln "$T/hard/x/h.ko" "$T/hard/x/h2.ko"
check "sign -r a tree with hard links" sign -v -r "$T/hard"
check_line "signed once" 1 <(grep -c "signed '" "$T/.err")
check_contains "says so" "and its 2 other names" "$T/.err"
inode=$(stat -c %i "$T/hard/x/h.ko")
for n in y/h.ko x/h2.ko; do
  check_line "$n is still the same file" "$inode" <(stat -c %i "$T/hard/$n")
done
check_line "three names" 3 <(stat -c %h "$T/hard/x/h.ko")
check "it verifies" verify_ok "$T/hard/y/h.ko"
[ -z "$(find "$T/hard" -name '.*')" ] && pass || fail "temporaries left: $(find "$T/hard" -name '.*')"
# Hard links with a name outside what is given: refused, nothing split.
mkdir -p "$T/part"
cp "$sample" "$T/part/p.ko"
ln "$T/part/p.ko" "$T/outside/p-elsewhere.ko"
check_status 1 "a hard link outside" sign "$T/part/p.ko"
check_contains "says why" "it has 2 names (hard links) and only 1 of them is among the modules given" "$T/.err"
check_same "untouched" "$sample" "$T/part/p.ko"
check_line "still one file" 2 <(stat -c %h "$T/part/p.ko")
check "both names given: signed" sign "$T/part/p.ko" "$T/outside/p-elsewhere.ko"
check_line "still one file after signing" "$(stat -c %i "$T/part/p.ko")" <(stat -c %i "$T/outside/p-elsewhere.ko")
check "verifies" verify_ok "$T/outside/p-elsewhere.ko"

# sign-file (the kernel's interface) behaves like the kernel's tool, and says so.
cp "$sample" "$T/sfh.ko"
ln "$T/sfh.ko" "$T/sfh2.ko"
check "sign-file on a hard-linked module" "$KSIGN" sign-file sha256 "$T/keys/ec.pem" "$T/keys/ec.der" "$T/sfh.ko"
check_contains "warns that the names split" "has 2 names (hard links)" "$T/.err"

# A kernel config reached through a link is never written through: makepkg links
# $srcdir/config to the PKGBUILD's own config, whose checksum the PKGBUILD pins. The link is
# replaced by the edited copy (the target's mode kept), said in one line; the target stays.
arch_config="$KSIGN_SOURCE_ROOT/tests/data/arch-config"
mkdir -p "$T/pkg/src/linux" "$T/cfgs"
cp "$arch_config" "$T/pkg/config"
chmod 0640 "$T/pkg/config"
ln -s "$T/pkg/config" "$T/pkg/src/config"
check "keys --config through a link" sh -c 'cd "$1/pkg/src/linux" && "$2" keys --dir "$1/pkg/certs-local" --refresh 30d --config ../config' \
  sh "$T" "$KSIGN"
check_same "the link's target is byte for byte the same" "$arch_config" "$T/pkg/config"
[ ! -L "$T/pkg/src/config" ] && [ -f "$T/pkg/src/config" ] && pass || fail "the link is still a link"
cert=$(realpath "$T/pkg/certs-local/current/signing_crt.pem")
check_line "the copy trusts the key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$cert\"" "$T/pkg/src/config"
check_line "says so in one line" \
  "'../config' was a link to '$T/pkg/config': replaced it by the edited copy (the original is unchanged)" "$T/.err"
check_grep "the copy keeps the target's mode" '^640$' <(stat -c %a "$T/pkg/src/config")
# The same for `ksign config`, and for a link to a link; an up-to-date linked config is left as a link.
cp "$arch_config" "$T/cfgs/real"
ln -s real "$T/cfgs/mid"
ln -s mid "$T/cfgs/config"
check "config through a chain of links" "$KSIGN" config --dir "$T/pkg/certs-local" "$T/cfgs/config"
check_same "the chain's end is untouched" "$arch_config" "$T/cfgs/real"
[ -L "$T/cfgs/mid" ] && [ ! -L "$T/cfgs/config" ] && pass || fail "the wrong link was replaced"
check_contains "names the file the chain led to" "'$T/cfgs/config' was a link to '$T/cfgs/real'" "$T/.err"
ln -s config "$T/cfgs/uptodate"
check "an up-to-date config through a link" "$KSIGN" config --dir "$T/pkg/certs-local" "$T/cfgs/uptodate"
[ -L "$T/cfgs/uptodate" ] && pass || fail "a link to an up-to-date config was replaced"
check_no_grep "nothing said about it" "was a link" "$T/.err"
[ -z "$(find "$T/pkg" "$T/cfgs" -name '.*.ksign-*')" ] && pass || fail "temporaries left"

# An output path (sign -o, sign-file's dest) that is a link is replaced itself, never written
# through: the file it led to stays as it was. Signing in place still follows a link (above).
echo precious >"$T/precious"
ln -s precious "$T/out-link.ko"
check "sign -o onto a link" sign -o "$T/out-link.ko" "$T/real/a.ko"
[ ! -L "$T/out-link.ko" ] && pass || fail "sign -o wrote through the link"
check_line "the link's target is untouched" precious "$T/precious"
check "the output is signed" verify_ok "$T/out-link.ko"
ln -sf precious "$T/dest-link.ko"
cp "$sample" "$T/sf.ko"
check "sign-file with a dest that is a link" "$KSIGN" sign-file sha256 "$T/keys/ec.pem" "$T/keys/ec.der" "$T/sf.ko" "$T/dest-link.ko"
[ ! -L "$T/dest-link.ko" ] && pass || fail "sign-file wrote through the dest link"
check_line "its target is untouched" precious "$T/precious"
check "sign-file's output is signed" verify_ok "$T/dest-link.ko"
