// The connection table keyed by the NIC's RSS hash, and the symmetric Toeplitz flow hash that places flows on cores.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <random>
#include <set>

#include "dpdk/flow_hash.hpp"
#include "wire/ipv6.hpp"
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

// ---- IPv6 ----

wire::Ip6Addr v6(const char* text) {
    wire::Ip6Addr a;
    EXPECT_EQ(inet_pton(AF_INET6, text, a.b), 1) << text;
    return a;
}

// Microsoft's published RSS verification vectors for IPv6 with TCP (the ones DPDK's test_thash.c checks), with
// the default key: our tuple layout gives the same hashes a NIC computes.
TEST(FlowHash6, MatchesTheMicrosoftVerificationVectors) {
    static const uint8_t ms_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                                       0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                                       0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
    struct V {
        const char *src, *dst;
        uint16_t sport, dport;
        uint32_t hash;
    };
    const V vectors[] = {
        {"3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x40207d3d},
        {"3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0xdde51bbf},
        {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x02d1feef},
    };
    for (const V& v : vectors)
        EXPECT_EQ(dpdk::flow_hash6(v6(v.src).b, v6(v.dst).b, v.sport, v.dport, ms_key), v.hash) << v.src;
}

// Against DPDK's own path: the tuple loaded from an rte_ipv6_hdr by rte_thash_load_v6_addrs, hashed by rte_softrss
// and by rte_softrss_be with the converted key, over many random headers; and symmetric.
TEST(FlowHash6, AgreesWithDpdkAndIsSymmetric) {
    std::mt19937 rng(6);
    uint8_t be_key[40];
    rte_convert_rss_key(reinterpret_cast<const uint32_t*>(dpdk::symmetric_rss_key()),
                        reinterpret_cast<uint32_t*>(be_key), sizeof be_key);
    for (int i = 0; i < 10000; ++i) {
        rte_ipv6_hdr ip{};
        for (auto& b : ip.src_addr) b = static_cast<uint8_t>(rng());
        for (auto& b : ip.dst_addr) b = static_cast<uint8_t>(rng());
        const auto sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
        rte_thash_tuple t{};
        rte_thash_load_v6_addrs(&ip, &t);
        t.v6.sport = sp;
        t.v6.dport = dp;
        const uint32_t h = dpdk::flow_hash6(ip.src_addr, ip.dst_addr, sp, dp);
        ASSERT_EQ(h, rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V6_L4_LEN, dpdk::symmetric_rss_key()));
        ASSERT_EQ(h, rte_softrss_be(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V6_L4_LEN, be_key));
        ASSERT_EQ(h, dpdk::flow_hash6(ip.dst_addr, ip.src_addr, dp, sp));
    }
}

TEST(FlowHash6, SpreadsFlowsOverCores) {
    unsigned per_core[4] = {};
    const wire::Ip6Addr a = v6("fd00:99::2"), b = v6("fd00:99::1");
    for (uint16_t port = 1024; port < 1024 + 4000; ++port) ++per_core[dpdk::core_of(dpdk::flow_hash6(a.b, b.b, port, 80), 4)];
    for (unsigned n : per_core) {
        EXPECT_GT(n, 800u);
        EXPECT_LT(n, 1200u);
    }
}

// connect6() with a port filter built on flow_hash6 (as Worker::port_filter6): every ephemeral port it picks makes
// the peer's replies hash to the opening core, and no port is used twice.
TEST(FlowHash6, EphemeralPortsHashBackToTheOpeningCore) {
    struct Ctx {
        unsigned core, cores;
        unsigned asked = 0;
    };
    for (unsigned core = 0; core < 2; ++core) {
        EngineHarness h(Family::v6);
        Ctx ctx{core, 2};
        h.engine.set_port_filter6(
            [](void* c, const tcp::FourTuple6& t) {
                auto* x = static_cast<Ctx*>(c);
                ++x->asked;
                return dpdk::core_of(dpdk::flow_hash6(t.remote.b, t.local.b, t.remote_port, t.local_port), x->cores) ==
                       x->core;
            },
            &ctx);
        std::set<uint16_t> ports;
        for (int i = 0; i < 200; ++i) {
            tcp::ConnId c;
            ASSERT_EQ(h.engine.connect6(EngineHarness::us6(), 0, EngineHarness::them6(), 80, 0, c), 0);
            const tcp::Tcb* t = h.engine.tcb(c);
            ASSERT_NE(t, nullptr);
            const uint16_t p = t->tuple.local_port;
            EXPECT_TRUE(ports.insert(p).second) << "port " << p << " used twice";
            // What the peer sends back: from them6:80 to us6:p.
            EXPECT_EQ(dpdk::core_of(dpdk::flow_hash6(EngineHarness::them6().b, EngineHarness::us6().b, 80, p), 2), core);
        }
        EXPECT_GT(ctx.asked, 200u) << "the filter refused some ports (those of the other core)";
        h.drop_output();
    }
}

}  // namespace
}  // namespace synack::test
