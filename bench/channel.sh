#!/usr/bin/env bash
# Channel path vs callback path, request/response (64 B, one connection) and connections per second (the server
# closes first), printed as Markdown tables:
#  - over net_tap: synack-echo (callbacks) and synack-channel-echo (application threads through Channels) on one
#    polling lcore (CPU 0), the kernel's linux-perf as the client on CPU 1, where the application threads run too;
#  - in process (--loopback): synack-channel-perf with the client and the server each on callbacks or on a Channel
#    thread, first with both stacks on lcore 0 (taking turns) and the application threads on CPU 1, then with a
#    stack on each of lcores 0 and 1 (both CPUs poll: an application thread then shares a CPU with a poller);
#    between the two, the one-lcore comparison again with each side's two paths taking turns in one process
#    (--server/--client alternate), each ratio the Channel path's time (round trip, or time per connection) over the
#    callback path's.
#   bash bench/channel.sh [BUILD] [SECONDS]     (root)
# CHANNEL_BENCH_TAP / CHANNEL_BENCH_NET: the tap's name and /24 (default sk-h2, 10.98.2), to run beside other tests.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-5}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
client_cpu=$(( $(nproc) > 1 ? 1 : 0 ))
P=5201
tap=${CHANNEL_BENCH_TAP:-sk-h2}
net=${CHANNEL_BENCH_NET:-10.98.2}

run() {  # run LABEL PROGRAM [options]: one server, rr then cps
  local label=$1 prog=$2
  shift 2
  tap_start "$build" "$tap" "$net" 0 "$prog" --port $((P + 1)) --close-port $((P + 2)) --msl-ms 100 \
    --duration-s $((4 * secs + 30)) "$@" >/dev/null || return 1
  ping -c 1 -W 2 "$net.1" >/dev/null
  local rr cps cps16
  rr=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client "$net.1" --port $P \
    --test rr --streams 1 --msg-size 64 --duration-s "$secs" | tail -1)
  cps=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client "$net.1" --port $P \
    --test cps --in-flight 1 --duration-s "$secs" | tail -1)
  cps16=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client "$net.1" --port $P \
    --test cps --in-flight 16 --duration-s "$secs" | tail -1)
  tap_stop
  local wake
  wake=$(grep -oE "[0-9]+ wake-ups(, [0-9]+ waits spun, [0-9]+ events caught spinning)?" "$TAP_LOG" || true)
  /usr/bin/python3 - "$label" "$rr" "$cps" "$cps16" "${wake:-}" <<'PY'
import json, sys
label, rr, cps, cps16, wake = sys.argv[1], *map(json.loads, sys.argv[2:5]), sys.argv[5]
print(f"| {label} | {rr['trans_per_s']:,.0f} | {rr['p50_us']:.1f} | {rr['p99_us']:.1f} | "
      f"{cps['conn_per_s']:,.0f} | {cps16['conn_per_s']:,.0f} | {wake} |")
PY
  tap_cleanup
}

echo "| server (lcore 0, net_tap) | RR 64 B/s | RR p50 (us) | RR p99 (us) | CPS, 1 in flight | CPS, 16 in flight | |"
echo "|---|---:|---:|---:|---:|---:|---|"
run "synack-echo (callbacks)" synack-echo
run "synack-channel-echo (1 thread)" synack-channel-echo --threads 1
run "synack-channel-echo (4 threads)" synack-channel-echo --threads 4

