// Memory no peer can exhaust, and connections that cannot live forever on a peer's whim: budgets charged at true
// size, out-of-order floods bounded per connection and per engine, pruning newest first, windows under pressure,
// -EAGAIN at the send budget, the persist and user timeouts, the pressure abort's choice, and every mbuf back.
#include "engine_harness.hpp"

namespace synack::test {
namespace {

uint32_t truesize() { return rte_pktmbuf_data_room_size(pool()) + sizeof(rte_mbuf); }

/// Every test ends with the pool as it found it: whatever the engine held went back.
class Memory : public ::testing::Test {
protected:
    void SetUp() override { before_ = rte_mempool_in_use_count(pool()); }
    void TearDown() override { EXPECT_EQ(rte_mempool_in_use_count(pool()), before_) << "mbufs not returned"; }
    unsigned before_ = 0;
};

/// A passive connection from the peer's port `sport`; returns our ISS + 1 (the peer's first ACK number).
uint32_t open_from(EngineHarness& h, uint16_t sport, uint32_t peer_isn) {
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, sport, EngineHarness::kUsPort, kSyn, peer_isn, 0),
                   h.now);
    Seg synack = h.one();
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, sport, EngineHarness::kUsPort, kAck, peer_isn + 1,
                         synack.seq + 1),
                   h.now);
    h.drop_output();
    return synack.seq + 1;
}

void data_from(EngineHarness& h, uint16_t sport, uint32_t seq, uint32_t ack, const std::string& payload,
               uint16_t wnd = 65535) {
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, sport, EngineHarness::kUsPort, kAck, seq, ack,
                         payload, wnd),
                   h.now);
}

const tcp::Tcb* tcb_of(EngineHarness& h, uint16_t sport) {
    return h.engine.find(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, EngineHarness::kUsPort, sport});
}

// Unconfigured, the budgets come from the pool: an eighth of it kept for receiving, the engine's limit the pool
// less twice that, each connection twice its window.
TEST_F(Memory, BudgetsAreDerivedFromThePool) {
    EngineHarness h;
    const uint32_t size = pool()->size;
    const uint32_t reserve = std::max<uint32_t>(256, size / 8);
    const tcp::Engine::MemStats m = h.engine.mem_stats();
    EXPECT_EQ(m.rx_reserve, reserve);
    EXPECT_EQ(m.limit, uint64_t{size - 2 * reserve} * truesize());
    EXPECT_EQ(m.high, m.limit * 75 / 100);
    EXPECT_EQ(m.low, m.limit * 65 / 100);
    EXPECT_EQ(m.conn_rcv_limit, 2 * h.engine.config().rcv_buf);
    EXPECT_EQ(m.used, 0u);
    EXPECT_FALSE(m.pressure);
}

TEST_F(Memory, OneByteSegmentIsChargedAWholeMbuf) {
    EngineHarness h;
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack = open_from(h, 40000, 1000);
    EXPECT_EQ(h.engine.mem_stats().used, 0u);
    data_from(h, 40000, 1003, ack, "x");  // out of order: a hole at 1001
    EXPECT_EQ(h.engine.mem_stats().used, truesize());
    EXPECT_EQ(tcb_of(h, 40000)->mem_rcv, truesize());
    data_from(h, 40000, 1001, ack, "ab");  // fills the hole: all three bytes in order
    h.drop_output();
    EXPECT_EQ(h.engine.mem_stats().used, tcb_of(h, 40000)->rcv_buf.truesize);
    EXPECT_EQ(tcb_of(h, 40000)->rcv_buf.bytes, 3u);
}

// 16 one-byte segments just past a hole: the connection's budget (4 mbufs) holds four, the rest are counted drops.
TEST_F(Memory, OutOfOrderFloodIsBoundedPerConnection) {
    TcpConfig cfg = test_config();
    cfg.conn_rcv_mem = 4 * truesize();
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack = open_from(h, 40000, 1000);
    for (uint32_t i = 0; i < 16; ++i) data_from(h, 40000, 1002 + 2 * i, ack, "z");
    h.drop_output();
    EXPECT_LE(h.engine.mem_stats().used, 4u * truesize());
    EXPECT_EQ(tcb_of(h, 40000)->ooo->count, 4u);
    EXPECT_EQ(h.engine.counters().rx_mem_dropped, 12u);
}

