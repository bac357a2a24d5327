#!/bin/bash
# SPDX-License-Identifier: MIT
# ksign performance benchmark (issue "Performance"). Run by hand or `meson test --suite bench`;
# never part of the default test run or CI.
#
# On a realistic corpus (every module of a distro kernel package, or a directory you name) it
# times, alternating within each round: ksign bulk signing, the kernel's sign-file once per
# module with the same parallelism, ksign on a .ko.zst copy of the tree, ksign verify of the
# signed tree, and the machine bound (read + SHA-512 every byte, one P-384 signature or check
# per module, on one thread, divided by the cores). Then single-module latency of ksign and
# sign-file (median of alternating runs), and in the same runs a minimal OpenSSL signer: the
# bound program's --one mode, a process that loads key and certificate with OpenSSL's PEM
# readers, reads + SHA-512s the module and signs once (exec and libcrypto start-up included). Prints
# every result as a ratio against its target and exits 1 when a target is missed or a ksign
# command fails.
#
# Environment:
#   KSIGN                      the ksign binary (required)
#   KSIGN_BENCH_BOUND          the ksign-bench-bound binary (default: next to ksign's build)
#   KSIGN_BENCH_CORPUS         cache directory for the downloaded corpus (~/.cache/ksign-bench)
#   KSIGN_BENCH_MODULES        use the modules under this directory instead of downloading
#                              (.ko, .ko.xz, .ko.gz, .ko.zst; signatures are stripped)
#   KSIGN_BENCH_LIMIT=N        use only N modules, spread evenly over the tree (quick run)
#   KSIGN_BENCH_ROUNDS=N       rounds of the bulk measurements (default 3; medians reported)
#   KSIGN_BENCH_SINGLE_RUNS=N  runs of each tool (and the minimal signer) for single-module latency
#                              (default 21, >= 20)
#   KSIGN_BENCH_SIGN_FILE      the kernel's sign-file (default: newest /usr/lib/linux-kbuild-*)
#   KSIGN_BENCH_WORK           where the scratch trees go (default $TMPDIR or /tmp)
set -euo pipefail
# meson test sets MALLOC_PERTURB_ for every test; it makes glibc fill each allocation and each
# free, which is a cost no real run has.
unset MALLOC_PERTURB_

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

: "${KSIGN:?KSIGN must name the built ksign binary}"
[ -x "$KSIGN" ] || die "KSIGN '$KSIGN' is not executable"
KSIGN=$(realpath "$KSIGN")

BOUND=${KSIGN_BENCH_BOUND:-}
if [ -z "$BOUND" ]; then
  BOUND=$(dirname "$KSIGN")/../tests/bench/ksign-bench-bound
fi
[ -x "$BOUND" ] || die "no bound program at '$BOUND': build it (ninja tests/bench/ksign-bench-bound) or set KSIGN_BENCH_BOUND"

CORPUS_CACHE=${KSIGN_BENCH_CORPUS:-$HOME/.cache/ksign-bench}
LIMIT=${KSIGN_BENCH_LIMIT:-0}
ROUNDS=${KSIGN_BENCH_ROUNDS:-3}
SINGLE_RUNS=${KSIGN_BENCH_SINGLE_RUNS:-21}
JOBS=$(nproc)
[[ "$LIMIT" =~ ^[0-9]+$ ]] || die "KSIGN_BENCH_LIMIT must be a number"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "KSIGN_BENCH_ROUNDS must be a positive number"
if ! [[ "$SINGLE_RUNS" =~ ^[0-9]+$ ]] || [ "$SINGLE_RUNS" -lt 20 ]; then
  die "KSIGN_BENCH_SINGLE_RUNS must be at least 20"
fi

for tool in python3 openssl zstd find xargs tar; do
  command -v "$tool" >/dev/null || die "'$tool' is needed"
done
TIME=/usr/bin/time
[ -x "$TIME" ] || die "/usr/bin/time is needed for peak RSS (apt-get install time)"

