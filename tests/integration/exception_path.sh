#!/usr/bin/env bash
# The kernel exception path (--exception-tap): a network namespace stands in for the remote peer on the wire
# (the kernel side of synack's net_tap port, moved into it); the host's kernel sits behind the exception tap with
# the same address as synack. synack serves its own port (echo on 7); the kernel serves HTTP on 8080 and UDP echo
# on 5353 through synack; a TCP port nobody serves is refused by the kernel; a stray segment to synack's own port
# draws synack's RST; ping is answered by synack itself. Counters say where each frame went.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
if [ -z "${LCORES:-}" ]; then  # one worker, then two (each with its own queue of the exception tap)
  LCORES=0 bash "$0" "$build" && LCORES=0,1 bash "$0" "$build"
  exit
fi
echo "== lcores $LCORES"
NS=sk-h-peer TAP=sk-h4 EXC=sk-h4x HOST=10.98.4.1 PEER_IP=10.98.4.2
TMP=$(mktemp -d)
SYNACK_PID="" HTTP_PID="" UDP_PID=""
cleanup() {
  for p in $HTTP_PID $UDP_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ -n "$SYNACK_PID" ] && kill -0 "$SYNACK_PID" 2>/dev/null; then
    kill -TERM "$SYNACK_PID"
    for _ in $(seq 50); do kill -0 "$SYNACK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SYNACK_PID" 2>/dev/null
  fi
  [ -n "$SYNACK_PID" ] && wait "$SYNACK_PID" 2>/dev/null
  SYNACK_PID=""
  ip netns del $NS 2>/dev/null
  ip link del $TAP 2>/dev/null
  ip link del $EXC 2>/dev/null
  rm -rf "$TMP"
  return 0
}
trap cleanup EXIT
failures=0
expect() {  # expect DESCRIPTION EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
in_peer() { timeout 30 ip netns exec $NS "$@"; }
counter() { awk -v n="$1" '$1==n{print $2}' "$TMP/synack.log"; }

cleanup >/dev/null 2>&1; TMP=$(mktemp -d)
ip netns add $NS
"$build/app/synack-echo" --no-huge --no-shconf --no-pci -m 512 -l "${LCORES:-0}" --log-level=error \
  --vdev=net_tap_skh4,iface=$TAP -- --ip $HOST/24 --port 7 --exception-tap $EXC --duration-s 120 \
  >"$TMP/synack.log" 2>&1 &
SYNACK_PID=$!
for _ in $(seq 100); do
  ip link show $TAP >/dev/null 2>&1 && ip link show $EXC >/dev/null 2>&1 && break
  kill -0 $SYNACK_PID 2>/dev/null || break
  sleep 0.1
done
ip link show $EXC >/dev/null 2>&1 || { echo "FAIL: synack did not create $TAP and $EXC"; cat "$TMP/synack.log"; exit 1; }
# The wire: the kernel side of synack's port is the remote peer, in its own namespace with its own MAC.
ip link set $TAP netns $NS
ip -n $NS link set $TAP address 02:00:00:00:98:02
ip -n $NS addr add $PEER_IP/24 dev $TAP
ip -n $NS link set $TAP up
ip -n $NS link set lo up
# The host: the exception tap carries synack's MAC; it gets synack's address.
ip addr add $HOST/24 dev $EXC
ip link set $EXC up
for _ in $(seq 100); do grep -q listening "$TMP/synack.log" && break; sleep 0.1; done
exc_mac=$(cat /sys/class/net/$EXC/address)

# Kernel services on the host address, behind synack.
mkdir -p "$TMP/www" && head -c 300000 /dev/urandom >"$TMP/www/blob"
(cd "$TMP/www" && exec /usr/bin/python3 -m http.server 8080 --bind $HOST) >/dev/null 2>&1 &
HTTP_PID=$!
/usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$HOST', 5353))
while True:
    d, a = s.recvfrom(2048); s.sendto(d, a)" &
UDP_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null http://$HOST:8080/ 2>/dev/null && break; sleep 0.1; done

echo "== synack on $HOST (echo on 7), the host's kernel behind $EXC, the peer in netns $NS"
in_peer ping -c 3 -i 0.2 -W 2 $HOST >/dev/null
expect "ping $HOST answered" $?
synack_mac=$(ip -n $NS neigh show $HOST | awk '{print $5}')
in_peer /usr/bin/python3 tests/integration/peer.py --host $HOST bulk --port 7 --size 1000000
expect "synack's own port: 1 MB echoed by synack" $?
in_peer curl -s --max-time 20 -o "$TMP/got" http://$HOST:8080/blob
cmp -s "$TMP/got" "$TMP/www/blob"
expect "kernel's HTTP server on 8080 answered through synack, 300 KB byte for byte" $?
for i in 1 2 3 4 5; do in_peer curl -s --max-time 10 -o /dev/null http://$HOST:8080/blob || break; done
expect "5 more HTTP connections to the kernel" $?
reply=$(in_peer /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.sendto(b'over udp', ('$HOST', 5353)); print(s.recvfrom(2048)[0].decode())" 2>&1)
[ "$reply" = "over udp" ]
expect "kernel's UDP echo on 5353 answered through synack ($reply)" $?
in_peer /usr/bin/python3 tests/integration/peer.py --host $HOST refused --port 9
expect "TCP port 9 (nobody's) refused, by the kernel" $?
# A stray ACK to synack's own port: synack, not the kernel, answers it with RST (RFC 9293 §3.10.7.2).
in_peer /usr/bin/python3 -c "
from scapy.all import IP, TCP, sr1, conf
conf.verb = 0
r = sr1(IP(dst='$HOST')/TCP(sport=40000, dport=7, flags='A', seq=1000, ack=5000), timeout=3)
import sys; sys.exit(0 if r is not None and r[TCP].flags.R and r[TCP].seq == 5000 else 1)"
expect "a stray ACK to port 7 drew a RST with seq = its ACK" $?

kill -TERM $SYNACK_PID; wait $SYNACK_PID; SYNACK_PID=""
grep -E "^exception\.|^tcp\.rx_no_connection|^net\.(icmp_echo|rx_ip_unknown)" "$TMP/synack.log" | sed 's/^/    /'
[ "$exc_mac" = "$synack_mac" ]
expect "the exception tap carries synack's MAC ($exc_mac, the peer learned $synack_mac)" $?
n=$(counter exception.to_kernel.tcp_no_listener); [ "${n:-0}" -ge 10 ]
expect "TCP for ports without a listener handed to the kernel and counted (${n:-0})" $?
n=$(counter exception.to_kernel.ip_other_proto); [ "${n:-0}" -ge 1 ]
expect "UDP handed to the kernel and counted (${n:-0})" $?
n=$(counter exception.from_kernel); [ "${n:-0}" -ge 200 ]
expect "the kernel's frames sent out by synack and counted (${n:-0})" $?
n=$(counter tcp.rx_no_connection); [ "${n:-0}" -eq 1 ]
expect "synack itself answered exactly one segment without a connection (the stray ACK): ${n:-0}" $?
n=$(counter net.icmp_echo_replies); [ "${n:-0}" -ge 3 ]
expect "ping answered by synack (${n:-0} echo replies)" $?
echo "exception_path: $failures failure(s)"
[ "$failures" -eq 0 ]
