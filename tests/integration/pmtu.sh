#!/usr/bin/env bash
# Path MTU through Linux routers (issue 8, item 5). synack-perf --client on net_tap sends bulk data to a Linux
# linux-perf --server two routers away; the link between the routers has MTU 1280, every other link 1500, so the
# MSS option (1460 both ways) cannot reveal it:
#
#   synack (10.103.1.1) =tap= [sk-pr1] =veth MTU 1280= [sk-pr2] =veth= [sk-psrv] linux-perf --server 10.103.3.2
#                              [sk-pr1] =veth= [sk-pcl] the Linux client, through the same hop, for comparison
#
# 1. ICMP "fragmentation needed" from router 1 reaches synack: it lowers its MSS (tcp.pmtu_lowered) and moves data.
# 2. The same with router 1's ICMP dropped by nftables (in its own namespace): black-hole detection must find it
#    (tcp.pmtu_black_hole_lowered).
# Each run must reach MIN_MBIT (a black hole moves about nothing). The Linux client's rate is printed beside it.
# Usage: tests/integration/pmtu.sh [BUILD]   (root; names sk-p*, subnets 10.103.0.0/16)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
secs=${PMTU_SECONDS:-5}
bh_secs=${PMTU_BH_SECONDS:-12}  # the black hole costs a few timeouts (RTO 1 s, 2 s, 2 s) before data flows
MIN_MBIT=${PMTU_MIN_MBIT:-20}
TAP=sk-pt
tmp=$(mktemp -d)
SP="" LP=""
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null
  [ -n "$LP" ] && kill "$LP" 2>/dev/null  # ip netns exec execs: these are the programs themselves
  wait 2>/dev/null
  for ns in sk-pr1 sk-pr2 sk-psrv sk-pcl; do ip netns del $ns 2>/dev/null; done
  ip link del $TAP 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
command -v nft >/dev/null || { echo "pmtu: nft not found (scripts/setup installs nftables)"; exit 1; }
failures=0
expect() { if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi; }

for ns in sk-pr1 sk-pr2 sk-psrv sk-pcl; do ip netns del $ns 2>/dev/null; done  # leftovers of a killed run
ip link del $TAP 2>/dev/null
for ns in sk-pr1 sk-pr2 sk-psrv sk-pcl; do ip netns add $ns; ip -n $ns link set lo up; done
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ip link add sk-p12a netns sk-pr1 mtu 1280 type veth peer name sk-p12b netns sk-pr2 mtu 1280
ip link add sk-p2s netns sk-pr2 type veth peer name sk-ps2 netns sk-psrv
ip link add sk-pc1 netns sk-pcl type veth peer name sk-p1c netns sk-pr1
nsx sk-pr1 ip addr add 10.103.2.1/24 dev sk-p12a
nsx sk-pr1 ip addr add 10.103.4.1/24 dev sk-p1c
nsx sk-pr2 ip addr add 10.103.2.2/24 dev sk-p12b
nsx sk-pr2 ip addr add 10.103.3.1/24 dev sk-p2s
nsx sk-psrv ip addr add 10.103.3.2/24 dev sk-ps2
nsx sk-pcl ip addr add 10.103.4.2/24 dev sk-pc1
for d in "sk-pr1 sk-p12a" "sk-pr1 sk-p1c" "sk-pr2 sk-p12b" "sk-pr2 sk-p2s" "sk-psrv sk-ps2" "sk-pcl sk-pc1"; do
  set -- $d; nsx "$1" ip link set "$2" up
done
nsx sk-pr1 sysctl -qw net.ipv4.ip_forward=1  # per namespace: the host's setting is untouched
nsx sk-pr2 sysctl -qw net.ipv4.ip_forward=1
nsx sk-pr1 ip route add default via 10.103.2.2
nsx sk-pr2 ip route add default via 10.103.2.1
nsx sk-psrv ip route add default via 10.103.3.1
nsx sk-pcl ip route add default via 10.103.4.1

server() {  # linux-perf --server nsx sk-psrv for N seconds
  ip netns exec sk-psrv "$build/bench/linux-perf" --server --bind 10.103.3.2 --port 5301 --duration-s "$1" >"$tmp/server.log" 2>&1 &
  LP=$!
  for _ in $(seq 50); do nsx sk-psrv ss -ltn | grep -q ':5301 ' && break; sleep 0.1; done
}
stop_server() { kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=""; }
mbit() { sed -n 's/.*"mbit_per_s":\([0-9.]*\).*/\1/p' "$1" | tail -1; }
counter() { awk -v k="$2" '$1 == k { print $2 }' "$1" | tail -1; }

