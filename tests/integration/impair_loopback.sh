#!/usr/bin/env bash
# synack-perf --loopback --impair: the impairment link is attached to both directions of the in-process link and
# does what the spec says (frames lost, duplicated, reordered, corrupted ones caught by the checksums), data still
# flows, and bad specs get one clear error. No taps or namespaces: runs beside anything else.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
failures=0
prefix=sk-r-impair-$$
trap 'rm -f /dev/shm/${prefix}* 2>/dev/null; true' EXIT
eal=(--no-huge --no-shconf --no-pci -m 512 --log-level=error --file-prefix "$prefix")

fail() { echo "  FAIL: $*"; failures=$((failures + 1)); }

# run SPEC: 3 s of bulk data over the impaired loopback; prints the output (JSON line and counters).
run() {
  timeout 60 "$build/app/synack-perf" "${eal[@]}" -l 0,1 -- --ip 10.97.1.1/24 --port 5201 --loopback --test bulk \
    --duration-s 3 --msl-ms 1000 --streams 4 --impair "$1" -v 2>&1
}
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2" | tail -1; }        # field NAME OUTPUT (JSON)
counter() { awk -v l="$1" -v n="$2" '$1 == l { for (i = 2; i < NF; i++) if ($i == n) print $(i + 1) }' <<<"$3" | tail -1; }

check_spec() {  # check_spec SPEC WHAT...: WHAT is counter=min pairs on the link into the server
  local spec=$1 out bytes
  shift
  echo "== --impair $spec"
  out=$(run "$spec")
  local rc=$?
  [ $rc -eq 0 ] || { fail "exit $rc"; printf '%s\n' "$out" | tail -5; return; }
  bytes=$(field bytes "$out")
  [ -n "$bytes" ] && [ "$bytes" -gt 0 ] || fail "no data moved"
  printf '%s\n' "$out" | grep -E "^impair_" | sed 's/^/  /'
  local in delivered
  in=$(counter impair_to_server in "$out")
  delivered=$(counter impair_to_server delivered "$out")
  [ -n "$in" ] && [ "$in" -gt 0 ] || { fail "no impair_to_server counters"; return; }
  local lost dup queue overflow
  lost=$(counter impair_to_server lost "$out"); dup=$(counter impair_to_server duplicated "$out")
  queue=$(counter impair_to_server queue_dropped "$out"); overflow=$(counter impair_to_server overflow_dropped "$out")
  # Every frame is accounted for: delivered + dropped <= in + copies (the rest was still on the link at the end).
  [ $((delivered + lost + queue + overflow)) -le $((in + dup)) ] || fail "more frames out than in"
  for want in "$@"; do
    local name=${want%%=*} min=${want#*=} got
    got=$(counter impair_to_server "$name" "$out")
    if [ -z "$got" ] || [ "$got" -lt "$min" ]; then fail "$name = ${got:-none}, wanted >= $min"; fi
  done
  if [[ $spec == *corrupt* ]]; then
    local bad
    bad=$(printf '%s\n' "$out" | awk '/checksum/ { s += $2 } END { print s + 0 }')
    [ "$bad" -gt 0 ] && echo "  corrupted frames dropped by checksum: $bad" || fail "no checksum drops with corruption"
  fi
}

check_spec "delay=1ms,seed=5"
check_spec "loss=2%,seed=5" lost=1
check_spec "dup=2%,reorder=2%,reorder-delay=200us,seed=5" duplicated=1 reordered=1
check_spec "corrupt=1%,seed=5" corrupted=1
check_spec "rate=100mbit,queue=20,seed=5" queue_dropped=0

echo "== bad specs"
for bad in "loss=200%" "delay=5" "rate=fast" "nonsense=1"; do
  out=$(timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 0,1 -- --ip 10.97.1.1/24 --port 5201 --loopback \
    --test bulk --duration-s 1 --impair "$bad" 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -qE "^synack-perf: error: --impair" <<<"$out"; then
    echo "  ok: $bad -> $(grep -E '^synack-perf: error' <<<"$out")"
  else
    fail "--impair $bad: exit $rc: $(tail -1 <<<"$out")"
  fi
done
out=$(timeout 20 "$build/app/synack-perf" "${eal[@]}" -l 0 -- --ip 10.97.1.1/24 --port 5201 --client 10.97.1.2 \
  --test bulk --duration-s 1 --impair loss=1% 2>&1)
if grep -qE "^synack-perf: error: --impair works on the --loopback link only" <<<"$out"; then
  echo "  ok: --impair without --loopback refused"
else
  fail "--impair without --loopback: $(tail -1 <<<"$out")"
fi

echo "impair_loopback: $failures failure(s)"
[ "$failures" -eq 0 ]
