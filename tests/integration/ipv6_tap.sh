#!/usr/bin/env bash
# IPv6 below TCP against Linux over net_tap (issue 10, first phase): synack-echo with --ip and --ip6 on one tap,
# the kernel side at fd00:99::2. ping -6 answered by synack; Linux's neighbour entry for synack holds synack's MAC
# and is REACHABLE; a tshark capture holds nothing malformed, no bad ICMPv6 checksum, every ND message from synack
# with hop limit 255; a line echoed over TCP over IPv6 (nc -6). Then an IPv6-only run (--ip6 alone): ping -6 and
# nc -6 echo still work. Names: tap sk-6tap, subnets 10.99.0.0/24 and fd00:99::/64. (TCP over IPv6 at length:
# tests/integration/ipv6_tcp.sh.)
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
tap=sk-6tap
ours6=fd00:99::1
failures=0
expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
synack_mac() { grep -o "mac [0-9A-Fa-f:]*" "$TAP_LOG" | head -1 | cut -d' ' -f2 | tr A-F a-f; }

echo "== dual stack: synack-echo --ip 10.99.0.1/24 --ip6 $ours6/64 ($tap)"
tap_start "$build" "$tap" 10.99.0 0 synack-echo --port 7 --ip6 "$ours6/64" --duration-s 60 -v ||
  { echo "FAIL: start"; exit 1; }
tap_add6 fd00:99::2
cap=$TAP_TMP/$tap.pcapng
tap_capture "$cap"
timeout 20 ping -6 -c 3 -i 0.2 -W 2 "$ours6" >/dev/null
expect "ping -6 $ours6 answered" $?
timeout 10 ping -c 2 -i 0.2 -W 2 10.99.0.1 >/dev/null
expect "ping 10.99.0.1 answered beside it" $?
mac=$(synack_mac)
neigh=$(ip -6 neigh show "$ours6" dev "$tap")
echo "  ip -6 neigh: $neigh (synack's MAC $mac)"
[ -n "$mac" ] && echo "$neigh" | grep -qi "lladdr $mac .*REACHABLE"
expect "Linux holds synack's MAC for $ours6, REACHABLE" $?
got=$(echo "hello over ipv6" | timeout 10 nc -6 -q 1 "$ours6" 7)
[ "$got" = "hello over ipv6" ]
expect "nc -6 echo over TCP over IPv6 ('$got')" $?
tap_stop
grep -E "^(net\.|core0)" "$TAP_LOG" | grep -E "6|nd_|ns|na_|core0" | sed 's/^/    /'
replies=$(awk '$1=="net.icmp6_echo_replies"{print $2}' "$TAP_LOG")
[ "${replies:-0}" -ge 3 ]
expect "synack counted ${replies:-0} ICMPv6 echo replies" $?
bad=$(tshark -r "$cap" -Y "_ws.malformed || icmpv6.checksum.status == 0" 2>/dev/null | wc -l)
nd_from_us=$(tshark -r "$cap" -Y "ipv6.src == $ours6 && icmpv6.type == 136" 2>/dev/null | wc -l)
bad_hlim=$(tshark -r "$cap" -Y "eth.src == $mac && icmpv6.type >= 133 && icmpv6.type <= 137 && ipv6.hlim != 255" \
  2>/dev/null | wc -l)
total=$(tshark -r "$cap" 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] && [ "$bad_hlim" -eq 0 ] && [ "$nd_from_us" -ge 1 ] && [ "$total" -ge 8 ]
expect "tshark: $total packets, $bad malformed or bad checksum, $nd_from_us NAs from synack, $bad_hlim ND from synack with hop limit != 255" $?
tap_cleanup

echo "== IPv6 only: synack-echo --ip6 $ours6/64 ($tap)"
tap_spawn "$build" "$tap" 0 synack-echo --ip6 "$ours6/64" --port 7 --duration-s 60 && tap_wait_ready ||
  { echo "FAIL: start"; exit 1; }
tap_kernel_up 02:00:00:00:99:02
tap_add6 fd00:99::2
timeout 20 ping -6 -c 2 -i 0.2 -W 2 "$ours6" >/dev/null
expect "IPv6 only: ping -6 answered" $?
got=$(echo "v6 only" | timeout 10 nc -6 -q 1 "$ours6" 7)
[ "$got" = "v6 only" ]
expect "IPv6 only: nc -6 echo ('$got')" $?
tap_stop
tap_cleanup

echo "ipv6_tap: $failures failure(s)"
[ "$failures" -eq 0 ]
