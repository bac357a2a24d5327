#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interrupted runs: `ksign sign -r` over ~200 modules killed at random moments, with SIGKILL
# (the next run removes what the dead run left) and with SIGTERM, SIGINT and SIGHUP (the run
# removes its own temporaries before it dies). After every round each module is byte-identical
# to what it was or validly signed; after the following run nothing is left behind. The same
# for `ksign keys`, whose hidden .new-* directories hold private keys.
# KSIGN_INTERRUPT_ROUNDS (default 30) sets the SIGKILL rounds; the other signals get a third each.
# In memory when possible: on a disk each run's syncfs waits for whatever else the machine
# writes, which makes a round take seconds rather than a fraction of one (the kills then still
# land anywhere: reading, signing, writing temporaries, renaming).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
set -m # background jobs get SIGINT like any other process (without job control bash ignores it for them)

# tests/lib.sh itself: a signal that lands in a child between fork and exec runs the EXIT trap
# there, in a copy of the test's shell. Only the test's own shell may remove $T (this failed 2 of
# 6 runs on a busy machine, the rounds below killing ksign before it had exec'd). A test of its
# own, with its own $T, starts and at once kills 100 children per signal.
mkdir -p "$T/race"
cat >"$T/race/race.sh" <<'EOR'
. "$KSIGN_SOURCE_ROOT/tests/lib.sh"
set -m
for signal in INT HUP TERM; do
  for ((i = 0; i < 100; i++)); do
    sleep 0.001 >/dev/null 2>&1 &
    pid=$!
    kill -s "$signal" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -d "$T" ] || { echo "RACE: \$T removed under the test after $i ${signal}s" >&2; exit 1; }
  done
done
echo "RACE: survived" >&2
EOR
TMPDIR="$T/race" bash "$T/race/race.sh" 2>"$T/race/err" || true
check_line "lib.sh: a killed child does not remove \$T" "RACE: survived" "$T/race/err"
[ "$(grep -c ' checks, ' "$T/race/err")" = 1 ] && pass || fail "lib.sh: _finish ran outside the test's shell: $(grep ' checks, ' "$T/race/err" | head -3)"
[ -z "$(ls -A "$T/race" | grep -v -e race.sh -e err)" ] && pass || fail "lib.sh: the race test's own \$T was left behind"

sample="$KSIGN_SOURCE_ROOT/tests/data/sample/ksign_sample.ko"
# Small modules and a fast key keep the rounds short: the sample without its debug info
# (5 KB instead of 110 KB), an EC P-256 key.
mkdir -p "$T/keys"
strip --strip-debug -o "$T/small.ko" "$sample" 2>/dev/null || cp "$sample" "$T/small.ko"
sample="$T/small.ko"
openssl req -new -nodes -x509 -days 1 -batch -subj "/CN=ksign interrupt test" -addext "subjectKeyIdentifier=hash" \
  -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$T/keys/ec.key" -out "$T/keys/ec.crt" 2>/dev/null
cat "$T/keys/ec.key" "$T/keys/ec.crt" >"$T/keys/ec.pem"
chmod 600 "$T/keys/ec.key" "$T/keys/ec.pem"
rounds=${KSIGN_INTERRUPT_ROUNDS:-30}
signal_rounds=$(( (rounds + 2) / 3 ))

# The tree: 200 copies of the sample module in 10 directories, some compressed.
mkdir -p "$T/orig"
for d in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p "$T/orig/d$d"
  for m in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do
    cp "$sample" "$T/orig/d$d/m$m.ko"
  done
  zstd -q --rm "$T/orig/d$d/m19.ko" 2>/dev/null || true
done
cp -a "$T/orig" "$T/tree"

leftovers() { find "$1" -name '.*.ksign-*' | wc -l; }

# Each module is as it was (unsigned, as in orig/) or verifies; prints the number of bad ones.
bad_modules() {
  "$KSIGN" verify --cert "$T/keys/ec.crt" -r "$T/tree" >"$T/verify.out" 2>/dev/null
  local bad=0 path
  while IFS= read -r line; do
    path=${line%%: *}
    case $line in *": ok "*) continue ;; esac
    cmp -s "$path" "$T/orig/${path#"$T/tree/"}" || { bad=$((bad + 1)); echo "damaged: $line" >&2; }
  done <"$T/verify.out"
  [ "$(wc -l <"$T/verify.out")" -eq 200 ] || { bad=$((bad + 1)); echo "verify listed $(wc -l <"$T/verify.out") modules" >&2; }
  echo "$bad"
}

