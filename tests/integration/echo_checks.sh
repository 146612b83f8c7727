# Shared by the suites that run synack-echo on a tap against Linux (tap_echo.sh, ipv6_tcp.sh): the counted
# checks, reading synack's report, and the exchanges every such suite runs. Source after scripts/lib/tap.sh.
# Each check prints "ok: ..." or "FAIL: ..." and a failure adds to $failures.

PEER="/usr/bin/python3 tests/integration/peer.py"
failures=0

expect() {  # expect DESCRIPTION CONDITION-EXIT-STATUS
  if [ "$2" -eq 0 ]; then echo "  ok: $1"; else echo "  FAIL: $1"; failures=$((failures + 1)); fi
}
check() {  # check CMD...: runs it (at most 120 s), prints its line, counts a failure
  local out
  out=$(timeout 120 "$@" 2>&1)
  local rc=$?
  echo "  $out"
  [ $rc -eq 0 ] || { echo "  !! $* failed"; failures=$((failures + 1)); }
}
last_stat() { grep '^\[synack\]' "$TAP_LOG" | tail -1 | grep -o "$1=[0-9]*" | cut -d= -f2; }  # of --stats-ms
counter() { awk -v n="$1" '$1==n{print $2}' "$TAP_LOG"; }  # from the exit report
opened_on() { awk -v c="core$1" '$1==c{print $13}' "$TAP_LOG"; }  # connections core N opened

# echo_exchanges HOST: peer.py against synack-echo --port 7 --close-port 8: 10 MB echoed and compared by SHA-256,
# 1000 sequential and 200 concurrent connections, ECONNREFUSED on port 9, close started by either side.
echo_exchanges() {
  check $PEER --host "$1" bulk --port 7 --size 10000000
  check $PEER --host "$1" sequential --port 7 --count 1000
  check $PEER --host "$1" concurrent --port 7 --count 200
  check $PEER --host "$1" refused --port 9
  check $PEER --host "$1" client-close --port 7
  check $PEER --host "$1" server-close --port 8 --count 20
}

# time_wait_checks MSL_MS [WHERE]: right after echo_exchanges (port 8 closed first by synack), synack holds
# TIME-WAIT; after 2 MSL nothing is left. Needs --stats-ms.
time_wait_checks() {
  local msl_ms=$1 where=${2:-}
  sleep 0.3
  local tw
  tw=$(last_stat time_wait)
  [ "${tw:-0}" -ge 1 ]
  expect "synack holds TIME-WAIT after closing first$where (time_wait=$tw)" $?
  sleep $(( (2 * msl_ms + 999) / 1000 + 1 ))
  tw=$(last_stat time_wait)
  local conns
  conns=$(last_stat conns)
  [ "${tw:-1}" -eq 0 ] && [ "${conns:-1}" -eq 0 ]
  expect "after 2 MSL no TIME-WAIT and no connection left (time_wait=$tw conns=$conns)" $?
}

# After tap_stop: no connection ended by a reset or a timeout, and with two lcores ($1 has a comma) both cores
# opened connections (software RSS spread them).
report_checks() {
  grep -q "0 reset or timed out" "$TAP_LOG"
  expect "no connection reset or timed out" $?
  if [[ $1 == *,* ]]; then
    local c0 c1
    c0=$(opened_on 0)
    c1=$(opened_on 1)
    [ "${c0:-0}" -gt 0 ] && [ "${c1:-0}" -gt 0 ]
    expect "software RSS spread connections over both cores (core0 opened $c0, core1 opened $c1)" $?
  fi
}
