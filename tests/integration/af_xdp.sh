#!/usr/bin/env bash
# Non-zero payloads, checked byte for byte, over every kind of port synack drives (issue 11: over net_af_xdp every
# data segment left with the header mbuf's stale bytes, and tests with all-zero payloads never saw it).
# A Linux peer sits in its own network namespace behind a veth pair (or the tap moved into it); each run checks
# that the peer's TcpInCsumErrors did not move:
#   net_af_xdp, net_af_packet, net_tap: 10 MB of random bytes echoed by synack-echo, compared by SHA-256;
#   net_af_xdp: synack-perf and linux-perf both ways with the pattern checked (--verify): Linux client into the
#               synack server (bulk and rr), synack client into the Linux server (bulk);
#   net_af_xdp with the peer's TX checksum offload on: its frames carry partial checksums, synack counts them
#               (tcp.rx_parse.partial_tcp_checksum) and says why once in its log;
#   net_af_xdp on two queues of a two-queue veth: one vdev per queue (--port-per-core, lcores 0 and 1), Linux
#               client into the synack server, bulk and rr, --verify;
#   net_memif (two processes) and net_ring (--loopback): synack-perf against itself, bulk and rr, --verify.
# Two XDP programs on one interface need libxdp's dispatcher, which needs bpffs: mounted for the test if absent.
# Names use the sk-x prefix and 10.94.0.0/16 so the test runs beside the other suites.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tmp=$(mktemp -d)
NS=sk-x-ns A=sk-x-a B=sk-x-b TAP=sk-x-tap MA=sk-x-qa MB=sk-x-qb
PIDS=()
bpffs_mounted=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip link del "$A" 2>/dev/null
  ip link del "$TAP" 2>/dev/null
  ip link del "$MA" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  [ -n "$bpffs_mounted" ] && umount /sys/fs/bpf 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
expect() { if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi; }
in_ns() { ip netns exec "$NS" "$@"; }
csum_errors() {  # the namespace's TcpInCsumErrors (/proc/net/snmp, Tcp: header line then values)
  in_ns awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InCsumErrors") c = i; h = 1 } else print $c }' \
    /proc/net/snmp
}
eal=(--no-huge --no-shconf --no-pci -m 512 --log-level=error)
xdp_vdev="net_af_xdp0,iface=$A,start_queue=0,queue_count=1"

ip netns del "$NS" 2>/dev/null
ip link del "$A" 2>/dev/null
ip netns add "$NS"
ip link add "$A" type veth peer name "$B" netns "$NS"
ip link set "$A" up
in_ns ip addr add 10.94.0.2/24 dev "$B"
in_ns ip link set "$B" up
in_ns ip link set lo up
# A veth sends with partial checksums (CHECKSUM_PARTIAL) unless told not to; synack verifies every checksum.
in_ns ethtool -K "$B" tx off >/dev/null

start() {  # start LOG PROGRAM ARGS...: in the background, wait until it listens or runs
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  local pid=$!
  for _ in $(seq 100); do
    grep -q "listening" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "  exited early:"; tail -5 "$log"; return 1; }
    sleep 0.1
  done
  echo "  never listened:"; tail -5 "$log"; return 1
}
stop_last() {  # SIGTERM the last started program and wait for it (it prints its counters)
  local pid=${PIDS[-1]}
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset 'PIDS[-1]'
}

echo_check() {  # echo_check NAME VDEV SUBNET: synack-echo at SUBNET.1 on VDEV echoes 10 MB of random bytes
  local name=$1 vdev=$2 net=$3 before after log=$tmp/echo-$1.log
  echo "== $name: 10 MB of random bytes echoed by synack-echo"
  before=$(csum_errors)
  start "$log" "$build/app/synack-echo" "${eal[@]}" -l 0 --vdev="$vdev" -- --ip "$net.1/24" --port 7 \
    --duration-s 120 || { failures=$((failures + 1)); return; }
  if [ "$name" = net_tap ]; then  # the tap appeared in our namespace (DPDK set it up there): move it to the peer's
    ip link set "$TAP" netns "$NS" && in_ns ip link set "$TAP" address 02:00:00:00:94:02 &&
      in_ns ip addr add "$net.2/24" dev "$TAP" && in_ns ip link set "$TAP" up
  fi
  in_ns timeout 120 /usr/bin/python3 tests/integration/peer.py --host "$net.1" bulk --port 7 --size 10000000 |
    sed 's/^/  /'
  expect "$name: 10 MB echoed byte-exact" "${PIPESTATUS[0]}"
  stop_last
  after=$(csum_errors)
  [ "$after" = "$before" ]
  expect "$name: peer's TcpInCsumErrors unchanged ($before -> $after)" $?
  grep -q "bad_tcp_checksum" "$log"
  [ $? -ne 0 ]
  expect "$name: synack counted no bad TCP checksum" $?
}

