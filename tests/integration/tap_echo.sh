#!/usr/bin/env bash
# End to end against the Linux TCP stack over net_tap: synack-echo on one core, then on two (software RSS).
# ping; handshake; 10 MB echoed and compared by SHA-256; 1000 sequential and 200 concurrent connections; close
# started by either side with TIME-WAIT on the side that closed first, gone after 2 MSL; ECONNREFUSED on a closed
# port; a tshark capture with no malformed packet and no bad checksum from synack.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
source tests/integration/echo_checks.sh

suite() {
  local lcores=$1 tap=$2 subnet=$3 msl_ms=1000
  echo "== synack-echo on lcores $lcores ($tap, $subnet.1)"
  tap_start "$build" "$tap" "$subnet" "$lcores" synack-echo --port 7 --close-port 8 --msl-ms $msl_ms \
    --stats-ms 100 --duration-s 300 || { failures=$((failures + 1)); return; }
  local cap=$TAP_TMP/$tap.pcapng
  tap_capture "$cap"
  local host=$subnet.1
  ping -c 3 -i 0.2 -W 2 "$host" >/dev/null
  expect "ping $host answered" $?
  echo_exchanges "$host"
  time_wait_checks $msl_ms
  tap_stop
  grep -v -E "qdisc|tap_|TELEMETRY|eth_dev|^\[synack\]" "$TAP_LOG" | sed 's/^/    /' | head -60
  report_checks "$lcores"
  local refused
  refused=$(counter tcp.rx_no_connection)
  tap_no_connection_ok "$cap" "${refused:-0}"
  expect "segments that found no connection: ${refused:-0} (the refused SYN, and retransmissions: $TAP_RETRANSMISSIONS on the wire); none went to a wrong core" $?
  local bad
  bad=$(tshark -r "$cap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
    -Y "_ws.malformed || (ip.src == $host && (tcp.checksum.status == 0 || ip.checksum.status == 0))" 2>/dev/null | wc -l)
  local total
  total=$(tshark -r "$cap" 2>/dev/null | wc -l)
  [ "$bad" -eq 0 ] && [ "$total" -gt 1000 ]
  expect "tshark: $total packets captured, $bad malformed or with a bad checksum from synack" $?
  if [ "$failures" -gt 0 ] && [ -n "${KEEP_CAPTURE:-}" ]; then cp "$cap" "$KEEP_CAPTURE.$tap.pcapng"; fi
  tap_cleanup
}

# The Channel API: the echo logic on an application thread, the cores serving it through lock-free queues.
channel_suite() {
  echo "== synack-channel-echo on lcore 0, logic on an application thread (synack-it3, 10.77.3.1)"
  tap_start "$build" synack-it3 10.77.3 0 synack-channel-echo --port 7 --duration-s 120 || { failures=$((failures + 1)); return; }
  local cap=$TAP_TMP/channel.pcapng
  check $PEER --host 10.77.3.1 bulk --port 7 --size 2000000
  tap_capture "$cap"
  check $PEER --host 10.77.3.1 sequential --port 7 --count 100
  check $PEER --host 10.77.3.1 concurrent --port 7 --count 50
  tap_stop
  grep -q "0 events dropped" "$TAP_LOG"
  expect "no event dropped between the cores and the application thread" $?
  # The client closes first: the thread's close() after peer_closed leaves as the ACK of the client's FIN too.
  /usr/bin/python3 tests/integration/fin_ack_check.py "$cap" 10.77.3.1
  expect "synack's FIN carried the ACK of the client's FIN (no ACK alone before it)" $?
  tap_cleanup
}

suites=${SUITES:-123}
[[ $suites == *1* ]] && suite 0 synack-it1 10.77.1
[[ $suites == *2* ]] && suite 0,1 synack-it2 10.77.2
[[ $suites == *3* ]] && channel_suite
echo "tap_echo: $failures failure(s)"
[ "$failures" -eq 0 ]
