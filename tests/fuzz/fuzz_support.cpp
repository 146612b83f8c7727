// EAL set-up for the fuzz targets, run from LLVMFuzzerInitialize before the first input.
#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <iterator>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>

namespace {
rte_mempool* g_pool = nullptr;
unsigned g_baseline = 0;
}  // namespace

rte_mempool* synack::test::pool() { return g_pool; }

unsigned synack::fuzz::baseline_in_use() { return g_baseline; }

void synack::fuzz::check_no_leak(const char* where) {
    const unsigned in_use = rte_mempool_in_use_count(g_pool);
    if (in_use != g_baseline) {
        std::fprintf(stderr, "fuzz invariant: %u mbufs in use %s, %u at start\n", in_use, where, g_baseline);
        std::abort();
    }
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char prog[] = "synack-fuzz";
    char a1[] = "--no-huge", a2[] = "--no-shconf", a3[] = "--no-pci", a4[] = "-m", a5[] = "256";
    char a6[] = "-l", a7[] = "0", a8[] = "--log-level=error", a9[] = "--no-telemetry";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), eal_argv) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        std::exit(2);
    }
    g_pool = rte_pktmbuf_pool_create("fuzz_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_pool == nullptr) {
        std::fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
        std::exit(2);
    }
    g_baseline = rte_mempool_in_use_count(g_pool);
    return 0;
}
