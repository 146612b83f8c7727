#!/usr/bin/env bash
# --share-kernel (issue 11, item 3): synack and the kernel on one interface and one address. A veth pair between
# two network namespaces: sk-y-h holds 10.104.0.1/24 in the kernel and runs synack on net_af_xdp with synack's XDP
# program (build/synack_xdp.o, xdp_prog=); sk-y-p is the remote peer at 10.104.0.2. Checked:
#   - synack-echo serves port 7 (1 MB of random bytes echoed byte-exact to a Linux client in sk-y-p), while a kernel
#     HTTP server on port 8080 of the same address answers from sk-y-p, and `ping` (and `ping -6` to the link-local
#     address) is answered by the kernel:
#     synack's counters show that no ARP and no ICMP reached it;
#   - synack-perf --client from synack's side to a Linux server in sk-y-p (active opens: their replies come back
#     to synack's ephemeral range), with the kernel's neighbour table flushed first, so the next hop is resolved by
#     the kernel on synack's request (net.arp_kernel_asked);
#   - over IPv6 (--ip6 fd00:104::1, an address of the interface): the same echo from the peer, ping -6 answered by
#     the kernel, no ICMPv6 reaching synack, and synack-perf --client fd00:104::2 with the next hop from the
#     kernel's neighbour table (net.nd_kernel_asked);
#   - the program goes when synack exits, and the mistakes are explained: no xdp_prog=, an --ephemeral-ports range
#     that overlaps the kernel's.
# The peer's TX checksum offload is off (ethtool -K PEER tx off): synack verifies every checksum.
# Names use the sk-y prefix, 10.104.0.0/16 and fd00:104::/64 so the test runs beside the other suites.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
prog=$build/synack_xdp.o
tmp=$(mktemp -d)
H=sk-y-h P=sk-y-p A=sk-y-a B=sk-y-b
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$H" 2>/dev/null
  ip netns del "$P" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
expect() { if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi; }
in_h() { ip netns exec "$H" "$@"; }
in_p() { ip netns exec "$P" "$@"; }
counter() { awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }

if [ ! -f "$prog" ]; then
  echo "xdp_share: $prog was not built (clang for the BPF target and libbpf-dev are needed: scripts/setup)"
  exit 1
fi
eal=(--no-huge --no-shconf --no-pci -m 512 --log-level=error -l 0)
vdev="net_af_xdp0,iface=$A,start_queue=0,queue_count=1,xdp_prog=$prog"

ip netns del "$H" 2>/dev/null
ip netns del "$P" 2>/dev/null
ip netns add "$H"
ip netns add "$P"
ip link add "$A" netns "$H" type veth peer name "$B" netns "$P"
in_h ip addr add 10.104.0.1/24 dev "$A"
in_h ip link set "$A" up
in_h ip link set lo up
in_h ip -6 addr add fd00:104::1/64 dev "$A" nodad  # nodad: usable at once
in_p ip addr add 10.104.0.2/24 dev "$B"
in_p ip -6 addr add fd00:104::2/64 dev "$B" nodad
in_p ip link set "$B" up
in_p ip link set lo up
in_p ethtool -K "$B" tx off >/dev/null

start() {  # start LOG PROGRAM ARGS...: in sk-y-h, in the background, wait until it listens
  local log=$1
  shift
  ip netns exec "$H" "$@" >"$log" 2>&1 &  # not through in_h: $! must be the program, for stop_last's signal
  PIDS+=($!)
  local pid=$!
  for _ in $(seq 100); do
    grep -q "listening" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "  exited early:"; tail -5 "$log"; return 1; }
    sleep 0.1
  done
  echo "  never listened:"; tail -5 "$log"; return 1
}
stop_last() {
  local pid=${PIDS[-1]}
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset 'PIDS[-1]'
}
xdp_attached() { in_h ip -d link show "$A" | grep -q "prog/xdp"; }
linux_server() {  # linux_server ADDR PORT SECONDS LOG: linux-perf --server --verify in sk-y-p, until it listens
  ip netns exec "$P" timeout 30 "$build/bench/linux-perf" --server --bind "$1" --port "$2" --duration-s "$3" --verify \
    >"$4" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q "server on" "$4" && break; sleep 0.1; done
}
perf_client() {  # perf_client FAMILY TEST LOG ARGS...: synack-perf --client in sk-y-h for 2 s, its JSON checked
  local family=$1 t=$2 log=$3 rc out
  shift 3
  in_h timeout 30 "$build/app/synack-perf" "${eal[@]}" --vdev="$vdev" -- --share-kernel "$@" --test "$t" \
    --msg-size 1000 --duration-s 2 --verify -v >"$log" 2>&1
  rc=$?
  out=$(grep '^{' "$log" | tail -1)
  [ $rc -eq 0 ] || tail -3 "$log"
  echo "  synack client over $family, $t: $(echo "$out" | cut -c1-150)"
  # bulk moves bytes, rr counts transactions; either way no error and no corrupt byte.
  /usr/bin/python3 -c "
import json, sys
o = json.loads(sys.argv[1])
moved = o['bytes'] > 100000 if sys.argv[2] == 'bulk' else o['transactions'] > 10
sys.exit(0 if o['errors'] == 0 and o['corrupt'] == 0 and moved else 1)" "$out" "$t" 2>/dev/null && [ $rc -eq 0 ]
  expect "synack client -> Linux server over $family, $t: traffic both ways, nothing corrupt" $?
}

