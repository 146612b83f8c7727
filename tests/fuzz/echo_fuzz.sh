#!/usr/bin/env bash
# synack-echo built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan, see scripts/test) on net_tap
# sk-f0 (10.93.0.1; the kernel side is .2) while scapy sends random frames for ECHO_FUZZ_SECONDS (default 40)
# at a bounded rate, with Linux echo clients in between (tests/fuzz/echo_fuzz.py). Then the fuzzed connections are
# reset, and: the process is alive, mbufs in use are back at the idle level, it exits 0 on SIGTERM with its
# counters (no connection left), and no sanitizer report appears. Bounded: synack's own --duration-s and a timeout.
#   bash tests/fuzz/echo_fuzz.sh [BUILD_DIR=build-asan]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build-asan}
seconds=${ECHO_FUZZ_SECONDS:-40}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
trap 'exit 130' INT TERM
PY=/usr/bin/python3
failures=0
expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
[ -x "$build/app/synack-echo" ] || { echo "FAIL: no $build/app/synack-echo (build-asan is made by scripts/test)"; exit 1; }

# LeakSanitizer on: synack-echo ends with rte_eal_cleanup(), so only our own heap leaks would be reported. mbufs
# live in DPDK's pool, which LSan cannot see: those are counted below. abort_on_error: a report ends the process
# at once (and fails here).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
subnet=10.93.0 host=10.93.0.1 tap=sk-f0
echo "== synack-echo ($build, ASan+UBSan) on $tap under random frames for ${seconds}s"
tap_start "$build" "$tap" "$subnet" 0 synack-echo --port 7 --msl-ms 500 --rto-min-ms 50 --stats-ms 500 \
  --duration-s $((seconds + 200)) || { echo "FAIL: synack-echo did not start"; exit 1; }
pid=$TAP_PID
ping -c 2 -i 0.2 -W 2 "$host" >/dev/null
expect "ping $host answered" $?
mac=$(ip neigh show "$host" dev "$tap" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
[ -n "$mac" ] || { echo "FAIL: synack's MAC not learned"; exit 1; }

mbufs() { $PY tests/integration/hostile.py mbufs --pid "$pid" 2>/dev/null | tail -n 1; }
idle=$(mbufs)
[[ "$idle" =~ ^[0-9]+$ ]]
expect "mbufs in use when idle: $idle" $?

timeout $((seconds + 120)) $PY tests/fuzz/echo_fuzz.py --iface "$tap" --host "$host" --peer "$subnet.2" --mac "$mac" \
  --pid "$pid" --seconds "$seconds" ${ECHO_FUZZ_SEED:+--seed "$ECHO_FUZZ_SEED"}
rc=$?
expect "random frames sent and the fuzzed connections cleaned up (echo_fuzz.py exit $rc)" $rc

kill -0 "$pid" 2>/dev/null
expect "synack-echo alive after the fuzzing" $?
# TIME-WAIT (2 x 500 ms) and the last retransmissions end; the pool's per-lcore cache can hold a few.
now=""
for _ in $(seq 30); do
  now=$(mbufs)
  [ "$now" = "$idle" ] && break
  sleep 1
done
[ "$now" = "$idle" ]
expect "mbufs in use back at the idle level ($now, idle $idle)" $?
grep '^\[synack\]' "$TAP_LOG" | tail -n 1 | sed 's/^/   /'
grep '^\[synack\]' "$TAP_LOG" | tail -n 1 | grep -qE ' conns=0 time_wait=0( |$)'
expect "no connection left (last stats line)" $?

kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { echo "FAIL: still running 10 s after SIGTERM"; failures=$((failures + 1)); kill -KILL "$pid"; }
wait "$pid"
status=$?
TAP_PID=""
[ $status -eq 0 ]
expect "synack-echo exited 0 after SIGTERM (status $status)" $?
grep -q "^net.rx_frames" "$TAP_LOG"
expect "synack-echo printed its counters" $?
grep "^synack-echo:" "$TAP_LOG" | sed 's/^/   /'
grep -E "^(net\.rx_frames|tcp\.rx_segments|tcp\.rx_parse\.|tcp\.conn_|tcp\.rx_rst_accepted)" "$TAP_LOG" | head -n 12 | sed 's/^/   /'
! grep -qE "ERROR: AddressSanitizer|runtime error:|SUMMARY: |panic|terminate called" "$TAP_LOG"
expect "no sanitizer report, panic or exception in synack's output" $?
grep -E -A 20 "ERROR: AddressSanitizer|runtime error:" "$TAP_LOG" | head -n 40

echo "echo_fuzz: $failures failure(s)"
[ "$failures" -eq 0 ]