// Many connections each flooding out-of-order segments: the engine never holds more than its high watermark.
TEST_F(Memory, OutOfOrderFloodIsBoundedPerEngine) {
    TcpConfig cfg = test_config();
    cfg.mem_limit = 100ull * truesize();
    cfg.mem_pressure_pct = 60;
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    std::vector<uint32_t> acks;
    for (uint16_t c = 0; c < 40; ++c) acks.push_back(open_from(h, static_cast<uint16_t>(41000 + c), 1000));
    uint64_t peak = 0;
    for (uint32_t i = 0; i < 16; ++i)
        for (uint16_t c = 0; c < 40; ++c) {
            data_from(h, static_cast<uint16_t>(41000 + c), 1002 + 2 * i, acks[c], "z");
            peak = std::max(peak, h.engine.mem_stats().used);
            h.drop_output();
        }
    EXPECT_LE(peak, h.engine.mem_stats().high);
    EXPECT_GT(h.engine.counters().rx_mem_dropped + h.engine.counters().ooo_pruned, 0u);
    // A legitimate in-order segment still gets in under pressure.
    data_from(h, 41000, 1001, acks[0], "hello");
    EXPECT_GE(tcb_of(h, 41000)->rcv_nxt.raw(), 1006u);
}

// Over the connection's budget, the held range farthest from RCV.NXT goes first (RFC 2018 §8 allows reneging).
TEST_F(Memory, PruningTakesTheNewestRangeFirst) {
    TcpConfig cfg = test_config();
    cfg.conn_rcv_mem = 3 * truesize();
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack = open_from(h, 40000, 1000);
    data_from(h, 40000, 1011, ack, "b");
    data_from(h, 40000, 1021, ack, "c");
    data_from(h, 40000, 1031, ack, "d");
    data_from(h, 40000, 1006, ack, "a");  // older than all held: 1031 is pruned for it
    h.drop_output();
    const tcp::ReassemblyBlock* ooo = tcb_of(h, 40000)->ooo;
    ASSERT_NE(ooo, nullptr);
    ASSERT_EQ(ooo->count, 3u);
    EXPECT_EQ(ooo->seg[0].seq.raw(), 1006u);
    EXPECT_EQ(ooo->seg[1].seq.raw(), 1011u);
    EXPECT_EQ(ooo->seg[2].seq.raw(), 1021u);
    EXPECT_EQ(h.engine.counters().ooo_pruned, 1u);
    data_from(h, 40000, 1041, ack, "e");  // newer than all held: refused itself, nothing older pruned
    EXPECT_EQ(h.engine.counters().ooo_pruned, 1u);
    EXPECT_EQ(h.engine.counters().rx_mem_dropped, 1u);
    h.drop_output();
}

// Under pressure a new connection is offered a few segments' window, not the whole buffer.
TEST_F(Memory, WindowShrinksUnderPressure) {
    TcpConfig cfg = test_config();
    cfg.mem_limit = 10ull * truesize();
    cfg.mem_pressure_pct = 50;
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack = open_from(h, 40000, 1000);
    uint32_t seq = 1001;
    // Full-sized segments, unread: collapsing cannot save anything.
    for (int i = 0; i < 6; ++i, seq += 1460) data_from(h, 40000, seq, ack, std::string(1460, 'q'));
    h.drop_output();
    ASSERT_TRUE(h.engine.mem_stats().pressure);
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, 40001, EngineHarness::kUsPort, kSyn, 5000, 0),
                   h.now);
    const Seg synack = h.one();
    EXPECT_EQ(synack.wnd, 4u * h.engine.config().mss);
    EXPECT_EQ(h.engine.counters().mem_pressure_entered, 1u);
}

