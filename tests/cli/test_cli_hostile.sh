#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile files: what is not a regular file, too large, a decompression bomb, not a kernel config,
# or carries terminal escapes is refused in one line that names it, within bounded memory and
# time, and the file is left exactly as it was.
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
arch_config="$KSIGN_SOURCE_ROOT/tests/data/arch-config"
make_key ec "$T/keys" trusted
make_key ec "$T/keys" other
key=(--key "$T/keys/trusted.pem")
cert=(--cert "$T/keys/trusted.crt")

# check_refused STATUS "description" pattern command...: exits STATUS within 20 s (a FIFO must not
# block), says `pattern` in exactly one error line, and never an uncaught exception's name.
check_refused() {
  local want=$1 what=$2 pattern=$3; shift 3
  check_status "$want" "$what" timeout 20 "$@"
  check_grep "$what: says why" "$pattern" "$T/.err"
  [ "$(grep -c 'error:' "$T/.err")" -eq 1 ] && pass || fail "$what: not one error line: $(cat "$T/.err")"
  check_no_grep "$what: no raw exception" 'std::|bad_alloc|what\(\)' "$T/.err"
}

# Not regular files: a FIFO (nobody writes to it), a device, a directory.
mkfifo -m 644 "$T/fifo.ko" # readable by others: the key checks must still call it a FIFO
check_refused 1 "sign a FIFO" "'$(re_quote "$T")/fifo.ko': a FIFO, not a regular file" "$KSIGN" sign "${key[@]}" "$T/fifo.ko"
check_refused 1 "verify a FIFO" "fifo.ko': a FIFO, not a regular file" "$KSIGN" verify "${cert[@]}" "$T/fifo.ko"
check_refused 1 "a FIFO as --key" "fifo.ko': a FIFO" "$KSIGN" sign --key "$T/fifo.ko" "$T/m.ko"
check_refused 1 "a FIFO as --cert" "fifo.ko': a FIFO" "$KSIGN" verify --cert "$T/fifo.ko" "$sample"
check_refused 1 "a FIFO as a config" "fifo.ko': a FIFO" "$KSIGN" config --check "$T/fifo.ko"
check_refused 1 "sign-file on a FIFO" "fifo.ko': a FIFO" "$KSIGN" sign-file sha512 "$T/keys/trusted.pem" "$T/keys/trusted.crt" "$T/fifo.ko"
check_refused 1 "/dev/zero as a module" "'/dev/zero': a character device, not a regular file" "$KSIGN" verify "${cert[@]}" /dev/zero
check_refused 1 "/dev/zero as --key" "'/dev/zero': a character device" "$KSIGN" sign --key /dev/zero "$sample"
check_refused 1 "/dev/zero as --cert" "'/dev/zero': a character device" "$KSIGN" verify --cert /dev/zero "$sample"
check_refused 1 "a directory as --key" "a directory, not a regular file" "$KSIGN" sign --key "$T/keys" "$sample"

# Sizes: refused before reading. A 50 GB sparse file costs no disk and must cost no memory.
truncate -s 50G "$T/huge.ko"
check_refused 1 "sign a 50 GB module" "huge.ko' is larger than 1 GiB" "$KSIGN" sign "${key[@]}" "$T/huge.ko"
check_refused 1 "verify a 50 GB module" "huge.ko' is larger than 1 GiB" "$KSIGN" verify "${cert[@]}" "$T/huge.ko"
check_refused 1 "a 50 GB --cert" "huge.ko' is larger than 8 MiB" "$KSIGN" verify --cert "$T/huge.ko" "$sample"
[ "$(stat -c %s "$T/huge.ko")" = 53687091200 ] && [ "$(stat -c %b "$T/huge.ko")" -lt 100 ] && pass \
  || fail "the sparse file changed"
cp "$sample" "$T/sample.ko"
check_refused 1 "KSIGN_MAX_MODULE_SIZE lowers the limit" "sample.ko' is larger than 65536 bytes" \
  env KSIGN_MAX_MODULE_SIZE=64K "$KSIGN" sign "${key[@]}" "$T/sample.ko"
