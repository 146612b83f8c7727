// User-call details beyond the RFC's arrows: zero-copy send and receive, and send-buffer backpressure events.
#include <gtest/gtest.h>

#include "engine_harness.hpp"

namespace synack::test {
namespace {

rte_mbuf* chain_of(const std::string& data, uint32_t piece) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    for (size_t off = 0; off < data.size(); off += piece) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool());
        const auto n = static_cast<uint16_t>(std::min<size_t>(piece, data.size() - off));
        std::memcpy(rte_pktmbuf_append(m, n), data.data() + off, n);
        if (head == nullptr) {
            head = m;
        } else {
            tail->next = m;
            ++head->nb_segs;
            head->pkt_len += n;
        }
        tail = m;
    }
    return head;
}

TEST(SendChain, TakesTheChainAndSendsItsBytesInMssSegments) {
    TcpConfig cfg = test_config();
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    const uint32_t iss = h.pinned_isn;
    std::string data(3000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
    // Odd pieces: segments are cut at the MSS (536 without an MSS option) across mbuf boundaries.
    ASSERT_EQ(h.engine.send_chain(c, chain_of(data, 333)), 3000);
    auto v = h.out();
    std::string got;
    uint32_t expect_seq = iss + 1;
    for (const Seg& s : v) {
        EXPECT_EQ(s.seq, expect_seq);
        EXPECT_LE(s.payload.size(), 536u);
        expect_seq += static_cast<uint32_t>(s.payload.size());
        got += s.payload;
    }
    EXPECT_EQ(got, data);
}

// What net_af_xdp does with a packet (DPDK 22.11 af_xdp_tx_cp/_zc): copy pkt_len bytes from the first mbuf's data
// into its own frame, whatever the chain holds.
rte_mbuf* as_af_xdp_sends(rte_mbuf* m) {
    rte_mbuf* frame = rte_pktmbuf_alloc(pool());
    std::memcpy(rte_pktmbuf_append(frame, static_cast<uint16_t>(m->pkt_len)), rte_pktmbuf_mtod(m, const void*),
                m->pkt_len);
    rte_pktmbuf_free(m);
    return frame;
}

// A port without RTE_ETH_TX_OFFLOAD_MULTI_SEGS (net_af_xdp) got a header mbuf with references behind it and put
// the header mbuf's stale bytes on the wire under a checksum of the real payload (issue 11). Each packet must be
// one mbuf holding the headers and the payload.
TEST(SendChain, PortWithoutMultiSegmentTxGetsOneMbufPerPacketWithThePayload) {
    TcpConfig cfg = test_config();
    cfg.tx_multi_seg = false;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    std::string data(3000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 1);
    ASSERT_EQ(h.engine.send_chain(c, chain_of(data, 333)), 3000);
    ASSERT_EQ(h.engine.send(c, "tail", 4), 4);
    data += "tail";
    std::string got;
    uint32_t expect_seq = h.pinned_isn + 1;
    rte_mbuf* b[64];
    for (uint16_t n; (n = h.engine.drain_tx(b, 64)) > 0;) {
        for (uint16_t i = 0; i < n; ++i) {
            EXPECT_EQ(b[i]->nb_segs, 1u);
            EXPECT_EQ(b[i]->data_len, b[i]->pkt_len);
            Seg s = decode(as_af_xdp_sends(b[i]));  // checksums verified in software
            EXPECT_EQ(s.seq, expect_seq);
            expect_seq += static_cast<uint32_t>(s.payload.size());
            got += s.payload;
        }
    }
    EXPECT_EQ(got, data);
    // A retransmission is copied from the send buffer as well.
    h.at_ms(1500);
    rte_mbuf* r = nullptr;
    ASSERT_EQ(h.engine.drain_tx(&r, 1), 1);
    EXPECT_EQ(r->nb_segs, 1u);
    Seg again = decode(as_af_xdp_sends(r));
    EXPECT_EQ(again.seq, h.pinned_isn + 1);
    EXPECT_EQ(again.payload, data.substr(0, again.payload.size()));
    EXPECT_GT(again.payload.size(), 0u);
}

TEST(SendChain, RefusedWhenItDoesNotFitThenWritable) {
    TcpConfig cfg = test_config();
    cfg.snd_buf = 4000;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    const uint32_t iss = h.pinned_isn;
    ASSERT_EQ(h.engine.send_chain(c, chain_of(std::string(3000, 'a'), 1000)), 3000);
    rte_mbuf* big = chain_of(std::string(2000, 'b'), 1000);
    const unsigned before = rte_mempool_avail_count(pool());
    EXPECT_EQ(h.engine.send_chain(c, big), -tcp::kErrAgain);  // not taken: the caller still owns it
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
    rte_pktmbuf_free(big);
    h.drop_output();
    // The peer acknowledges everything: a quarter of the buffer is free again, so `writable` comes.
    h.send(kAck, 1001, iss + 1 + 3000);
    bool writable = false;
    for (const Event& e : h.events()) writable |= e.type == EventType::writable;
    EXPECT_TRUE(writable);
    EXPECT_EQ(h.engine.send_space(c), 4000u);
}

TEST(RecvChain, HandsOverTheReceivedMbufsWithoutCopying) {
    EngineHarness h;
    tcp::ConnId c = h.establish_passive(1000);
    const std::string a(600, 'a'), b(700, 'b');  // above the coalescing size: each keeps its own mbuf
    h.send(kAck | kPsh, 1001, h.pinned_isn + 1, a);
    h.send(kAck | kPsh, 1601, h.pinned_isn + 1, b);
    rte_mbuf* m = h.engine.recv_chain(c);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 1300u);
    EXPECT_EQ(m->nb_segs, 2);
    std::string got(1300, '\0');
    const void* p = rte_pktmbuf_read(m, 0, 1300, got.data());
    if (p != got.data()) std::memcpy(got.data(), p, 1300);
    EXPECT_EQ(got, a + b);
    rte_pktmbuf_free(m);
    EXPECT_EQ(h.engine.recv_chain(c), nullptr);
}

