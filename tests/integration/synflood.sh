#!/usr/bin/env bash
# SYN flood against synack-echo over net_tap (sk-c0, synack 10.92.1.1, the kernel .2, made-up spoofed hosts
# .10-.17 that never answer), with legitimate Linux clients echoing during and after it:
#   1. --max-conns 256 filled by 200 idle established connections, then the flood: the full table evicts the oldest
#      half-open connection for each SYN (and gives the new one a cookie ISS);
#   2. the default table, the flood filling the listener's backlog: SYN cookies.
# Each: >= 99% of legitimate clients echo byte-exact during and after, mbufs in use flat during the flood and back at
# the idle level at the end. SYNFLOOD_REFERENCE=1 also runs the same flood against Linux (syncookies on) in a
# network namespace over veth (sk-c-ns, 10.92.2.0/24) and prints its numbers (bench/results/synflood.md).
# SYNFLOOD_RATE (SYNs/s, default 10000) and SYNFLOOD_SECONDS (default 4) set the flood; SYNFLOOD_ARGS adds
# synack options (e.g. "--syncookies 0" to see the defence off).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
NS=sk-c-ns
SERVER_PID=""
cleanup() {
  tap_cleanup
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip link del sk-c-h 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$TAP_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PY=/usr/bin/python3
rate=${SYNFLOOD_RATE:-10000}
seconds=${SYNFLOOD_SECONDS:-4}
failures=0
t_start=$(date +%s)

against_synack() {  # LABEL IDLE [synack options...]
  local label=$1 idle=$2 tap=sk-c0 subnet=10.92.1 mac rc
  shift 2
  echo "== $label: synack-echo $* ${SYNFLOOD_ARGS:-}, $idle idle connections, SYN flood at $rate/s for $seconds s"
  # shellcheck disable=SC2086
  tap_start "$build" "$tap" "$subnet" 0 synack-echo --port 7 --stats-ms 100 --duration-s 120 "$@" ${SYNFLOOD_ARGS:-} ||
    { echo "FAIL: synack-echo did not start"; failures=$((failures + 1)); return; }
  ping -c 1 -W 2 "$subnet.1" >/dev/null
  mac=$(ip neigh show "$subnet.1" dev "$tap" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
  [ -n "$mac" ] || { echo "FAIL: synack's MAC not learned"; failures=$((failures + 1)); tap_cleanup; return; }
  timeout 100 $PY tests/integration/synflood.py flood --iface "$tap" --host "$subnet.1" --mac "$mac" --log "$TAP_LOG" \
    --pid "$TAP_PID" --idle "$idle" --rate "$rate" --seconds "$seconds" --label "$label"
  rc=$?
  [ $rc -eq 0 ] || failures=$((failures + 1))
  tap_stop
  grep -E "^tcp\.(syn_|rx_no_tcb|conn_opened_passive)" "$TAP_LOG" | sed 's/^/   /'
  ! grep -qiE "panic|segmentation|assert|error:|terminate called" "$TAP_LOG"
  [ $? -eq 0 ] || { echo "FAIL: panic or error in synack's output"; failures=$((failures + 1)); }
  grep -q "^synack-echo: accepted" "$TAP_LOG" || { echo "FAIL: no exit report"; failures=$((failures + 1)); }
  tap_cleanup
}

against_linux() {  # LABEL SYNCOOKIES
  local label=$1 cookies=$2 mac
  echo "== $label: Linux in a namespace over veth, tcp_syncookies=$cookies, SYN flood at $rate/s for $seconds s"
  ip netns add "$NS" || { failures=$((failures + 1)); return; }
  ip link add sk-c-h type veth peer name sk-c-n
  ip link set sk-c-n netns "$NS"
  ip addr add 10.92.2.1/24 dev sk-c-h
  ip link set sk-c-h up
  ip -n "$NS" addr add 10.92.2.2/24 dev sk-c-n
  ip -n "$NS" link set sk-c-n up
  ip -n "$NS" link set lo up
  ip netns exec "$NS" sysctl -qw net.ipv4.tcp_syncookies="$cookies"  # per namespace
  ip netns exec "$NS" $PY tests/integration/synflood.py echo-server --host 10.92.2.2 --seconds 90 \
    >"$TAP_TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 50); do grep -q listening "$TAP_TMP/server.log" && break; sleep 0.1; done
  mac=$(ip -n "$NS" link show sk-c-n | awk '/link\/ether/ {print $2}')
  timeout 100 $PY tests/integration/synflood.py flood --iface sk-c-h --host 10.92.2.2 --mac "$mac" --rate "$rate" \
    --seconds "$seconds" --label "$label"
  ip netns exec "$NS" nstat -az TcpExtSyncookiesSent TcpExtSyncookiesRecv TcpExtListenDrops TcpExtListenOverflows \
    2>/dev/null | grep -v "^#" | sed 's/^/   /'
  kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
  ip link del sk-c-h 2>/dev/null
  ip netns del "$NS"
}

against_synack "table full (--max-conns 256)" 200 --max-conns 256
against_synack "SYN cookies (backlog full)" 0
if [ -n "${SYNFLOOD_REFERENCE:-}" ]; then
  against_linux "Linux reference" 1
  against_linux "Linux without syncookies" 0
fi
echo "synflood: $failures failure(s), $(( $(date +%s) - t_start )) s"
[ "$failures" -eq 0 ]
