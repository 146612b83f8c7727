// The build links the library and DPDK and EAL came up with a usable mbuf pool.
#include <cstring>

#include <gtest/gtest.h>

#include "synack/version.hpp"
#include "tcp/seq.hpp"
#include "test_support.hpp"

using namespace synack::tcp;

TEST(Build, VersionAndPool) {
    EXPECT_STREQ(synack::version(), "0.1.0");
    rte_mbuf* m = rte_pktmbuf_alloc(synack::test::pool());
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 0u);
    rte_pktmbuf_free(m);
}

TEST(Seq, WrapAround) {
    EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
    EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
    EXPECT_TRUE(seq_in(0x5u, 0xfffffff0u, 0x10u));
    EXPECT_FALSE(seq_in(0x10u, 0xfffffff0u, 0x10u));
    EXPECT_EQ(seq_max(0xfffffff0u, 0x10u), 0x10u);
}
