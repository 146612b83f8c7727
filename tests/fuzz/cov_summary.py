#!/usr/bin/env python3
"""Edge coverage per source file of src/ from a libFuzzer log run with -print_coverage=1 (scripts/fuzz writes
build-fuzz/TARGET.log): python3 tests/fuzz/cov_summary.py build-fuzz/fuzz_engine.log"""
import collections
import re
import sys

LINE = re.compile(r"^(UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) .* (\S+):\d+$")


def main():
    per = collections.defaultdict(lambda: [0, 0, 0, 0])  # covered edges, edges, covered funcs, funcs
    for path in sys.argv[1:]:
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.match(line.strip())
                if not m:
                    continue
                src = m.group(4)
                if "/src/" not in src:
                    continue
                key = "src/" + src.split("/src/", 1)[1]
                c, n = int(m.group(2)), int(m.group(3))
                p = per[key]
                p[0] += c
                p[1] += n
                p[2] += c > 0
                p[3] += 1
    print("| file | edges covered | functions entered |")
    print("|---|---:|---:|")
    tot = [0, 0, 0, 0]
    for k in sorted(per):
        p = per[k]
        tot = [a + b for a, b in zip(tot, p)]
        print(f"| {k} | {p[0]}/{p[1]} ({100 * p[0] / max(p[1], 1):.0f}%) | {p[2]}/{p[3]} |")
    print(f"| all of src/ reached by this target | {tot[0]}/{tot[1]} ({100 * tot[0] / max(tot[1], 1):.0f}%) | "
          f"{tot[2]}/{tot[3]} |")


if __name__ == "__main__":
    main()