echo
EAL="--no-huge --no-shconf --no-pci -m 512 -l 0,1 --log-level=error --no-telemetry"
inproc() {  # inproc SERVER CLIENT [LCORES]: rr, cps with 1 and with 16 in flight
  local rr cps cps16 EAL=${EAL/-l 0,1/-l ${3:-0,1}} xcore='{"round_trip_ns":0}' xcore2='{"round_trip_ns":0}'
  # The round trip of a cache line between the poller's CPU and the application CPU, just before and just after
  # the row: on a VM the host decides it (95-100 ns or about 400 ns here, from one minute to the next), and every
  # Channel hand-off pays it; two values that differ say the host moved the vCPUs during the row.
  xc() { timeout 30 "$build/app/synack-channel-perf" $EAL -- --ip 10.98.9.1/24 --loopback --port 5201 --test xcore |
    tail -1; }
  [ "${3:-0,1}" = 0 ] && xcore=$(xc)
  rr=$(timeout $((secs + 30)) "$build/app/synack-channel-perf" $EAL -- --ip 10.98.9.1/24 --loopback --port 5201 \
    --msl-ms 100 --duration-s "$secs" --test rr --server "$1" --client "$2" --conns 1 | tail -1)
  cps=$(timeout $((secs + 30)) "$build/app/synack-channel-perf" $EAL -- --ip 10.98.9.1/24 --loopback --port 5201 \
    --msl-ms 100 --duration-s "$secs" --test cps --server "$1" --client "$2" --conns 1 | tail -1)
  cps16=$(timeout $((secs + 30)) "$build/app/synack-channel-perf" $EAL -- --ip 10.98.9.1/24 --loopback --port 5201 \
    --msl-ms 100 --duration-s "$secs" --test cps --server "$1" --client "$2" --conns 16 | tail -1)
  [ "${3:-0,1}" = 0 ] && xcore2=$(xc)
  /usr/bin/python3 - "$1" "$2" "$rr" "$cps" "$cps16" "$xcore" "$xcore2" <<'PY'
import json, sys
server, client, rr, cps, cps16, xcore, xcore2 = sys.argv[1], sys.argv[2], *map(json.loads, sys.argv[3:8])
xc = f"{xcore['round_trip_ns']:.0f} / {xcore2['round_trip_ns']:.0f}" if xcore['round_trip_ns'] else "-"
print(f"| {server} | {client} | {rr['trans_per_s']:,.0f} | {rr['p50_us']:.2f} | {rr['p99_us']:.2f} | "
      f"{cps['conn_per_s']:,.0f} | {cps16['conn_per_s']:,.0f} | {rr['wakeups'] + cps['wakeups'] + cps16['wakeups']} | {xc} |")
PY
}
echo "| server (lcore 0) | client (lcore 0) | RR 64 B/s | RR p50 (us) | RR p99 (us) | CPS, 1 in flight | CPS, 16 in flight | wake-ups | CPU 0 <-> 1 round trip before / after (ns) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for pair in "callback callback" "channel callback" "callback channel" "channel channel"; do
  inproc $pair 0
done
echo
# The same one-lcore comparison with the two paths of one side taking turns in one process (50 ms slices): both
# see the same placement of the vCPUs, which separate runs do not. Between slices the core measures the cache-line
# round trip to the Channel thread's CPU, and each pair of slices counts again under the placement it ran at.
alternating() {  # alternating SIDE OTHER-SIDE: rr, cps with 1 and 16 in flight, SIDE's two paths taking turns
  local EAL=${EAL/-l 0,1/-l 0} side=$1 other=$2 test conns out
  for t in "rr 1" "cps 1" "cps 16"; do
    read -r test conns <<<"$t"
    out=$(timeout $((secs + 30)) "$build/app/synack-channel-perf" $EAL -- --ip 10.98.9.1/24 --loopback --port 5201 \
      --msl-ms 100 --duration-s "$secs" --test "$test" --"$side" alternate --"$other" callback --conns "$conns" | tail -1)
    /usr/bin/python3 - "$side" "$t" "$out" <<'PY'
import json, sys
side, test, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rr = test.startswith("rr")
what = "RR p50 (us)" if rr else f"CPS, {test.split()[1]} in flight"
fmt = (lambda x: f"{x['p50_us']:.2f}") if rr else (lambda x: f"{x['conn_per_s']:,.0f}")
def placement(p):
    return f"{p['pairs']}, {p['channel_over_callback']:.2f}x" if p["pairs"] else "0"
near, far = d["placements"]
print(f"| {side} | {what} | {fmt(d['callback'])} | {fmt(d['channel'])} | {d['channel_over_callback']:.2f}x | "
      f"{placement(near)} | {placement(far)} |")
PY
  done
}
echo "| alternating in one process (lcore 0) | | callback | Channel | Channel / callback (time) | round trip under 200 ns: pairs of slices, ratio | 200 ns or more: pairs, ratio |"
echo "|---|---|---:|---:|---:|---:|---:|"
alternating server client
alternating client server
echo
echo "| server (lcore 1) | client (lcore 0) | RR 64 B/s | RR p50 (us) | RR p99 (us) | CPS, 1 in flight | CPS, 16 in flight | wake-ups | |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for pair in "callback callback" "channel callback" "callback channel" "channel channel"; do
  inproc $pair 0,1
done