json_field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
last_json() { grep '^{' "$1" | tail -1; }

perf_check() {  # the pattern both ways over net_af_xdp, checked by the receiver
  echo "== net_af_xdp: synack-perf and linux-perf, patterned bytes checked (--verify)"
  local before after log=$tmp/perf-server.log out
  before=$(csum_errors)
  start "$log" "$build/app/synack-perf" "${eal[@]}" -l 0 --vdev="$xdp_vdev" -- --ip 10.94.0.1/24 --port 5201 \
    --server --verify --duration-s 60 || { failures=$((failures + 1)); return; }
  for t in bulk rr; do
    out=$(in_ns timeout 20 "$build/bench/linux-perf" --client 10.94.0.1 --port 5201 --test $t --msg-size 1000 \
      --duration-s 2 --verify)
    local rc=$?
    echo "  Linux client -> synack, $t: $(echo "$out" | cut -c1-160)"
    [ $rc -eq 0 ] && [ "$(json_field "$out" corrupt)" = 0 ] && [ "$(json_field "$out" errors)" = 0 ] &&
      { [ $t = rr ] && [ "$(json_field "$out" transactions)" -gt 0 ] || [ "$(json_field "$out" bytes)" -gt 0 ]; }
    expect "Linux client -> synack server, $t: traffic, nothing corrupt" $?
  done
  stop_last
  out=$(last_json "$log")
  [ -n "$out" ] && [ "$(json_field "$out" corrupt)" = 0 ] && [ "$(json_field "$out" bytes)" -gt 0 ]
  expect "synack server checked what it discarded: $(echo "$out" | grep -o '"bytes":[0-9]*'), corrupt 0" $?

  in_ns "$build/bench/linux-perf" --server --bind 10.94.0.2 --port 6201 --duration-s 8 --verify >"$tmp/linux-server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q "server on" "$tmp/linux-server.log" && break; sleep 0.1; done
  out=$(timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 0 --vdev="$xdp_vdev" -- --ip 10.94.0.1/24 --port 6201 \
    --client 10.94.0.2 --test bulk --duration-s 2 2>&1 | grep '^{')
  echo "  synack client -> Linux, bulk: $(echo "$out" | cut -c1-120)"
  wait "${PIDS[-1]}"
  local src=$?
  unset 'PIDS[-1]'
  local sout
  sout=$(last_json "$tmp/linux-server.log")
  echo "  Linux server: $sout"
  [ $src -eq 0 ] && [ "$(json_field "$sout" corrupt)" = 0 ] && [ "$(json_field "$sout" bytes)" -gt 1000000 ]
  expect "synack client -> Linux server, bulk: over 1 MB, nothing corrupt" $?
  after=$(csum_errors)
  [ "$after" = "$before" ]
  expect "net_af_xdp perf: peer's TcpInCsumErrors unchanged ($before -> $after)" $?
}

partial_check() {  # the peer's TX offload on: partial checksums arrive, counted and explained
  echo "== net_af_xdp with the peer's TX checksum offload on (partial checksums)"
  in_ns ethtool -K "$B" tx on >/dev/null
  local log=$tmp/partial.log
  start "$log" "$build/app/synack-echo" "${eal[@]}" -l 0 --vdev="$xdp_vdev" -- --ip 10.94.0.1/24 --port 7 \
    --duration-s 60 || { failures=$((failures + 1)); in_ns ethtool -K "$B" tx off >/dev/null; return; }
  in_ns timeout 5 /usr/bin/python3 -c "
import socket
try: socket.create_connection(('10.94.0.1', 7), timeout=2)
except OSError: pass" 2>/dev/null
  stop_last
  in_ns ethtool -K "$B" tx off >/dev/null
  local n
  n=$(grep -o 'partial_tcp_checksum [0-9]*' "$log" | awk '{print $2}')
  [ "${n:-0}" -ge 1 ]
  expect "partial checksums counted (tcp.rx_parse.partial_tcp_checksum ${n:-0})" $?
  [ "$(grep -c 'ethtool -K' "$log")" -eq 1 ]
  expect "explained once in the log: $(grep -m1 'ethtool -K' "$log" | cut -c1-100)..." $?
}

