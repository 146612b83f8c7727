#!/usr/bin/env bash
# Telemetry while connections are open: synack-echo on two cores over net_tap, a Linux client holding a
# connection after an exchange, then DPDK's own dpdk-telemetry.py and tools/synack-stat read /synack/stats,
# /synack/core,N and /synack/conns: the connection is listed with its 4-tuple, ESTABLISHED, an RTT sample, a
# congestion window and nothing in flight; counters match what was sent; a bad parameter gets no answer; once the
# client closes, the list is empty.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
prefix=sk-e-tel
client_pid=""
trap '[ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null; tap_cleanup; rm -rf "$TAP_TMP" /var/run/dpdk/$prefix' EXIT
failures=0
expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
tel() { echo "$1" | timeout 10 dpdk-telemetry.py -f "$prefix" 2>/dev/null; }
json() {  # json JSON PYTHON-EXPRESSION-ON-v: prints the expression's value
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=list(d.values())[0]; print(eval(sys.argv[2]))' "$1" "$2"
}
subnet=10.96.5
echo "== telemetry of synack-echo on lcores 0,1 (sk-e-tel0, --file-prefix $prefix)"
TAP_EAL_EXTRA="--file-prefix $prefix" tap_start "$build" sk-e-tel0 "$subnet" 0,1 synack-echo --port 7 --msl-ms 500 \
  --duration-s 120 || exit 1

# A client that exchanges 100 KB, then holds the connection until told to go (a file appears).
/usr/bin/python3 - "$subnet.1" "$TAP_TMP" <<'PY' &
import os, socket, sys, time
host, tmp = sys.argv[1], sys.argv[2]
s = socket.create_connection((host, 7), timeout=10)
data = os.urandom(100000)
s.sendall(data)
got = b""
while len(got) < len(data):
    got += s.recv(65536)
open(os.path.join(tmp, "port"), "w").write(f"{s.getsockname()[1]} {int(got == data)}\n")
for _ in range(300):
    if os.path.exists(os.path.join(tmp, "go")):
        break
    time.sleep(0.1)
s.close()
PY
client_pid=$!
for _ in $(seq 100); do [ -s "$TAP_TMP/port" ] && break; sleep 0.1; done
read -r port echoed <"$TAP_TMP/port" 2>/dev/null
expect "client exchanged 100 KB (echo intact: ${echoed:-?}) and holds port ${port:-?}" "$([ "${echoed:-0}" = 1 ]; echo $?)"

conns=$(tel /synack/conns)
echo "  /synack/conns -> $(printf '%s' "$conns" | head -c 300)"
row=$(json "$conns" "[dict(zip(v['fields'], v[k])) for k in v if k.startswith('conn_') and v[k][2] == '$subnet.2:$port']")
echo "  our connection: $row"
json "$conns" "v['total']" | grep -qx 1
expect "exactly one connection listed" $?
/usr/bin/python3 - "$row" "$subnet" <<'PY'
import ast, sys
rows = ast.literal_eval(sys.argv[1]); subnet = sys.argv[2]
assert len(rows) == 1, rows
c = rows[0]
assert c["local"] == subnet + ".1:7" and c["state"] == "ESTABLISHED", c
assert int(c["srtt_us"]) > 0 and int(c["rto_us"]) >= 200000, c       # an RTT sample, RTO at or above its floor
assert int(c["cwnd"]) >= int(c["mss"]) > 0 and int(c["bytes_in_flight"]) == 0, c
assert int(c["send_queue"]) == 0 and int(c["recv_queue"]) == 0 and int(c["snd_wnd"]) > 0, c
PY
expect "4-tuple, ESTABLISHED, srtt > 0, cwnd >= mss, nothing in flight or queued" $?

stats=$(tel /synack/stats)
json "$stats" "v['workers'] == 2 and v['connections_held'] == 1 and v['tcp/rx_data_bytes'] >= 100000 and v['tcp/tx_data_bytes'] >= 100000" | grep -qx True
expect "/synack/stats: 2 workers, 1 held, >= 100 KB each way ($(json "$stats" "(v['tcp/rx_data_bytes'], v['tcp/tx_data_bytes'])"))" $?
c0=$(tel /synack/core,0); c1=$(tel /synack/core,1)
json "$c0" "v['rx_packets'] > 0 and v['core'] == 0" | grep -qx True && json "$c1" "v['core'] == 1" | grep -qx True
expect "/synack/core,0 and /synack/core,1 answer" $?
json "$(tel /synack/core,7)" "v is None" | grep -qx True
expect "/synack/core,7 (no such core) gets no data" $?

view=$(timeout 10 tools/synack-stat -f "$prefix" --once)
printf '%s\n' "$view" | sed 's/^/    /' | head -12
# mss: 1448 when timestamps are on (the peer is Linux: they are), 1460 without.
printf '%s\n' "$view" | grep -E "^ESTAB .* $subnet\.1:7 +$subnet\.2:$port" >/dev/null \
  && printf '%s\n' "$view" | grep -qE "core:[01] mss:(1448|1460) rto:[0-9.]+ rtt:[0-9.]+/[0-9.]+ cwnd:[0-9]+"
expect "synack-stat shows the connection like ss -ti" $?

touch "$TAP_TMP/go"
wait "$client_pid"; client_pid=""
sleep 0.5
json "$(tel /synack/conns)" "v['total']" | grep -qx 0
expect "after the client closed, no connection is listed" $?
tap_stop
echo "telemetry: $failures failure(s)"
[ "$failures" -eq 0 ]
