#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `ksign repair`: several installed kernels, each with its own key and an image that trusts it
# (copies of the testbed's real vmlinux with the key put in by insert-sys-cert), and modules in
# every state: unsigned, signed with another kernel's key, with an old key, with DKMS's MOK key,
# with a key ksign has no certificate of, tampered, damaged, not a module, already fine,
# compressed. Only what lacks the right signature is signed; the rest is reported and left as it
# was; a second run and --dry-run change nothing.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

tb=$KSIGN_SOURCE_ROOT/../shared/testbed
[ -f "$tb/vmlinux" ] && [ -f "$tb/System.map" ] && [ -x "$tb/bin/insert-sys-cert" ] || skip "no testbed kernel in $tb"
command -v xz >/dev/null && command -v zstd >/dev/null && command -v gzip >/dev/null || skip "xz, zstd and gzip needed"
sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
export KSIGN_MODULEDIR="$T/modules" KSIGN_BOOTDIR="$T/boot" KSIGN_CONFIG_DIR="$T/etc" KSIGN_DKMS_TREE="$T/dkms"
mkdir -p "$T/boot" "$T/etc" "$T/dkms"

K=$T/keys
for name in ka kb kc kd kold kz; do make_key ec "$K" "$name"; done
make_key rsa "$K" mok
# DKMS's own key, where DKMS keeps it (mok.pub is DER).
cp "$K/mok.key" "$T/dkms/mok.key" && cp "$K/mok.der" "$T/dkms/mok.pub"

# make_kernel RELEASE KEY [image-trusts] [certificate-only]: an installed kernel whose headers
# carry KEY (build/certs-local), whose image trusts it when asked (insert-sys-cert).
make_kernel() {
  local rel=$1 key=$2 trusts=${3:-yes} public=${4:-no}
  local root=$KSIGN_MODULEDIR/$rel dir
  dir=$root/build/certs-local/2026-02-01_00-00-00
  mkdir -p "$root/kernel" "$root/updates/dkms" "$dir"
  cp "$tb/vmlinux" "$root/build/vmlinux" && chmod u+w "$root/build/vmlinux"
  cp "$K/$key.der" "$dir/signing_crt.crt"
  [ "$public" = yes ] || { cp "$K/$key.pem" "$dir/signing_key.pem" && chmod 600 "$dir/signing_key.pem"; }
  ln -s 2026-02-01_00-00-00 "$root/build/certs-local/current"
  if [ "$trusts" = yes ]; then
    "$tb/bin/insert-sys-cert" -b "$root/build/vmlinux" -c "$K/$key.der" -s "$tb/System.map" >/dev/null \
      || fail "insert-sys-cert $key into $rel"
  fi
}
A=6.12.117-a B=6.12.117-b C=6.12.117-c D=6.12.117-d
make_kernel $A ka
make_kernel $B kb
make_kernel $C kc yes yes   # certificate only, no keys.d link: no reachable key
make_kernel $D kd no        # its image does not trust its key
# A's old key, still in its store (a refresh since).
mkdir -p "$KSIGN_MODULEDIR/$A/build/certs-local/2026-01-01_00-00-00"
cp "$K/kold.der" "$KSIGN_MODULEDIR/$A/build/certs-local/2026-01-01_00-00-00/signing_crt.crt"

# Modules are signed the way DKMS and the kernel's build sign them: with the kernel's sign-file.
sign_file=$(find_sign_file) || skip "no kernel sign-file (linux-kbuild)"
sign_with() { "$sign_file" sha512 "$K/$1.key" "$K/$1.der" "$2" || fail "sign $2 with $1"; }
# Change one byte of the module's own text (its description), after it was signed.
tamper() { python3 - "$1" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.index(b'ksign test module')
b[i] ^= 0x20
open(p, 'wb').write(b)
EOF
[ $? = 0 ] || fail "tamper $1"
}

