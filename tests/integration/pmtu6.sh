#!/usr/bin/env bash
# Path MTU over IPv6 through Linux routers (issue 8 item 5, issue 10): the IPv6 twin of pmtu.sh. The link between
# the routers has MTU 1280 (IPv6's minimum), every other link 1500, so the MSS options (1440 both ways) cannot
# reveal it; an IPv6 router never fragments, it answers with ICMPv6 Packet Too Big (RFC 8200 §5, RFC 4443 §3.2):
#
#   synack fd86:1::1 =tap= [sk-f6r1] =veth MTU 1280= [sk-f6r2] =veth= [sk-f6srv] Linux fd86:3::2
#                          [sk-f6r1] =veth= [sk-f6cl] the Linux client, through the same hop, for comparison
#
# 1. synack-perf --client (bulk) to linux-perf --server: router 1's Packet Too Big lowers synack's MSS
#    (tcp.pmtu_lowered), data moves at MIN_MBIT or more, and tshark on the tap finds every TCP segment synack sent
#    after the first Packet Too Big within 1280 bytes.
# 2. synack-echo as the server, a Linux client (peer.py) on the far side: a 4 MB echo, SHA-256 compared; both sides
#    learn the 1280 hop from their routers' Packet Too Big.
# 3. Router 1's Packet Too Big dropped by nftables (in its own namespace): synack-perf --mtu-probing finds the hop
#    by black-hole detection (tcp.pmtu_black_hole_lowered; IPv6's plateaus stop at 1280).
# Usage: tests/integration/pmtu6.sh [BUILD]   (root; names sk-f6*, subnets fd86::/48)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
secs=${PMTU6_SECONDS:-4}
bh_secs=${PMTU6_BH_SECONDS:-10}  # the black hole costs a few timeouts (RTO 1 s, then 2 s) before data flows
MIN_MBIT=${PMTU6_MIN_MBIT:-20}
TAP=sk-f6t
NSS="sk-f6r1 sk-f6r2 sk-f6srv sk-f6cl"
tmp=$(mktemp -d)
SP="" LP="" CP=""
cleanup() {
  for p in "$SP" "$LP" "$CP"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done  # ip netns exec execs: the programs
  wait 2>/dev/null
  for ns in $NSS; do ip netns del "$ns" 2>/dev/null; done  # takes the tap and the veths with it
  ip link del $TAP 2>/dev/null
  [ -n "${PMTU6_KEEP:-}" ] && cp -r "$tmp" "$PMTU6_KEEP"
  rm -rf "$tmp"
}
trap cleanup EXIT
for t in tshark dumpcap nft; do command -v $t >/dev/null || { echo "pmtu6: $t not found (scripts/setup installs it)"; exit 1; }; done
failures=0
expect() { if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi; }

for ns in $NSS; do ip netns del "$ns" 2>/dev/null; done  # leftovers of a killed run
ip link del $TAP 2>/dev/null
# Background programs are started by ip netns exec itself (it execs: $! is the program), never through nsx (a
# subshell: killing it would leave the program running).
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
for ns in $NSS; do ip netns add "$ns"; nsx "$ns" ip link set lo up; done
ip link add sk-f6-12a netns sk-f6r1 mtu 1280 type veth peer name sk-f6-12b netns sk-f6r2 mtu 1280
ip link add sk-f6-2s netns sk-f6r2 type veth peer name sk-f6-s2 netns sk-f6srv
ip link add sk-f6-c1 netns sk-f6cl type veth peer name sk-f6-1c netns sk-f6r1
addr() { nsx "$1" ip -6 addr add "$3" dev "$2" nodad; nsx "$1" ip link set "$2" up; }  # nodad: usable at once
addr sk-f6r1 sk-f6-12a fd86:2::1/64
addr sk-f6r1 sk-f6-1c fd86:4::1/64
addr sk-f6r2 sk-f6-12b fd86:2::2/64
addr sk-f6r2 sk-f6-2s fd86:3::1/64
addr sk-f6srv sk-f6-s2 fd86:3::2/64
addr sk-f6cl sk-f6-c1 fd86:4::2/64
nsx sk-f6r1 sysctl -qw net.ipv6.conf.all.forwarding=1  # per namespace: the host's setting is untouched
nsx sk-f6r2 sysctl -qw net.ipv6.conf.all.forwarding=1
nsx sk-f6r1 ip -6 route add default via fd86:2::2
nsx sk-f6r2 ip -6 route add default via fd86:2::1
nsx sk-f6srv ip -6 route add default via fd86:3::1
nsx sk-f6cl ip -6 route add default via fd86:4::1
for _ in $(seq 50); do  # link-local addresses finish DAD (ND and forwarding use them)
  nsx sk-f6r1 ip -6 addr | grep -q tentative || nsx sk-f6r2 ip -6 addr | grep -q tentative || break
  sleep 0.1
done

