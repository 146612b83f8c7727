#!/usr/bin/env bash
# Channel path vs callback path over net_tap: synack-echo (callbacks) and synack-channel-echo (application
# threads through Channels) on one polling lcore, the kernel's linux-perf as the client on another CPU.
# Request/response (64 B, one connection) and connections per second (the server closes first).
#   bash bench/channel_tap.sh [BUILD] [SECONDS]     (root; prints a Markdown table)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-5}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
client_cpu=$(( $(nproc) > 1 ? 1 : 0 ))
P=5201

run() {  # run LABEL PROGRAM [options]: one server, rr then cps
  local label=$1 prog=$2
  shift 2
  tap_start "$build" sk-h2 10.98.2 0 "$prog" --port $((P + 1)) --close-port $((P + 2)) --msl-ms 1000 \
    --duration-s $((4 * secs + 30)) "$@" >/dev/null || return 1
  ping -c 1 -W 2 10.98.2.1 >/dev/null
  local rr cps cps16
  rr=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client 10.98.2.1 --port $P \
    --test rr --streams 1 --msg-size 64 --duration-s "$secs" | tail -1)
  cps=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client 10.98.2.1 --port $P \
    --test cps --in-flight 1 --duration-s "$secs" | tail -1)
  cps16=$(timeout $((secs + 10)) taskset -c $client_cpu "$build/bench/linux-perf" --client 10.98.2.1 --port $P \
    --test cps --in-flight 16 --duration-s "$secs" | tail -1)
  tap_stop
  local wake
  wake=$(grep -o "[0-9]* wake-ups" "$TAP_LOG" || true)
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
run "synack-channel-echo (1 thread)" synack-channel-echo --threads 1 ${SPIN:+--spin-us $SPIN}
run "synack-channel-echo (4 threads)" synack-channel-echo --threads 4