# How long a whole run takes, so the kills land anywhere in it.
start=$(date +%s%N)
check "a whole run" "$KSIGN" sign --key "$T/keys/ec.pem" -r "$T/tree"
run_ms=$(( ($(date +%s%N) - start) / 1000000 + 5 ))
rm -rf "$T/tree"; cp -a "$T/orig" "$T/tree"

# kill_round SIGNAL: start a run, kill it after a random delay within a run's length.
kill_round() {
  local signal=$1 delay pid status=0
  delay=$(( RANDOM % run_ms ))
  "$KSIGN" sign -q --key "$T/keys/ec.pem" -r -j 2 "$T/tree" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' "$delay")"
  kill -s "$signal" "$pid" 2>/dev/null
  wait "$pid" || status=$?
  # 0: it finished first; otherwise it must have died of the signal itself.
  if [ "$status" -ne 0 ] && [ "$status" -ne $((128 + $(kill -l "$signal"))) ]; then
    fail "$signal round: ksign exited $status"
  fi
}

killed_left=0
for ((round = 1; round <= rounds; round++)); do
  kill_round KILL
  n=$(leftovers "$T/tree"); killed_left=$((killed_left + n))
  [ "$(bad_modules)" -eq 0 ] && pass || fail "SIGKILL round $round: a module is neither original nor validly signed"
  # The following run (not interrupted) removes what the killed one left.
  check "run after SIGKILL round $round" "$KSIGN" sign -v --key "$T/keys/ec.pem" -r "$T/tree"
  [ "$n" -eq 0 ] || check_grep "-v names what it removed" 'removed .*\.ksign-[0-9]+-[a-z0-9]{8}.*interrupted run' "$T/.err"
  after=$(leftovers "$T/tree")
  [ "$after" -eq 0 ] && pass || fail "SIGKILL round $round: $after temporaries left after the following run"
  rm -rf "$T/tree"; cp -a "$T/orig" "$T/tree"
done
echo "SIGKILL: $rounds rounds, $killed_left temporaries left by the killed runs, 0 after the following runs" >&2

for signal in TERM INT HUP; do
  left=0
  for ((round = 1; round <= signal_rounds; round++)); do
    kill_round "$signal"
    n=$(leftovers "$T/tree"); left=$((left + n))
    [ "$n" -eq 0 ] && pass || fail "SIG$signal round $round: $n temporaries left: $(find "$T/tree" -name '.*.ksign-*' | head -3)"
    [ "$(bad_modules)" -eq 0 ] && pass || fail "SIG$signal round $round: a module is neither original nor validly signed"
    rm -rf "$T/tree"; cp -a "$T/orig" "$T/tree"
  done
  echo "SIG$signal: $signal_rounds rounds, $left temporaries left" >&2
done

# Only dead ksign processes' temporaries, and only exact names, are removed.
mkdir -p "$T/tidy"
cp "$sample" "$T/tidy/a.ko"
sleep 1000 & live=$!
# A pid that is surely gone: a finished child's.
sh -c 'exit 0' & dead=$!; wait "$dead"
for name in ".a.ko.ksign-$dead-abcd1234" ".a.ko.ksign-$live-abcd1234" ".a.ko.ksign-$dead-ABCD1234" \
            ".a.ko.ksign-$dead-abcd123" ".notes.txt.ksign-$dead-abcd1234" "a.ko.ksign-$dead-abcd1234" \
            ".a.ko.ksign-abcd1234"; do
  echo x >"$T/tidy/$name"
done
check "sign removes dead temporaries" "$KSIGN" sign -v --key "$T/keys/ec.pem" "$T/tidy/a.ko"
[ ! -e "$T/tidy/.a.ko.ksign-$dead-abcd1234" ] && pass || fail "a dead run's temporary was not removed"
check_contains "named at -v" ".a.ko.ksign-$dead-abcd1234" "$T/.err"
for name in ".a.ko.ksign-$live-abcd1234" ".a.ko.ksign-$dead-ABCD1234" ".a.ko.ksign-$dead-abcd123" \
            ".notes.txt.ksign-$dead-abcd1234" "a.ko.ksign-$dead-abcd1234" ".a.ko.ksign-abcd1234"; do
  [ -e "$T/tidy/$name" ] && pass || fail "$name was removed (a live process's, or not exactly a ksign name)"
done
kill "$live"; wait "$live" 2>/dev/null

