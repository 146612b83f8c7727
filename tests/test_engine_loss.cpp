// The sender side segment by segment: the per-state gauge, congestion control through its interface, and loss
// recovery (fast retransmit, limited transmit, NewReno partial ACKs, PRR), each against exact expected output at
// an injected time. Time: 1 cycle = 1 µs.
#include "bytes.hpp"
#include "engine_harness.hpp"

namespace synack::test {
namespace {

constexpr uint32_t kPeerIsn = 1000;
constexpr uint32_t kRcvNxt = kPeerIsn + 1;
constexpr uint32_t kIss = 3000;
constexpr uint32_t kMss = 1000;  // the peer's MSS option: round numbers

uint64_t gauge(const EngineHarness& h, State s) { return h.engine.counters().conn_in_state[unsigned(s)]; }

// ======================= set_state gauges =======================

TEST(StateGauge, FollowsOneConnectionThroughActiveClose) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    EXPECT_EQ(gauge(h, State::syn_received), 1u);
    EXPECT_EQ(gauge(h, State::established), 0u);
    h.send(kAck, kRcvNxt, kIss + 1);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(gauge(h, State::syn_received), 0u);
    EXPECT_EQ(gauge(h, State::established), 1u);
    ASSERT_EQ(h.engine.close(ev[0].conn), 0);
    h.out();
    EXPECT_EQ(gauge(h, State::established), 0u);
    EXPECT_EQ(gauge(h, State::fin_wait_1), 1u);
    h.send(kAck, kRcvNxt, kIss + 2);
    EXPECT_EQ(gauge(h, State::fin_wait_1), 0u);
    EXPECT_EQ(gauge(h, State::fin_wait_2), 1u);
    h.send(kFin | kAck, kRcvNxt, kIss + 2);
    h.out();
    EXPECT_EQ(gauge(h, State::fin_wait_2), 0u);
    EXPECT_EQ(gauge(h, State::time_wait), 1u);
    h.at_ms(61000);  // 2 MSL (msl_ms 30 s) later the TCB is freed
    for (unsigned s = 0; s < 11; ++s) EXPECT_EQ(h.engine.counters().conn_in_state[s], 0u) << to_string(State(s));
}

TEST(StateGauge, CountsSeveralConnectionsAndAResetOne) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    for (uint16_t p = 1; p <= 3; ++p) h.send_from(static_cast<uint16_t>(40000 + p), EngineHarness::kUsPort, kSyn, 5000, 0);
    h.out();
    EXPECT_EQ(gauge(h, State::syn_received), 3u);
    h.send_from(40001, EngineHarness::kUsPort, kRst, 5001, 0);
    EXPECT_EQ(gauge(h, State::syn_received), 2u);
    tcp::ConnId c;
    ASSERT_EQ(h.engine.connect(EngineHarness::kUs, 81, EngineHarness::kThem, 9, 0, c), 0);
    h.out();
    EXPECT_EQ(gauge(h, State::syn_sent), 1u);
    ASSERT_EQ(h.engine.abort(c), 0);
    EXPECT_EQ(gauge(h, State::syn_sent), 0u);
    EXPECT_EQ(gauge(h, State::syn_received), 2u);
}

}  // namespace
}  // namespace synack::test
