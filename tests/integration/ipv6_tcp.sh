#!/usr/bin/env bash
# TCP over IPv6 against the Linux TCP stack over net_tap (issue 10): synack-echo with --ip and --ip6 on one tap,
# Linux at fd81::2 and 10.81.N.2. On one core, then on two (software RSS by the IPv6 Toeplitz hash): nc -6 echo;
# 10 MB echoed and compared by SHA-256; 1000 sequential and 200 concurrent connections; RST (ECONNREFUSED) for a
# closed port; close started by either side; IPv4 and IPv6 clients at once; tshark finding nothing malformed and
# no bad checksum from synack. Then synack-perf as an IPv6 client (rr and cps against a Linux server; cps also on
# two cores, whose ephemeral ports must hash back to the core that opened them).
# synack-iperf3 as an IPv6 client to a stock iperf3 -s. Names: taps sk-a6-t1 .. sk-a6-t4; subnets 10.81.0.0/16 and fd81::/64 (one tap at a time).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  tap_cleanup
  rm -rf "$TAP_TMP"
}
trap cleanup EXIT
source tests/integration/echo_checks.sh
ours6=fd81::1
theirs6=fd81::2

suite() {
  local lcores=$1 tap=$2 subnet=$3 msl_ms=1000
  echo "== synack-echo on lcores $lcores ($tap, $subnet.1 and $ours6)"
  tap_start "$build" "$tap" "$subnet" "$lcores" synack-echo --ip6 "$ours6/64" --port 7 --close-port 8 \
    --msl-ms $msl_ms --stats-ms 100 --duration-s 300 || { failures=$((failures + 1)); return; }
  tap_add6 "$theirs6"
  local cap=$TAP_TMP/$tap.pcapng
  tap_capture "$cap"
  timeout 20 ping -6 -c 2 -i 0.2 -W 2 "$ours6" >/dev/null
  expect "ping -6 $ours6 answered" $?
  local got
  got=$(echo "hello over ipv6" | timeout 10 nc -6 -q 1 "$ours6" 7)
  [ "$got" = "hello over ipv6" ]
  expect "nc -6 echo ('$got')" $?
  # Both families at once, on one listener.
  timeout 120 $PEER --host "$ours6" bulk --port 7 --size 3000000 >"$TAP_TMP/both6" 2>&1 &
  local p6=$!
  timeout 120 $PEER --host "$subnet.1" bulk --port 7 --size 3000000 >"$TAP_TMP/both4" 2>&1 &
  local p4=$!
  wait $p6
  local r6=$?
  wait $p4
  local r4=$?
  sed 's/^/  [ipv6] /' "$TAP_TMP/both6"
  sed 's/^/  [ipv4] /' "$TAP_TMP/both4"
  [ $r6 -eq 0 ] && [ $r4 -eq 0 ]
  expect "an IPv4 and an IPv6 client echoed at once" $?
  echo_exchanges "$ours6"
  time_wait_checks $msl_ms " over IPv6"
  tap_stop
  grep -E "^synack-echo|^core[0-9]|^tcp\.(rx_no_connection|rx_ipv6_off|conn_opened)|^net\.(rx_tcp6|rx_ipv6)" \
    "$TAP_LOG" | sed 's/^/    /'
  report_checks "$lcores"
  local refused off
  refused=$(counter tcp.rx_no_connection)
  off=$(counter tcp.rx_ipv6_off)
  tap_no_connection_ok "$cap" "${refused:-0}" && [ -z "$off" ]
  expect "segments that found no connection: ${refused:-0} (the refused SYN, and retransmissions: $TAP_RETRANSMISSIONS on the wire); none went to a wrong core" $?
  local bad total tcp6
  bad=$(tshark -r "$cap" -o tcp.check_checksum:TRUE \
    -Y "_ws.malformed || (ipv6.src == $ours6 && tcp.checksum.status == 0)" 2>/dev/null | wc -l)
  total=$(tshark -r "$cap" 2>/dev/null | wc -l)
  tcp6=$(tshark -r "$cap" -Y "ipv6.src == $ours6 && tcp" 2>/dev/null | wc -l)
  [ "$bad" -eq 0 ] && [ "$tcp6" -gt 1000 ]
  expect "tshark: $total packets, $tcp6 TCP over IPv6 from synack, $bad malformed or with a bad checksum" $?
  tap_cleanup
}

