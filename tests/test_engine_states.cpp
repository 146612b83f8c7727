// Every arrow of RFC 9293 Figure 5 (§3.3.2), one test each: a crafted segment (or user call) at an explicit
// time, the exact reply (flags, seq, ack, window, options), the new state and the events.
//
// The engine's ISN is pinned to 3000 (so SND.NXT = 3001 after the SYN), the scripted peer's is 1300 (RCV.NXT =
// 1301). With nothing unread our advertised window is the whole 65535-byte receive buffer.
//
// Figure 5's LISTEN -> SYN-SENT arrow (SEND on a passive connection whose remote socket is specified turns it
// active, RFC 9293 §3.10.2) is not applicable: the engine's listen() returns a listener id, not a connection, and
// send() takes only connection handles, so nothing can be SENT from LISTEN and there is no test for it.
#include <gtest/gtest.h>

#include "engine_harness.hpp"

namespace synack::test {
namespace {

// Every arrow once per address family: the same exact replies over IPv4 and IPv6 (only our MSS differs).
class Figure5 : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Figure5, ::testing::Values(Family::v4, Family::v6), family_name);

using tcp::ConnId;

constexpr uint32_t kIss = 3000;      // our pinned ISN
constexpr uint32_t kPeerIsn = 1300;  // the scripted peer's ISN
constexpr uint16_t kWnd = 65535;     // our receive window with nothing unread
constexpr uint16_t kMss4 = 1460;     // our MSS over IPv4 (TcpConfig default); h.mss() is 20 less over IPv6
constexpr uint64_t kTwoMslMs = 2 * 30000;  // test_config(): MSL 30 s

// ---- CLOSED -> LISTEN ----

TEST_P(Figure5, ClosedToListenOnPassiveOpen) {
    EngineHarness h{GetParam()};
    // CLOSED: a SYN to port 80 is refused.
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kRst | kAck, 0, kPeerIsn + 1, 0);
    // listen() is the passive OPEN: the first listener gets id 0 and the port now answers SYNs.
    EXPECT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    EXPECT_EQ(h.engine.connections(), 0u);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", h.mss());
    // A second passive OPEN on the same port is refused.
    EXPECT_EQ(h.engine.listen(0, EngineHarness::kUsPort), -tcp::kErrInUse);
}

// ---- LISTEN -> SYN-RECEIVED: rcv SYN, snd SYN,ACK ----

TEST_P(Figure5, ListenToSynReceivedOnSyn) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const TcpOptions mss = mss_option(1460);
    h.send(kSyn, kPeerIsn, 0, "", 65535, &mss);
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> with our MSS (MUST-14).
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", h.mss());
    EXPECT_EQ(h.state(), State::syn_received);
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_TRUE(h.tcb()->passive);  // MUST-11
    EXPECT_EQ(h.tcb()->irs.raw(), kPeerIsn);
    EXPECT_EQ(h.tcb()->snd_nxt.raw(), kIss + 1);
    EXPECT_EQ(h.engine.connections(), 1u);
    EXPECT_EQ(event_types(h.events()), "");  // nothing for the user until ESTABLISHED
}

TEST_P(Figure5, ListenToSynReceivedSendsOurMssEvenWhenPeerSentNone) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);  // no options at all
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", h.mss());
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.tcb()->snd_mss, 536);  // MUST-15
}

// ---- CLOSED -> SYN-SENT: active OPEN, snd SYN ----

TEST_P(Figure5, ClosedToSynSentOnActiveOpen) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    EXPECT_EQ(h.state(), State::syn_sent);
    EXPECT_EQ(h.engine.state(c), State::syn_sent);
    EXPECT_EQ(event_types(h.events()), "");
}

// ---- SYN-SENT -> ESTABLISHED: rcv SYN,ACK, snd ACK ----

TEST_P(Figure5, SynSentToEstablishedOnSynAck) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    h.at_ms(20);
    const TcpOptions mss = mss_option(1460);
    h.send(kSyn | kAck, kPeerIsn, kIss + 1, "", 65535, &mss);
    EXPECT_SEG(h.one(), kAck, kIss + 1, kPeerIsn + 1, kWnd);
    EXPECT_EQ(h.state(), State::established);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "connected");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(ev[0].user, 7u);
    // The SYN is acknowledged: no retransmission follows.
    h.at_ms(5000);
    h.none();
}

