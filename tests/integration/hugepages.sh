#!/usr/bin/env bash
# The README's hugepage advice, followed halfway, must end in an error that names the real cause and its fix
# (DPDK itself reports these as "Permission denied" or a bare allocation failure):
#   no hugepages reserved / reserved but no hugetlbfs mounted / mounted but every page taken.
# Mounts change only inside private mount namespaces (unshare -m); nr_hugepages is restored on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
prog=$PWD/$build/app/synack-echo
failures=0
old_huge=$(cat /proc/sys/vm/nr_hugepages)
trap 'echo "$old_huge" > /proc/sys/vm/nr_hugepages 2>/dev/null; true' EXIT
eal=(--no-shconf --no-pci -m 64 --log-level=error -l 0 --vdev=net_null0)
opts=(-- --ip 10.96.3.1/24 --port 7 --duration-s 1 --mbufs 4095)

check() {  # check DESCRIPTION EXPECTED-REGEX SHELL-COMMAND: the command runs synack-echo as "$prog"
  local what=$1 want=$2 cmd=$3 out rc line
  out=$(timeout 30 unshare -m --propagation private bash -c "$cmd" _ "$prog" "${eal[@]}" "${opts[@]}" 2>&1)
  rc=$?
  line=$(printf '%s\n' "$out" | grep -E "^synack-echo: error:" | tail -1)
  if [ $rc -eq 1 ] && printf '%s' "$line" | grep -qE -e "$want"; then
    echo "  ok: $what -> $line"
  else
    echo "  FAIL: $what (exit $rc, wanted /$want/):"
    printf '%s\n' "$out" | tail -4 | sed 's/^/      /'
    failures=$((failures + 1))
  fi
}
# Inside the namespace: drop every hugetlbfs mount, then optionally mount a fresh one at /dev/hugepages.
unmount='grep " hugetlbfs " /proc/mounts | cut -d" " -f2 | sort -r | xargs -r -n1 umount -l;'
mount_fresh='mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages;'

echo "== hugepage errors name the cause and the fix"
echo 0 > /proc/sys/vm/nr_hugepages
check "none reserved" "no hugepages are reserved: echo 512 > /proc/sys/vm/nr_hugepages.*mount -t hugetlbfs" \
  "$unmount"' exec "$@"'
echo 32 > /proc/sys/vm/nr_hugepages
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 32 ]; then
  echo "  skip: the kernel reserved only $(cat /proc/sys/vm/nr_hugepages) of 32 hugepages (memory fragmented)"
else
  check "reserved but no hugetlbfs mounted" "no hugetlbfs is mounted.*mount -t hugetlbfs nodev /dev/hugepages" \
    "$unmount"' exec "$@"'
  # Another user holds every page: a file on hugetlbfs as large as the whole reservation.
  check "every hugepage taken" "all 32 reserved hugepages are in use" \
    "$unmount $mount_fresh"' fallocate -l 64M /dev/hugepages/sk-e-hold || exit 3; "$@"; rc=$?; rm -f /dev/hugepages/sk-e-hold; exit $rc'
  # And the advice works: with hugetlbfs mounted and pages free, the same command starts and stops cleanly.
  out=$(timeout 30 unshare -m --propagation private bash -c "$unmount $mount_fresh"' exec "$@"' _ "$prog" \
        "${eal[@]}" "${opts[@]}" 2>&1)
  if [ $? -eq 0 ] && printf '%s' "$out" | grep -q "listening"; then
    echo "  ok: reserved and mounted -> synack-echo runs on hugepages"
  else
    echo "  FAIL: reserved and mounted, yet synack-echo did not run:"; printf '%s\n' "$out" | tail -4 | sed 's/^/      /'
    failures=$((failures + 1))
  fi
fi
echo "hugepages: $failures failure(s)"
[ "$failures" -eq 0 ]