// One-byte segments are copied into the tail mbuf's room: a peer cannot pin an mbuf per byte.
TEST(RecvBuffer, TinySegmentsShareAnMbuf) {
    EngineHarness h;
    tcp::ConnId c = h.establish_passive(1000);
    const unsigned before = rte_mempool_avail_count(pool());
    std::string sent;
    for (int i = 0; i < 500; ++i) {
        const std::string one(1, static_cast<char>('a' + i % 26));
        h.send(kAck, 1001 + i, h.pinned_isn + 1, one);
        sent += one;
    }
    h.drop_output();
    EXPECT_GE(rte_mempool_avail_count(pool()) + 2, before) << "500 bytes must not hold 500 mbufs";
    char buf[600];
    ASSERT_EQ(h.engine.recv(c, buf, sizeof buf), 500);
    EXPECT_EQ(std::string(buf, 500), sent);
}

}  // namespace
}  // namespace synack::test

namespace synack::test {
namespace {

// RFC 5961 §3.2 on the segment as sent: a RST whose data straddles RCV.NXT starts below it, so it is not "exactly
// RCV.NXT" and draws a challenge ACK; trimming it to the window first must not make it exact.
TEST(RstWithData, StraddlingRcvNxtIsChallengedNotAccepted) {
    EngineHarness h;
    tcp::ConnId c = h.establish_passive(1000);
    h.send(kRst | kAck, 1001 - 10, h.pinned_isn + 1, std::string(100, 'x'));
    Seg ack = h.one();
    EXPECT_EQ(ack.flags, kAck);
    EXPECT_EQ(ack.ack, 1001u);
    EXPECT_EQ(h.engine.state(c), State::established);
    EXPECT_EQ(h.engine.counters().rx_rst_challenged, 1u);
}

}  // namespace
}  // namespace synack::test