check_same "module untouched" "$sample" "$T/sample.ko"
check "KSIGN_MAX_MODULE_SIZE=1M signs it" env KSIGN_MAX_MODULE_SIZE=1M "$KSIGN" sign "${key[@]}" "$T/sample.ko"
check_refused 2 "a KSIGN_MAX_MODULE_SIZE that is no size" "KSIGN_MAX_MODULE_SIZE: '12x' is not a size" \
  env KSIGN_MAX_MODULE_SIZE=12x "$KSIGN" verify "${cert[@]}" "$sample"
# Out of memory names the file: 900 MB (under the limit) with 600 MB of address space. A
# sanitizer's shadow memory alone needs terabytes of address space: not measurable there.
if [ -z "${KSIGN_SANITIZED:-}" ]; then
  truncate -s 900M "$T/big.ko"
  check_refused 1 "out of memory while signing names the module" "big.ko': out of memory" \
    bash -c 'ulimit -v 600000 && exec "$@"' - "$KSIGN" sign "${key[@]}" "$T/big.ko"
  check_refused 1 "out of memory while verifying names the module" "big.ko': out of memory" \
    bash -c 'ulimit -v 600000 && exec "$@"' - "$KSIGN" verify "${cert[@]}" "$T/big.ko"
else
  echo "note: the address-space and RSS checks are left out under a sanitizer" >&2
fi