// ---- SYN-SENT -> SYN-RECEIVED: simultaneous open, rcv SYN, snd SYN,ACK ----

TEST_P(Figure5, SynSentToSynReceivedOnSyn) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    h.send(kSyn, kPeerIsn, 0);
    // MUST-10: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, the same ISS as our SYN.
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", h.mss());
    EXPECT_EQ(h.state(), State::syn_received);
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_FALSE(h.tcb()->passive);  // MUST-11: it came from an active open
    EXPECT_EQ(event_types(h.events()), "");
    // The peer's ACK of our SYN completes it (SYN-RECEIVED -> ESTABLISHED), silently.
    h.send(kAck, kPeerIsn + 1, kIss + 1);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "connected");
    EXPECT_EQ(ev[0].conn, c);
}

// ---- SYN-RECEIVED -> ESTABLISHED: rcv ACK of SYN ----

TEST_P(Figure5, SynReceivedToEstablishedOnAckOfSyn) {
    EngineHarness h{GetParam()};
    const int l = h.engine.listen(0, EngineHarness::kUsPort);
    ASSERT_EQ(l, 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.at_ms(30);
    h.send(kAck, kPeerIsn + 1, kIss + 1);
    h.none();  // an ACK is not ACKed
    EXPECT_EQ(h.state(), State::established);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    EXPECT_EQ(ev[0].listener, l);
    EXPECT_EQ(h.engine.state(ev[0].conn), State::established);
    // The SYN,ACK is acknowledged: it is not sent again.
    h.at_ms(5000);
    h.none();
}

// ---- SYN-RECEIVED -> LISTEN on RST (passive open, MUST-11) ----

TEST_P(Figure5, SynReceivedToListenOnRstWhenPassive) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.send(kRst, kPeerIsn + 1, 0);
    h.none();
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(event_types(h.events()), "");
    // Back in LISTEN: the listener still accepts the 4-tuple.
    h.send(kSyn, 9000, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, 9001, kWnd, "", h.mss());
    EXPECT_EQ(h.state(), State::syn_received);
    // Nor does the SYN,ACK of the reset connection come back at its RTO: only the new one's, once.
    h.at_ms(1000);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, 9001, kWnd, "", h.mss());
}

// ---- SYN-RECEIVED -> CLOSED on RST (active open, after a simultaneous open) ----

TEST_P(Figure5, SynReceivedToClosedOnRstWhenActive) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    ASSERT_EQ(h.state(), State::syn_received);
    h.send(kRst, kPeerIsn + 1, 0);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "reset");  // "connection refused"
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(ev[0].user, 7u);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.state(c), State::closed);
    EXPECT_EQ(h.engine.connections(), 0u);
    // CLOSED, not LISTEN: a new SYN is refused.
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kRst | kAck, 0, kPeerIsn + 1, 0);
    h.at_ms(10000);
    h.none();
}

// ---- SYN-RECEIVED -> FIN-WAIT-1 on CLOSE (FIN once ESTABLISHED, RFC 9293 §3.10.4) ----

TEST_P(Figure5, SynReceivedToFinWait1OnClose) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    ASSERT_EQ(h.state(), State::syn_received);
    EXPECT_EQ(h.engine.close(c), 0);
    h.none();  // the FIN waits for ESTABLISHED
    EXPECT_EQ(h.state(), State::syn_received);
    h.send(kAck, kPeerIsn + 1, kIss + 1);
    EXPECT_SEG(h.one(), kFin | kAck, kIss + 1, kPeerIsn + 1, kWnd);
    EXPECT_EQ(h.state(), State::fin_wait_1);
    EXPECT_EQ(event_types(h.events()), "connected");
    // SEND after CLOSE is refused (§3.10.2: "connection closing").
    EXPECT_EQ(h.engine.send(c, "x", 1), -tcp::kErrClosing);
    h.send(kAck, kPeerIsn + 1, kIss + 2);
    h.none();
    EXPECT_EQ(h.state(), State::fin_wait_2);
}

// ---- ESTABLISHED -> FIN-WAIT-1 on CLOSE: snd FIN ----

TEST_P(Figure5, EstablishedToFinWait1OnClose) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    h.at_ms(100);
    EXPECT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kIss + 1, kPeerIsn + 1, kWnd);
    EXPECT_EQ(h.state(), State::fin_wait_1);
    EXPECT_EQ(event_types(h.events()), "");
    // A second CLOSE is refused.
    EXPECT_EQ(h.engine.close(c), -tcp::kErrClosing);
    h.none();
}