multiqueue_check() {  # two queues, two lcores, one vdev per queue
  echo "== net_af_xdp on two queues of a veth (--port-per-core, lcores 0 and 1)"
  if ! mount | grep -q " /sys/fs/bpf type bpf"; then
    mount -t bpf bpf /sys/fs/bpf && bpffs_mounted=1
  fi
  ip link add "$MA" numtxqueues 2 numrxqueues 2 type veth peer name "$MB" numtxqueues 2 numrxqueues 2 netns "$NS"
  ip link set "$MA" up
  in_ns ip addr add 10.94.6.2/24 dev "$MB"
  in_ns ip link set "$MB" up
  in_ns ethtool -K "$MB" tx off >/dev/null
  local log=$tmp/mq-server.log out t
  start "$log" "$build/app/synack-perf" "${eal[@]}" -l 0,1 \
    --vdev="net_af_xdp0,iface=$MA,start_queue=0,queue_count=1" \
    --vdev="net_af_xdp1,iface=$MA,start_queue=1,queue_count=1" -- --port-per-core --ip 10.94.6.1/24 --port 5201 \
    --server --verify --duration-s 60 -v || { failures=$((failures + 1)); return; }
  # rr after bulk: a page-bound mbuf pool once put fill-ring frames outside the UMEM, and after ~50K frames a queue
  # received nothing more (dpdk/mbuf_pool.hpp). rr runs 6 s: both CPUs busy-poll here, so the client and the veth's
  # softirqs get little time (it needs progress, not a rate). Both queues must carry requests (below).
  for t in bulk rr; do
    out=$(in_ns timeout 30 "$build/bench/linux-perf" --client 10.94.6.1 --port 5201 --test $t --streams 8 \
      --msg-size 1000 --duration-s "$([ $t = rr ] && echo 6 || echo 2)" --verify)
    local rc=$?
    echo "  Linux client (8 connections) -> synack on 2 queues, $t: $(echo "$out" | cut -c1-150)"
    [ $rc -eq 0 ] && [ "$(json_field "$out" corrupt)" = 0 ] && [ "$(json_field "$out" errors)" = 0 ] &&
      { [ $t = rr ] && [ "$(json_field "$out" transactions)" -gt 0 ] || [ "$(json_field "$out" bytes)" -gt 0 ]; }
    expect "two queues, $t: traffic, nothing corrupt" $?
  done
  stop_last
  local q0 q1
  out=$(last_json "$log")
  [ -n "$out" ] && [ "$(json_field "$out" corrupt)" = 0 ]
  expect "synack server on 2 queues checked what it discarded, corrupt 0" $?
  # Both queues carried traffic: the kernel spread the 8 flows over its two TX queues.
  q0=$(grep "^core0 " "$log" | awk '{print $5}')
  q1=$(grep "^core1 " "$log" | awk '{print $5}')
  [ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ]
  expect "both workers sent (core0 tx ${q0:-0}, core1 tx ${q1:-0})" $?
}

self_check() {  # self_check NAME: synack-perf against itself with --verify
  local name=$1 t out rc
  for t in bulk rr; do
    if [ "$name" = net_ring ]; then
      out=$(timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 0,1 -- --ip 10.94.1.1/24 --port 5201 --loopback \
        --test $t --msg-size 1000 --duration-s 2 --verify 2>&1 | grep '^{')
      rc=${PIPESTATUS[0]}
    else
      local sock=$tmp/memif.sock log=$tmp/memif-server.log
      start "$log" "$build/app/synack-perf" "${eal[@]}" -l 0 --vdev=net_memif0,role=server,socket="$sock" -- \
        --ip 10.94.2.1/24 --port 5201 --server --verify --duration-s 30 || { failures=$((failures + 1)); continue; }
      out=$(timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 1 --vdev=net_memif1,role=client,socket="$sock" -- \
        --ip 10.94.2.2/24 --port 5201 --client 10.94.2.1 --test $t --msg-size 1000 --duration-s 2 --verify 2>&1 |
        grep '^{')
      rc=${PIPESTATUS[0]}
      stop_last
      local s
      s=$(last_json "$log")
      [ -n "$s" ] && [ "$(json_field "$s" corrupt)" = 0 ] || rc=1
    fi
    echo "  $name $t: $(echo "$out" | cut -c1-150)"
    [ "$rc" -eq 0 ] && [ -n "$out" ] && [ "$(json_field "$out" corrupt)" = 0 ] &&
      { [ "$(json_field "$out" bytes)" -gt 0 ] || [ "$(json_field "$out" transactions)" -gt 0 ]; }
    expect "$name $t: patterned bytes moved and checked" $?
  done
}

echo_check net_af_xdp "$xdp_vdev" 10.94.0
echo_check net_af_packet "net_af_packet0,iface=$A" 10.94.0
echo_check net_tap "net_tap0,iface=$TAP" 10.94.4  # its own subnet: the veth holds 10.94.0.0/24
perf_check
partial_check
multiqueue_check
echo "== net_memif and net_ring: synack-perf against itself"
self_check net_memif
self_check net_ring
echo "af_xdp: $failures failure(s)"
[ "$failures" -eq 0 ]
