// The textbook walk-through with pinned ISNs, between two synack engines wired back to back: every segment that
// crosses is recorded and checked field by field.
#include <gtest/gtest.h>

#include "engine_harness.hpp"

namespace synack::test {
namespace {

constexpr uint32_t kClientIp = ip4(10, 0, 0, 2);
constexpr uint32_t kServerIp = ip4(10, 0, 0, 1);
constexpr uint16_t kServerPort = 80;
constexpr uint16_t kClientPort = 40000;

struct Pair {
    uint32_t client_isn = 7001, server_isn = 3001;
    Engine client{test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{}};
    Engine server{test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{}};
    uint64_t now = 0;
    std::vector<Seg> c2s, s2c;  // what crossed, in order
    bool drop_next_c2s = false;

    Pair() {
        client.set_isn_hook([](void* c, const tcp::FourTuple&) { return *static_cast<uint32_t*>(c); }, &client_isn);
        server.set_isn_hook([](void* c, const tcp::FourTuple&) { return *static_cast<uint32_t*>(c); }, &server_isn);
    }
    ~Pair() {
        rte_mbuf* b[64];
        uint16_t n;
        while ((n = client.drain_tx(b, 64)) > 0) rte_pktmbuf_free_bulk(b, n);
        while ((n = server.drain_tx(b, 64)) > 0) rte_pktmbuf_free_bulk(b, n);
    }
    // Moves packets both ways until quiet, recording a decoded copy of each.
    void pump() {
        for (bool moved = true; moved;) {
            moved = false;
            rte_mbuf* b[64];
            uint16_t n;
            while ((n = client.drain_tx(b, 64)) > 0) {
                moved = true;
                for (uint16_t i = 0; i < n; ++i) {
                    c2s.push_back(peek(b[i]));
                    if (drop_next_c2s) {
                        drop_next_c2s = false;
                        rte_pktmbuf_free(b[i]);
                        continue;
                    }
                    server.input(b[i], now);
                }
            }
            while ((n = server.drain_tx(b, 64)) > 0) {
                moved = true;
                for (uint16_t i = 0; i < n; ++i) {
                    s2c.push_back(peek(b[i]));
                    client.input(b[i], now);
                }
            }
        }
    }
    void at_ms(uint64_t ms) {
        now = ms * 1000;
        client.advance(now);
        server.advance(now);
        pump();
    }
    static Seg peek(rte_mbuf* m) {
        rte_mbuf* copy = rte_pktmbuf_copy(m, pool(), 0, UINT32_MAX);
        return decode(copy);
    }
    State client_state() const {
        const tcp::Tcb* t = client.find(tcp::FourTuple{kClientIp, kServerIp, kClientPort, kServerPort});
        return t ? t->state : State::closed;
    }
    State server_state() const {
        const tcp::Tcb* t = server.find(tcp::FourTuple{kServerIp, kClientIp, kServerPort, kClientPort});
        return t ? t->state : State::closed;
    }
};

TEST(Textbook, ThreeWayHandshakeDataRetransmissionAndFourWayClose) {
    Pair p;
    ASSERT_GE(p.server.listen(kServerIp, kServerPort), 0);
    tcp::ConnId c;
    ASSERT_EQ(p.client.connect(kClientIp, kClientPort, kServerIp, kServerPort, 1, c), 0);
    p.pump();

    // SYN seq 7001; SYN+ACK seq 3001 ack 7002; ACK seq 7002 ack 3002.
    ASSERT_GE(p.c2s.size(), 2u);
    ASSERT_GE(p.s2c.size(), 1u);
    EXPECT_EQ(p.c2s[0].flags, kSyn);
    EXPECT_EQ(p.c2s[0].seq, 7001u);
    EXPECT_TRUE(p.c2s[0].opt.has_mss);
    EXPECT_EQ(p.c2s[0].opt.mss, 1460);
    EXPECT_EQ(p.s2c[0].flags, kSyn | kAck);
    EXPECT_EQ(p.s2c[0].seq, 3001u);
    EXPECT_EQ(p.s2c[0].ack, 7002u);
    EXPECT_TRUE(p.s2c[0].opt.has_mss);
    EXPECT_EQ(p.c2s[1].flags, kAck);
    EXPECT_EQ(p.c2s[1].seq, 7002u);
    EXPECT_EQ(p.c2s[1].ack, 3002u);
    EXPECT_EQ(p.client_state(), State::established);
    EXPECT_EQ(p.server_state(), State::established);
    tcp::ConnId s;
    p.server.dispatch([&](const Event& e) {
        if (e.type == EventType::accepted) s = e.conn;
    });
    p.client.dispatch([](const Event&) {});

    // Data: 100 bytes from the client at seq 7002 are acknowledged with ack 7102 (after the delayed-ACK wait).
    p.c2s.clear();
    p.s2c.clear();
    std::string data(100, 'x');
    ASSERT_EQ(p.client.send(c, data.data(), 100), 100);
    p.pump();
    ASSERT_EQ(p.c2s.size(), 1u);
    EXPECT_EQ(p.c2s[0].seq, 7002u);
    EXPECT_EQ(p.c2s[0].payload, data);
    EXPECT_TRUE(p.s2c.empty()) << "a lone small segment is acknowledged by the delayed ACK";
    p.at_ms(40);
    ASSERT_EQ(p.s2c.size(), 1u);
    EXPECT_EQ(p.s2c[0].flags, kAck);
    EXPECT_EQ(p.s2c[0].ack, 7102u);

    // A lost segment is sent again after the RTO with the same sequence number.
    p.c2s.clear();
    p.s2c.clear();
    p.drop_next_c2s = true;
    std::string more(200, 'y');
    ASSERT_EQ(p.client.send(c, more.data(), 200), 200);
    p.pump();
    ASSERT_EQ(p.c2s.size(), 1u);
    EXPECT_EQ(p.c2s[0].seq, 7102u);
    EXPECT_TRUE(p.s2c.empty());
    const uint32_t rto_ms = p.client.tcb(c)->rto_us / 1000;
    p.at_ms(40 + rto_ms - 1);
    EXPECT_EQ(p.c2s.size(), 1u) << "nothing is resent before the RTO";
    p.at_ms(40 + rto_ms + 1);
    ASSERT_GE(p.c2s.size(), 2u);
    EXPECT_EQ(p.c2s[1].seq, 7102u);
    EXPECT_EQ(p.c2s[1].payload, more);
    char buf[512];
    EXPECT_EQ(p.server.recv(s, buf, sizeof buf), 300);
    EXPECT_EQ(std::string(buf, 300), data + more);

    // The 4-way close, started by the client.
    p.c2s.clear();
    p.s2c.clear();
    const uint64_t t_close = 40 + rto_ms + 100;
    p.at_ms(t_close);
    ASSERT_EQ(p.client.close(c), 0);
    EXPECT_EQ(p.client_state(), State::fin_wait_1);
    p.client.advance(p.now);
    // Deliver the FIN only, then look at the server.
    rte_mbuf* b[8];
    ASSERT_EQ(p.client.drain_tx(b, 8), 1);
    Seg fin = Pair::peek(b[0]);
    EXPECT_EQ(fin.flags, kFin | kAck);
    EXPECT_EQ(fin.seq, 7302u);
    p.server.input(b[0], p.now);
    EXPECT_EQ(p.server_state(), State::close_wait);
    ASSERT_EQ(p.server.drain_tx(b, 8), 1);  // the ACK of the FIN
    Seg ack_of_fin = Pair::peek(b[0]);
    EXPECT_EQ(ack_of_fin.flags, kAck);
    EXPECT_EQ(ack_of_fin.ack, 7303u);
    p.client.input(b[0], p.now);
    EXPECT_EQ(p.client_state(), State::fin_wait_2);
    bool peer_closed = false;
    p.server.dispatch([&](const Event& e) { peer_closed |= e.type == EventType::peer_closed; });
    EXPECT_TRUE(peer_closed);
    ASSERT_EQ(p.server.close(s), 0);
    EXPECT_EQ(p.server_state(), State::last_ack);
    ASSERT_EQ(p.server.drain_tx(b, 8), 1);
    Seg server_fin = Pair::peek(b[0]);
    EXPECT_EQ(server_fin.flags, kFin | kAck);
    EXPECT_EQ(server_fin.seq, 3002u);
    p.client.input(b[0], p.now);
    EXPECT_EQ(p.client_state(), State::time_wait);
    ASSERT_EQ(p.client.drain_tx(b, 8), 1);
    Seg last_ack = Pair::peek(b[0]);
    EXPECT_EQ(last_ack.flags, kAck);
    EXPECT_EQ(last_ack.ack, 3003u);
    p.server.input(b[0], p.now);
    EXPECT_EQ(p.server_state(), State::closed);

    // TIME-WAIT lasts exactly 2 MSL (30 s MSL in test_config()).
    const uint64_t two_msl = 2 * 30000;
    p.at_ms(t_close + two_msl - 1);
    EXPECT_EQ(p.client_state(), State::time_wait);
    p.at_ms(t_close + two_msl);
    EXPECT_EQ(p.client_state(), State::closed);
    EXPECT_EQ(p.client.connections(), 0u);
    EXPECT_EQ(p.server.connections(), 0u);
}

}  // namespace
}  // namespace synack::test