// ---- ESTABLISHED -> CLOSE-WAIT: rcv FIN, snd ACK ----

TEST_P(Figure5, EstablishedToCloseWaitOnFin) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    h.at_ms(100);
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 1);
    EXPECT_SEG(h.one(), kAck, kIss + 1, kPeerIsn + 2, kWnd);  // at once, not delayed
    EXPECT_EQ(h.state(), State::close_wait);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "peer_closed");
    EXPECT_EQ(ev[0].conn, c);
    h.at_ms(1000);
    h.none();
}

// With set_delayed_fin_ack (Channel connections), the ACK of that FIN waits for the delayed-ACK timer: a close()
// within it sends one FIN+ACK; without one the ACK goes out when the timer fires (40 ms), not before.
ConnId fin_at_100ms_with_delayed_ack(EngineHarness& h) {
    ConnId c = h.establish_passive(kPeerIsn);
    EXPECT_EQ(h.engine.set_delayed_fin_ack(c, true), 0);
    h.at_ms(100);
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 1);
    h.none();  // no ACK yet
    EXPECT_EQ(h.state(), State::close_wait);
    EXPECT_EQ(event_types(h.events()), "peer_closed");
    return c;
}

TEST_P(Figure5, DelayedFinAckRidesOnAPromptClose) {
    EngineHarness h{GetParam()};
    ConnId c = fin_at_100ms_with_delayed_ack(h);
    h.at_ms(101);
    EXPECT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kIss + 1, kPeerIsn + 2, kWnd);  // the FIN carries the ACK of the peer's FIN
    EXPECT_EQ(h.state(), State::last_ack);
    h.at_ms(200);
    h.none();  // the delayed ACK was paid by the FIN: nothing more
}

TEST_P(Figure5, DelayedFinAckGoesOutWithTheDelayedAckTimer) {
    EngineHarness h{GetParam()};
    fin_at_100ms_with_delayed_ack(h);
    h.at_ms(139);
    h.none();
    h.at_ms(141);
    EXPECT_SEG(h.one(), kAck, kIss + 1, kPeerIsn + 2, kWnd);
    EXPECT_EQ(h.state(), State::close_wait);
    EXPECT_EQ(h.engine.set_delayed_fin_ack(ConnId{}, true), -tcp::kErrInvalid);
}

// ---- FIN-WAIT-1 -> FIN-WAIT-2: rcv ACK of FIN ----

TEST_P(Figure5, FinWait1ToFinWait2OnAckOfFin) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    h.at_ms(50);
    h.send(kAck, kPeerIsn + 1, kIss + 2);
    h.none();
    EXPECT_EQ(h.state(), State::fin_wait_2);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(5000);  // the FIN is acknowledged: not sent again
    h.none();
}

// ---- FIN-WAIT-1 -> CLOSING -> TIME-WAIT: simultaneous close ----

TEST_P(Figure5, FinWait1ToClosingOnFinThenTimeWaitOnAckOfFin) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    // The peer's FIN crosses ours: it does not acknowledge our FIN.
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 1);
    EXPECT_SEG(h.one(), kAck, kIss + 2, kPeerIsn + 2, kWnd);
    EXPECT_EQ(h.state(), State::closing);
    EXPECT_EQ(event_types(h.events()), "peer_closed");
    h.send(kAck, kPeerIsn + 2, kIss + 2);
    h.none();
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(event_types(h.events()), "closed");
}

// ---- FIN-WAIT-1 -> TIME-WAIT: rcv FIN and the ACK of our FIN together ----

TEST_P(Figure5, FinWait1ToTimeWaitOnFinAck) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 2);
    EXPECT_SEG(h.one(), kAck, kIss + 2, kPeerIsn + 2, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(event_types(h.events()), "peer_closed,closed");
}

// ---- FIN-WAIT-2 -> TIME-WAIT: rcv FIN, snd ACK ----

TEST_P(Figure5, FinWait2ToTimeWaitOnFin) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    h.send(kAck, kPeerIsn + 1, kIss + 2);
    h.none();
    ASSERT_EQ(h.state(), State::fin_wait_2);
    h.at_ms(500);
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 2);
    EXPECT_SEG(h.one(), kAck, kIss + 2, kPeerIsn + 2, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(event_types(h.events()), "peer_closed,closed");
}