SIGN_FILE=${KSIGN_BENCH_SIGN_FILE:-}
if [ -z "$SIGN_FILE" ]; then
  SIGN_FILE=$(printf '%s\n' /usr/lib/linux-kbuild-*/scripts/sign-file | sort -V | tail -n 1)
fi
if [ -z "$SIGN_FILE" ] || [ ! -x "$SIGN_FILE" ]; then
  say "warning: no sign-file (apt-get install linux-kbuild-<version>): sign-file ratios will be missing"
  SIGN_FILE=
fi

WORK=$(mktemp -d "${KSIGN_BENCH_WORK:-${TMPDIR:-/tmp}}/ksign-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM # so that the EXIT trap removes the scratch trees

# ---- corpus ----

# prepare_unsigned SRC DEST: every module under SRC, decompressed and with all signatures cut
# off, written to DEST as .ko at the same relative path. Prints "modules bytes".
prepare_unsigned() {
  python3 - "$1" "$2" <<'EOF'
import concurrent.futures, gzip, lzma, os, re, subprocess, sys

src, dest = sys.argv[1], sys.argv[2]
MAGIC = b"~Module signature appended~\n"
MODULE = re.compile(r"\.ko(\.(xz|gz|zst))?$")

def unsigned(data, path):
    # Trailer: struct module_signature (12 bytes, sig_len big-endian last) + MAGIC (28 bytes).
    while data.endswith(MAGIC):
        sig_len = int.from_bytes(data[-32:-28], "big")
        if sig_len + 40 > len(data):
            raise SystemExit(f"{path}: bad signature trailer")
        data = data[: -(sig_len + 40)]
    return data

def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xfd7zXZ\x00"):
        return lzma.decompress(raw)
    if raw.startswith(b"\x1f\x8b"):
        return gzip.decompress(raw)
    if raw.startswith(b"\x28\xb5\x2f\xfd"):
        return subprocess.run(["zstd", "-dcq"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw

def one(rel):
    data = unsigned(load(os.path.join(src, rel)), rel)
    if not data.startswith(b"\x7fELF"):
        raise SystemExit(f"{rel}: not an ELF module")
    out = os.path.join(dest, MODULE.sub(".ko", rel))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(data)
    return len(data)

rels = sorted(
    os.path.relpath(os.path.join(root, name), src)
    for root, _, names in os.walk(src)
    for name in names
    if MODULE.search(name)
)
if not rels:
    raise SystemExit(f"no modules under {src}")
with concurrent.futures.ProcessPoolExecutor() as pool:
    sizes = list(pool.map(one, rels, chunksize=16))
print(len(sizes), sum(sizes))
EOF
}

# make_zst_tree KO_DIR ZST_DIR: the same tree compressed the way `make modules_install` does.
make_zst_tree() {
  mkdir -p "$2"
  (cd "$1" && tar -cf - .) | (cd "$2" && tar -xf -)
  find "$2" -name '*.ko' -print0 | xargs -0 -n 32 -P "$JOBS" zstd -q --rm
}

# The newest distro kernel image package that carries the modules (Debian amd64).
newest_kernel_package() {
  local names
  names=$(apt-cache search --names-only '^linux-image-[0-9].*-amd64-unsigned$' | awk '{print $1}' |
    grep -Ev -- '-(cloud|rt)-amd64-unsigned$' || true)
  [ -n "$names" ] || return 1
  # shellcheck disable=SC2086
  apt-cache policy $names | awk '/^[^ ]/ {name = $1; sub(/:$/, "", name)} /Candidate:/ && $2 != "(none)" {print name}' |
    sort -V | tail -n 1
}

if [ -n "${KSIGN_BENCH_MODULES:-}" ]; then
  [ -d "$KSIGN_BENCH_MODULES" ] || die "KSIGN_BENCH_MODULES '$KSIGN_BENCH_MODULES' is not a directory"
  CORPUS_NAME="modules under $KSIGN_BENCH_MODULES"
  CORPUS=$WORK/corpus
  say "preparing the modules under $KSIGN_BENCH_MODULES"
  prepare_unsigned "$KSIGN_BENCH_MODULES" "$CORPUS/ko" >"$CORPUS.stats" || die "cannot prepare the corpus"
  make_zst_tree "$CORPUS/ko" "$CORPUS/zst"
else
  if ! command -v apt-cache >/dev/null || ! command -v dpkg-deb >/dev/null; then
    skip "no apt here: name a module directory with KSIGN_BENCH_MODULES"
  fi
  PACKAGE=$(newest_kernel_package) || true
  [ -n "$PACKAGE" ] || skip "no linux-image-*-amd64-unsigned package known to apt: set KSIGN_BENCH_MODULES"
  CORPUS_NAME=$PACKAGE
  CORPUS=$CORPUS_CACHE/$PACKAGE
  if [ ! -f "$CORPUS/.complete" ]; then
    say "fetching $PACKAGE into $CORPUS_CACHE (once)"
    rm -rf "$CORPUS"
    mkdir -p "$CORPUS/download"
    (cd "$CORPUS/download" && apt-get download "$PACKAGE" >&2) ||
      skip "apt-get download $PACKAGE failed (offline?): set KSIGN_BENCH_MODULES"
    dpkg-deb -x "$CORPUS"/download/*.deb "$CORPUS/unpacked"
    set -- "$CORPUS"/unpacked/lib/modules/*/kernel
    [ -d "$1" ] || die "no lib/modules/*/kernel in $PACKAGE"
    say "unpacking, decompressing and stripping the signatures of the modules"
    prepare_unsigned "$1" "$CORPUS/ko" >"$CORPUS/stats" || die "cannot prepare the corpus"
    make_zst_tree "$CORPUS/ko" "$CORPUS/zst"
    rm -rf "$CORPUS/unpacked"
    touch "$CORPUS/.complete"
  fi
fi

# The modules of this run (relative paths), evenly spread when limited.
(cd "$CORPUS/ko" && find . -name '*.ko' | LC_ALL=C sort) >"$WORK/all.list"
TOTAL=$(wc -l <"$WORK/all.list")
if [ "$LIMIT" -gt 0 ] && [ "$LIMIT" -lt "$TOTAL" ]; then
  awk -v n="$TOTAL" -v k="$LIMIT" 'int((NR - 1) * k / n) != int(NR * k / n)' "$WORK/all.list" >"$WORK/ko.list"
else
  cp "$WORK/all.list" "$WORK/ko.list"
fi
sed 's/$/.zst/' "$WORK/ko.list" >"$WORK/zst.list"
sed "s|^\./|$CORPUS/ko/|" "$WORK/ko.list" >"$WORK/bound.list"
read -r MODULES BYTES LARGEST SINGLE < <(python3 - "$WORK/bound.list" <<'EOF'
import os, sys
paths = [line.rstrip("\n") for line in open(sys.argv[1]) if line.strip()]
sizes = sorted((os.path.getsize(p), p) for p in paths)
print(len(sizes), sum(s for s, _ in sizes), sizes[-1][0], sizes[len(sizes) // 2][1])
EOF
)
SINGLE=${KSIGN_BENCH_SINGLE:-$SINGLE}

# ---- key ----
KEY=$WORK/key/bench.key
CERT=$WORK/key/bench.crt
mkdir -p "$WORK/key"
openssl req -new -nodes -utf8 -sha512 -days 36500 -batch -x509 -subj "/CN=ksign bench" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=digitalSignature" \
  -addext "subjectKeyIdentifier=hash" -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 \
  -keyout "$KEY" -out "$CERT" 2>/dev/null || die "openssl could not make the P-384 key"

KSIGN_SIGN=("$KSIGN" sign --key "$KEY" --cert "$CERT" --hash sha512)
KSIGN_VERIFY=("$KSIGN" verify --cert "$CERT")

# copy_tree KIND DEST: a fresh copy of this run's .ko or .ko.zst modules.
copy_tree() {
  mkdir -p "$2"
  (cd "$CORPUS/$1" && tar -cf - -T "$WORK/$1.list") | (cd "$2" && tar -xf -)
}

# Does ksign sign and verify at all? If not, say why once and leave its rows empty.
KSIGN_WORKS=1
cp "$SINGLE" "$WORK/probe.ko"
probe_status=0
"${KSIGN_SIGN[@]}" "$WORK/probe.ko" >"$WORK/probe.out" 2>&1 || probe_status=$?
if [ "$probe_status" -ne 0 ]; then
  KSIGN_WORKS=0
  say "ksign sign does not work (yet): exit $probe_status: $(head -c 600 "$WORK/probe.out")"
else
  "${KSIGN_VERIFY[@]}" "$WORK/probe.ko" >"$WORK/probe.out" 2>&1 || probe_status=$?
  if [ "$probe_status" -ne 0 ]; then
    KSIGN_WORKS=0
    say "ksign verify does not accept what ksign signed: exit $probe_status: $(head -c 600 "$WORK/probe.out")"
  fi
fi

RESULTS=$WORK/results.tsv
: >"$RESULTS"

# timed NAME ROUND command...: run it under /usr/bin/time; record wall seconds, peak RSS, CPU
# seconds (user + system, children included) and status. Output goes to $WORK/NAME.log.
timed() {
  local name=$1 round=$2 start end status=0
  shift 2
  sync
  start=$EPOCHREALTIME
  "$TIME" -f '%M %U %S' -o "$WORK/rss" "$@" >"$WORK/$name.log" 2>&1 || status=$?
  end=$EPOCHREALTIME
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$(python3 -c "print($end - $start)")" \
    "$(tail -n 1 "$WORK/rss")" "$status" >>"$RESULTS"
  if [ "$status" -ne 0 ]; then
    say "$name (round $round) failed with status $status: $(tail -c 600 "$WORK/$name.log")"
  fi
}

bound() {
  local round=$1 out
  out=$("$BOUND" "$KEY" "$CERT" "$WORK/bound.list") || die "the bound program failed"
  printf 'bound\t%s\t%s\n' "$round" "$out" >>"$RESULTS"
}

ksign_bulk() {
  [ "$KSIGN_WORKS" -eq 1 ] || return 0
  timed ksign-bulk "$1" "${KSIGN_SIGN[@]}" --recursive --jobs 0 "$WORK/ksign"
  timed ksign-verify "$1" "${KSIGN_VERIFY[@]}" --recursive --jobs 0 "$WORK/ksign"
}

ksign_zst() {
  [ "$KSIGN_WORKS" -eq 1 ] || return 0
  timed ksign-zst "$1" "${KSIGN_SIGN[@]}" --recursive --jobs 0 "$WORK/zst"
}

sign_file_bulk() {
  [ -n "$SIGN_FILE" ] || return 0
  timed sign-file-bulk "$1" xargs -0 -n 1 -P "$JOBS" -a "$WORK/sign-file.args" "$SIGN_FILE" sha512 "$KEY" "$CERT"
}

LOAD_BEFORE=$(cut -d ' ' -f 1 /proc/loadavg)
say "corpus: $CORPUS_NAME: $MODULES modules, $BYTES bytes; $JOBS cores; $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  say "round $round of $ROUNDS"
  rm -rf "$WORK/ksign" "$WORK/sign-file" "$WORK/zst"
  copy_tree ko "$WORK/ksign"
  copy_tree ko "$WORK/sign-file"
  copy_tree zst "$WORK/zst"
  find "$WORK/sign-file" -name '*.ko' -print0 >"$WORK/sign-file.args"
  # Alternate the order so that neither side always runs on a warmer or cooler machine.
  if [ $((round % 2)) -eq 1 ]; then
    ksign_bulk "$round"; sign_file_bulk "$round"; ksign_zst "$round"; bound "$round"
  else
    bound "$round"; ksign_zst "$round"; sign_file_bulk "$round"; ksign_bulk "$round"
  fi

  if [ "$round" -eq 1 ] && [ "$KSIGN_WORKS" -eq 1 ]; then
    # Not timed: what was made must be right, or the times mean nothing.
    "${KSIGN_VERIFY[@]}" --recursive --quiet "$WORK/zst" >"$WORK/check.log" 2>&1 ||
      printf 'check\t%s\tksign verify of the .ko.zst tree ksign signed failed: %s\n' "$round" \
        "$(head -c 400 "$WORK/check.log" | tr '\n\t' '  ')" >>"$RESULTS"
    if [ -n "$SIGN_FILE" ]; then
      "${KSIGN_VERIFY[@]}" --recursive --quiet "$WORK/sign-file" >"$WORK/check.log" 2>&1 ||
        printf 'check\t%s\tksign verify of the tree sign-file signed failed: %s\n' "$round" \
          "$(head -c 400 "$WORK/check.log" | tr '\n\t' '  ')" >>"$RESULTS"
    fi
    signed=$(find "$WORK/ksign" -name '*.ko' -exec tail -c 28 {} + 2>/dev/null | grep -c 'Module signature appended' || true)
    [ "$signed" -eq "$MODULES" ] ||
      printf 'check\t%s\tonly %s of %s modules carry a signature after ksign sign\n' "$round" "$signed" "$MODULES" >>"$RESULTS"
  fi
done
rm -rf "$WORK/ksign" "$WORK/sign-file" "$WORK/zst"

say "single-module latency: $SINGLE_RUNS alternating runs each on $(basename "$SINGLE") ($(stat -c %s "$SINGLE") bytes)"
single_run() {
  local name=$1 start end status=0
  shift
  cp "$SINGLE" "$WORK/single.ko"
  sync
  start=$EPOCHREALTIME
  "$@" "$WORK/single.ko" >"$WORK/single.log" 2>&1 || status=$?
  end=$EPOCHREALTIME
  printf '%s\t%s\t%s\t\t%s\n' "$name" "$run" "$(python3 -c "print($end - $start)")" "$status" >>"$RESULTS"
}
single_ksign() { [ "$KSIGN_WORKS" -eq 0 ] || single_run ksign-single "${KSIGN_SIGN[@]}"; }
single_sign_file() { [ -z "$SIGN_FILE" ] || single_run sign-file-single "$SIGN_FILE" sha512 "$KEY" "$CERT"; }
single_floor() { single_run floor-single "$BOUND" --one "$KEY" "$CERT"; }
# All six orders in turn: each of the three runs first, second and last equally often, and each
# runs before each other one equally often.
SINGLE_ORDERS=("ksign sign_file floor" "sign_file floor ksign" "floor ksign sign_file"
  "floor sign_file ksign" "sign_file ksign floor" "ksign floor sign_file")
for run in $(seq 1 "$SINGLE_RUNS"); do
  for step in ${SINGLE_ORDERS[$(((run - 1) % ${#SINGLE_ORDERS[@]}))]}; do
    "single_$step"
  done
done

# ---- report ----
LOAD_AFTER=$(cut -d ' ' -f 1 /proc/loadavg)
python3 - "$RESULTS" "$JOBS" "$MODULES" "$BYTES" "$LARGEST" "$KSIGN_WORKS" "${SIGN_FILE:+1}" "$CORPUS_NAME" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$(stat -f -c %T "$WORK") ($WORK)" <<'EOF'
import statistics, sys

results, jobs, modules, total_bytes, largest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ksign_works, have_sign_file, corpus = sys.argv[6] == "1", sys.argv[7] == "1", sys.argv[8]
loads = (float(sys.argv[9]), float(sys.argv[10]))
scratch = sys.argv[11]

times, rss, cpu, kernel, failures, checks, bounds = {}, {}, {}, {}, [], [], []
for line in open(results):
    fields = line.rstrip("\n").split("\t")
    if fields[0] == "bound":
        values = dict(item.split("=") for item in fields[2].split())
        bounds.append({k: float(v) for k, v in values.items()})
    elif fields[0] == "check":
        checks.append(fields[2])
    else:
        name, run, seconds, peak, status = fields
        if status != "0":
            failures.append(f"{name} run {run} exited {status}")
            continue
        times.setdefault(name, []).append(float(seconds))
        if peak:
            kib, user, system = peak.split()
            rss.setdefault(name, []).append(int(kib) * 1024)
            cpu.setdefault(name, []).append(float(user) + float(system))
            kernel.setdefault(name, []).append(float(system))

def median(name):
    return statistics.median(times[name]) if name in times else None

def median_cpu(name):
    return statistics.median(cpu[name]) if name in cpu else None

# The bound: CPU seconds of the best round, divided by the cores.
sign_bound_cpu = min(b["hash_seconds"] + b["sign_seconds"] for b in bounds)
verify_bound_cpu = min(b["hash_seconds"] + b["verify_seconds"] for b in bounds)
sign_bound = sign_bound_cpu / jobs
verify_bound = verify_bound_cpu / jobs
hash_seconds = min(b["hash_seconds"] for b in bounds)
MiB = 1024 * 1024

print()
print(f"ksign benchmark: {corpus}: {modules} modules, {total_bytes / MiB:.1f} MiB, largest {largest / MiB:.1f} MiB; "
      f"{jobs} cores; EC P-384 + sha512")
# File creation and writing cost depends on the file system (and, on ext4 without a journal,
# on how many files were deleted in the last minutes): name it with the results.
print(f"scratch trees on {scratch}")
print()
# "of it kernel": system time, mostly file creation and writing; the bound has almost none.
print(f"{'measurement':44} {'median s':>10} {'min s':>9} {'runs':>5} {'peak RSS':>10} {'CPU s':>8} {'of it kernel':>13}")
rows = [
    ("ksign-bulk", "ksign sign, whole .ko tree (--jobs 0)"),
    ("sign-file-bulk", f"sign-file per module (xargs -P {jobs})"),
    ("ksign-zst", "ksign sign, whole .ko.zst tree"),
    ("ksign-verify", "ksign verify, whole signed tree"),
    ("ksign-single", "ksign sign, one module"),
    ("sign-file-single", "sign-file, one module"),
    ("floor-single", "minimal OpenSSL signer, one module"),
]
for name, label in rows:
    if name in times:
        peak = f"{max(rss[name]) / MiB:.1f} MiB" if name in rss else ""
        used = f"{median_cpu(name):.3f}" if name in cpu else ""
        in_kernel = f"{statistics.median(kernel[name]):.3f}" if name in kernel else ""
        # Single-module times are milliseconds: show four decimals so they stay readable.
        digits = 4 if name.endswith("-single") else 3
        print(f"{label:44} {median(name):10.{digits}f} {min(times[name]):9.{digits}f} {len(times[name]):5} "
              f"{peak:>10} {used:>8} {in_kernel:>13}")
    else:
        print(f"{label:44} {'-':>10}")
print(f"{'bound: sign = (hash + ' + str(modules) + ' signatures) / cores':44} {sign_bound:10.3f}")
print(f"{'bound: verify = (hash + ' + str(modules) + ' checks) / cores':44} {verify_bound:10.3f}")
print(f"{'  of which read + sha512 of all bytes, 1 core':44} {hash_seconds:10.3f}")
print("(the bound is CPU time on one thread, of the best round; wall times are medians)")

# Peak memory must be bounded by the modules in flight, not the tree: per job the module, its
# decompressed and signed copies; plus a fixed base for the program and OpenSSL.
in_flight = jobs * 3 * largest + 64 * MiB

def ratio(a, b):
    return None if a is None or b is None else a / b

targets = [
    ("bulk: ksign / sign-file", ratio(median("ksign-bulk"), median("sign-file-bulk")), 1 / 8, "<= 1/8"),
    ("bulk: ksign / bound", ratio(median("ksign-bulk"), sign_bound), 1.3, "<= 1.3"),
    (".zst tree / .ko tree (ksign)", ratio(median("ksign-zst"), median("ksign-bulk")), 2.0, "<= 2"),
    ("single module: ksign / sign-file", ratio(median("ksign-single"), median("sign-file-single")), 1 / 3, "<= 1/3"),
    ("verify: ksign / bound", ratio(median("ksign-verify"), verify_bound), 1.3, "<= 1.3"),
]
for name in ("ksign-bulk", "ksign-zst", "ksign-verify"):
    peak = max(rss[name]) if name in rss else None
    targets.append((f"peak RSS {name} / in-flight allowance", ratio(peak, in_flight), 1.0, "<= 1"))
# CPU ratios do not depend on what else the machine is doing: how much work, not how fast.
info = [
    (".zst tree: ksign / bound", ratio(median("ksign-zst"), sign_bound)),
    ("bulk: sign-file / bound", ratio(median("sign-file-bulk"), sign_bound)),
    ("CPU bulk: ksign / sign-file", ratio(median_cpu("ksign-bulk"), median_cpu("sign-file-bulk"))),
    ("CPU bulk: ksign / bound", ratio(median_cpu("ksign-bulk"), sign_bound_cpu)),
    ("CPU .zst tree: ksign / bound", ratio(median_cpu("ksign-zst"), sign_bound_cpu)),
    ("CPU verify: ksign / bound", ratio(median_cpu("ksign-verify"), verify_bound_cpu)),
    ("single module: ksign / minimal signer", ratio(median("ksign-single"), median("floor-single"))),
    ("single module: sign-file / minimal signer", ratio(median("sign-file-single"), median("floor-single"))),
]
floor_share = ratio(median("floor-single"), median("sign-file-single"))

print()
print(f"{'ratio':44} {'value':>10} {'target':>9}  result")
missed = 0
for label, value, limit, shown in targets:
    if value is None:
        result, text = "NOT MEASURED", "-"
        missed += 1
    else:
        result, text = ("ok" if value <= limit else "MISSED"), f"{value:.3f}"
        missed += value > limit
    print(f"{label:44} {text:>10} {shown:>9}  {result}")
for label, value in info:
    print(f"{label:44} {('-' if value is None else f'{value:.3f}'):>10} {'(info)':>9}")
print(f"in-flight allowance = {jobs} jobs x 3 x largest module + 64 MiB = {in_flight / MiB:.1f} MiB")
if floor_share is not None:
    print(f"minimal OpenSSL signer / sign-file = {floor_share:.3f}: a process that only loads the key, "
          "hashes the module and signs it once already takes this share of sign-file's time "
          f"({'above' if floor_share > 1 / 3 else 'below'} the single-module target of 1/3)")
print(f"load average before / after: {loads[0]:.2f} / {loads[1]:.2f}")
if max(loads) > jobs:
    print(f"WARNING: the machine was busy (load above {jobs} cores): wall-clock ratios are unreliable, "
          "the CPU ratios less so")

problems = failures + checks
if not ksign_works:
    problems.append("ksign sign/verify did not work on a single module: its measurements are missing")
if not have_sign_file:
    problems.append("no sign-file: install linux-kbuild-<version>")
print()
for problem in problems:
    print(f"PROBLEM: {problem}")
print(f"{len(targets) - missed} of {len(targets)} targets met, {len(problems)} problems")
sys.exit(1 if missed or problems else 0)
EOF