a=$KSIGN_MODULEDIR/$A
cp "$sample" "$a/kernel/unsigned.ko" && chmod 640 "$a/kernel/unsigned.ko" && chown 1234:2345 "$a/kernel/unsigned.ko"
cp "$sample" "$a/kernel/fine.ko" && sign_with ka "$a/kernel/fine.ko" && touch -d '2026-01-02 03:04:05' "$a/kernel/fine.ko"
cp "$sample" "$a/kernel/other.ko" && sign_with kb "$a/kernel/other.ko"
cp "$sample" "$a/kernel/old.ko" && sign_with kold "$a/kernel/old.ko"
cp "$sample" "$a/updates/dkms/mok.ko" && sign_with mok "$a/updates/dkms/mok.ko"
cp "$sample" "$a/kernel/z.ko" && zstd -q --rm "$a/kernel/z.ko"
cp "$sample" "$a/kernel/x.ko" && xz --check=crc32 "$a/kernel/x.ko"
cp "$sample" "$a/kernel/g.ko" && sign_with kb "$a/kernel/g.ko" && gzip -n "$a/kernel/g.ko"
cp "$sample" "$a/kernel/tampered.ko" && sign_with ka "$a/kernel/tampered.ko" && tamper "$a/kernel/tampered.ko"
cp "$sample" "$a/kernel/tampered-other.ko" && sign_with kb "$a/kernel/tampered-other.ko" && tamper "$a/kernel/tampered-other.ko"
cp "$sample" "$a/kernel/unknown.ko" && sign_with kz "$a/kernel/unknown.ko"
cp "$sample" "$a/kernel/damaged.ko" && sign_with kb "$a/kernel/damaged.ko"
# The signature's length field points past the start of the file: a malformed trailer.
printf '\x7f\xff\xff\xff' | dd of="$a/kernel/damaged.ko" bs=1 seek=$(( $(stat -c %s "$a/kernel/damaged.ko") - 32 )) conv=notrunc status=none
echo 'not a module' >"$a/kernel/notmod.ko"
cp "$sample" "$a/kernel/target.ko" && ln -s target.ko "$a/kernel/link.ko"

b=$KSIGN_MODULEDIR/$B
cp "$sample" "$b/kernel/unsigned.ko"
cp "$sample" "$b/kernel/by-a.ko" && sign_with ka "$b/kernel/by-a.ko"
cp "$sample" "$b/updates/dkms/mok.ko" && sign_with mok "$b/updates/dkms/mok.ko" && xz --check=crc32 "$b/updates/dkms/mok.ko"
cp "$sample" "$KSIGN_MODULEDIR/$C/kernel/unsigned.ko"
cp "$sample" "$KSIGN_MODULEDIR/$D/kernel/unsigned.ko"
# Arch's shared extramodules directory is not a kernel of its own.
mkdir -p "$KSIGN_MODULEDIR/extramodules-6.12-arch1" && cp "$sample" "$KSIGN_MODULEDIR/extramodules-6.12-arch1/x.ko"

# Every file of the module trees: content, mode, owner, mtime, kind.
snapshot() {
  (cd "$KSIGN_MODULEDIR" && find . -path '*/build' -prune -o \( -type f -o -type l \) -print | LC_ALL=C sort | while read -r f; do
    if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(sha256sum <"$f" | cut -c1-16) $(stat -c '%a %u:%g %Y' "$f")"; fi
  done)
}
snapshot >"$T/before"

# --dry-run: says everything, changes nothing.
check_status 1 "dry run" "$KSIGN" repair --dry-run
snapshot >"$T/after-dry"
check_same "dry run changes nothing" "$T/before" "$T/after-dry"
cp "$T/.out" "$T/dry.out"
for m in kernel/unsigned.ko kernel/other.ko kernel/old.ko updates/dkms/mok.ko kernel/z.ko.zst kernel/x.ko.xz kernel/g.ko.gz kernel/target.ko; do
  check_contains "dry run: would sign $m" "would sign '$a/$m'" "$T/dry.out"
