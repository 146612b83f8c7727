#!/usr/bin/env bash
# Every bad start gets one clear line on stderr and exit status 1: never a crash, a hang or a silent failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
failures=0
old_huge=$(cat /proc/sys/vm/nr_hugepages)
# The unprivileged run needs a copy of the program that `nobody` can reach: the checkout may sit under a directory
# only root may enter (a 0700 home or mktemp -d), which would fail with EACCES before synack starts.
nobody_dir=$(mktemp -d)
chmod 755 "$nobody_dir"
cp "$build/app/synack-echo" "$nobody_dir/"
trap 'echo "$old_huge" > /proc/sys/vm/nr_hugepages 2>/dev/null; ip link del sk-err0 2>/dev/null; rm -rf "$nobody_dir"; true' EXIT
eal=(--no-shconf --no-pci -m 256 --log-level=error -l 0)

case_() {  # case_ DESCRIPTION EXPECTED-REGEX PROGRAM ARGS...
  local what=$1 want=$2 prog=$3
  shift 3
  local out rc
  [ "$prog" = runuser ] || prog="$build/app/$prog"
  out=$(timeout 20 "$prog" "$@" 2>&1)
  rc=$?
  local line
  line=$(printf '%s\n' "$out" | grep -E "^synack-[a-z-]+: error:" | tail -1)
  if [ $rc -eq 1 ] && printf '%s' "$line" | grep -qE -e "$want"; then
    echo "  ok: $what -> $line"
  else
    echo "  FAIL: $what (exit $rc, wanted /$want/):"
    printf '%s\n' "$out" | tail -3 | sed 's/^/      /'
    failures=$((failures + 1))
  fi
}

echo "== clear errors for bad starts"
case_ "no port" "no DPDK port.*--vdev=net_tap0" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 7
echo 0 > /proc/sys/vm/nr_hugepages
case_ "no hugepages" "no hugepages are reserved.*--no-huge" synack-echo "${eal[@]}" -- --ip 10.1.1.1/24 --port 7
echo "$old_huge" > /proc/sys/vm/nr_hugepages
case_ "no permission for the tap" "vdev did not probe.*CAP_NET_ADMIN" \
  runuser -u nobody -- "$nobody_dir/synack-echo" --no-huge "${eal[@]}" --vdev=net_tap0,iface=sk-err0 -- --ip 10.1.1.1/24 --port 7
case_ "cores this machine lacks" "EAL initialisation failed.*-l must name cores" synack-echo --no-huge --no-shconf --no-pci \
  -m 256 --log-level=error -l 0-63 -- --ip 10.1.1.1/24 --port 7
case_ "bad address" "--ip: expected an IPv4 address" synack-echo --no-huge "${eal[@]}" -- --ip 300.1.1.1/24 --port 7
case_ "address without prefix" "--ip: expected A.B.C.D/LEN" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1 --port 7
case_ "loopback address" "not a usable unicast address" synack-echo --no-huge "${eal[@]}" -- --ip 127.0.0.1/8 --port 7
case_ "memory pressure below 20%" "--mem-pressure-pct: expected a number in 20..100" synack-echo --no-huge "${eal[@]}" \
  -- --ip 10.1.1.1/24 --port 7 --mem-pressure-pct 5
case_ "persist timeout not a number" "--persist-timeout-ms: expected a number" synack-echo --no-huge "${eal[@]}" \
  -- --ip 10.1.1.1/24 --port 7 --persist-timeout-ms soon
case_ "gateway off the subnet" "--gw 10.2.0.1 is not inside" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --gw 10.2.0.1 --port 7
case_ "unknown option" "unknown option '--bogus'" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 7 --bogus
case_ "missing value" "--port: missing value" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port
case_ "number out of range" "--port: expected a number in 1..65535" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 70000
case_ "syncookies out of range" "--syncookies: expected a number in 0..2" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 7 --syncookies 3
case_ "no --ip" "--ip A.B.C.D/LEN or --ip6 ADDR/LEN is required" synack-echo --no-huge "${eal[@]}" -- --port 7
case_ "bad IPv6 address" "--ip6: expected an IPv6 address" synack-echo --no-huge "${eal[@]}" -- --ip6 fd00::g/64 --port 7
case_ "IPv6 address without prefix" "--ip6: expected ADDR/LEN" synack-echo --no-huge "${eal[@]}" -- --ip6 fd00::1 --port 7
case_ "IPv6 multicast address" "--ip6: ff02::1/64 is not a usable" synack-echo --no-huge "${eal[@]}" -- --ip6 ff02::1/64 --port 7
case_ "--gw6 without --ip6" "--gw6 needs --ip6" synack-echo --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --gw6 fe80::1 --port 7
case_ "--gw6 off the prefix" "--gw6: must be a link-local address or one inside" synack-echo --no-huge "${eal[@]}" -- --ip6 fd00::1/64 --gw6 fd01::1 --port 7
case_ "perf IPv6 client without --ip6" "--client with an IPv6 address needs --ip6" synack-perf --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 5201 --client fd00::2
case_ "perf client to a bad address" "--client: expected an IPv4 or IPv6 address" synack-perf --no-huge "${eal[@]}" -- --ip6 fd00::1/64 --port 5201 --client fd00::g
case_ "perf without a role" "say either --server or --client" synack-perf --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 5201
case_ "perf bad test" "--test: bulk, cps or rr" synack-perf --no-huge "${eal[@]}" -- --ip 10.1.1.1/24 --port 5201 --client 10.1.1.2 --test x
perf=(--no-huge "${eal[@]}" -- --ip 10.98.9.1/24 --loopback --port 5201)
case_ "channel-perf: both sides alternating" "--server and --client alternate: one at a time" synack-channel-perf \
  "${perf[@]}" --test cps --server alternate --client alternate
case_ "channel-perf: alternating with threads" "alternate: one thread" synack-channel-perf "${perf[@]}" --test cps \
  --client alternate --threads 2
case_ "channel-perf: alternating verify" "--test verify needs --client channel" synack-channel-perf "${perf[@]}" \
  --test verify --client alternate
case_ "channel-perf: alternating server, Channel client" "--server alternate: the client is the callback one" \
  synack-channel-perf "${perf[@]}" --test rr --server alternate --client channel
case_ "channel-perf: slice out of range" "--slice-ms: expected 1..10000" synack-channel-perf "${perf[@]}" --test rr \
  --client alternate --slice-ms 0
echo "cli_errors: $failures failure(s)"
[ "$failures" -eq 0 ]