TEST_F(Memory, SendIsRefusedWithEagainAtTheBudget) {
    TcpConfig cfg = test_config();
    cfg.conn_snd_mem = 4 * truesize();
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    const std::string data(10000, 'd');
    EXPECT_EQ(h.engine.send_space(c), 4u * 536);  // the peer sent no MSS option: 536-byte mbufs
    EXPECT_EQ(h.engine.send(c, data.data(), 10000), 4 * 536);
    EXPECT_EQ(h.engine.send(c, data.data(), 10000), -tcp::kErrAgain);
    EXPECT_EQ(h.engine.send_space(c), 0u);
    EXPECT_EQ(h.engine.counters().snd_refused_mem, 1u);
    h.drop_output();
    // The peer acknowledges it all: memory is back, so is `writable`, and sending works again.
    h.send(kAck, 1001, h.pinned_isn + 1 + 4 * 536);
    bool writable = false;
    for (const Event& e : h.events()) writable |= e.type == EventType::writable;
    EXPECT_TRUE(writable);
    EXPECT_EQ(h.engine.send(c, data.data(), 100), 100);
    h.drop_output();
}

TEST_F(Memory, EngineBudgetRefusesSendsToo) {
    TcpConfig cfg = test_config();
    cfg.mem_limit = 3ull * truesize();
    cfg.mem_pressure_pct = 100;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    const std::string data(10000, 'd');
    EXPECT_EQ(h.engine.send(c, data.data(), 10000), 3 * 536);
    EXPECT_EQ(h.engine.send(c, data.data(), 1), -tcp::kErrAgain);
    h.drop_output();
}

// A peer that answers every zero-window probe but never opens its window is reset after persist_timeout_ms.
TEST_F(Memory, PersistTimeoutEndsAZeroWindowReader) {
    TcpConfig cfg = test_config();
    cfg.persist_timeout_ms = 5000;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    const uint32_t iss = h.pinned_isn;
    h.send(kAck, 1001, iss + 1, "", 0);  // window closed
    ASSERT_EQ(h.engine.send(c, "hello", 5), 5);
    h.none();
    std::string types;
    bool rst = false;
    for (uint64_t t = 0; t <= 20000 && types.empty(); t += 50) {
        h.at_ms(t);
        for (const Seg& s : h.out()) {
            if (s.has(kRst)) rst = true;
            else if (s.payload.size() == 1) h.send(kAck, 1001, iss + 1, "", 0);  // answers the probe, still 0
        }
        types = event_types(h.events());
        if (!types.empty()) {
            EXPECT_GE(t, 5000u);
        }
    }
    EXPECT_EQ(types, "persist_timed_out");
    EXPECT_TRUE(rst);
    EXPECT_EQ(h.engine.counters().conn_persist_timed_out, 1u);
    EXPECT_EQ(h.state(), State::closed);
}

// Data the peer never acknowledges: given up after user_timeout_ms, long before the retransmission limit.
TEST_F(Memory, UserTimeoutEndsUnacknowledgedData) {
    TcpConfig cfg = test_config();
    cfg.user_timeout_ms = 3000;
    cfg.max_retransmits = 100;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    ASSERT_EQ(h.engine.send(c, "hello", 5), 5);
    std::string types;
    uint64_t when = 0;
    for (uint64_t t = 0; t <= 60000 && types.empty(); t += 50) {
        h.at_ms(t);
        h.drop_output();
        types = event_types(h.events());
        when = t;
    }
    EXPECT_EQ(types, "user_timed_out");
    EXPECT_GE(when, 3000u);
    EXPECT_LE(when, 8000u);  // checked at each RTO: 1, 3, 7 s
    EXPECT_EQ(h.engine.counters().conn_user_timed_out, 1u);
    EXPECT_EQ(h.engine.counters().conn_timed_out, 0u);
}

