#!/usr/bin/env bash
# synack as an embedder gets it: installed with meson and with CMake (headers, static and shared library,
# synack.pc, the CMake package), the public headers alone on the include path, and the examples in examples/ built
# out of tree three ways (pkg-config, find_package, add_subdirectory) and run over net_ring ports (no tap, no
# hugepages). Every C++ program printed in README.md and docs/*.md is compiled too (and run when it can be).
# Usage: embed.sh [MESON_BUILD_DIR [CMAKE_BUILD_DIR]]   (the trees scripts/build made; nothing is rebuilt there)
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=${1:-build}
cmake_build=${2:-build-cmake}
tmp=$(mktemp -d /tmp/sk-e-embed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
ok() { echo "  ok: $*"; }
fail() { echo "  FAIL: $*"; failures=$((failures + 1)); }
launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
eal=(--no-huge --no-shconf --no-pci -m 256 -l 0,1 --log-level=error)
run_example() {  # run_example LABEL BINARY: the pair over net_ring must report success
  local out
  out=$(timeout 60 "$2" "${eal[@]}" -- --ip 10.96.0.1/24 --loopback --duration-s 30 2>&1)
  if [ $? -eq 0 ]; then ok "$1: $(printf '%s' "$out" | tail -1)"; else fail "$1"; printf '%s\n' "$out" | tail -5 | sed 's/^/      /'; fi
}

echo "== the public headers need only include/ and DPDK"
dpdk_cflags=$(pkg-config --cflags libdpdk | sed 's/-I/-isystem/g')
for h in include/synack/*.hpp; do
  if echo "#include <synack/$(basename "$h")>" | g++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -x c++ \
       -Iinclude $dpdk_cflags - 2>"$tmp/h.err"; then ok "$h"; else fail "$h"; sed 's/^/      /' "$tmp/h.err" | head -5; fi
done

echo "== meson install (DESTDIR)"
if meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/meson" >"$tmp/mi.log" 2>&1; then
  ok "meson install"
else
  fail "meson install"; tail -5 "$tmp/mi.log"
fi
pc=$(find "$tmp/meson" -name synack.pc | head -1)
cfg=$(find "$tmp/meson" -name synackConfig.cmake | head -1)
libdir=$(dirname "$(find "$tmp/meson" -name libsynack.a | head -1)")
for f in "$pc" "$cfg" "$libdir/libsynack.a" "$libdir/libsynack.so" "$(dirname "$libdir")/../include/synack/stack.hpp"; do
  [ -e "$f" ] && ok "installed ${f#"$tmp"/}" || fail "missing ${f:-a file} after meson install"
done
[ -z "$(find "$tmp/meson" -path '*include*' -name '*.hpp' ! -path '*/include/synack/*')" ] && ok "no private header installed" \
  || fail "private headers installed"

echo "== cmake --install"
if [ -f "$cmake_build/CMakeCache.txt" ]; then
  if cmake --install "$cmake_build" --prefix "$tmp/cmake" >"$tmp/ci.log" 2>&1; then ok "cmake --install"; else fail "cmake --install"; tail -5 "$tmp/ci.log"; fi
  for f in lib/libsynack.a lib/libsynack.so lib/pkgconfig/synack.pc lib/cmake/synack/synackConfig.cmake include/synack/stack.hpp; do
    [ -e "$tmp/cmake/$f" ] || f=$(cd "$tmp/cmake" && find . -path "*${f#lib/}" | head -1)
    [ -n "$f" ] && [ -e "$tmp/cmake/$f" ] && ok "installed cmake/${f#./}" || fail "missing after cmake --install"
  done
  cmake_prefix=$tmp/cmake
else
  echo "  (no $cmake_build: the find_package build uses the meson install)"
  cmake_prefix=$(dirname "$libdir")/..
  cmake_prefix=$(cd "$cmake_prefix" && pwd)
fi

echo "== examples with pkg-config (meson's install, shared library)"
mkdir -p "$tmp/pc"
if PKG_CONFIG_PATH=$(dirname "$pc") make -s -C "$tmp/pc" -f "$src/examples/Makefile" -j2 CXXFLAGS="-O2 -Wall -Wextra -Werror" \
     >"$tmp/pc.log" 2>&1; then
  ok "built"
  ldd "$tmp/pc/echo_callbacks" | grep -q "libsynack.so.0 => $tmp" && ok "linked to the installed libsynack.so" \
    || fail "echo_callbacks does not load the installed libsynack.so"
  for ex in echo_callbacks echo_zero_copy echo_channel; do run_example "pkg-config $ex" "$tmp/pc/$ex"; done
else
  fail "pkg-config build"; tail -15 "$tmp/pc.log"
fi

echo "== examples with find_package(synack) (static library)"
if cmake -S examples -B "$tmp/fp" -G Ninja -DCMAKE_PREFIX_PATH="$cmake_prefix" "${launcher[@]}" >"$tmp/fp.log" 2>&1 \
   && ninja -C "$tmp/fp" -j2 >>"$tmp/fp.log" 2>&1; then
  ok "built"
  for ex in echo_callbacks echo_zero_copy echo_channel; do run_example "find_package $ex" "$tmp/fp/$ex"; done
else
  fail "find_package build"; tail -15 "$tmp/fp.log"
fi

echo "== examples with add_subdirectory(synack) (built from source; tests, benchmarks and programs stay off)"
if cmake -S examples -B "$tmp/sub" -G Ninja -DSYNACK_SOURCE_DIR="$src" -DSYNACK_MARCH= "${launcher[@]}" \
     >"$tmp/sub.log" 2>&1 && ninja -C "$tmp/sub" -j2 echo_callbacks >>"$tmp/sub.log" 2>&1; then
  ok "built"
  grep -q "gtest\|benchmark" "$tmp/sub/build.ninja" && fail "tests or benchmarks were configured" || ok "no tests or benchmarks configured"
  grep -q -- "-Werror" "$tmp/sub/build.ninja" && fail "-Werror leaked into the embedding build" || ok "no -Werror in the embedding build"
  run_example "add_subdirectory echo_callbacks" "$tmp/sub/echo_callbacks"
else
  fail "add_subdirectory build"; tail -15 "$tmp/sub.log"
fi

echo "== C++ programs printed in README.md and docs/ compile as printed"
export PKG_CONFIG_PATH=$(dirname "$pc")
/usr/bin/python3 - "$tmp/snip" README.md docs/*.md <<'PY' || fail "extracting code blocks"
import os, re, sys
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
bad = 0
for doc in (d for d in sys.argv[2:] if os.path.exists(d)):
    text = open(doc).read()
    for n, m in enumerate(re.finditer(r"(?:<!-- example: (\S+) -->\s*\n)?```cpp\n(.*?)```", text, re.S)):
        code, ref = m.group(2), m.group(1)
        if ref and open(ref).read() != code:   # a copy of an example must stay identical to it
            print(f"  FAIL: {doc}: the copy of {ref} differs from the file"); bad += 1
        if "int main" in code:
            name = re.sub(r"\W", "_", doc) + f"_{n}"
            open(os.path.join(out, name + ".cpp"), "w").write(code)
sys.exit(1 if bad else 0)
PY
for f in "$tmp"/snip/*.cpp; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .cpp)
  if g++ -std=c++20 -O1 -Wall -Wextra -Werror $(pkg-config --cflags synack | sed 's/-I/-isystem/g') "$f" -o "$tmp/snip/$name" \
       -Wl,-rpath,"$(pkg-config --variable=libdir synack)" $(pkg-config --libs synack) -pthread 2>"$tmp/snip/$name.err"; then
    ok "$name compiles"
    # Servers run until --duration-s; the loopback pair gives them a port without a tap.
    out=$(timeout 30 "$tmp/snip/$name" "${eal[@]}" -- --ip 10.96.0.1/24 --loopback --port 7 --duration-s 1 2>&1) \
      && ok "$name runs" || { fail "$name did not run cleanly"; printf '%s\n' "$out" | tail -3 | sed 's/^/      /'; }
  else
    fail "$name does not compile as printed"; head -8 "$tmp/snip/$name.err" | sed 's/^/      /'
  fi
done

echo "== docs/counters.md lists every counter"
/usr/bin/python3 tools/counter-table --check docs/counters.md && ok "counter table up to date" || fail "docs/counters.md"

echo "embed: $failures failure(s)"
[ "$failures" -eq 0 ]
