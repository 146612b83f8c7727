// The connection table keyed by the NIC's RSS hash, and the symmetric Toeplitz flow hash that places flows on cores.
#include <gtest/gtest.h>

#include "dpdk/flow_hash.hpp"
#include "engine_harness.hpp"

namespace synack::test {
namespace {

uint32_t nic_hash(const tcp::FourTuple& t) {
    return dpdk::flow_hash(t.remote_ip, t.local_ip, t.remote_port, t.local_port);
}

// A segment from the peer carrying the hash a NIC with our key would have put in the mbuf.
void send_with_rss(EngineHarness& h, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t rss, const std::string& p = "") {
    rte_mbuf* m = build(EngineHarness::kThem, EngineHarness::kUs, EngineHarness::kThemPort, EngineHarness::kUsPort, flags,
                        seq, ack, p);
    m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
    m->hash.rss = rss;
    h.engine.input(m, h.now);
}

TEST(RssKeyedTable, ConnectionFoundThroughTheMbufHash) {
    EngineHarness h;
    h.engine.set_flow_hash(&nic_hash);
    const tcp::FourTuple t{EngineHarness::kUs, EngineHarness::kThem, EngineHarness::kUsPort, EngineHarness::kThemPort};
    const uint32_t rss = nic_hash(t);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    send_with_rss(h, kSyn, 1000, 0, rss);
    Seg synack = h.one();
    ASSERT_EQ(synack.flags, kSyn | kAck);
    send_with_rss(h, kAck, 1001, synack.seq + 1, rss);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    send_with_rss(h, kAck | kPsh, 1001, synack.seq + 1, rss, "abc");
    EXPECT_EQ(h.engine.counters().rx_data_bytes, 3u);
}

TEST(RssKeyedTable, AWrongMbufHashMissesTheConnection) {
    EngineHarness h;
    h.engine.set_flow_hash(&nic_hash);
    const tcp::FourTuple t{EngineHarness::kUs, EngineHarness::kThem, EngineHarness::kUsPort, EngineHarness::kThemPort};
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    send_with_rss(h, kSyn, 1000, 0, nic_hash(t));
    Seg synack = h.one();
    // The same segment with a hash the NIC would never give this flow: the table is keyed by the mbuf's hash,
    // so the lookup misses and the ACK is answered as for no connection (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><RST>).
    send_with_rss(h, kAck, 1001, synack.seq + 1, nic_hash(t) ^ 0x5a5a5a5a);
    Seg rst = h.one();
    EXPECT_EQ(rst.flags, kRst);
    EXPECT_EQ(rst.seq, synack.seq + 1);
    EXPECT_EQ(h.engine.counters().rx_no_connection, 1u);
}

TEST(FlowHash, SymmetricSoBothDirectionsMeetOnOneCore) {
    uint32_t seed = 12345;
    auto rnd = [&] { return seed = seed * 1103515245u + 12345u; };
    for (int i = 0; i < 1000; ++i) {
        const uint32_t a = rnd(), b = rnd();
        const auto pa = static_cast<uint16_t>(rnd()), pb = static_cast<uint16_t>(rnd());
        ASSERT_EQ(dpdk::flow_hash(a, b, pa, pb), dpdk::flow_hash(b, a, pb, pa));
    }
}

TEST(FlowHash, SpreadsFlowsOverCores) {
    unsigned per_core[4] = {};
    for (uint16_t port = 1024; port < 1024 + 4000; ++port)
        ++per_core[dpdk::core_of(dpdk::flow_hash(ip4(10, 0, 0, 2), ip4(10, 0, 0, 1), port, 80), 4)];
    for (unsigned n : per_core) {
        EXPECT_GT(n, 800u);
        EXPECT_LT(n, 1200u);
    }
}

}  // namespace
}  // namespace synack::test