# Decompression bombs: 200 MB of zeros stop at 16 times their size plus 32 MiB, before that
# much is held, in every codec; memory stays far below 200 MB, also with two jobs.
head -c 200M /dev/zero | zstd -q -c >"$T/bomb.ko.zst"
head -c 200M /dev/zero | gzip -c >"$T/bomb.ko.gz"
head -c 200M /dev/zero | xz -0 -T1 -c >"$T/bomb.ko.xz"
for bomb in "$T"/bomb.ko.*; do
  name=${bomb##*/}
  cp "$bomb" "$T/copy"
  check_refused 1 "sign $name" "'$(re_quote "$bomb")': (gzip|xz|zstd) data decompresses to more than [0-9]+ MiB \(16 times its compressed size, plus 32 MiB\)" \
    "$KSIGN" sign "${key[@]}" "$bomb"
  check_same "$name untouched" "$T/copy" "$bomb"
  check_status 1 "verify $name" "$KSIGN" verify "${cert[@]}" "$bomb"
  check_grep "verify $name: malformed, named" "$name: malformed \((gzip|xz|zstd) data decompresses to more than" "$T/.out"
done
if [ -x /usr/bin/time ] && [ -z "${KSIGN_SANITIZED:-}" ]; then
  for jobs in 1 2; do
    /usr/bin/time -f %M -o "$T/rss" "$KSIGN" sign -j "$jobs" "${key[@]}" "$T"/bomb.ko.* 2>/dev/null
    rss=$(tail -1 "$T/rss")
    # Refused by the size they claim or by counting, never held: 11 MB (92-97 MB when the
    # output was decoded into a growing buffer up to the limit).
    [ "$rss" -lt $((30000 + jobs * 10000)) ] && pass || fail "signing three 200 MB bombs with -j$jobs peaked at $rss KB"
  done
  # A 9 MB gzip bomb, one member of about 9 GB of zeros (flushed blocks repeated: made in no
  # time; its trailer claims 2 MiB), is refused at 16 times 9 MB plus 32 MiB, 176 MiB, by a
  # first pass that only counts: with 100 times and a growing buffer one worker held 0.93 GB.
  python3 - "$T/big-bomb.ko.gz" <<'EOP'
import sys, zlib
packer = zlib.compressobj(9, zlib.DEFLATED, 31)
head = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
block = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
with open(sys.argv[1], "wb") as out:
    out.write(head + block * ((9_000_000 - len(head)) // len(block)) + packer.flush(zlib.Z_FINISH))
EOP
  check_refused 1 "a 9 MB gzip bomb" "big-bomb.ko.gz': gzip data decompresses to more than 1[0-9][0-9] MiB \(16 times" \
    /usr/bin/time -f %M -o "$T/rss" "$KSIGN" sign "${key[@]}" "$T/big-bomb.ko.gz"
  rss=$(tail -1 "$T/rss")
  [ "$rss" -lt 220000 ] && pass || fail "signing a 9 MB gzip bomb peaked at $rss KB"
  echo "note: a 9 MB gzip bomb (one member) peaked at $rss KB" >&2
  # The same in 90 members of 100 MB of zeros: the last one's size field (100 MB) is the room
  # taken, and the rest is counted.
  head -c 100M /dev/zero | gzip -9 -c >"$T/member.gz"
  for ((i = 0; i < 90; i++)); do cat "$T/member.gz"; done >"$T/big-bomb.ko.gz"
  check_refused 1 "a 9 MB gzip bomb in members" "big-bomb.ko.gz': gzip data decompresses to more than 1[0-9][0-9] MiB \(16 times" \
    /usr/bin/time -f %M -o "$T/rss" "$KSIGN" sign "${key[@]}" "$T/big-bomb.ko.gz"
  rss=$(tail -1 "$T/rss")
  [ "$rss" -lt 220000 ] && pass || fail "signing a 9 MB gzip bomb in members peaked at $rss KB"
  echo "note: a 9 MB gzip bomb (90 members) peaked at $rss KB" >&2
  rm -f "$T/big-bomb.ko.gz" "$T/member.gz"
fi

# Modules in several members / streams / frames, or behind a zstd skippable frame: ksign reads
# them as gzip -d, xz -d, zstd -d and kmod's userspace decompression do (all of it), verify calls
# them malformed because the kernel's own decompressor reads only the first part (or, for a
# leading skippable frame, nothing: kmod neither), and sign writes the kernel's single part,
# which every reader agrees on. xz stream padding and a trailing skippable frame change nothing.
head -c 50000 "$sample" >"$T/part1"
tail -c +50001 "$sample" >"$T/part2"
(gzip -nc "$T/part1"; gzip -nc "$T/part2") >"$T/split.ko.gz"
(xz -c "$T/part1"; xz -c "$T/part2") >"$T/split.ko.xz"
(zstd -qc "$T/part1"; zstd -qc "$T/part2") >"$T/split.ko.zst"
printf '\x50\x2a\x4d\x18\x03\x00\x00\x00abc' >"$T/skippable"
(cat "$T/skippable"; zstd -qc "$sample") >"$T/leading.ko.zst"
(xz -c "$sample"; head -c 8 /dev/zero) >"$T/padded.ko.xz"
(zstd -qc "$sample"; cat "$T/skippable") >"$T/trailing.ko.zst"
kmod_reads() { # kmod (modinfo) reads the module, when it was built with that format
  local feature
  case $1 in *.gz) feature=ZLIB ;; *.xz) feature=XZ ;; *.zst) feature=ZSTD ;; esac
  command -v modinfo >/dev/null && modinfo --version | grep -q "+$feature" || return 0
  _checks=$((_checks + 1))
  [ "$(modinfo -F name "$1" 2>/dev/null)" = ksign_sample ] || fail "kmod does not read $1"
}
for name in split.ko.gz split.ko.xz split.ko.zst; do
  # kmod reads every gzip member and xz stream; zstd frames only up to kmod 33 (34 and newer
  # refuse a second frame that holds data), so a split .zst is not asked of it before signing.
  [ "$name" = split.ko.zst ] || kmod_reads "$T/$name"
  check_status 1 "verify $name" "$KSIGN" verify "${cert[@]}" "$T/$name"
  check_grep "verify $name: malformed, the kernel reads the first part only" \
    "$name: malformed \(2 (gzip members|xz streams|zstd frames): kmod's userspace decompression and .* reads only the first, 50000 of $(stat -c %s "$sample") bytes" "$T/.out"
  check "sign $name" "$KSIGN" sign "${key[@]}" "$T/$name"
  check "verify $name after signing" "$KSIGN" verify "${cert[@]}" "$T/$name"
  check_grep "$name: ok" "$name: ok" "$T/.out"
  kmod_reads "$T/$name"
