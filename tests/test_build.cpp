// The build links the library and DPDK and EAL came up with a usable mbuf pool.
#include <cstring>

#include <gtest/gtest.h>

#include "synack/version.hpp"
#include "test_support.hpp"

TEST(Build, VersionAndPool) {
    EXPECT_STREQ(synack::version(), "0.1.0");
    rte_mbuf* m = rte_pktmbuf_alloc(synack::test::pool());
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 0u);
    rte_pktmbuf_free(m);
}