// ---- CLOSE-WAIT -> LAST-ACK -> CLOSED ----

TEST_P(Figure5, CloseWaitToLastAckOnCloseThenClosedOnAckOfFin) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 1);
    h.out();
    ASSERT_EQ(event_types(h.events()), "peer_closed");
    h.at_ms(200);
    EXPECT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kIss + 1, kPeerIsn + 2, kWnd);
    EXPECT_EQ(h.state(), State::last_ack);
    h.at_ms(210);
    h.send(kAck, kPeerIsn + 2, kIss + 2);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "closed");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.state(c), State::closed);
    EXPECT_EQ(h.engine.send(c, "x", 1), -tcp::kErrInvalid);  // the handle is stale
    h.at_ms(5000);
    h.none();
}

// ---- TIME-WAIT -> CLOSED after exactly 2 MSL (MUST-13) ----

TEST_P(Figure5, TimeWaitToClosedAfterExactlyTwoMsl) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_passive(kPeerIsn);
    h.at_ms(1000);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    h.at_ms(1200);  // TIME-WAIT starts here
    h.send(kFin | kAck, kPeerIsn + 1, kIss + 2);
    EXPECT_SEG(h.one(), kAck, kIss + 2, kPeerIsn + 2, kWnd);
    ASSERT_EQ(h.state(), State::time_wait);
    h.events();
    h.at_ms(1200 + kTwoMslMs - 1);
    EXPECT_EQ(h.state(), State::time_wait) << "TIME-WAIT ended a millisecond early";
    EXPECT_EQ(h.engine.connections(), 1u);
    h.at_ms(1200 + kTwoMslMs);
    EXPECT_EQ(h.state(), State::closed);
    EXPECT_EQ(h.engine.connections(), 0u);
    h.none();
    EXPECT_EQ(event_types(h.events()), "");  // "closed" was reported on entering TIME-WAIT
}

// ---- SYN-SENT -> CLOSED on CLOSE: no segment ----

TEST_P(Figure5, SynSentToClosedOnCloseSendsNothing) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    EXPECT_EQ(h.engine.close(c), 0);
    h.none();
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(1000);  // no SYN retransmission
    h.none();
    // A late SYN,ACK finds no connection: <SEQ=SEG.ACK><CTL=RST>.
    h.send(kSyn | kAck, kPeerIsn, kIss + 1);
    EXPECT_SEG(h.one(), kRst, kIss + 1, 0, 0);
}

// ---- SYN-SENT -> CLOSED on RST,ACK: connection refused ----

TEST_P(Figure5, SynSentToClosedOnRstAck) {
    EngineHarness h{GetParam()};
    ConnId c;
    ASSERT_EQ(h.connect(7, c),
              0);
    h.out();
    h.at_ms(3);
    h.send(kRst | kAck, 0, kIss + 1);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "reset");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(ev[0].user, 7u);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    h.at_ms(1000);
    h.none();
}

// ---- Two engines back to back ----

constexpr uint32_t kAIp = ip4(10, 0, 0, 2);
constexpr uint32_t kBIp = ip4(10, 0, 0, 1);
constexpr uint16_t kAPort = 40000;
constexpr uint16_t kBPort = 80;
constexpr uint32_t kAIsn = 7001;
constexpr uint32_t kBIsn = 3001;

/// Engines A (10.0.0.2:40000, ISN 7001) and B (10.0.0.1:80, ISN 3001). cross() takes what both have queued and
/// only then delivers it, so segments sent "at the same time" really cross on the wire.
struct CrossedPair {
    uint32_t a_isn = kAIsn, b_isn = kBIsn;
    Engine a{test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{}};
    Engine b{test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{}};
    uint64_t now = 0;

    struct Crossing {
        std::vector<Seg> a2b, b2a;
    };