done
kmod_reads "$T/padded.ko.xz"
kmod_reads "$T/trailing.ko.zst"
for name in padded.ko.xz trailing.ko.zst; do
  check_status 1 "verify $name" "$KSIGN" verify "${cert[@]}" "$T/$name"
  check_grep "verify $name: unsigned, not malformed" "$name: unsigned" "$T/.out"
  check "sign $name" "$KSIGN" sign "${key[@]}" "$T/$name"
  check "verify $name after signing" "$KSIGN" verify "${cert[@]}" "$T/$name"
done
if command -v modinfo >/dev/null && modinfo --version | grep -q +ZSTD; then
  check_status 1 "kmod does not read a .ko.zst that starts with a skippable frame" modinfo -F name "$T/leading.ko.zst"
fi
check_status 1 "verify leading.ko.zst" "$KSIGN" verify "${cert[@]}" "$T/leading.ko.zst"
check_grep "verify leading.ko.zst: zstd, malformed" "leading.ko.zst: malformed \(a zstd skippable frame comes before the module: .*neither the kernel nor kmod" "$T/.out"
check "sign leading.ko.zst" "$KSIGN" sign "${key[@]}" "$T/leading.ko.zst"
[ "$(head -c 4 "$T/leading.ko.zst" | od -An -tx1 | tr -d ' ')" = 28b52ffd ] && pass || fail "the signed leading.ko.zst does not start with a zstd frame"
check "verify leading.ko.zst after signing" "$KSIGN" verify "${cert[@]}" "$T/leading.ko.zst"
kmod_reads "$T/leading.ko.zst"

# Text from files is escaped: a signer CN that retitles the terminal and fakes an "ok" line,
# named raw as the issuer of an unknown key; a module file name with a newline.
evil_cn=$(printf 'evil\033]0;pwned\007\nfoo.ko: ok')
openssl req -new -nodes -utf8 -x509 -batch -days 1 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 \
  -subj "/CN=$evil_cn" -addext "subjectKeyIdentifier=hash" -keyout "$T/evil.key" -out "$T/evil.crt" 2>/dev/null
cp "$sample" "$T/evil.ko"
check "sign with the crafted certificate" "$KSIGN" sign --key "$T/evil.key" --cert "$T/evil.crt" "$T/evil.ko"
check_status 1 "verify against another certificate" "$KSIGN" verify --cert "$T/keys/other.crt" "$T/evil.ko"
check_contains "the signer is shown escaped" "evil.ko: unknown key (signer 'evil\\x1b]0;pwned\\x07\\nfoo.ko: ok', sig_key " "$T/.out"
# One verdict line, then the line naming what is trusted: no line of the signer's own.
[ "$(grep -c 'evil.ko' "$T/.out")" -eq 1 ] && [ "$(wc -l <"$T/.out")" -eq 2 ] && ! grep -q '^foo.ko' "$T/.out" \
  && pass || fail "the signer name made extra lines: $(cat "$T/.out")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/.out" && fail "a raw control character reached stdout" || pass
check_status 1 "verify --json keeps the name, JSON-escaped" "$KSIGN" verify --json --cert "$T/keys/other.crt" "$T/evil.ko"
check_contains "JSON escapes" '"signer": "evil\u001b]0;pwned\u0007\nfoo.ko: ok"' "$T/.out"
nl_name="$T/a"$'\n'"b.ko: ok"$'\033'"[2J.ko"
cp "$sample" "$nl_name"
check_status 1 "verify a file named with a newline and ESC" "$KSIGN" verify --cert "$T/keys/other.crt" "$nl_name"
check_contains "the name is escaped" "a\\nb.ko: ok\\x1b[2J.ko: unsigned" "$T/.out"
[ "$(wc -l <"$T/.out")" -eq 1 ] && pass || fail "the file name made extra lines: $(cat "$T/.out")"
check_refused 2 "an error names it escaped" "the key file '.*/a\\\\nb\\.ko: ok\\\\x1b\\[2J\\.ko' holds no certificate" \
  "$KSIGN" sign --key "$nl_name" "$sample"

