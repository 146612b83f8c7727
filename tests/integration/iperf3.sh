#!/usr/bin/env bash
# Stock iperf3 against synack-iperf3 over net_tap, both ways: iperf3 -c to synack (normal, -R, -P 2 with -l/-w,
# -J checked with python: bytes > 0 and sender and receiver within 5% of each other; UDP refused with iperf3's
# "not implemented" error), then synack-iperf3 --client against a stock `iperf3 -s` on the tap's kernel side.
# Names: tap sk-t-ip3, 10.95.3.0/24 (another helper's suites use other names, so this can run beside them).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  tap_cleanup
  rm -rf "$TAP_TMP"
}
trap cleanup EXIT
failures=0
expect() {  # expect DESCRIPTION EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
# json_check FILE REVERSE STREAMS: iperf3 -J output has both sums > 0, within 5%, the right number of streams.
json_check() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d: sys.exit("iperf3 error: " + d["error"])
s, r = d["end"]["sum_sent"]["bytes"], d["end"]["sum_received"]["bytes"]
rev = d["start"]["test_start"]["reverse"]
n = len(d["end"]["streams"])
print(f"    sent {s} received {r} reverse {rev} streams {n}")
assert s > 0 and r > 0, "no bytes"
assert abs(s - r) <= 0.05 * s, "sender and receiver disagree by more than 5%"
assert rev == int(sys.argv[2]), "reverse flag"
assert n == int(sys.argv[3]), "stream count"
PY
}

subnet=10.95.3 host=10.95.3.1
echo "== bad starts are refused with one clear line"
out=$(timeout 20 "$build/app/synack-iperf3" --no-huge -- --ip $host/24 -R 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^synack-iperf3: error: -R and --json are client options"
expect "-R without --client refused" $?
out=$(timeout 20 "$build/app/synack-iperf3" --no-huge -- --ip $host/24 --client 10.95.3.2 -P 0 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^synack-iperf3: error: -P: expected 1..128"
expect "-P 0 refused" $?
echo "== stock iperf3 client -> synack-iperf3 ($host)"
tap_start "$build" sk-t-ip3 "$subnet" 1 synack-iperf3 --port 5201 --grace-s 2 --duration-s 120 || exit 1
timeout 30 iperf3 -c $host -t 2 -J >"$TAP_TMP/fwd.json"
expect "iperf3 -c (client sends)" $?
json_check "$TAP_TMP/fwd.json" 0 1; expect "forward JSON consistent" $?
timeout 30 iperf3 -c $host -t 2 -R -J >"$TAP_TMP/rev.json"
expect "iperf3 -c -R (synack sends)" $?
json_check "$TAP_TMP/rev.json" 1 1; expect "reverse JSON consistent" $?
timeout 30 iperf3 -c $host -t 2 -P 2 -l 16K -w 128K -J >"$TAP_TMP/par.json"
expect "iperf3 -c -P 2 -l 16K -w 128K" $?
json_check "$TAP_TMP/par.json" 0 2; expect "parallel JSON consistent" $?
timeout 30 iperf3 -c $host -t 1 -R -P 2 -J >"$TAP_TMP/revpar.json"
expect "iperf3 -c -R -P 2" $?
json_check "$TAP_TMP/revpar.json" 1 2; expect "reverse parallel JSON consistent" $?
out=$(timeout 30 iperf3 -c $host -u -t 1 2>&1)
echo "$out" | grep -q "not implemented"; expect "UDP refused with iperf3's 'not implemented'" $?
timeout 30 iperf3 -c $host -t 1 >/dev/null; expect "a test after a refused one still runs" $?
# Hostile control connections: malformed JSON, an absurd length, and a client that stalls after its cookie (a
# second client meanwhile reads ACCESS_DENIED; --grace-s 2 later the server is free again).
/usr/bin/python3 - $host <<'PY'
import socket, struct, subprocess, sys, time
host = sys.argv[1]
def ctrl(cookie=b"a" * 36 + b"\0"):
    s = socket.create_connection((host, 5201), timeout=5)
    s.sendall(cookie)
    assert s.recv(1) == b"\x09", "PARAM_EXCHANGE expected"
    return s
for payload in (struct.pack("!I", 4) + b"{bad", struct.pack("!I", 0x7fffffff)):
    s = ctrl()
    s.sendall(payload)
    s.settimeout(5)
    try:
        assert s.recv(16) == b"", "server should hang up"
    except ConnectionResetError:
        pass
    s.close()
stalled = ctrl()
r = subprocess.run(["iperf3", "-c", host, "-t", "1"], capture_output=True, text=True, timeout=20)
assert r.returncode != 0 and "busy" in (r.stdout + r.stderr), "second client should be denied: " + r.stdout + r.stderr
time.sleep(3)
r = subprocess.run(["iperf3", "-c", host, "-t", "1"], capture_output=True, text=True, timeout=20)
assert r.returncode == 0, "the server should be free after --grace-s: " + r.stdout + r.stderr
stalled.close()
print("    malformed JSON and absurd length refused, busy while stalled, free after the grace")
PY
expect "hostile control connections end their test only" $?
sleep 0.5  # the client exits right after sending IPERF_DONE: let the server read it
tap_stop
grep -q "^synack-iperf3: 6 test(s), 4 refused or broken" "$TAP_LOG"; expect "server counted 6 tests and 4 refused or broken" $?
[ "$failures" -eq 0 ] || cat "$TAP_LOG"
tap_cleanup

echo "== synack-iperf3 --client -> stock iperf3 -s (kernel side, $subnet.2)"
for args in "" "-R" "-P 2"; do
  iperf3 -s -p 5295 -1 >"$TAP_TMP/srv.log" 2>&1 &
  SRV_PID=$!
  tap_start "$build" sk-t-ip3 "$subnet" 1 synack-iperf3 --port 5295 --client "$subnet.2" -t 2 $args \
    --json "$TAP_TMP/cli.json" --duration-s 60 || { failures=$((failures + 1)); continue; }
  wait "$TAP_PID"; rc=$?; TAP_PID=""
  expect "synack-iperf3 --client ${args:-(forward)} finished" $rc
  timeout 10 tail --pid="$SRV_PID" -f /dev/null; wait "$SRV_PID"; rc=$?; SRV_PID=""
  expect "iperf3 -s finished its one test cleanly" $rc
  /usr/bin/python3 - "$TAP_TMP/cli.json" "$TAP_TMP/srv.log" "${args:-none}" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
print("   ", d)
assert d["bytes_sent"] > 0 and d["bytes_received"] > 0
assert abs(d["bytes_sent"] - d["bytes_received"]) <= 0.05 * d["bytes_sent"]
assert d["reverse"] == (sys.argv[3] == "-R")
assert d["streams"] == (2 if sys.argv[3] == "-P 2" else 1)
assert re.search(r"(sender|receiver)\s*$", log, re.M), "iperf3 -s printed no summary"
PY
  expect "client JSON consistent with iperf3 -s" $?
  [ "$failures" -eq 0 ] || { cat "$TAP_LOG"; cat "$TAP_TMP/srv.log"; }
  tap_cleanup
done
echo "iperf3: $failures failure(s)"
[ "$failures" -eq 0 ]