done
check_no_contains "dry run: fine.ko is not listed" "fine.ko" "$T/dry.out"
check_contains "dry run: tampered" "tampered '$a/kernel/tampered.ko', not signed" "$T/dry.out"
check_contains "dry run: tampered, signer of another kernel" "tampered '$a/kernel/tampered-other.ko', not signed" "$T/dry.out"
check_contains "dry run: damaged" "damaged '$a/kernel/damaged.ko', not signed" "$T/dry.out"
check_contains "dry run: not a module" "not a module '$a/kernel/notmod.ko', not signed" "$T/dry.out"
check_contains "dry run: unknown signer" "cannot be checked '$a/kernel/unknown.ko', not signed" "$T/dry.out"
check_grep "dry run: owner unknown" "tampered '$a/kernel/tampered.ko'.*owner unknown" "$T/dry.out"
check_grep "C: no reachable key" "^kernel $C: .*cannot repair: kernel $C has its certificate .* but no private key.*to mend it, run: ksign install --public" "$T/dry.out"
check_grep "D: its image does not trust its key" "^kernel $D: .*cannot repair: its image does not trust its ksign key.*insert-sys-cert" "$T/dry.out"
# status names the same fix for D (repair cannot sign its way out of it).
check "status" "$KSIGN" status
check_grep "status: D's fix" "^verdict: .*kernel ([^ ]*, )?$D(, [^ ]*)? does not trust the ksign key it carries: .*would be refused; rebuild the kernel with that key .*scripts/insert-sys-cert" "$T/.out"
check_no_contains "extramodules-* is not a kernel" "extramodules" "$T/dry.out"
check_grep "B: would load afterwards" "^kernel $B: 3 modules, 0 ok, 3 to sign.*every module would load afterwards" "$T/dry.out"

# --json --dry-run: the plan as data.
check_status 1 "dry run --json" "$KSIGN" repair --dry-run --json
cp "$T/.out" "$T/dry.json"
check "json plan" python3 - "$T/dry.json" "$A" "$B" "$C" "$D" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
A, B, C, D = sys.argv[2:6]
k = {x["release"]: x for x in d["kernels"]}
assert d["dry_run"] is True and d["ok"] is False, d
m = {x["path"].split("/", 1)[1].split(A + "/")[-1]: x for x in k[A]["modules"]}
def act(name): return [x for x in k[A]["modules"] if x["path"].endswith("/" + name)][0]
assert act("unsigned.ko")["action"] == "sign" and act("unsigned.ko")["before"] == "unsigned"
assert act("other.ko")["action"] == "sign" and act("other.ko")["before"] == "unknown_key" and act("other.ko")["signer"] == "ksign test kb"
assert act("mok.ko")["signer"] == "ksign test mok", act("mok.ko")
assert act("tampered.ko")["action"] == "tampered" and act("tampered.ko")["before"] == "bad_signature"
assert act("tampered-other.ko")["action"] == "tampered" and act("tampered-other.ko")["before"] == "unknown_key"
assert act("tampered.ko")["package"] is None
assert act("damaged.ko")["action"] == "damaged" and act("notmod.ko")["action"] == "not_a_module"
assert act("unknown.ko")["action"] == "unverifiable"
assert not [x for x in k[A]["modules"] if x["path"].endswith("fine.ko")]
assert k[A]["summary"]["keep"] == 1 and k[A]["summary"]["sign"] == 8, k[A]["summary"]
assert k[A]["image_trusts_key"] == "trusted" and k[A]["loads_after"] is False
assert k[B]["loads_after"] is True and k[B]["obstacle"] == "none" and k[B]["summary"]["sign"] == 3
assert k[C]["obstacle"] == "key_unreachable" and "no private key" in k[C]["obstacle_fix"]
assert k[D]["obstacle"] == "key_not_trusted" and k[D]["image_trusts_key"] == "unknown"
EOF