# Configs: only a kernel config is one; anything else is refused and left byte for byte.
S="$T/store"
check "make a key" "$KSIGN" keys --dir "$S"
cp /bin/true "$T/elf-config"
printf 'root:x:0:0:root:/root:/bin/bash\nCONFIG_MODULES=y\n' >"$T/passwd-config"
printf 'some notes about CONFIG_MODULE_SIG\n' >"$T/text-config"
for file in elf-config passwd-config text-config; do
  cp "$T/$file" "$T/copy"
  check_refused 1 "config $file" "'$(re_quote "$T/$file")' is not a kernel config: " "$KSIGN" config --dir "$S" "$T/$file"
  check_same "$file untouched by config" "$T/copy" "$T/$file"
  check_refused 1 "keys --config $file" "is not a kernel config" "$KSIGN" keys --dir "$S" --config "$T/$file"
  check_same "$file untouched by keys" "$T/copy" "$T/$file"
done
# A good config beside a bad one: neither changes.
cp "$arch_config" "$T/good-config"
check_status 1 "a good and a bad config" "$KSIGN" config --dir "$S" "$T/good-config" "$T/text-config"
check_same "the good config untouched too" "$arch_config" "$T/good-config"
# A symlinked config is never written through: the link is replaced by the edited copy, its
# target stays (test_cli_links.sh has the details).
cp "$arch_config" "$T/real-config"
ln -s real-config "$T/linked-config"
check "config through a symlink" "$KSIGN" config --dir "$S" "$T/linked-config"
[ ! -L "$T/linked-config" ] && pass || fail "the link is still a link"
check_line "the copy trusts the key" "CONFIG_SYSTEM_TRUSTED_KEYS=\"$(realpath "$S/current/signing_crt.pem")\"" "$T/linked-config"
check_same "the target is untouched" "$arch_config" "$T/real-config"
# A key store path with a newline writes no lines of its own into .config.
cp "$arch_config" "$T/config"
bad_store="$T/store"$'\n'"CONFIG_MODULE_SIG_FORCE=n"
check_refused 1 "a key store path with a newline" "cannot name '.*store\\\\nCONFIG_MODULE_SIG_FORCE=n' in CONFIG_SYSTEM_TRUSTED_KEYS: it holds a newline" \
  "$KSIGN" keys --dir "$bad_store" --config "$T/config"
check_same "config untouched" "$arch_config" "$T/config"
[ ! -e "$bad_store" ] && pass || fail "the key store was made although its path was refused"
# No key type in a config with module signing: an error naming the options, no RSA guess.
grep -v '^CONFIG_MODULE_SIG_KEY_TYPE_\|^# CONFIG_MODULE_SIG_KEY_TYPE_' "$arch_config" >"$T/no-type-config"
cp "$T/no-type-config" "$T/copy"
check_refused 1 "a config without a key type" "sets no module-signing key type: none of CONFIG_MODULE_SIG_KEY_TYPE_RSA, CONFIG_MODULE_SIG_KEY_TYPE_ECDSA" \
  "$KSIGN" keys --dir "$T/store2" --config "$T/no-type-config"
check_same "no-type config untouched" "$T/copy" "$T/no-type-config"
[ ! -e "$T/store2" ] && pass || fail "a key store was made for a config without a key type"

# A file size limit (ulimit -f) is an error naming the file, like a full disk: SIGXFSZ killed
# ksign silently (exit 153) and left a partial temporary.
cp "$sample" "$T/limited.ko"
check_refused 1 "sign under ulimit -f" "'$(re_quote "$T")/limited.ko': cannot write .*: the file size limit \\(ulimit -f\\) is 51200 bytes" \
  bash -c 'ulimit -f 50 && exec "$@"' - "$KSIGN" sign "${key[@]}" "$T/limited.ko"
check_same "limited.ko untouched" "$sample" "$T/limited.ko"
[ -z "$(find "$T" -maxdepth 1 -name '.limited.ko.ksign-*')" ] && pass || fail "a temporary was left: $(ls -a "$T" | grep ksign-)"

# No core dump holds a private key: ksign is not dumpable from its start, so a crash (here a
# SIGSEGV once the first module is signed, the key loaded, with RLIMIT_CORE unlimited) dumps
# nothing. Where core_pattern writes a file (not a pipe) the core would be in the working directory.
# Under a sanitizer the crash is the sanitizer's (it takes SIGSEGV and core dumps over, and its
# report would count as a finding): the check runs in the lanes without one.
if [ -n "${KSIGN_SANITIZED:-}" ]; then
  echo "note: built with a sanitizer, which handles SIGSEGV itself: the core dump check is left out" >&2