    CrossedPair() {
        a.set_isn_hook([](void* x, const tcp::FourTuple&) { return *static_cast<uint32_t*>(x); }, &a_isn);
        b.set_isn_hook([](void* x, const tcp::FourTuple&) { return *static_cast<uint32_t*>(x); }, &b_isn);
    }
    ~CrossedPair() {
        for (rte_mbuf* m : drain(a)) rte_pktmbuf_free(m);
        for (rte_mbuf* m : drain(b)) rte_pktmbuf_free(m);
    }
    static std::vector<rte_mbuf*> drain(Engine& e) {
        std::vector<rte_mbuf*> v;
        rte_mbuf* buf[64];
        uint16_t n;
        while ((n = e.drain_tx(buf, 64)) > 0) v.insert(v.end(), buf, buf + n);
        return v;
    }
    static Seg peek(rte_mbuf* m) { return decode(rte_pktmbuf_copy(m, pool(), 0, UINT32_MAX)); }
    Crossing cross() {
        Crossing x;
        std::vector<rte_mbuf*> from_a = drain(a), from_b = drain(b);
        for (rte_mbuf* m : from_a) x.a2b.push_back(peek(m));
        for (rte_mbuf* m : from_b) x.b2a.push_back(peek(m));
        for (rte_mbuf* m : from_a) b.input(m, now);
        for (rte_mbuf* m : from_b) a.input(m, now);
        return x;
    }
    void at_ms(uint64_t ms) {
        now = ms * 1000;
        a.advance(now);
        b.advance(now);
    }
    State a_state() const {
        const tcp::Tcb* t = a.find(tcp::FourTuple{kAIp, kBIp, kAPort, kBPort});
        return t ? t->state : State::closed;
    }
    State b_state() const {
        const tcp::Tcb* t = b.find(tcp::FourTuple{kBIp, kAIp, kBPort, kAPort});
        return t ? t->state : State::closed;
    }
    static std::vector<Event> events(Engine& e) {
        std::vector<Event> v;
        e.dispatch([&](const Event& ev) { v.push_back(ev); });
        return v;
    }
};

// RFC 9293 §3.5 Figure 7: both ends SYN-SENT -> SYN-RECEIVED -> ESTABLISHED.
TEST(Figure5TwoEngines, SimultaneousOpenBetweenTwoEngines) {
    CrossedPair p;
    ConnId ca, cb;
    ASSERT_EQ(p.a.connect(kAIp, kAPort, kBIp, kBPort, 1, ca), 0);
    ASSERT_EQ(p.b.connect(kBIp, kBPort, kAIp, kAPort, 2, cb), 0);
    EXPECT_EQ(p.a_state(), State::syn_sent);
    EXPECT_EQ(p.b_state(), State::syn_sent);

    // The SYNs cross.
    auto x = p.cross();
    ASSERT_EQ(x.a2b.size(), 1u);
    ASSERT_EQ(x.b2a.size(), 1u);
    EXPECT_SEG_ANY(x.a2b[0], kSyn, kAIsn, 0, kWnd, "", kMss4);
    EXPECT_SEG_ANY(x.b2a[0], kSyn, kBIsn, 0, kWnd, "", kMss4);
    EXPECT_EQ(p.a_state(), State::syn_received);
    EXPECT_EQ(p.b_state(), State::syn_received);

    // Each answers with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; these cross too.
    x = p.cross();
    ASSERT_EQ(x.a2b.size(), 1u);
    ASSERT_EQ(x.b2a.size(), 1u);
    EXPECT_SEG_ANY(x.a2b[0], kSyn | kAck, kAIsn, kBIsn + 1, kWnd, "", kMss4);
    EXPECT_SEG_ANY(x.b2a[0], kSyn | kAck, kBIsn, kAIsn + 1, kWnd, "", kMss4);

    // A SYN,ACK at SEG.SEQ = RCV.NXT - 1 fails §3.10.7.4's acceptability test: each end answers
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and that ACK of the SYN completes the other end's open.
    x = p.cross();
    ASSERT_EQ(x.a2b.size(), 1u);
    ASSERT_EQ(x.b2a.size(), 1u);
    EXPECT_SEG_ANY(x.a2b[0], kAck, kAIsn + 1, kBIsn + 1, kWnd);
    EXPECT_SEG_ANY(x.b2a[0], kAck, kBIsn + 1, kAIsn + 1, kWnd);
    EXPECT_EQ(p.a_state(), State::established);
    EXPECT_EQ(p.b_state(), State::established);

    // Quiet afterwards, and each application hears "connected" exactly once.
    x = p.cross();
    EXPECT_TRUE(x.a2b.empty()) << EngineHarness::describe(x.a2b);
    EXPECT_TRUE(x.b2a.empty()) << EngineHarness::describe(x.b2a);
    auto ea = CrossedPair::events(p.a), eb = CrossedPair::events(p.b);
    ASSERT_EQ(event_types(ea), "connected");
    ASSERT_EQ(event_types(eb), "connected");
    EXPECT_EQ(ea[0].conn, ca);
    EXPECT_EQ(eb[0].conn, cb);
    p.at_ms(10000);  // nothing left to retransmit
    x = p.cross();
    EXPECT_TRUE(x.a2b.empty()) << EngineHarness::describe(x.a2b);
    EXPECT_TRUE(x.b2a.empty()) << EngineHarness::describe(x.b2a);
}