# The repair of B: everything signed, B loads every module, exit 0.
check "repair B" "$KSIGN" repair --kernel $B
cp "$T/.out" "$T/b.out"
check_contains "B: names each module signed" "signed '$b/kernel/by-a.ko', replacing its old signature (was signed by 'ksign test ka', a key this kernel does not trust)" "$T/b.out"
check_contains "B: the MOK-signed xz module" "signed '$b/updates/dkms/mok.ko.xz' (xz), replacing its old signature" "$T/b.out"
check_contains "B: unsigned" "signed '$b/kernel/unsigned.ko' (was unsigned)" "$T/b.out"
check "B: verify --kernel agrees" "$KSIGN" verify --kernel $B

# The repair of everything: A is signed where it can be, tampered and damaged left as they were.
check_status 1 "repair all" "$KSIGN" repair
cp "$T/.out" "$T/all.out"
snapshot >"$T/after"
check "verify A" python3 - "$T/before" "$T/after" "$A" "$B" <<'EOF'
import sys
def load(p):
    out = {}
    for line in open(p):
        name, rest = line.rstrip("\n").split(" ", 1)
        out[name] = rest
    return out
before, after, A, B = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3], sys.argv[4]
unchanged = ["fine.ko", "tampered.ko", "tampered-other.ko", "unknown.ko", "damaged.ko", "notmod.ko", "link.ko"]
for name in unchanged:
    key = f"./{A}/kernel/{name}"
    assert before[key] == after[key], (name, before[key], after[key])
changed = ["kernel/unsigned.ko", "kernel/other.ko", "kernel/old.ko", "updates/dkms/mok.ko", "kernel/z.ko.zst",
           "kernel/x.ko.xz", "kernel/g.ko.gz", "kernel/target.ko"]
for name in changed:
    key = f"./{A}/{name}"
    assert before[key].split()[0] != after[key].split()[0], name
    assert before[key].split()[1:3] == after[key].split()[1:3], (name, "mode and owner kept", before[key], after[key])
for rel in ("6.12.117-c", "6.12.117-d"):
    key = f"./{rel}/kernel/unsigned.ko"
    assert before[key] == after[key], key
assert sorted(before) == sorted(after), "no file added or removed"
EOF
check_contains "the link stays a link" "./$A/kernel/link.ko -> target.ko" "$T/after"
check_status 1 "A still refuses what was not signed" "$KSIGN" verify --kernel $A
check_contains "verify's audit ends with the command that fixes it" "ksign repair --kernel $A" "$T/.err"
cp "$T/.out" "$T/verify-a.out"
check "A: only what repair left refuses" python3 - "$T/verify-a.out" <<'EOF'
import re, sys
bad = sorted(re.match(r".*/([^/]+): ", line).group(1) for line in open(sys.argv[1]) if re.match(r"/.*: ", line))
assert bad == ["damaged.ko", "notmod.ko", "tampered-other.ko", "tampered.ko", "unknown.ko"], bad
EOF
check "A: compression kept (magic bytes)" python3 - "$a/kernel" <<'EOF'
import sys
d = sys.argv[1]
for name, magic in (("z.ko.zst", b"\x28\xb5\x2f\xfd"), ("x.ko.xz", b"\xfd7zXZ"), ("g.ko.gz", b"\x1f\x8b")):
    assert open(f"{d}/{name}", "rb").read(len(magic)) == magic, name
EOF
check "the xz module still has CRC32, as the kernel's Makefile writes it" sh -c "xz --robot -lv '$a/kernel/x.ko.xz' | grep -q CRC32"

# A second run changes nothing.
check_status 1 "second run" "$KSIGN" repair
snapshot >"$T/again"
check_same "second run changes nothing" "$T/after" "$T/again"
check_no_grep "second run signs nothing" "^signed " "$T/.out"

# The certificate of the unknown signer lets its module be checked, and then signed.
check "--cert: the unknown signer" "$KSIGN" repair --kernel $A --cert "$K/kz.crt" "$a/kernel/unknown.ko"
check_contains "--cert: signed" "signed '$a/kernel/unknown.ko', replacing its old signature (was signed by 'ksign test kz'" "$T/.out"
check "repair of one module: it loads" "$KSIGN" verify --kernel $A "$a/kernel/unknown.ko"