echo "== synack-echo on port 7 and a kernel HTTP server on port 8080 of 10.104.0.1, ping answered by the kernel"
mkdir -p "$tmp/www"
echo "kernel-served-$$" >"$tmp/www/index.html"
ip netns exec "$H" timeout 60 /usr/bin/python3 -m http.server 8080 --bind 10.104.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
PIDS+=($!)
log=$tmp/echo.log
if start "$log" timeout 60 "$build/app/synack-echo" "${eal[@]}" --vdev="$vdev" -- --share-kernel --ip6 fd00:104::1/64 --port 7 -v; then
  grep -q "sharing $A with the kernel: 10.104.0.1/24" "$log"
  expect "synack took the interface's address: $(grep -m1 sharing "$log" | cut -c1-110)..." $?
  xdp_attached
  expect "synack's XDP program attached to $A ($(in_h ip -d link show "$A" | grep -o 'prog/xdp id [0-9]* name [a-z_]*'))" $?
  in_p ping -c 3 -i 0.2 -W 2 10.104.0.1 >"$tmp/ping.log" 2>&1
  expect "ping answered: $(grep -o '[0-9]* received' "$tmp/ping.log")" $?
  # IPv6 is the kernel's too: its link-local address on the shared interface answers ping -6.
  for _ in $(seq 50); do in_h ip -6 addr show dev "$A" | grep -q tentative || break; sleep 0.1; done
  ll=$(in_h ip -6 addr show dev "$A" scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
  in_p ping -6 -c 2 -i 0.2 -W 2 "$ll%$B" >"$tmp/ping6.log" 2>&1
  expect "ping -6 $ll answered: $(grep -o '[0-9]* received' "$tmp/ping6.log")" $?
  in_p timeout 60 /usr/bin/python3 tests/integration/peer.py --host 10.104.0.1 bulk --port 7 --size 1000000 |
    sed 's/^/  /'
  expect "synack: 1 MB of random bytes echoed byte-exact on port 7" "${PIPESTATUS[0]}"
  # IPv6 TCP to synack's port goes to synack by the same port map; neighbour discovery and ping -6 stay the kernel's.
  in_p ping -6 -c 2 -i 0.2 -W 2 fd00:104::1 >"$tmp/ping6g.log" 2>&1
  expect "ping -6 fd00:104::1 answered: $(grep -o '[0-9]* received' "$tmp/ping6g.log")" $?
  in_p timeout 60 /usr/bin/python3 tests/integration/peer.py --host fd00:104::1 bulk --port 7 --size 1000000 |
    sed 's/^/  /'
  expect "synack: 1 MB echoed byte-exact on port 7 over IPv6" "${PIPESTATUS[0]}"
  echo x | in_p timeout 5 nc -6 -q 1 fd00:104::1 9 >/dev/null 2>&1
  [ $? -ne 0 ]
  expect "kernel: an IPv6 port nobody listens on is refused (by the kernel's RST)" $?
  for _ in $(seq 50); do in_h ss -ltn | grep -q ':8080 ' && break; sleep 0.1; done
  body=$(in_p curl -s -m 5 http://10.104.0.1:8080/)
  [ "$body" = "kernel-served-$$" ]
  expect "kernel: HTTP on port 8080 of the same address answered ('$body')" $?
  echo x | in_p timeout 5 nc -q 1 10.104.0.1 9 >/dev/null 2>&1
  [ $? -ne 0 ]
  expect "kernel: a port nobody listens on is refused (by the kernel's RST)" $?
  stop_last
  grep -q "^core0 rx" "$log"
  expect "synack-echo stopped and reported its counters" $?
  rx_arp=$(counter "$log" net.rx_arp)
  rx_icmp=$(counter "$log" net.rx_icmp)
  rx_icmp6=$(counter "$log" net.rx_icmp6)
  refused_by_synack=$(counter "$log" tcp.rx_no_connection)
  [ "$rx_arp" = 0 ] && [ "$rx_icmp" = 0 ] && [ "$rx_icmp6" = 0 ] && [ "$refused_by_synack" = 0 ]
  expect "no ARP, no ICMP(v6) and no other port reached synack (net.rx_arp $rx_arp, net.rx_icmp $rx_icmp, net.rx_icmp6 $rx_icmp6, tcp.rx_no_connection $refused_by_synack)" $?
  rx_tcp6=$(counter "$log" net.rx_tcp6)
  [ "$rx_tcp6" -gt 100 ]
  expect "IPv6 TCP reached synack (net.rx_tcp6 $rx_tcp6)" $?
  ! xdp_attached
  expect "the XDP program went with synack" $?
else
  failures=$((failures + 1))
fi

echo "== synack-perf --client from 10.104.0.1 to a Linux server in the peer namespace (active opens)"
in_h ip neigh flush dev "$A"
in_p ip neigh flush dev "$B"
linux_server 10.104.0.2 6201 10 "$tmp/server.log"
for t in bulk rr; do
  perf_client IPv4 $t "$tmp/client-$t.log" --port 6201 --client 10.104.0.2
done
asked=$(counter "$tmp/client-bulk.log" net.arp_kernel_asked)
[ "$asked" -ge 1 ]
expect "next hop resolved by the kernel on synack's request (net.arp_kernel_asked $asked)" $?
grep -q "to 61000-65535 (the kernel's ephemeral ports: 32768-60999)" "$tmp/client-bulk.log"
expect "synack's ephemeral ports above the kernel's" $?
wait "${PIDS[-1]}"
unset 'PIDS[-1]'
sout=$(grep '^{' "$tmp/server.log" | tail -1)
echo "  Linux server: $sout"
echo "$sout" | grep -q '"corrupt":0' && ! echo "$sout" | grep -q '"bytes":0,'
expect "Linux server received patterned bytes, nothing corrupt" $?

echo "== synack-perf --client from fd00:104::1 to a Linux server in the peer namespace (IPv6 active opens)"
in_h ip -6 neigh flush dev "$A"
in_p ip -6 neigh flush dev "$B"
linux_server fd00:104::2 6211 8 "$tmp/server6.log"
perf_client IPv6 rr "$tmp/client6.log" --ip6 fd00:104::1/64 --port 6211 --client fd00:104::2
asked=$(counter "$tmp/client6.log" net.nd_kernel_asked)
ns=$(counter "$tmp/client6.log" net.nd_ns_sent)
[ "$asked" -ge 1 ] && [ "$ns" = 0 ]
expect "IPv6 next hop resolved by the kernel on synack's request (net.nd_kernel_asked $asked, net.nd_ns_sent $ns)" $?
kill "${PIDS[-1]}" 2>/dev/null
wait "${PIDS[-1]}" 2>/dev/null
unset 'PIDS[-1]'

echo "== mistakes explained"
out=$(in_h timeout 30 "$build/app/synack-echo" "${eal[@]}" --vdev="net_af_xdp0,iface=$A,start_queue=0,queue_count=1" \
  -- --share-kernel --port 7 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "xdp_prog="
expect "without xdp_prog=: refused, saying what to add ($(echo "$out" | grep -m1 -o 'share-kernel: [^:]*'))" $?
! xdp_attached
expect "and the interface left without an XDP program" $?
out=$(in_h timeout 30 "$build/app/synack-echo" "${eal[@]}" --vdev="$vdev" -- --share-kernel --port 7 \
  --ephemeral-ports 40000-50000 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "overlaps the kernel's 32768-60999"
[ $rc -ne 0 ] || echo "$out" | tail -3
expect "--ephemeral-ports inside the kernel's range: refused" $?

echo "xdp_share: $failures failure(s)"
[ "$failures" -eq 0 ]