// Under pressure with nothing left to prune, the connection holding the most memory for the least progress is
// reset; one that holds less and keeps receiving is spared.
TEST_F(Memory, PressureAbortPicksTheWorstConnection) {
    TcpConfig cfg = test_config();
    cfg.mem_limit = 40ull * truesize();
    cfg.mem_pressure_pct = 50;
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack_a = open_from(h, 40000, 1000);
    const uint32_t ack_b = open_from(h, 40001, 1000);
    const uint32_t ack_c = open_from(h, 40002, 1000);
    uint32_t seq_a = 1001, seq_b = 1001, seq_c = 1001;
    // Full-sized segments, unread: collapsing cannot save anything.
    for (int i = 0; i < 16; ++i, seq_a += 1460) data_from(h, 40000, seq_a, ack_a, std::string(1460, 'a'));
    for (int i = 0; i < 3; ++i, seq_c += 1460) data_from(h, 40002, seq_c, ack_c, std::string(1460, 'c'));
    h.drop_output();
    for (uint64_t t = 10; t <= 1000; t += 10) {  // b holds little and makes progress all along
        h.at_ms(t);
        data_from(h, 40001, seq_b, ack_b, "b");
        ++seq_b;
        h.drop_output();
    }
    EXPECT_EQ(tcb_of(h, 40000), nullptr) << "a: most memory, least progress";
    EXPECT_NE(tcb_of(h, 40001), nullptr);
    EXPECT_NE(tcb_of(h, 40002), nullptr);
    EXPECT_EQ(h.engine.counters().conn_aborted_memory, 1u);
    EXPECT_FALSE(h.engine.mem_stats().pressure);
}

// Pressure that lasts with memory held between the watermarks (no one over the high one) still ends: after a
// while, idle connections are reset, worst first, down to the low watermark.
TEST_F(Memory, SustainedPressureResetsIdleConnections) {
    TcpConfig cfg = test_config();
    cfg.mem_limit = 40ull * truesize();
    cfg.mem_pressure_pct = 50;  // high 20 mbufs, low 16
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const uint32_t ack_a = open_from(h, 40000, 1000);
    h.events();
    const uint32_t ack_b = open_from(h, 40001, 1000);
    const auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    const tcp::ConnId b = ev[0].conn;
    for (uint32_t i = 0; i < 15; ++i) data_from(h, 40000, 1001 + 1460 * i, ack_a, std::string(1460, 'a'));
    for (uint32_t i = 0; i < 6; ++i) data_from(h, 40001, 1001 + 1460 * i, ack_b, std::string(1460, 'b'));
    ASSERT_TRUE(h.engine.mem_stats().pressure);
    char buf[2920];
    ASSERT_EQ(h.engine.recv(b, buf, sizeof buf), 2920);  // 19 mbufs held: below the high watermark, above the low
    h.events();
    for (uint64_t t = 10; t < 1900; t += 10) h.at_ms(t);
    EXPECT_NE(tcb_of(h, 40000), nullptr) << "not yet: the pressure has not lasted";
    EXPECT_TRUE(h.engine.mem_stats().pressure);
    for (uint64_t t = 1900; t <= 2500; t += 10) h.at_ms(t);
    h.drop_output();
    EXPECT_EQ(tcb_of(h, 40000), nullptr) << "a: most memory, idle";
    EXPECT_NE(tcb_of(h, 40001), nullptr);
    EXPECT_EQ(h.engine.counters().conn_aborted_memory, 1u);
    EXPECT_FALSE(h.engine.mem_stats().pressure);
}

TEST_F(Memory, FinWait2AndHalfOpenTimeoutsAreCounted) {
    TcpConfig cfg = test_config();
    cfg.fin_wait_2_timeout_ms = 2000;
    cfg.syn_retransmits = 2;
    EngineHarness h(cfg);
    tcp::ConnId c = h.establish_passive(1000);
    ASSERT_EQ(h.engine.close(c), 0);
    const Seg fin = h.one();
    h.send(kAck, 1001, fin.seq + 1);  // FIN acknowledged: FIN-WAIT-2, then silence
    ASSERT_EQ(h.state(), State::fin_wait_2);
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, 40001, EngineHarness::kUsPort, kSyn, 7000, 0),
                   h.now);  // a SYN never completed
    for (uint64_t t = 0; t <= 10000; t += 100) {
        h.at_ms(t);
        h.drop_output();
    }
    EXPECT_EQ(h.state(), State::closed);
    EXPECT_EQ(h.engine.counters().fin_wait_2_timed_out, 1u);
    EXPECT_EQ(h.engine.counters().half_open_timed_out, 1u);
    EXPECT_EQ(h.engine.connections(), 0u);
}

}  // namespace
}  // namespace synack::test