# Given modules are confined to their kernel.
check_status 2 "a module of another kernel" "$KSIGN" repair --kernel $A "$b/kernel/unsigned.ko"
check_contains "says whose" "is not a module of kernel $A" "$T/.err"
check_status 2 "modules need one --kernel" "$KSIGN" repair "$a/kernel/unsigned.ko"
check_status 1 "an unknown kernel" "$KSIGN" repair --kernel 6.99.9-nope
check_contains "no installed kernel" "no installed kernel '6.99.9-nope'" "$T/.err"

cp "$K/kc.pem" "$KSIGN_MODULEDIR/$C/build/certs-local/2026-02-01_00-00-00/signing_key.pem"
chmod 600 "$KSIGN_MODULEDIR/$C/build/certs-local/2026-02-01_00-00-00/signing_key.pem"
check "C, once its key is back" "$KSIGN" repair --kernel $C
check "C loads" "$KSIGN" verify --kernel $C

# A module changed between the check and the signing (DKMS or a package rebuilding it meanwhile)
# is not signed: signing it would bless bytes nobody judged. It is left as the other writer left
# it, and named. To change it in between, ksign is held where repair has judged every module and
# is about to sign: the warning about its loosely kept key is the one line it writes there, and
# with its stderr a full pipe that write blocks until the test reads (hold.py, below).
cat >"$T/hold.py" <<'EOF'
# hold.py ERR WRITER -- COMMAND...: run COMMAND with stdout inherited and stderr into a full pipe;
# once it blocks writing its first line there, run the shell command WRITER, then read the pipe
# and wait. Writes COMMAND's stderr (the filler taken off) to ERR; exits with COMMAND's status.
import os, platform, subprocess, sys, threading, time
err, writer, dashes, *command = sys.argv[1:]
assert dashes == "--"
write_calls = {"x86_64": ("1", "20"), "aarch64": ("64", "66")}[platform.machine()]
r, w = os.pipe()
os.set_blocking(w, False)
filler = 0
for chunk in (65536, 4096, 1):
    while True:
        try:
            filler += os.write(w, b"#" * chunk)
        except BlockingIOError:
            break
os.set_blocking(w, True)
proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=w)
os.close(w)
def blocked_on_stderr():
    for task in os.listdir(f"/proc/{proc.pid}/task"):
        try:
            fields = open(f"/proc/{proc.pid}/task/{task}/syscall").read().split()
        except OSError:
            continue
        if len(fields) > 1 and fields[0] in write_calls and int(fields[1], 16) == 2:
            return True
    return False
deadline = time.monotonic() + 120
while not blocked_on_stderr():
    if proc.poll() is not None:
        sys.exit(f"hold.py: {command[0]} ended (status {proc.returncode}) without writing to stderr")
    if time.monotonic() > deadline:
        proc.kill()
        sys.exit(f"hold.py: {command[0]} never blocked writing to stderr")
    time.sleep(0.02)
