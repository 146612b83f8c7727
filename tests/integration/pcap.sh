#!/usr/bin/env bash
# --pcap: synack's own capture of a known exchange over net_tap, read back with tshark. Every TCP segment the
# kernel's side of the tap saw (tshark on the tap: the reference) must be in synack's file with the same
# direction, seq, ack, flags and length, in both directions and on one and on two cores; nothing malformed.
# Then --pcap-max-bytes bounds the file.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
PEER="/usr/bin/python3 tests/integration/peer.py"
failures=0
expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
# One line per TCP segment: sender, seq, ack, flags, payload length (raw sequence numbers).
segments() {
  tshark -r "$1" -Y "tcp.port == 7" -T fields -e ip.src -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.len \
    -E separator=' ' 2>/dev/null | sort
}

run() {  # run LCORES TAP SUBNET
  local lcores=$1 tap=$2 subnet=$3
  echo "== synack-echo --pcap on lcores $lcores ($tap)"
  local file=$TAP_TMP/$tap-synack.pcapng ref=$TAP_TMP/$tap-kernel.pcapng
  tap_start "$build" "$tap" "$subnet" "$lcores" synack-echo --port 7 --msl-ms 500 --duration-s 120 --pcap "$file" \
    || { failures=$((failures + 1)); return; }
  tap_capture "$ref"
  local reply
  reply=$(echo "hello pcap" | timeout 10 nc -q 1 "$subnet.1" 7)
  expect "nc echo ('$reply')" "$([ "$reply" = "hello pcap" ]; echo $?)"
  $PEER --host "$subnet.1" bulk --port 7 --size 300000 >/dev/null
  expect "300 KB echoed" $?
  $PEER --host "$subnet.1" sequential --port 7 --count 20 >/dev/null
  expect "20 connections" $?
  sleep 0.5
  tap_stop
  [ "$(head -c 4 "$file" | od -An -tx1 | tr -d ' ')" = "0a0d0d0a" ]
  expect "the file is pcapng (section header block)" $?
  segments "$ref" >"$TAP_TMP/ref.txt"
  segments "$file" >"$TAP_TMP/ours.txt"
  local n_ref n_ours missing
  n_ref=$(wc -l <"$TAP_TMP/ref.txt")
  n_ours=$(wc -l <"$TAP_TMP/ours.txt")
  missing=$(comm -23 "$TAP_TMP/ref.txt" "$TAP_TMP/ours.txt" | wc -l)
  echo "  kernel side saw $n_ref segments on port 7, synack's file holds $n_ours"
  expect "every segment the kernel saw is in synack's file ($missing missing)" \
    "$([ "$n_ref" -gt 100 ] && [ "$missing" -eq 0 ]; echo $?)"
  local syn_in syn_out
  syn_in=$(awk -v h="$subnet.2" '$1 == h && $4 == "0x0002"' "$TAP_TMP/ours.txt" | wc -l)
  syn_out=$(awk -v h="$subnet.1" '$1 == h && $4 == "0x0012"' "$TAP_TMP/ours.txt" | wc -l)
  expect "both directions: $syn_in SYNs in, $syn_out SYN-ACKs out (22 each)" \
    "$([ "$syn_in" -eq 22 ] && [ "$syn_out" -eq 22 ]; echo $?)"
  local bad
  bad=$(tshark -r "$file" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
  expect "no malformed frame ($bad)" "$([ "$bad" -eq 0 ]; echo $?)"
  grep -q "^pcap.dropped 0$" "$TAP_LOG"
  expect "no copy dropped ($(grep '^pcap\.' "$TAP_LOG" | tr '\n' ' '))" $?
  tap_cleanup
}

run 0 sk-e-pcap0 10.96.1
run 0,1 sk-e-pcap1 10.96.2

echo "== --pcap-max-bytes bounds the file"
file=$TAP_TMP/bounded.pcapng
tap_start "$build" sk-e-pcap2 10.96.4 0 synack-echo --port 7 --duration-s 60 --pcap "$file" --pcap-max-bytes 20000 \
  || failures=$((failures + 1))
$PEER --host 10.96.4.1 bulk --port 7 --size 1000000 >/dev/null
tap_stop
size=$(stat -c %s "$file")
over=$(grep "^pcap.over_limit" "$TAP_LOG" | cut -d' ' -f2)
# The writer stops before the frame that might not fit: the file never passes the bound.
expect "file of $size bytes (bound 20000) for a 1 MB exchange, ${over:-?} frames left out" \
  "$([ "$size" -le 20000 ] && [ "$size" -gt 10000 ] && [ "${over:-0}" -gt 100 ]; echo $?)"
tshark -r "$file" >/dev/null 2>&1
expect "the bounded file reads back" $?

echo "== bad --pcap arguments: one clear line, exit 1"
eal=(--no-huge --no-shconf --no-pci -m 256 --log-level=error -l 0 --vdev=net_null0)
out=$(timeout 20 "$build/app/synack-echo" "${eal[@]}" -- --ip 10.96.4.1/24 --port 7 --pcap /nonexistent/x.pcapng 2>&1)
rc=$?
printf '%s\n' "$out" | grep -q "^synack-echo: error: --pcap /nonexistent/x.pcapng: No such file or directory"
expect "unwritable file -> $(printf '%s\n' "$out" | grep error: | tail -1) (exit $rc)" "$([ $? -eq 0 ] && [ $rc -eq 1 ]; echo $?)"
out=$(timeout 20 "$build/app/synack-echo" "${eal[@]}" -- --ip 10.96.4.1/24 --port 7 --pcap x --pcap-max-bytes 10 2>&1)
rc=$?
printf '%s\n' "$out" | grep -q "^synack-echo: error: --pcap-max-bytes: expected a number in 4096"
expect "bound too small -> $(printf '%s\n' "$out" | grep error: | tail -1) (exit $rc)" "$([ $? -eq 0 ] && [ $rc -eq 1 ]; echo $?)"

echo "pcap: $failures failure(s)"
[ "$failures" -eq 0 ]
