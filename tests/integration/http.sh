#!/usr/bin/env bash
# synack-http over net_tap against curl, raw sockets (http_raw.py) and wrk: keep-alive (several requests on one
# connection), Connection: close, bad requests with their exact status codes, pipelining, a 300 KB file from
# --root byte-exact and its HEAD, a short wrk run without errors, the server's per-status counts and busy share;
# then two lcores (software RSS) with a sized body under 100 fresh connections. (The busy share of the two-lcore run
# is not checked: on an oversubscribed machine a busy iteration that is preempted is charged the whole timeslice.)
# Names: tap sk-t-http, 10.95.5.0/24.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
failures=0
expect() {  # expect DESCRIPTION EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
root=$TAP_TMP/root
mkdir -p "$root/sub"
head -c 300000 /dev/urandom >"$root/sub/blob.bin"
echo "hello from synack" >"$root/index.html"
ln -s /etc "$root/etc-link"
host=10.95.5.1 url=http://10.95.5.1:8080

echo "== bad starts are refused with one clear line"
for bad in "--root $TAP_TMP/none:--root $TAP_TMP/none: No such file" "--body-size 1 --root $root:either --body-size or --root" \
           "--max-header 10:--max-header: expected 256"; do
  out=$(timeout 20 "$build/app/synack-http" --no-huge -- --ip $host/24 --port 80 ${bad%%:*} 2>&1); rc=$?
  [ $rc -eq 1 ] && echo "$out" | grep -q "^synack-http: error: .*${bad#*:}"
  expect "synack-http ${bad%%:*} -> ${bad#*:}" $?
done

echo "== synack-http --root on one lcore ($host)"
head -c 2000000 /dev/zero >"$root/big.bin"
tap_start "$build" sk-t-http 10.95.5 1 synack-http --port 8080 --root "$root" --cache-mb 1 --duration-s 120 || exit 1
out=$(curl -s -m 5 -w '%{http_code} %{num_connects}\n' -o /dev/null "$url/" -o /dev/null "$url/index.html" \
  -o /dev/null "$url/sub/blob.bin")
echo "$out" | tr '\n' ' '; echo
[ "$(echo "$out" | awk '{print $1}' | sort -u)" = "200" ] && [ "$(echo "$out" | awk '{s+=$2} END {print s}')" = 1 ]
expect "three requests, all 200, over one kept-alive connection" $?
curl -s -m 5 -o "$TAP_TMP/blob" "$url/sub/blob.bin" && cmp -s "$TAP_TMP/blob" "$root/sub/blob.bin"
expect "300 KB file from --root byte-exact" $?
hdr=$(curl -s -m 5 -D - -o /dev/null -H 'Connection: close' "$url/index.html" | tr -d '\r')
echo "$hdr" | grep -q '^Connection: close$' && echo "$hdr" | grep -q '^Content-Length: 18$' && echo "$hdr" | grep -q '^Date: '
expect "Connection: close echoed, Content-Length and Date present" $?
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/etc-link/passwd")" = 404 ]
expect "a symlink out of the root -> 404" $?
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/big.bin")" = 500 ]
expect "a 2 MB file beyond --cache-mb 1 -> 500" $?
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/sub")" = 404 ]
expect "a directory -> 404" $?
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d abc "$url/")" = 405 ]
expect "POST -> 405 (curl)" $?
timeout 60 /usr/bin/python3 tests/integration/http_raw.py $host 8080 300000
expect "raw-socket checks" $?
timeout 20 wrk -t1 -c4 -d2 "$url/index.html" >"$TAP_TMP/wrk.txt" 2>&1
cat "$TAP_TMP/wrk.txt" | grep -E "Requests/sec|requests in|Socket errors|Non-2xx"
grep -q "requests in" "$TAP_TMP/wrk.txt" && ! grep -qE "Socket errors|Non-2xx" "$TAP_TMP/wrk.txt"
expect "wrk -c4 2 s without errors" $?
tap_stop
grep '^synack-http:' "$TAP_LOG"
grep -qE '^synack-http: .* requests \(200: [1-9][0-9]*, 400: [1-9], 404: [1-9], 405: [1-9], 413: [1-9], 500: 1\)' "$TAP_LOG"
expect "server counted every status" $?
grep -qE '^synack-http: busy [0-9.]+ s of [0-9.]+ core-s \(([1-9]|[1-9][0-9])\.[0-9]%\)' "$TAP_LOG"
expect "busy share between 1% and 99%" $?
[ "$failures" -eq 0 ] || cat "$TAP_LOG"
tap_cleanup

echo "== synack-http --body-size 1000 on two lcores (software RSS)"
tap_start "$build" sk-t-http 10.95.5 0,1 synack-http --port 8080 --body-size 1000 --max-header 1024 --max-body 0 \
  --duration-s 120 || exit 1
# With small limits the server reads less at once (17 KB) than the receive window holds (64 KB): 40 KB of pipelined
# HEADs must all be answered. (Whether the unread rest ever sits in the buffer with no segment behind it depends on
# how the segments are batched, so this does not reliably reproduce that case; http.cpp handles it anyway.)
timeout 30 /usr/bin/python3 - $host <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
req = b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"
s.sendall(req * 999 + b"HEAD /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
data = b""
try:
    while chunk := s.recv(1 << 16):
        data += chunk
except socket.timeout:
    pass
n = data.count(b"HTTP/1.1 200 OK\r\n")
print(f"    {n} answers to 1000 pipelined HEADs")
sys.exit(0 if n == 1000 else 1)
PY
expect "1000 pipelined HEADs beyond the read bound all answered" $?
ok=0
for i in $(seq 100); do
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' "$url/x$i")" = "200 1000" ] && ok=$((ok + 1))
done
[ "$ok" = 100 ]; expect "100 fresh connections answered with 1000 bytes ($ok/100)" $?
tap_stop
grep -q "^synack-http: 101 connections, 1100 requests" "$TAP_LOG"; expect "server counted 101 connections, 1100 requests" $?
grep -E '^core[01] ' "$TAP_LOG" || true
[ "$failures" -eq 0 ] || cat "$TAP_LOG"
echo "http: $failures failure(s)"
[ "$failures" -eq 0 ]
