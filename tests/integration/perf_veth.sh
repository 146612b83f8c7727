#!/usr/bin/env bash
# Two synack-perf processes on the two ends of a veth pair (net_af_packet), one core each: bulk, cps and rr run
# briefly; each must move data or connections with no error. Then rr between two processes over net_memif, and a
# run with hugepages when the machine can reserve them. Numbers here are a smoke test, not a benchmark (see
# scripts/bench for those).
# The client's end of the veth lives in its own network namespace: DPDK 22.11's af_packet PMD takes its
# PACKET_FANOUT group id from getpid() ^ getppid(), fanout groups are per namespace, and two processes started back
# to back can draw the same id; the kernel then refuses the second one (EINVAL, the group is bound to the other
# veth end). That failed CI once.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tmp=$(mktemp -d)
SP="" CP=""
old_huge=$(cat /proc/sys/vm/nr_hugepages)
huge_mounted=""
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null
  [ -n "$CP" ] && kill "$CP" 2>/dev/null
  wait 2>/dev/null
  ip link del sk-perf-a 2>/dev/null
  ip netns del sk-perf-ns 2>/dev/null
  [ -n "$huge_mounted" ] && umount "$huge_mounted" 2>/dev/null
  echo "$old_huge" > /proc/sys/vm/nr_hugepages 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
expect() { if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi; }

ip link del sk-perf-a 2>/dev/null
ip netns del sk-perf-ns 2>/dev/null
ip netns add sk-perf-ns
ip link add sk-perf-a type veth peer name sk-perf-b netns sk-perf-ns
ip link set sk-perf-a up
ip -n sk-perf-ns link set sk-perf-b up
client_ns=(ip netns exec sk-perf-ns)
eal=(--no-huge --no-shconf --no-pci -m 512 --log-level=error)

run() {  # run TEST: server on lcore 0, client on lcore 1, 3 s
  local test=$1
  "$build/app/synack-perf" "${eal[@]}" -l 0 --vdev=net_af_packet0,iface=sk-perf-a -- --ip 10.81.0.1/24 \
    --port 5201 --server --msl-ms 1000 --duration-s 30 >"$tmp/server.log" 2>&1 &
  SP=$!
  sleep 1
  timeout 20 "${client_ns[@]}" "$build/app/synack-perf" "${eal[@]}" -l 1 --vdev=net_af_packet1,iface=sk-perf-b -- --ip 10.81.0.2/24 \
    --port 5201 --client 10.81.0.1 --test "$test" --streams 4 --in-flight 32 --duration-s 3 \
    --json "$tmp/$test.json" >"$tmp/client.log" 2>&1
  local rc=$?
  kill "$SP" 2>/dev/null
  wait "$SP" 2>/dev/null
  SP=""
  grep -E '^\[' "$tmp/client.log" | tail -1 | sed 's/^/    /'
  [ $rc -eq 0 ] || { echo "    client exit $rc:"; tail -5 "$tmp/client.log"; }
  return $rc
}

echo "== synack-perf client and server over a veth pair (net_af_packet)"
for t in bulk cps rr; do
  run $t
  rc=$?
  /usr/bin/python3 - "$tmp/$t.json" "$t" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = sys.argv[2]
value = {"bulk": d["mbit_per_s"], "cps": d["conn_per_s"], "rr": d["trans_per_s"]}[t]
unit = {"bulk": "Mbit/s", "cps": "connections/s", "rr": f"transactions/s, p50 {d['p50_us']} us, p99 {d['p99_us']} us"}[t]
print(f"    {t}: {value:.0f} {unit}, errors {d['errors']}")
sys.exit(0 if value > 0 and d["errors"] == 0 else 1)
PY
  [ $rc -eq 0 ] && [ $? -eq 0 ]
  expect "$t moved traffic with no error" $?
done
echo "== rr between two processes over net_memif (shared memory)"
sock="$tmp/memif.sock"
"$build/app/synack-perf" "${eal[@]}" -l 0 --vdev=net_memif0,role=server,socket="$sock" -- --ip 10.84.0.1/24 \
  --port 5201 --server --duration-s 30 >"$tmp/mserver.log" 2>&1 &
SP=$!
sleep 1
timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 1 --vdev=net_memif1,role=client,socket="$sock" -- \
  --ip 10.84.0.2/24 --port 5201 --client 10.84.0.1 --test rr --duration-s 2 --json "$tmp/memif.json" \
  >"$tmp/mclient.log" 2>&1
rc=$?
kill "$SP" 2>/dev/null
wait "$SP" 2>/dev/null
SP=""
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f'    rr over memif: {d[\"trans_per_s\"]:.0f} transactions/s, p50 {d[\"p50_us\"]} us'); sys.exit(0 if d['trans_per_s'] > 0 and d['errors'] == 0 else 1)" "$tmp/memif.json"
[ $rc -eq 0 ] && [ $? -eq 0 ]
expect "rr over net_memif moved traffic with no error" $?

echo "== the same rr run with hugepages (2 MB pages reserved for the test, released after)"
echo $((old_huge + 512)) > /proc/sys/vm/nr_hugepages 2>/dev/null
if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ]; then
  if ! mount | grep -q hugetlbfs; then
    mkdir -p "$tmp/huge" && mount -t hugetlbfs nodev "$tmp/huge" && huge_mounted="$tmp/huge"
  fi
  eal=(--in-memory --no-pci -m 512 --log-level=error)
  run rr
  rc=$?
  grep -q '"errors":0' "$tmp/rr.json" 2>/dev/null && [ $rc -eq 0 ]
  expect "rr over hugepages (EAL without --no-huge)" $?
else
  echo "  skipped: this machine could not reserve 512 hugepages"
fi
echo "perf_veth: $failures failure(s)"
[ "$failures" -eq 0 ]
