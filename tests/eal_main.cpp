// Test main: initialise DPDK's EAL without hugepages, shared config or PCI, then run GoogleTest.
#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "test_support.hpp"

namespace {
rte_mempool* g_pool = nullptr;
}

rte_mempool* synack::test::pool() { return g_pool; }

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    char prog[] = "synack-test";
    char a1[] = "--no-huge", a2[] = "--no-shconf", a3[] = "--no-pci", a4[] = "-m", a5[] = "512";
    char a6[] = "-l", a7[] = "0", a8[] = "--log-level=error", a9[] = "--no-telemetry";
    char* eal_argv[] = {prog, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), eal_argv) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    g_pool = rte_pktmbuf_pool_create("test_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (g_pool == nullptr) {
        std::fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