mbit() { sed -n 's/.*"mbit_per_s":\([0-9.]*\).*/\1/p' "$1" | tail -1; }
counter() { awk -v k="$2" '$1 == k { print $2 }' "$1" | tail -1; }
# synack PROGRAM LOG SECONDS ARGS...: runs a synack program on the tap inside router 1's namespace (a tap moved
# between namespaces goes deaf) as fd86:1::1, router 1 at fd86:1::2 on the kernel side; leaves its pid in SP.
synack() {
  local prog=$1 log=$2 limit=$3
  shift 3
  timeout "$limit" ip netns exec sk-f6r1 "$build/app/$prog" --no-huge --no-shconf --no-pci -m 512 -l 0 \
    --log-level=error --vdev=net_tap_skf6t,iface=$TAP -- --ip6 fd86:1::1/64 --gw6 fd86:1::2 "$@" >"$log" 2>&1 &
  SP=$!
  for _ in $(seq 100); do nsx sk-f6r1 ip link show $TAP >/dev/null 2>&1 && break; sleep 0.05; done
  nsx sk-f6r1 ip link set $TAP address 02:00:00:00:86:02
  nsx sk-f6r1 ip -6 addr add fd86:1::2/64 dev $TAP nodad
  nsx sk-f6r1 ip link set $TAP up
}
capture() {  # capture FILE: headers of the tap's traffic (dumpcap, bounded in packets) until stopped; pid in CP
  ip netns exec sk-f6r1 dumpcap -q -i $TAP -s 160 -c 300000 -w "$1" >/dev/null 2>&1 &
  CP=$!
  for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
}
stop_capture() { sleep 0.2; kill "$CP" 2>/dev/null; wait "$CP" 2>/dev/null; CP=""; }
# ptb_check FILE: a Packet Too Big reached synack, and after the last one none of synack's TCP segments exceeds
# 1280 bytes. Each oversized packet draws its own Packet Too Big (Linux does not rate-limit type 2), so the ones
# before it are the flight already sent when the first arrived: at most the initial window (10, RFC 6928).
ptb_check() {
  local ptbs last big before total
  ptbs=$(tshark -r "$1" -Y "icmpv6.type == 2 && ipv6.dst == fd86:1::1" -T fields -e frame.number 2>/dev/null)
  last=$(echo "$ptbs" | tail -1)
  expect "tshark: router 1 sent synack $(echo "$ptbs" | grep -c .) Packet Too Big (last frame ${last:-none})" \
    "$([ -n "$last" ]; echo $?)"
  [ -n "$last" ] || return
  local mine="ipv6.src == fd86:1::1 && tcp && !icmpv6"  # not the packets quoted inside the ICMPv6 messages
  big=$(tshark -r "$1" -Y "frame.number > $last && $mine && ipv6.plen > 1240" 2>/dev/null | wc -l)
  before=$(tshark -r "$1" -Y "frame.number < $last && $mine && ipv6.plen > 1240" 2>/dev/null | wc -l)
  total=$(tshark -r "$1" -Y "frame.number > $last && $mine && tcp.len > 0" 2>/dev/null | wc -l)
  [ "$big" -eq 0 ] && [ "$before" -le 10 ] && [ "$total" -gt 100 ]
  expect "tshark: $before oversized segments before it, then $total data segments from synack, $big over 1280 bytes" $?
}

echo "== synack-perf --client fd86:3::2 (bulk) through the 1280-byte hop: ICMPv6 Packet Too Big (RFC 8201)"
ip netns exec sk-f6srv "$build/bench/linux-perf" --server --bind fd86:3::2 --port 5301 --duration-s $((secs + 15)) \
  >"$tmp/server.log" 2>&1 &
LP=$!
for _ in $(seq 50); do nsx sk-f6srv ss -ltn | grep -q ':5301 ' && break; sleep 0.1; done
synack synack-perf "$tmp/client.log" $((secs + 20)) --port 5301 --client fd86:3::2 --test bulk --duration-s "$secs" -v
capture "$tmp/client.pcapng"
wait "$SP"
rc=$?
SP=""
stop_capture
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=""
nsx sk-f6r1 ip link del $TAP 2>/dev/null
m=$(mbit "$tmp/client.log")
lowered=$(counter "$tmp/client.log" tcp.pmtu_lowered)
echo "  synack client: ${m:-none} Mbit/s (exit $rc), pmtu_lowered ${lowered:-0}," \
     "packet too big taken $(counter "$tmp/client.log" net.rx_icmp6_packet_too_big)"
[ $rc -eq 0 ] && [ -n "$m" ] || grep -v '^ *$' "$tmp/client.log" | tail -30
expect "synack lowered its MSS on the router's Packet Too Big" "$([ "${lowered:-0}" -ge 1 ]; echo $?)"
expect "synack moves data through the 1280-byte hop (${m:-0} >= $MIN_MBIT Mbit/s, exit $rc)" \
  "$(awk -v m="${m:-0}" -v t="$MIN_MBIT" -v rc=$rc 'BEGIN { print (m >= t && rc == 0) ? 0 : 1 }')"
