# Shared by scripts/demo and tests/integration: run a synack program on a net_tap port, give the kernel side of
# the tap its own MAC and an address, and tear everything down on exit, whatever happens.
# Usage: source scripts/lib/tap.sh; tap_start BUILD TAP SUBNET LCORES PROGRAM [program options...]
#   TAP_EAL_EXTRA: more EAL options (e.g. "--file-prefix NAME" for a telemetry socket of its own)
#   SUBNET is the first three octets (10.77.0): synack is .1, Linux is .2.

TAP_NAME="" TAP_PID="" TAP_LOG="" TAP_CAPTURE_PID="" TAP_TMP="" TAP_RETRANSMISSIONS=0

tap_cleanup() {
  [ -n "$TAP_CAPTURE_PID" ] && kill "$TAP_CAPTURE_PID" 2>/dev/null && wait "$TAP_CAPTURE_PID" 2>/dev/null
  if [ -n "$TAP_PID" ] && kill -0 "$TAP_PID" 2>/dev/null; then
    kill -TERM "$TAP_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$TAP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TAP_PID" 2>/dev/null
  fi
  [ -n "$TAP_PID" ] && wait "$TAP_PID" 2>/dev/null
  [ -n "$TAP_NAME" ] && ip link del "$TAP_NAME" 2>/dev/null
  TAP_PID="" TAP_CAPTURE_PID=""
  return 0
}

# Stops the program with SIGTERM (it prints its summary) and waits for it.
tap_stop() {
  [ -n "$TAP_CAPTURE_PID" ] && kill "$TAP_CAPTURE_PID" 2>/dev/null && wait "$TAP_CAPTURE_PID" 2>/dev/null
  TAP_CAPTURE_PID=""
  if [ -n "$TAP_PID" ]; then
    kill -TERM "$TAP_PID" 2>/dev/null
    wait "$TAP_PID" 2>/dev/null
    TAP_PID=""
  fi
}

tap_start() {
  local build=$1 tap=$2 subnet=$3 lcores=$4 prog=$5
  shift 5
  TAP_NAME=$tap
  TAP_TMP=${TAP_TMP:-$(mktemp -d)}
  TAP_LOG=$TAP_TMP/$tap.log
  ip link del "$tap" 2>/dev/null || true
  # --no-huge: runs on any machine; --no-shconf: several instances may run side by side.
  # shellcheck disable=SC2086  # TAP_EAL_EXTRA is a list of words
  "$build/app/$prog" --no-huge --no-shconf --no-pci -m 512 -l "$lcores" --log-level=error ${TAP_EAL_EXTRA:-} \
    --vdev="net_tap_${tap//-/_},iface=$tap" -- --ip "$subnet.1/24" "$@" >"$TAP_LOG" 2>&1 &
  TAP_PID=$!
  for _ in $(seq 100); do
    ip link show "$tap" >/dev/null 2>&1 && grep -q "listening\|running" "$TAP_LOG" && break
    kill -0 "$TAP_PID" 2>/dev/null || { echo "$prog exited early:"; cat "$TAP_LOG"; return 1; }
    sleep 0.1
  done
  ip link show "$tap" >/dev/null 2>&1 || { echo "tap $tap did not appear"; cat "$TAP_LOG"; return 1; }
  # The kernel side would otherwise share the DPDK port's MAC (see shared/notes/dpdk.md): give it its own.
  ip link set "$tap" address 02:00:00:00:77:02
  ip addr add "$subnet.2/24" dev "$tap"
  ip link set "$tap" up
}

# Captures the tap's traffic into $1 (tshark, full packets) until tap_stop.
tap_capture() {
  tshark -i "$TAP_NAME" -w "$1" -q >/dev/null 2>&1 &
  TAP_CAPTURE_PID=$!
  for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
}

# tap_no_connection_ok CAPTURE COUNT: COUNT segments found no connection in synack (tcp.rx_no_connection); one is
# the SYN to the closed port, and any other one must be a retransmission seen on the wire (a FIN or ACK resent
# under load after its connection had closed), not a segment that reached a wrong core. Prints the RSTs and TCP
# analysis flags of the capture when that does not hold.
tap_no_connection_ok() {
  local cap=$1 n=${2:-0} rtx
  rtx=$(tshark -r "$cap" -Y "tcp.analysis.retransmission || tcp.analysis.fast_retransmission" 2>/dev/null | wc -l)
  TAP_RETRANSMISSIONS=$rtx
  if [ "$n" -ge 1 ] && [ $((n - 1)) -le "$rtx" ]; then return 0; fi
  tshark -r "$cap" -Y "tcp.flags.reset == 1 || tcp.analysis.flags" 2>/dev/null | head -20 | sed 's/^/    /'
  return 1
}