subprocess.run(["sh", "-c", writer], check=True)
chunks = []
reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(r, 65536), b"")))
reader.start()
status = proc.wait()
reader.join()
data = b"".join(chunks)
assert data[:filler] == b"#" * filler
open(err, "wb").write(data[filler:])
sys.exit(status)
EOF
F=6.12.117-f
make_kernel $F kb
f=$KSIGN_MODULEDIR/$F
f_key=$f/build/certs-local/2026-02-01_00-00-00/signing_key.pem
chmod 640 "$f_key"
# What the other writer puts there: a module signed with a key ksign cannot check (in place),
# and one signed with DKMS's MOK key, a key repair would otherwise re-sign (renamed over it).
cp "$sample" "$T/rewritten.ko" && sign_with kz "$T/rewritten.ko"
cp "$sample" "$T/renamed.ko" && sign_with mok "$T/renamed.ko"
other_writer="cat '$T/rewritten.ko' >'$f/kernel/rewritten.ko' && cp '$T/renamed.ko' '$f/kernel/.new' && mv '$f/kernel/.new' '$f/updates/dkms/renamed.ko'"
for run in text json; do
  for m in kernel/rewritten.ko updates/dkms/renamed.ko kernel/kept.ko; do cp "$sample" "$f/$m"; done
  json=; [ $run = json ] && json=--json
  check_status 1 "changed since checked ($run)" python3 "$T/hold.py" "$T/held.err" "$other_writer" -- \
    "$KSIGN" repair --kernel $F --allow-loose-key $json
  cp "$T/.out" "$T/held-$run.out"
  check_grep "held ($run): where the key is about to be loaded, after every module was checked" \
    "^ksign repair: warning: the private key '$(re_quote "$f_key")' can be read by group" <(head -n 1 "$T/held.err")
  check_same "changed since checked ($run): left as the other writer wrote it" "$T/rewritten.ko" "$f/kernel/rewritten.ko"
  check_same "changed since checked ($run): the renamed one too" "$T/renamed.ko" "$f/updates/dkms/renamed.ko"
  for m in kernel/rewritten.ko updates/dkms/renamed.ko; do
    check_contains "changed since checked ($run): $m named" \
      "'$f/$m': it changed since it was checked: not signed (run ksign repair again)" "$T/held.err"
  done
  check "changed since checked ($run): the unchanged module was signed" "$KSIGN" verify --kernel $F "$f/kernel/kept.ko"
done
check_grep "changed since checked: the summary" "^kernel $F: 3 modules, 0 ok, 1 signed .*; some modules would still be refused" \
  "$T/held-text.out"
check_no_grep "changed since checked: only the unchanged module is said signed" "^signed .*(rewritten|renamed)" "$T/held-text.out"
check "changed since checked: --json" python3 - "$T/held-json.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
k = d["kernels"][0]
got = {m["path"].rsplit("/", 1)[1]: m["signed"] for m in k["modules"]}
assert got == {"rewritten.ko": False, "renamed.ko": False, "kept.ko": True}, got
assert k["summary"]["signed"] == 1 and k["loads_after"] is False and d["ok"] is False, d
EOF

# The hooks: with repair=yes they sign the modules DKMS built for a kernel, and no other file;
# by default they only report. A DKMS tree as DKMS lays it out: <module>/<version>/<release>/<arch>/
# module/, and the active link <module>/kernel-<release>-<arch>.
E=6.12.117-e
make_kernel $E kb
e=$KSIGN_MODULEDIR/$E
cp "$sample" "$e/kernel/intree.ko"
cp "$sample" "$e/updates/dkms/ksign_sample.ko"
mkdir -p "$T/dkms/ksign_sample/1.0/$E/x86_64/module"
cp "$sample" "$T/dkms/ksign_sample/1.0/$E/x86_64/module/ksign_sample.ko"
ln -s "1.0/$E/x86_64" "$T/dkms/ksign_sample/kernel-$E-x86_64"
hook="$KSIGN_SOURCE_ROOT/contrib/ksign-verify-hook"
export KSIGN_VERIFY_HOOK_CONF="$T/etc/verify-hook.conf"
snapshot >"$T/hook-before"
check "hook, report only" env KSIGN="$KSIGN" sh "$hook" $E
check_contains "hook: reports the refusal" "ksign: kernel $E would refuse modules:" "$T/.out"
check_contains "hook: names the fix" "ksign repair --kernel $E" "$T/.out"
snapshot >"$T/hook-after"
check_same "hook, report only: nothing changed" "$T/hook-before" "$T/hook-after"

echo 'repair=yes' >"$KSIGN_VERIFY_HOOK_CONF"
check "hook, repair=yes" env KSIGN="$KSIGN" sh "$hook" $E
cp "$T/.out" "$T/hook.out"
check_contains "hook: repaired what DKMS built" "ksign: kernel $E: repaired the modules DKMS built:" "$T/hook.out"
check_contains "hook: names the module" "signed '$e/updates/dkms/ksign_sample.ko' (was unsigned)" "$T/hook.out"
check_grep "hook: the in-tree module is still refused" "intree.ko: unsigned" "$T/hook.out"
check_no_contains "hook: never signs a file DKMS did not build" "signed '$e/kernel/intree.ko'" "$T/hook.out"
check_same "hook: in-tree module untouched" "$sample" "$e/kernel/intree.ko"
check_status 1 "hook: verify agrees" "$KSIGN" verify --kernel $E
check_no_contains "hook: the DKMS module loads" "ksign_sample.ko" "$T/.out"

