// Benchmark main: initialise DPDK's EAL (no hugepages, no shared config, one lcore), then run Google Benchmark.
#include <cstdio>

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>

int main(int argc, char** argv) {
    char prog[] = "synack-bench";
    char a1[] = "--no-huge", a2[] = "--no-shconf", a3[] = "--no-pci", a4[] = "-m", a5[] = "2048";
    char a6[] = "-l", a7[] = "0", a8[] = "--log-level=error", a9[] = "--no-telemetry";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), eal_argv) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    ::benchmark::Initialize(&argc, argv);
    if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ::benchmark::RunSpecifiedBenchmarks();
    ::benchmark::Shutdown();
    // No rte_eal_cleanup(): benchmark fixtures are statics holding rte_malloc memory, destroyed after main.
    return 0;
}
