// The pool net_af_xdp registers as its UMEM: a packed pool lies wholly inside the range the PMD registers, the
// default (page-bound) layout does not under --no-huge, which is how a queue used to lose its fill ring.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpdk/mbuf_pool.hpp"

using synack::dpdk::create_mbuf_pool;
using synack::dpdk::mbufs_outside_umem;

TEST(MbufPool, PackedPoolLiesInsideTheUmemRange) {
    rte_mempool* p = create_mbuf_pool("sk_t_packed", 4095, 32, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, true);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->populated_size, 4095u);
    EXPECT_EQ(mbufs_outside_umem(p), 0u);
    // Ordinary pktmbufs: the data room and headroom rte_pktmbuf_pool_create() would give.
    rte_mbuf* m = rte_pktmbuf_alloc(p);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(rte_pktmbuf_data_room_size(p), RTE_MBUF_DEFAULT_BUF_SIZE);
    EXPECT_EQ(rte_pktmbuf_headroom(m), RTE_PKTMBUF_HEADROOM);
    EXPECT_EQ(m->pool, p);
    EXPECT_NE(rte_pktmbuf_append(m, 1500), nullptr);
    rte_pktmbuf_free(m);
    EXPECT_EQ(rte_mempool_in_use_count(p), 0u);
    rte_mempool_free(p);
}

TEST(MbufPool, PageBoundLayoutOverrunsTheUmemWithoutHugepages) {
    // The tests run with --no-huge: 4 KB pages hold one 2,368-byte object each, so the pool spans far more than
    // populated_size x object size. This is the layout that lost frames; the check must see it.
    rte_mempool* p = create_mbuf_pool("sk_t_paged", 4095, 32, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, false);
    ASSERT_NE(p, nullptr);
    const uint32_t outside = mbufs_outside_umem(p);
    EXPECT_GT(outside, 4095u / 4) << "every object should sit in its own 4 KB page";
    EXPECT_LT(outside, 4095u);
    rte_mempool_free(p);
}