ptb_check "$tmp/client.pcapng"

ip netns exec sk-f6srv "$build/bench/linux-perf" --server --bind fd86:3::2 --port 5301 --duration-s $((secs + 15)) \
  >"$tmp/server.log" 2>&1 &
LP=$!
for _ in $(seq 50); do nsx sk-f6srv ss -ltn | grep -q ':5301 ' && break; sleep 0.1; done
timeout $((secs + 20)) ip netns exec sk-f6cl "$build/bench/linux-perf" --client fd86:3::2 --port 5301 --test bulk \
  --duration-s "$secs" >"$tmp/linux.log" 2>&1
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=""
echo "  Linux client through the same hop: $(mbit "$tmp/linux.log") Mbit/s"

echo "== synack-echo as the server, a Linux client beyond the 1280-byte hop (4 MB echo, SHA-256 compared)"
synack synack-echo "$tmp/echo.log" 60 --port 7
for _ in $(seq 50); do grep -q "listening\|running" "$tmp/echo.log" && break; sleep 0.1; done
capture "$tmp/echo.pcapng"
out=$(timeout 40 ip netns exec sk-f6srv /usr/bin/python3 tests/integration/peer.py --host fd86:1::1 bulk --port 7 \
  --size 4000000 2>&1)
prc=$?
echo "  $out"
expect "the Linux client's echo through the hop came back whole" $prc
stop_capture
kill -TERM "$SP" 2>/dev/null; wait "$SP" 2>/dev/null; SP=""
lowered=$(counter "$tmp/echo.log" tcp.pmtu_lowered)
grep "^synack-echo" "$tmp/echo.log" | sed 's/^/  /'
expect "synack (server) lowered its MSS on the router's Packet Too Big (pmtu_lowered ${lowered:-0})" \
  "$([ "${lowered:-0}" -ge 1 ]; echo $?)"
ptb_check "$tmp/echo.pcapng"
linux_ptb=$(nsx sk-f6srv ip -6 route get fd86:1::1 2>/dev/null | grep -o 'mtu [0-9]*')
expect "the Linux client learned the hop too (route cache: ${linux_ptb:-no mtu})" \
  "$([ "$linux_ptb" = "mtu 1280" ]; echo $?)"

echo "== black hole: router 1 drops its own Packet Too Big (nftables in sk-f6r1), black-hole detection (RFC 4821)"
# The Linux server learned the 1280 hop in step 2 and would advertise an MSS that fits it: forget that first.
nsx sk-f6srv ip -6 route flush cache
nsx sk-f6r1 nft -f - <<'NFT'
table inet sk_f6_pmtu {
  chain out { type filter hook output priority 0; icmpv6 type packet-too-big drop; }
}
NFT
ip netns exec sk-f6srv "$build/bench/linux-perf" --server --bind fd86:3::2 --port 5301 --duration-s $((bh_secs + 15)) \
  >"$tmp/server.log" 2>&1 &
LP=$!
for _ in $(seq 50); do nsx sk-f6srv ss -ltn | grep -q ':5301 ' && break; sleep 0.1; done
synack synack-perf "$tmp/bh.log" $((bh_secs + 20)) --port 5301 --client fd86:3::2 --test bulk \
  --duration-s "$bh_secs" --mtu-probing -v
wait "$SP"
rc=$?
SP=""
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=""
nsx sk-f6r1 ip link del $TAP 2>/dev/null
nsx sk-f6r1 nft delete table inet sk_f6_pmtu
m=$(mbit "$tmp/bh.log")
bh=$(counter "$tmp/bh.log" tcp.pmtu_black_hole_lowered)
ptb=$(counter "$tmp/bh.log" net.rx_icmp6_packet_too_big)
echo "  synack client: ${m:-none} Mbit/s (exit $rc), black_hole_lowered ${bh:-0}, packet too big taken ${ptb:-0}"
[ $rc -eq 0 ] && [ -n "$m" ] || grep -v '^ *$' "$tmp/bh.log" | tail -30
expect "no Packet Too Big reached synack" "$([ -z "$ptb" ]; echo $?)"
expect "black-hole detection lowered the MSS (to IPv6's 1280 at most: two plateaus)" "$([ "${bh:-0}" -ge 1 ]; echo $?)"
expect "synack moves data through the silent 1280-byte hop (${m:-0} >= $MIN_MBIT Mbit/s, exit $rc)" \
  "$(awk -v m="${m:-0}" -v t="$MIN_MBIT" -v rc=$rc 'BEGIN { print (m >= t && rc == 0) ? 0 : 1 }')"

[ $failures -eq 0 ] && echo "pmtu6: all passed" || echo "pmtu6: $failures failed"
exit $((failures > 0))