# keys: SIGKILL may leave a .new-<pid>-* directory (private keys); the next run removes it.
# Other signals wait for the directory to be finished.
keys_left=0
for ((round = 1; round <= signal_rounds; round++)); do
  for signal in KILL TERM; do
    "$KSIGN" keys -q --dir "$T/store" --refresh always >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 40)))"
    kill -s "$signal" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    n=$(find "$T/store" -maxdepth 1 -name '.new-*' | wc -l)
    if [ "$signal" = TERM ]; then
      [ "$n" -eq 0 ] && pass || fail "keys SIGTERM round $round: $n .new-* directories left"
    fi
    keys_left=$((keys_left + n))
    check "keys after a $signal" "$KSIGN" keys --dir "$T/store" --refresh 30d
    n=$(find "$T/store" -maxdepth 1 \( -name '.new-*' -o -name '.current-*' \) | wc -l)
    [ "$n" -eq 0 ] && pass || fail "keys round $round: $n unfinished entries left after the following run"
  done
done
echo "keys: $signal_rounds rounds each of SIGKILL and SIGTERM, $keys_left .new-* left by them, 0 after the next run" >&2
mkdir "$T/store/.new-$dead-abcd1234" "$T/store/.new-$$-abcd1234"
check "keys removes a dead run's key directory" "$KSIGN" keys --dir "$T/store" --refresh 30d
[ ! -e "$T/store/.new-$dead-abcd1234" ] && pass || fail "a dead run's .new- directory was kept"
check_contains "and says so" ".new-$dead-abcd1234" "$T/.err"
[ -e "$T/store/.new-$$-abcd1234" ] && pass || fail "a live process's .new- directory was removed"

# A ksign in another PID namespace (a container, unshare -p) sees no process with a live run's
# pid: the temporaries that run holds locked must still not look dead to it (issue 21). The
# live run is stopped while its temporaries wait for their batch; the other run writes into
# the same directory; the live run, continued, signs every module.
if [ "$(id -u)" = 0 ] && unshare -p -f --mount-proc true 2>/dev/null; then
  stopped=0
  for ((attempt = 1; attempt <= 20 && stopped == 0; attempt++)); do
    rm -rf "$T/tree"; cp -a "$T/orig" "$T/tree"
    "$KSIGN" sign -q --key "$T/keys/ec.pem" -r -j 2 "$T/tree" >"$T/live.out" 2>"$T/live.err" &
    live=$!
    for ((i = 0; i < 3000; i++)); do
      [ "$(leftovers "$T/tree")" -ge 5 ] && break
      kill -0 "$live" 2>/dev/null || break
    done
    kill -STOP "$live" 2>/dev/null
    # The other run writes into a directory where the live run holds temporaries.
    first=$(find "$T/tree" -name '.*.ksign-*' | head -1)
    # The process state from /proc (after the command name): ps is not in every root (openssl4).
    state=$(sed 's/.*) //' "/proc/$live/stat" 2>/dev/null | cut -d' ' -f1)
    if [ -n "$first" ] && [ "$state" = T ]; then
      stopped=1
      dir=$(dirname "$first")
      held=$(leftovers "$T/tree")
      check "a run in another PID namespace" unshare -p -f --mount-proc \
        "$KSIGN" sign -v --key "$T/keys/ec.pem" -o "$dir/other.ko" "$sample"
      ! grep -q 'interrupted run' "$T/.err" && pass \
        || fail "PID namespace: a live run's temporaries were removed: $(grep 'interrupted run' "$T/.err" | head -3)"
      now=$(leftovers "$T/tree")
      [ "$now" -eq "$held" ] && pass || fail "PID namespace: $held temporaries before the other run, $now after"
    fi
    kill -CONT "$live" 2>/dev/null
    status=0; wait "$live" || status=$?
    # With job control, wait also returns (128 + SIGSTOP) for the stop itself.
    while [ "$status" -eq $((128 + $(kill -l STOP))) ] && kill -0 "$live" 2>/dev/null; do
      kill -CONT "$live" 2>/dev/null
      status=0; wait "$live" || status=$?
    done
    if [ "$stopped" = 1 ]; then
      [ "$status" -eq 0 ] && pass || fail "PID namespace: the live run exited $status: $(head -3 "$T/live.err")"
      rm -f "$dir/other.ko"
      [ "$(bad_modules)" -eq 0 ] && pass || fail "PID namespace: a module is neither original nor validly signed"
      n=$("$KSIGN" verify --cert "$T/keys/ec.crt" -r "$T/tree" 2>/dev/null | grep -c ': ok ')
      [ "$n" -eq 200 ] && pass || fail "PID namespace: $n of 200 modules signed by the live run"
      [ "$(leftovers "$T/tree")" -eq 0 ] && pass || fail "PID namespace: temporaries left"
    fi
  done
  [ "$stopped" = 1 ] && pass || fail "PID namespace: never caught the live run holding temporaries in 20 tries"
  echo "PID namespace: caught the live run holding $held temporaries on attempt $((attempt - 1))" >&2
fi
