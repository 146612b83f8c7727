#!/usr/bin/env bash
# Memory attacks against synack-echo over net_tap (issue 7), on one core (tap sk-m-a1, synack 10.91.1.1, Linux
# .2, the attackers' made-up host .3), in one run of synack-echo (no restart between them):
#   ooo      2,500 connections x 16 one-byte segments just past a hole at RCV.NXT
#   zerowin  150 connections that send data, then advertise a zero window forever, answering persist probes
# Linux clients echo byte-exact during and after each (>= 99%), and mbufs in use return to the idle level.
# OOO_CONNS / ZW_CONNS change the sizes; PHASES=ooo or zerowin runs one; ECHO_ARGS adds synack-echo options
# (e.g. "--mem-limit 1099511627776" takes the budget away: the flood then starves the pool and the test fails).
# Bounded by --duration-s and timeouts.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
source scripts/lib/tap.sh
TAP_TMP=$(mktemp -d)
trap 'tap_cleanup; rm -rf "$TAP_TMP"' EXIT
trap 'exit 130' INT TERM
PY=/usr/bin/python3
tap=sk-m-a1 subnet=10.91.1
failures=0
expect() {
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
t0=$(date +%s)
# A short persist timeout so that the zero-window readers end within the test (the default is 5 min).
tap_start "$build" "$tap" "$subnet" 0 synack-echo --port 7 --stats-ms 200 --persist-timeout-ms 8000 \
  --duration-s 400 ${ECHO_ARGS:-} || { echo "FAIL: synack-echo did not start"; exit 1; }
ping -c 2 -i 0.2 -W 2 "$subnet.1" >/dev/null
expect "ping $subnet.1 answered" $?
mac=$(ip neigh show "$subnet.1" dev "$tap" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
[ -n "$mac" ] || { echo "FAIL: synack's MAC not learned"; exit 1; }
args=(--iface "$tap" --host "$subnet.1" --silent "$subnet.3" --mac "$mac" --log "$TAP_LOG")
phases=${PHASES:-ooo zerowin}
if [[ $phases == *ooo* ]]; then
  timeout 150 $PY tests/integration/memory_attacks.py ooo "${args[@]}" --conns "${OOO_CONNS:-2500}"
  expect "out-of-order flood phase" $?
fi
if [[ $phases == *zerowin* ]]; then
  timeout 150 $PY tests/integration/memory_attacks.py zerowin "${args[@]}" --conns "${ZW_CONNS:-150}"
  expect "zero-window readers phase" $?
fi
pid=$TAP_PID
tap_stop
grep -q "^synack-echo: accepted" "$TAP_LOG" && grep -q "^pool.main0 in_use" "$TAP_LOG" && grep -q "^mem.core0 used" "$TAP_LOG"
expect "synack-echo exited with its summary, pool and memory report" $?
grep -E "^(pool\.|mem\.core0|tcp\.(rx_mem|ooo_pr|mbufs_coll|mem_press|snd_ref|tx_defer|conn_abort|conn_persist|conn_user))" "$TAP_LOG" | sed 's/^/   /'
! grep -qiE "panic|segmentation|assert|error:|terminate called" "$TAP_LOG"
expect "no panic, assertion or error in synack's output (pid $pid)" $?
echo "memory_attacks: $failures failure(s), $(( $(date +%s) - t0 )) s"
[ "$failures" -eq 0 ]