# DKMS 3.2's post_transaction, as dkms.in runs it: framework.conf.d is read when DKMS starts
# (no ${kernelver} yet, the default DKMS tree) and again in execute_post_transaction (the
# kernels of the transaction, the DKMS tree given); a command set before is kept; the line is run
# with eval. DKMS reads a file with safe_source: sourced in a subshell, each value printed by
# `eval echo` between double quotes, and that sourced, so a value is expanded once more
# (dkms-read.sh does the same; tests/module/test_dkms_post_transaction.sh runs the real DKMS).
cp "$sample" "$e/updates/dkms/ksign_sample.ko"
mkdir -p "$T/libexec"
cp "$hook" "$T/libexec/ksign-verify-hook" && chmod +x "$T/libexec/ksign-verify-hook"
sed "s|@LIBEXECDIR@|$T/libexec|g; s|@SYSCONFDIR@|/etc|g" "$KSIGN_SOURCE_ROOT/dkms/ksign-post-transaction.conf.in" >"$T/post.conf"
cat >"$T/dkms-read.sh" <<'EOF'
# dkms-read.sh FILE: post_transaction after DKMS's safe_source of FILE, with $post_transaction,
# $dkms_tree and the kernels in $KERNELVER (split into the array kernelver) as DKMS has them.
CR=$(echo -e '\r')
read -ra kernelver <<<"${KERNELVER-}"
tmpfile=$(mktemp)
( exec >"$tmpfile"
  . "$1" >/dev/null
  for _i in $(eval echo \${!post_transaction[@]}); do
    eval echo 'post_transaction[$_i]=\"${post_transaction[$_i]%$CR}\"'
  done )
. "$tmpfile"
rm -f "$tmpfile"
printf %s "$post_transaction"
EOF
post_transaction='echo earlier command'
post_transaction=$(KERNELVER= dkms_tree=/var/lib/dkms post_transaction=$post_transaction bash "$T/dkms-read.sh" "$T/post.conf")
post_transaction=$(KERNELVER=$E dkms_tree="$T/dkms" post_transaction=$post_transaction bash "$T/dkms-read.sh" "$T/post.conf")
_checks=$((_checks + 1))
[ "$(printf '%s' "$post_transaction" | grep -o ksign-verify-hook | wc -l)" = 2 ] \
  || fail "post_transaction runs the hook once (a test and a call), and keeps the earlier command: $post_transaction"
case $post_transaction in 'echo earlier command; '*) pass ;; *) fail "the earlier command is not first: $post_transaction" ;; esac
check_contains "post_transaction: the kernel and the DKMS tree of the second reading" \
  "KSIGN_DKMS_TREE=$T/dkms $T/libexec/ksign-verify-hook $E" <(printf '%s\n' "$post_transaction")
check "DKMS runs post_transaction" env KSIGN="$KSIGN" post_transaction="$post_transaction" \
  bash -c 'kernelver=(); dkms_tree=/elsewhere; ( eval "$post_transaction" )'
# dkms remove --all: ${kernelver[@]} holds every kernel of the transaction; the hook checks each.
check_contains "post_transaction: every kernel of the transaction" "$T/libexec/ksign-verify-hook $E 6.12.117-x" \
  <(KERNELVER="$E 6.12.117-x" dkms_tree="$T/dkms" post_transaction='' bash "$T/dkms-read.sh" "$T/post.conf"; echo)
check_contains "post_transaction: the earlier command ran" "earlier command" "$T/.out"
check_contains "post_transaction: repaired" "signed '$e/updates/dkms/ksign_sample.ko' (was unsigned)" "$T/.out"