// RFC 9293 §3.6 Figure 13: both ends FIN-WAIT-1 -> CLOSING -> TIME-WAIT.
TEST(Figure5TwoEngines, SimultaneousCloseBetweenTwoEngines) {
    CrossedPair p;
    ASSERT_GE(p.b.listen(kBIp, kBPort), 0);
    ConnId ca;
    ASSERT_EQ(p.a.connect(kAIp, kAPort, kBIp, kBPort, 1, ca), 0);
    for (int i = 0; i < 3; ++i) p.cross();  // SYN; SYN,ACK; ACK
    ASSERT_EQ(p.a_state(), State::established);
    ASSERT_EQ(p.b_state(), State::established);
    CrossedPair::events(p.a);
    auto eb = CrossedPair::events(p.b);
    ASSERT_EQ(event_types(eb), "accepted");
    const ConnId cb = eb[0].conn;

    p.at_ms(100);
    ASSERT_EQ(p.a.close(ca), 0);
    ASSERT_EQ(p.b.close(cb), 0);
    EXPECT_EQ(p.a_state(), State::fin_wait_1);
    EXPECT_EQ(p.b_state(), State::fin_wait_1);

    // The FINs cross: neither acknowledges the other's FIN, so both go to CLOSING and ACK.
    auto x = p.cross();
    ASSERT_EQ(x.a2b.size(), 1u);
    ASSERT_EQ(x.b2a.size(), 1u);
    EXPECT_SEG_ANY(x.a2b[0], kFin | kAck, kAIsn + 1, kBIsn + 1, kWnd);
    EXPECT_SEG_ANY(x.b2a[0], kFin | kAck, kBIsn + 1, kAIsn + 1, kWnd);
    EXPECT_EQ(p.a_state(), State::closing);
    EXPECT_EQ(p.b_state(), State::closing);

    // The ACKs cross: both reach TIME-WAIT.
    x = p.cross();
    ASSERT_EQ(x.a2b.size(), 1u);
    ASSERT_EQ(x.b2a.size(), 1u);
    EXPECT_SEG_ANY(x.a2b[0], kAck, kAIsn + 2, kBIsn + 2, kWnd);
    EXPECT_SEG_ANY(x.b2a[0], kAck, kBIsn + 2, kAIsn + 2, kWnd);
    EXPECT_EQ(p.a_state(), State::time_wait);
    EXPECT_EQ(p.b_state(), State::time_wait);
    x = p.cross();
    EXPECT_TRUE(x.a2b.empty()) << EngineHarness::describe(x.a2b);
    EXPECT_TRUE(x.b2a.empty()) << EngineHarness::describe(x.b2a);
    EXPECT_EQ(event_types(CrossedPair::events(p.a)), "peer_closed,closed");
    EXPECT_EQ(event_types(CrossedPair::events(p.b)), "peer_closed,closed");

    // Both TIME-WAITs end 2 MSL later, not a millisecond sooner.
    p.at_ms(100 + kTwoMslMs - 1);
    EXPECT_EQ(p.a_state(), State::time_wait);
    EXPECT_EQ(p.b_state(), State::time_wait);
    p.at_ms(100 + kTwoMslMs);
    EXPECT_EQ(p.a_state(), State::closed);
    EXPECT_EQ(p.b_state(), State::closed);
    EXPECT_EQ(p.a.connections(), 0u);
    EXPECT_EQ(p.b.connections(), 0u);
    x = p.cross();
    EXPECT_TRUE(x.a2b.empty()) << EngineHarness::describe(x.a2b);
    EXPECT_TRUE(x.b2a.empty()) << EngineHarness::describe(x.b2a);
}

}  // namespace
}  // namespace synack::test
