#!/usr/bin/env bash
# Several application threads, each with its own Channel, driving connections at once:
#  1. in one process over the --loopback link (synack-channel-perf --test verify): client threads open connections
#     together, stream a pattern of their own and check the echo byte for byte, against server threads on Channels
#     and against the callback server;
#  2. over net_tap: synack-channel-echo --threads 3 under peer.py's concurrent, sequential and bulk clients; every
#     thread must have served connections, and every byte come back (peer.py checks).
# In process, the callback and Channel paths of one side taking turns in slices (synack-channel-perf's alternate)
# must both serve connections, without an error, and the Channel thread answer the round-trip probes between slices.
# And where Channel::wait spins: in process on lcores 0 and 1 the application CPUs are the pollers' (no spin at all),
# with both stacks on lcore 0 the threads on CPU 1 catch events spinning; over net_tap the
# threads on the free CPU catch events spinning, and threads left on the main lcore's CPU (--no-pin) never spin,
# even when asked to (--spin-us).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
PEER="timeout 120 /usr/bin/python3 tests/integration/peer.py"
failures=0
expect() {  # expect DESCRIPTION EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}

EAL="--no-huge --no-shconf --no-pci -m 512 -l 0,1 --log-level=error --no-telemetry"
verify() {  # verify SERVER THREADS CONNS ROUNDS [LCORES, default 0,1]
  local out rc want lcores=${5:-0,1}
  out=$(timeout 120 "$build/app/synack-channel-perf" ${EAL/-l 0,1/-l $lcores} -- --ip 10.98.9.1/24 --loopback --port 5201 --duration-s 90 \
    --msl-ms 200 --test verify --server "$1" --client channel --threads "$2" --conns "$3" --rounds "$4" 2>&1)
  rc=$?
  want=$(( $2 * $3 * $4 ))
  echo "  $out" | tail -3
  echo "$out" | grep -q "\"verified\":$want,\"errors\":0,\"events_dropped\":0"
  local found=$?
  [ $rc -eq 0 ] && [ $found -eq 0 ]
  expect "$2 client threads x $3 connections x $4 rounds against the $1 server: $want echoed byte for byte" $?
  if [ "$lcores" = 0,1 ]; then
    echo "$out" | grep -q '"spins":0,'
    expect "no Channel thread spun on the pollers' CPUs" $?
  elif [ "$(nproc)" -gt 1 ]; then  # both stacks take turns on lcore 0: CPU 1 is the threads' alone
    echo "$out" | grep -qE '"spins":[1-9]'
    expect "Channel threads on the CPU no poller uses spun before parking" $?
  fi
}
echo "== in process (--loopback), client application threads on Channels"
verify channel 3 20 3
verify callback 4 10 2
echo "== in process, both stacks on lcore 0 (taking turns), the application threads on the other CPUs"
verify channel 2 20 3 0
verify callback 3 10 2 0

echo "== in process, the callback and Channel paths of one side taking turns (bench/channel.sh's --server/--client alternate)"
alternate() {  # alternate SIDE TEST CONNS: both paths had whole slices and did work in them, without an error
  local out other=server
  [ "$1" = server ] && other=client
  out=$(timeout 60 "$build/app/synack-channel-perf" ${EAL/-l 0,1/-l 0} -- --ip 10.98.9.1/24 --loopback --port 5201 \
    --duration-s 1 --msl-ms 100 --slice-ms 20 --test "$2" --"$1" alternate --"$other" callback --conns "$3" 2>&1 | tail -1)
  echo "  $out"
  echo "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin); key = "trans_per_s" if d["test"] == "rr" else "conn_per_s"
ok = all(d[s]["slices"] >= 10 and d[s][key] > 0 and d[s]["errors"] == 0 for s in ("callback", "channel"))
ok = ok and d["events_dropped"] == 0 and d["channel_over_callback"] > 0 and d["alternate"] == sys.argv[1]
ok = ok and sum(p["pairs"] for p in d["placements"]) >= 3  # the Channel thread answered the round-trip probes
sys.exit(0 if ok else 1)' "$1"
  expect "$1 alternate, $2 with $3 in flight: callback and Channel slices both served, no error, round trips measured" $?
}
alternate client cps 1
alternate server cps 1
alternate client rr 1
alternate server rr 4

echo "== over net_tap: synack-channel-echo --threads 3 (sk-h3, 10.98.3.1)"
if tap_start "$build" sk-h3 10.98.3 0 synack-channel-echo --port 7 --threads 3 --duration-s 120; then
  $PEER --host 10.98.3.1 concurrent --port 7 --count 60; expect "60 concurrent connections echoed" $?
  $PEER --host 10.98.3.1 sequential --port 7 --count 100; expect "100 sequential connections echoed" $?
  $PEER --host 10.98.3.1 bulk --port 7 --size 2000000; expect "2 MB echoed" $?
  if [ "$(nproc)" -gt 1 ]; then  # fast request/response (linux-perf rr echoes on --port + 1), on the threads' CPU
    timeout 20 taskset -c 1 "$build/bench/linux-perf" --client 10.98.3.1 --port 6 --test rr --streams 1 \
      --msg-size 64 --duration-s 1 | tail -1 | grep -q '"trans_per_s"'
    expect "1 s of 64-byte request/response echoed" $?
  fi
  tap_stop
  grep "^synack-channel-echo" "$TAP_LOG" | sed 's/^/    /'
  served=$(grep -c "thread [0-9] accepted [1-9]" "$TAP_LOG")
  [ "$served" -eq 3 ]
  expect "every application thread served connections ($served of 3)" $?
  grep -q " 0 events dropped" "$TAP_LOG"
  expect "no event dropped between the cores and the application threads" $?
  if [ "$(nproc)" -gt 1 ]; then  # CPU 1 is free of lcores: a thread spins there before it parks (rr: <100 us)
    grep -q " [1-9][0-9]* events caught spinning" "$TAP_LOG"
    expect "threads on the free CPU caught events spinning" $?
  fi
else
  failures=$((failures + 1))
fi
tap_cleanup

echo "== over net_tap: synack-channel-echo --threads 2 --no-pin --spin-us 100 (threads on the poller's CPU)"
if tap_start "$build" sk-h3 10.98.3 0 synack-channel-echo --port 7 --threads 2 --no-pin --spin-us 100 \
    --duration-s 120; then
  $PEER --host 10.98.3.1 sequential --port 7 --count 50; expect "50 sequential connections echoed" $?
  timeout 20 "$build/bench/linux-perf" --client 10.98.3.1 --port 6 --test rr --streams 1 --msg-size 64 \
    --duration-s 1 | tail -1 | grep -q '"trans_per_s"'
  expect "1 s of 64-byte request/response echoed" $?
  tap_stop
  grep "^synack-channel-echo" "$TAP_LOG" | sed 's/^/    /'
  grep -q ", 0 waits spun, 0 events caught spinning" "$TAP_LOG"
  expect "threads sharing the poller's CPU never spun" $?
else
  failures=$((failures + 1))
fi
tap_cleanup
echo "channel_threads: $failures failure(s)"
[ "$failures" -eq 0 ]
