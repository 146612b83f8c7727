# Shared by scripts/demo and tests/integration: run a synack program on a net_tap port, give the kernel side of
# the tap its own MAC and an address, and tear everything down on exit, whatever happens.
# Usage: source scripts/lib/tap.sh; tap_start BUILD TAP SUBNET LCORES PROGRAM [program options...]
#   TAP_EAL_EXTRA: more EAL options (e.g. "--file-prefix NAME" for a telemetry socket of its own)
#   SUBNET is the first three octets (10.77.0): synack is .1, Linux is .2.
# Or, for a client or an IPv6-only program: tap_spawn, then tap_wait_ready (a server), tap_kernel_up, tap_add6.

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

# Starts PROGRAM on a net_tap port named TAP in the background (TAP_PID, its output in TAP_LOG) and returns once
# the tap exists; 1, with the program's output, when it exits first or the tap never appears. Nothing else is
# waited for: a client program may be done by the time the caller looks.
# Usage: tap_spawn BUILD TAP LCORES PROGRAM [program options...]
tap_spawn() {
  local build=$1 tap=$2 lcores=$3 prog=$4
  shift 4
  TAP_NAME=$tap
  TAP_TMP=${TAP_TMP:-$(mktemp -d)}
  TAP_LOG=$TAP_TMP/$tap.log
  ip link del "$tap" 2>/dev/null || true
  # --no-huge: runs on any machine; --no-shconf: several instances may run side by side.
  # shellcheck disable=SC2086  # TAP_EAL_EXTRA is a list of words
  "$build/app/$prog" --no-huge --no-shconf --no-pci -m 512 -l "$lcores" --log-level=error ${TAP_EAL_EXTRA:-} \
    --vdev="net_tap_${tap//-/_},iface=$tap" -- "$@" >"$TAP_LOG" 2>&1 &
  TAP_PID=$!
  tap_until "the tap $tap" tap_exists
}

# Waits until the program says it is listening or running; 1, with its output, when it exits first.
tap_wait_ready() { tap_until "listening or running" tap_ready; }

tap_exists() { ip link show "$TAP_NAME" >/dev/null 2>&1; }
tap_ready() { grep -q "listening\|running" "$TAP_LOG"; }
# tap_until WHAT CMD...: polls CMD for up to 10 s; 1, with the program's output, when the program exits first or
# time runs out.
tap_until() {
  local what=$1
  shift
  for _ in $(seq 100); do
    "$@" && return 0
    kill -0 "$TAP_PID" 2>/dev/null || { echo "exited before $what:"; cat "$TAP_LOG"; return 1; }
    sleep 0.1
  done
  echo "no $what after 10 s:"
  cat "$TAP_LOG"
  return 1
}

# Gives the kernel side of the tap a MAC of its own (the default, or $1) and brings it up. Without this it would
# share the DPDK port's MAC (see shared/notes/dpdk.md).
# shellcheck disable=SC2120  # $1 is optional; the callers that give it are in other files
tap_kernel_up() {
  ip link set "$TAP_NAME" address "${1:-02:00:00:00:77:02}"
  ip link set "$TAP_NAME" up
}

# Gives the kernel side the IPv6 address $1/64 (no duplicate address detection: usable at once) and waits until
# the kernel lists it.
tap_add6() {
  ip -6 addr add "$1/64" dev "$TAP_NAME" nodad
  for _ in $(seq 50); do ip -6 addr show dev "$TAP_NAME" | grep -q "$1" && break; sleep 0.1; done
}

# A server program with synack at SUBNET.1/24 and the kernel at SUBNET.2/24, ready when this returns.
tap_start() {
  local build=$1 tap=$2 subnet=$3 lcores=$4 prog=$5
  shift 5
  tap_spawn "$build" "$tap" "$lcores" "$prog" --ip "$subnet.1/24" "$@" && tap_wait_ready || return 1
  tap_kernel_up
  ip addr add "$subnet.2/24" dev "$tap"
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