synack_run() {  # synack_run NAME SECONDS: synack-perf --client through the routers; its log in $tmp/NAME.log
  local name=$1 secs=$2
  server $((secs + 15))
  # Started inside router 1's namespace, so that its tap appears there (a tap moved between namespaces goes deaf).
  timeout $((secs + 30)) ip netns exec sk-pr1 "$build/app/synack-perf" --no-huge --no-shconf --no-pci -m 512 -l 0 \
    --log-level=error --vdev=net_tap_skpt,iface=$TAP -- --ip 10.103.1.1/24 --gw 10.103.1.2 --port 5301 \
    --client 10.103.3.2 --test bulk --duration-s "$secs" --mtu-probing -v ${PMTU_SYNACK_EXTRA:-} >"$tmp/$name.log" 2>&1 &
  SP=$!
  for _ in $(seq 100); do nsx sk-pr1 ip link show $TAP >/dev/null 2>&1 && break; sleep 0.05; done
  nsx sk-pr1 ip link set $TAP address 02:00:00:00:77:02
  nsx sk-pr1 ip addr add 10.103.1.2/24 dev $TAP
  nsx sk-pr1 ip link set $TAP up
  wait "$SP"
  local rc=$?
  SP=""
  stop_server
  nsx sk-pr1 ip link del $TAP 2>/dev/null
  local m; m=$(mbit "$tmp/$name.log")
  echo "  synack client: ${m:-none} Mbit/s (exit $rc), pmtu_lowered $(counter "$tmp/$name.log" tcp.pmtu_lowered)," \
       "black_hole_lowered $(counter "$tmp/$name.log" tcp.pmtu_black_hole_lowered)," \
       "icmp taken $(counter "$tmp/$name.log" net.rx_icmp_error_tcp)"
  [ $rc -eq 0 ] && [ -n "$m" ] || { tail -5 "$tmp/$name.log"; grep "^\[\|^{\|^tcp\." "$tmp/$name.log"; }
  awk -v m="${m:-0}" -v t="$MIN_MBIT" 'BEGIN { exit !(m < t) }' && grep -v '^ *$' "$tmp/$name.log" | tail -40
  expect "$name: synack moves data through the 1280-byte hop (${m:-0} >= $MIN_MBIT Mbit/s)" \
    "$(awk -v m="${m:-0}" -v t="$MIN_MBIT" 'BEGIN { print (m >= t) ? 0 : 1 }')"
}

linux_run() {  # the Linux client through the same hop
  server $((secs + 15))
  timeout $((secs + 20)) ip netns exec sk-pcl "$build/bench/linux-perf" --client 10.103.3.2 --port 5301 --test bulk \
    --duration-s "$secs" >"$tmp/linux.log" 2>&1
  stop_server
  echo "  Linux client through the same hop: $(mbit "$tmp/linux.log") Mbit/s"
}

echo "== path MTU: ICMP fragmentation needed from the router (RFC 1191)"
synack_run icmp $secs
expect "synack lowered its MSS on the router's ICMP" "$([ "$(counter "$tmp/icmp.log" tcp.pmtu_lowered)" -ge 1 ] 2>/dev/null; echo $?)"
linux_run

echo "== path MTU black hole: router 1 drops its own ICMP (nftables in sk-pr1), black-hole detection (RFC 4821)"
nsx sk-pr1 nft -f - <<'NFT'
table inet sk_pmtu {
  chain out { type filter hook output priority 0; icmp type destination-unreachable drop; }
}
NFT
synack_run blackhole $bh_secs
expect "no ICMP reached synack" "$([ -z "$(counter "$tmp/blackhole.log" net.rx_icmp_error_tcp)" ]; echo $?)"
expect "black-hole detection lowered the MSS" \
  "$([ "$(counter "$tmp/blackhole.log" tcp.pmtu_black_hole_lowered)" -ge 1 ] 2>/dev/null; echo $?)"
nsx sk-pr1 nft delete table inet sk_pmtu

[ $failures -eq 0 ] && echo "pmtu: all passed" || echo "pmtu: $failures failed"
exit $((failures > 0))