# synack-perf as the IPv6 client: rr (with --verify) and cps against a Linux server on fd81::2.
perf_client() {
  local tap=sk-a6-t3 test=$1 lcores=$2 ours6=fd81::$3 theirs6=fd81::$4
  echo "== synack-perf --client $theirs6 --test $test on lcores $lcores ($tap)"
  /usr/bin/python3 - 5201 >"$TAP_TMP/server.log" 2>&1 <<'EOF' &
import socket, sys, threading
base = int(sys.argv[1])
def serve(port, handler):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()
def echo(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)
def close_at_once(c):
    c.close()
threading.Thread(target=serve, args=(base + 1, echo), daemon=True).start()
threading.Thread(target=serve, args=(base + 2, close_at_once), daemon=True).start()
print("serving", flush=True)
threading.Event().wait(60)
EOF
  SERVER_PID=$!
  for _ in $(seq 50); do grep -q serving "$TAP_TMP/server.log" && break; sleep 0.1; done
  if tap_spawn "$build" "$tap" "$lcores" synack-perf --ip6 "$ours6/64" --port 5201 --client "$theirs6" \
    --test "$test" --duration-s 4 --verify -v; then
    tap_kernel_up 02:00:00:00:81:02
    tap_add6 "$theirs6"
  fi
  wait "$TAP_PID"
  local rc=$?
  TAP_PID=""
  local json
  json=$(grep '^{"role"' "$TAP_LOG")
  echo "  $json"
  local n
  if [ "$test" = rr ]; then n=$(echo "$json" | grep -o '"transactions":[0-9]*' | cut -d: -f2)
  else n=$(echo "$json" | grep -o '"connections":[0-9]*' | cut -d: -f2); fi
  [ $rc -eq 0 ] && [ "${n:-0}" -gt 100 ] && echo "$json" | grep -q '"errors":0,' && echo "$json" | grep -q '"corrupt":0'
  expect "synack-perf $test over IPv6: exit $rc, ${n:-0} done, no error, nothing corrupt" $?
  [ $rc -eq 0 ] || tail -20 "$TAP_LOG" | sed 's/^/    /'
  if [[ $lcores == *,* ]]; then  # a reply on another core than its connection's would find nothing there: RST
    local c0 c1 stray
    c0=$(opened_on 0)
    c1=$(opened_on 1)
    stray=$(counter tcp.rx_no_connection)
    [ "${c0:-0}" -gt 50 ] && [ "${c1:-0}" -gt 50 ] && [ "${stray:-0}" -le 2 ]
    expect "two cores opened connections (core0 $c0, core1 $c1) and their replies came back to them (no connection: ${stray:-0})" $?
  fi
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
  tap_cleanup
}

# synack-iperf3 --client over IPv6 against a stock iperf3 -s on the kernel side.
iperf_client() {
  local tap=sk-a6-t4 ours6=fd81::41 theirs6=fd81::42
  echo "== synack-iperf3 --client $theirs6 -> iperf3 -s ($tap)"
  timeout 60 iperf3 -s -p 5296 -1 >"$TAP_TMP/iperf3-srv.log" 2>&1 &
  SERVER_PID=$!
  if tap_spawn "$build" "$tap" 0 synack-iperf3 --ip6 "$ours6/64" --port 5296 --client "$theirs6" -t 2; then
    tap_kernel_up 02:00:00:00:81:04
    tap_add6 "$theirs6"
  fi
  wait "$TAP_PID"
  local rc=$?
  TAP_PID=""
  wait "$SERVER_PID"
  local src=$?
  SERVER_PID=""
  grep '^{' "$TAP_LOG" | sed 's/^/  /'
  [ $rc -eq 0 ] && [ $src -eq 0 ] && grep -q '"bytes_sent":[1-9]' "$TAP_LOG"
  expect "synack-iperf3 over IPv6: client exit $rc, iperf3 -s exit $src, bytes sent" $?
  [ $rc -eq 0 ] || tail -5 "$TAP_LOG" "$TAP_TMP/iperf3-srv.log" | sed 's/^/    /'
  tap_cleanup
}

suites=${SUITES:-1234}
[[ $suites == *1* ]] && suite 0 sk-a6-t1 10.81.1
[[ $suites == *2* ]] && suite 0,1 sk-a6-t2 10.81.2
# A fresh address pair per run: Linux keeps an earlier run's TIME-WAIT (60 s), and a SYN from a port it holds draws
# its ACK, our RST and a retransmission one RTO later (correct, but slow).
[[ $suites == *3* ]] && { perf_client rr 0 11 12; perf_client cps 0 21 22; perf_client cps 0,1 31 32; }
[[ $suites == *4* ]] && iperf_client
echo "ipv6_tcp: $failures failure(s)"
[ "$failures" -eq 0 ]