else
mkdir -p "$T/crash/tree"
cp "$sample" "$T/crash/tree/first.ko" # the largest: signed first
strip --strip-debug -o "$T/crash/small.ko" "$sample" 2>/dev/null || cp "$sample" "$T/crash/small.ko"
python3 - "$KSIGN" "$T/keys/trusted.pem" "$T/crash" >"$T/crash/result" 2>&1 <<'EOP'
import os, resource, signal, subprocess, sys, time
ksign, key, work = sys.argv[1:]
with open(work + "/small.ko", "rb") as small:
    module = small.read()
for i in range(2000):
    with open(f"{work}/tree/m{i}.ko", "wb") as copy:
        copy.write(module)
def allow_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
child = subprocess.Popen([ksign, "sign", "-q", "-j", "1", "--key", key, "-r", work + "/tree"], cwd=work,
                         preexec_fn=allow_core, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 30
while time.time() < deadline:
    with open(work + "/tree/first.ko", "rb") as module:
        if module.read().endswith(b"~Module signature appended~\n"):
            break
    time.sleep(0.002)
os.kill(child.pid, signal.SIGSEGV)
_, status = os.waitpid(child.pid, 0)
if os.WIFEXITED(status):
    print("finished before the signal: inconclusive")
else:
    print("core dumped" if os.WCOREDUMP(status) else "no core", "signal", os.WTERMSIG(status))
EOP
if grep -q inconclusive "$T/crash/result"; then
  echo "note: ksign finished before the SIGSEGV; the core dump check did not run" >&2
else
  check_line "a crash of sign dumps no core" "no core signal 11" "$T/crash/result"
  key_line=$(sed -n 2p "$T/keys/trusted.key")
  for core in "$T"/crash/core*; do
    [ -f "$core" ] || continue
    check_no_contains "the core holds no private key" "$key_line" "$core"
  done
fi
rm -rf "$T/crash"
fi

# A PKCS#11 URI in any letter case is a URI (RFC 3986: the scheme is case-insensitive), not a
# file name, and no message shows its PIN, wherever it is written.
cp "$sample" "$T/token.ko"
for uri in 'PKCS11:token=nosuch;object=k;type=private?pin-value=4321' 'Pkcs11:token=nosuch;object=k;pin-value=4321' \
           'pkcs11:token=nosuch;object=k?PIN-VALUE=4321' 'pkcs11:token=nosuch;object=k?pin%2Dvalue=4321'; do
  check_status 1 "sign --key $uri" "$KSIGN" sign --key "$uri" "$T/token.ko"
  check_no_contains "sign --key $uri: no PIN" 4321 "$T/.err"
  # Taken as a key in a token, whatever the provider's own error text says (OpenSSL's may name
  # a missing file of the token's module), never as a file named by the URI.
  check_grep "sign --key $uri: a token's key, not a file name" "PKCS#11" "$T/.err"
  check_no_grep "sign --key $uri: not read as a file" "cannot read '" "$T/.err"
  check_status 1 "sign-file $uri" "$KSIGN" sign-file sha512 "$uri" "$T/keys/trusted.crt" "$T/token.ko"
  check_no_contains "sign-file $uri: no PIN" 4321 "$T/.err"
done
check_same "token.ko untouched" "$sample" "$T/token.ko"

# status and keys --show print names from files escaped: an installed kernel's release (a
# directory name) and a key directory's name that retitle the terminal and fake a line. With
# --json they are JSON-escaped. No raw control character reaches stdout either way.
moddir="$T/hostile-modules"
evil_release=$(printf '6.1-evil\033]0;pwned\007\nverdict: ok')
mkdir -p "$moddir/$evil_release/kernel" "$moddir/6.2-keyed/build" # kernel/: an installed kernel
# A kernel with a ksign key whose key directory has a hostile name.
evil_dir=$(printf '2026-01-01_00-00-00\033[2J')
check "make a kernel's key" "$KSIGN" keys --dir "$moddir/6.2-keyed/build/certs-local"
mv "$moddir/6.2-keyed/build/certs-local/$(readlink "$moddir/6.2-keyed/build/certs-local/current")" \
  "$moddir/6.2-keyed/build/certs-local/$evil_dir"
ln -sfn "$evil_dir" "$moddir/6.2-keyed/build/certs-local/current"
no_raw_controls() {
  LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/.out" && fail "$1: a raw control character reached stdout: $(cat -v "$T/.out")" || pass
}
check "status with a hostile kernel release" env KSIGN_MODULEDIR="$moddir" "$KSIGN" status
check_contains "status: the release is escaped" '6.1-evil\x1b]0;pwned\x07\nverdict: ok' "$T/.out"
check_grep "status: the keyed kernel is listed" "^  6\.2-keyed +ksign key [0-9a-f]+" "$T/.out"
no_raw_controls "status"
[ "$(grep -c '^verdict:' "$T/.out")" -eq 1 ] && pass || fail "status: the release made a verdict line: $(cat -v "$T/.out")"
check "status --json with a hostile kernel release" env KSIGN_MODULEDIR="$moddir" "$KSIGN" status --json
check_contains "status --json: JSON-escaped" '"release": "6.1-evil\u001b]0;pwned\u0007\nverdict: ok"' "$T/.out"
no_raw_controls "status --json"
check "keys --show, a hostile key directory" env KSIGN_MODULEDIR="$moddir" "$KSIGN" keys --show --dir "$moddir/6.2-keyed/build/certs-local"
check_contains "keys --show: the key directory is escaped" 'current key:  2026-01-01_00-00-00\x1b[2J' "$T/.out"
check_contains "keys --show: the release is escaped" '6.1-evil\x1b]0;pwned\x07\nverdict: ok' "$T/.out"
no_raw_controls "keys --show"
check "keys --show --json, a hostile key directory" env KSIGN_MODULEDIR="$moddir" "$KSIGN" keys --show --json --dir "$moddir/6.2-keyed/build/certs-local"
check_contains "keys --show --json: JSON-escaped" '2026-01-01_00-00-00\u001b[2J"' "$T/.out"
no_raw_controls "keys --show --json"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/.out" && pass || fail "keys --show --json is not JSON: $(cat -v "$T/.out")"
# The release is escaped for the terminal only: the kernel's image and private key are looked up
# under its real name (keys --show once looked up the escaped one, and found no image).
tb=$KSIGN_SOURCE_ROOT/../shared/testbed
if [ -f "$tb/vmlinux" ]; then
  evil_build="$moddir/$evil_release/build"
  mkdir -p "$evil_build/certs-local/2026-01-01_00-00-00"
  cp "$tb/vmlinux" "$evil_build/vmlinux"
  cp "$tb/keys/trusted-ec.pem" "$evil_build/certs-local/2026-01-01_00-00-00/signing_key.pem"
  chmod 600 "$evil_build/certs-local/2026-01-01_00-00-00/signing_key.pem"
  cp "$tb/keys/trusted-ec.der" "$evil_build/certs-local/2026-01-01_00-00-00/signing_crt.crt"
  ln -s 2026-01-01_00-00-00 "$evil_build/certs-local/current"
  check "keys --show, a hostile release with a key and an image" env KSIGN_MODULEDIR="$moddir" "$KSIGN" keys --show --dir "$T/nostore"
  check_grep "keys --show: found under its real name" \
    '^  6\.1-evil\\x1b\]0;pwned\\x07\\nverdict: ok +key id [0-9a-f]+; private key in its headers; trusted by its image \(vmlinux, symbols\)$' "$T/.out"
  no_raw_controls "keys --show, a hostile release with a key"
  check "status, a hostile release with a key and an image" env KSIGN_MODULEDIR="$moddir" "$KSIGN" status
  check_grep "status: found under its real name" \
    '^  6\.1-evil\\x1b\]0;pwned\\x07\\nverdict: ok +ksign key [0-9a-f]+, .* old; trusted by its image \(vmlinux, symbols\)$' "$T/.out"
  no_raw_controls "status, a hostile release with a key"
fi
