#!/usr/bin/env bash
# Hostile traffic against synack-echo over net_tap, on one core (synack-h1, 10.79.1.1) then on two with software RSS
# (synack-h2, 10.79.2.1); the kernel side is .2, a made-up silent host .3. Frames
# not for us, broadcast junk, ARP for other hosts, truncated and corrupt frames, odd TCP flags, blind RSTs/SYNs
# against a live Linux connection (RFC 5961), SYN floods, out-of-order abuse, Linux clients killed mid-transfer.
# Each must be dropped and counted, never crash synack, and leave no TCB or mbuf behind once the timers ran out.
# Checks print "ok: ..." or "FAIL: ..."; "note: ..." lines are observations that do not fail the test.
# HOSTILE_LONG=1 also waits (~3 min) for half-open connections of a silent SYN flood to time out by themselves;
# SUITES=1 or 2 runs one suite; HOSTILE_PHASES=l2l3,flags,... a subset of hostile.py's phases.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
STREAM_PID=""
trap '[ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null; tap_cleanup; rm -rf "$TAP_TMP"' EXIT
trap 'exit 130' INT TERM
PY=/usr/bin/python3
failures=0
expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
t_start=$(date +%s)

suite() {
  local lcores=$1 tap=$2 subnet=$3
  local host=$subnet.1 cores long_args=() duration=150 rc pid status mac
  cores=$(awk -F, '{print NF}' <<<"$lcores")
  if [ -n "${HOSTILE_LONG:-}" ]; then long_args=(--long) duration=400; fi
  echo "== synack-echo on lcores $lcores under hostile traffic ($tap, $host)"
  # --duration-s bounds synack's life whatever happens here; --close-port 8 gives a second listener to flood.
  tap_start "$build" "$tap" "$subnet" "$lcores" synack-echo --port 7 --close-port 8 --msl-ms 500 --rto-min-ms 50 \
    --stats-ms 100 --duration-s "$duration" || { echo "FAIL: synack-echo did not start"; failures=$((failures + 1)); return; }
  tap_capture "$TAP_TMP/$tap.pcapng"
  ping -c 2 -i 0.2 -W 2 "$host" >/dev/null
  expect "ping $host answered" $?
  mac=$(ip neigh show "$host" dev "$tap" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
  [ -n "$mac" ]
  expect "synack's MAC learned by the kernel: ${mac:-none}" $?
  [ -n "$mac" ] || { tap_cleanup; return; }

  timeout $((duration - 10)) $PY tests/integration/hostile.py run --iface "$tap" --host "$host" --mac "$mac" \
    --log "$TAP_LOG" --pid "$TAP_PID" --cores "$cores" --expect "$TAP_TMP/$tap.json" --leave-busy "${long_args[@]}" \
    ${HOSTILE_PHASES:+--phases "$HOSTILE_PHASES"}
  rc=$?
  [ $rc -eq 0 ] || failures=$((failures + 1))
  [ $rc -eq 124 ] && echo "FAIL: hostile.py timed out"

  # SIGTERM in the middle of things (half-open connections, held out-of-order segments, unacknowledged data, a
  # SYN,ACK waiting for ARP, a Linux transfer running): synack must stop, exit 0, print its summary and counters.
  $PY tests/integration/hostile.py stream --host "$host" --port 7 --mode read >/dev/null 2>&1 &
  STREAM_PID=$!
  sleep 0.7
  kill "$TAP_CAPTURE_PID" 2>/dev/null && wait "$TAP_CAPTURE_PID" 2>/dev/null
  TAP_CAPTURE_PID=""
  pid=$TAP_PID
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: synack-echo still running 10 s after SIGTERM"
    failures=$((failures + 1))
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid"
  status=$?
  TAP_PID=""
  kill "$STREAM_PID" 2>/dev/null; wait "$STREAM_PID" 2>/dev/null; STREAM_PID=""
  [ $status -eq 0 ]
  expect "synack-echo exited with status 0 after SIGTERM (status $status)" $?
  grep -q "^synack-echo: accepted" "$TAP_LOG" && grep -q "^net.rx_frames" "$TAP_LOG"
  expect "synack-echo printed its summary and counters" $?
  ! grep -qiE "panic|segmentation|assert|error:|terminate called" "$TAP_LOG"
  expect "no panic, assertion or error in synack's output" $?
  grep "^synack-echo:" "$TAP_LOG" | sed 's/^/   /'
  if [ -s "$TAP_TMP/$tap.json" ]; then
    $PY tests/integration/hostile.py verify --log "$TAP_LOG" --expect "$TAP_TMP/$tap.json" --cores "$cores" ||
      failures=$((failures + 1))
  else
    echo "FAIL: no expectations written (hostile.py run did not finish)"
    failures=$((failures + 1))
  fi

  # What synack itself sent while under attack: well-formed, good checksums, only to its subnet's hosts.
  local cap=$TAP_TMP/$tap.pcapng src="eth.src == $mac" total bad stray
  total=$(tshark -r "$cap" -Y "$src" 2>/dev/null | wc -l)
  bad=$(tshark -r "$cap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
    -Y "$src && (_ws.malformed || tcp.checksum.status == 0 || ip.checksum.status == 0 || icmp.checksum.status == 0)" \
    2>/dev/null | wc -l)
  stray=$(tshark -r "$cap" -Y "$src && ip && !(ip.dst == $subnet.0/24 && ip.dst != $subnet.255 && ip.dst != $subnet.0)" \
    2>/dev/null | wc -l)
  [ "$total" -gt 100 ] && [ "$bad" -eq 0 ] && [ "$stray" -eq 0 ]
  expect "tshark: $total frames from synack, $bad malformed or with a bad checksum, $stray to an address outside $subnet.0/24" $?
  [ "$failures" -gt 0 ] && [ -n "${KEEP_CAPTURE:-}" ] && cp "$cap" "$KEEP_CAPTURE.$tap.pcapng"
  tap_cleanup
}

suites=${SUITES:-12}
[[ $suites == *1* ]] && suite 0 synack-h1 10.79.1
[[ $suites == *2* ]] && suite 0,1 synack-h2 10.79.2
echo "hostile: $failures failure(s), $(( $(date +%s) - t_start )) s"
[ "$failures" -eq 0 ]
