// The sender side segment by segment: the per-state gauge, congestion control through its interface, and loss
// recovery (fast retransmit, limited transmit, NewReno partial ACKs, PRR), each against exact expected output at
// an injected time. Time: 1 cycle = 1 µs.
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "engine_harness.hpp"
#include "synack/stack.hpp"

namespace synack::test {
namespace {

constexpr uint32_t kPeerIsn = 1000;
constexpr uint32_t kRcvNxt = kPeerIsn + 1;
constexpr uint32_t kIss = 3000;
constexpr uint32_t kMss = 1000;  // the peer's MSS option: round numbers

uint64_t gauge(const EngineHarness& h, State s) { return h.engine.counters().conn_in_state[unsigned(s)]; }

/// Distinct bytes (a position shows in the payload), `n` of them from offset `from` of the same pattern.
std::string data(size_t n, size_t from = 0) {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 23 + (from + i) / 1000 % 3);
    return s;
}

TcpConfig config(CongestionAlgorithm algo) {
    TcpConfig c = test_config();
    c.cc = algo;
    return c;
}

/// Passive open with the peer's MSS option 1000; the connection's handle.
tcp::ConnId open(EngineHarness& h) {
    const TcpOptions mss = mss_option(kMss);
    return h.establish_passive(kPeerIsn, &mss);
}

constexpr uint32_t kData = kIss + 1;  // sequence number of the first data byte
uint32_t seg_seq(uint32_t i) { return kData + i * kMss; }

/// Queues `total` bytes on c and checks what goes out at once: the IW of ten full segments, in order.
std::vector<Seg> send_iw(EngineHarness& h, tcp::ConnId c, uint32_t total) {
    const std::string d = data(total);
    EXPECT_EQ(h.engine.send(c, d.data(), total), int32_t(total));
    auto v = h.out();
    EXPECT_EQ(v.size(), 10u) << EngineHarness::describe(v);
    for (uint32_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].seq, seg_seq(i));
    return v;
}

/// Passive open, then `total` bytes queued and the IW checked.
tcp::ConnId open_and_send(EngineHarness& h, uint32_t total) {
    const tcp::ConnId c = open(h);
    send_iw(h, c, total);
    return c;
}

void dup_ack(EngineHarness& h, uint32_t ack = kData) { h.send(kAck, kRcvNxt, ack); }

/// At 10 ms, three duplicate ACKs of segment 0's start (RFC 5681 §3.2); returns what they let out.
std::vector<Seg> three_dup_acks(EngineHarness& h) {
    h.at_ms(10);
    for (int i = 0; i < 3; ++i) dup_ack(h);
    return h.out();
}

/// Passive open whose SYN offers SACK (RFC 2018 §2) with MSS 1000, then ten segments out at t=0 (IW10).
tcp::ConnId open_sack_and_send(EngineHarness& h, uint32_t total) {
    TcpOptions syn = mss_option(kMss);
    syn.sack_permitted = true;
    const tcp::ConnId c = h.establish_passive(kPeerIsn, &syn);
    EXPECT_TRUE(h.tcb() != nullptr && h.tcb()->sack_ok);
    send_iw(h, c, total);
    return c;
}

/// An ACK of `ack` carrying SACK blocks of whole segments [from, to) (segment numbers), in the order given.
void sack_ack(EngineHarness& h, uint32_t ack, std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
    TcpOptions o;
    for (const auto& [from, to] : blocks) o.sack[o.sack_count++] = {seg_seq(from), seg_seq(to)};
    h.send(kAck, kRcvNxt, ack, "", 65535, &o);
}

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

// ======================= congestion control through its interface =======================

TEST(Cc, CubicByDefaultNewRenoByConfig) {
    EngineHarness cubic;
    open(cubic);
    ASSERT_NE(cubic.tcb(), nullptr);
    EXPECT_EQ(cubic.tcb()->cc.algorithm(), tcp::cc::Algorithm::cubic);
    EXPECT_EQ(cubic.tcb()->cwnd(), 10 * kMss);  // RFC 6928 IW10 for the peer's MSS
    EngineHarness reno(config(CongestionAlgorithm::newreno));
    open(reno);
    ASSERT_NE(reno.tcb(), nullptr);
    EXPECT_EQ(reno.tcb()->cc.algorithm(), tcp::cc::Algorithm::newreno);
}

TEST(Cc, CommandLineOption) {
    char a0[] = "--ip", a1[] = "10.101.0.1/24", a2[] = "--cc", a3[] = "newreno", a4[] = "cubic", a5[] = "vegas";
    char* none[] = {a0, a1};
    EXPECT_EQ(synack::parse_options(2, none).tcp.cc, CongestionAlgorithm::cubic);
    char* reno[] = {a0, a1, a2, a3};
    EXPECT_EQ(synack::parse_options(4, reno).tcp.cc, CongestionAlgorithm::newreno);
    char* cubic[] = {a0, a1, a2, a4};
    EXPECT_EQ(synack::parse_options(4, cubic).tcp.cc, CongestionAlgorithm::cubic);
    char* bad[] = {a0, a1, a2, a5};
    try {
        synack::parse_options(4, bad);
        ADD_FAILURE() << "accepted --cc vegas";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("--cc"), std::string::npos) << e.what();
    }
}

// RFC 5681 §3.1 / RFC 3465: in slow start each ACK grows cwnd by the bytes it acknowledged (at most 2 SMSS):
// the ACK of two segments lets four out.
TEST(Cc, SlowStartByteCounting) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 30000);
    h.at_ms(10);
    h.send(kAck, kRcvNxt, seg_seq(2));
    auto v = h.out();
    ASSERT_EQ(v.size(), 4u) << EngineHarness::describe(v);
    for (uint32_t i = 0; i < 4; ++i) EXPECT_SEG(v[i], kAck, seg_seq(10 + i), kRcvNxt, 65535, data(kMss, (10 + i) * kMss));
    EXPECT_EQ(h.tcb()->cwnd(), 12 * kMss);
}

// RFC 5681 §4.1: after more than an RTO without sending, the window restarts from IW.
TEST(Cc, RestartAfterIdle) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    tcp::ConnId c = open_and_send(h, 10000);
    h.at_ms(10);
    h.send(kAck, kRcvNxt, seg_seq(10));
    h.none();
    EXPECT_EQ(h.tcb()->cwnd(), 12 * kMss);  // grown by 2 SMSS (RFC 3465 L), 10 segments acknowledged at once
    h.at_ms(5000);
    const std::string d = data(20000, 10000);
    ASSERT_EQ(h.engine.send(c, d.data(), 20000), 20000);
    EXPECT_EQ(h.out().size(), 10u);  // IW again, not 12
    EXPECT_EQ(h.tcb()->cwnd(), 10 * kMss);
}

// ======================= loss recovery without SACK =======================

// RFC 3042: the first two duplicate ACKs each send one new segment; RFC 5681 §3.2: the third resends the
// segment at SND.UNA, and only it.
TEST(Recovery, LimitedTransmitThenFastRetransmitOfTheRightSegment) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 20000);
    h.at_ms(10);
    dup_ack(h);
    EXPECT_SEG(h.one(), kAck, seg_seq(10), kRcvNxt, 65535, data(kMss, 10 * kMss));
    dup_ack(h);
    EXPECT_SEG(h.one(), kAck, seg_seq(11), kRcvNxt, 65535, data(kMss, 11 * kMss));
    EXPECT_EQ(h.tcb()->cwnd(), 10 * kMss);  // limited transmit leaves cwnd alone
    dup_ack(h);
    EXPECT_SEG(h.one(), kAck, seg_seq(0), kRcvNxt, 65535, data(kMss, 0));
    EXPECT_EQ(h.engine.counters().fast_retransmits, 1u);
    EXPECT_EQ(h.engine.counters().tx_retransmits, 1u);
    EXPECT_EQ(h.tcb()->ssthresh(), 6 * kMss);  // RFC 5681 §3.2: FlightSize (12 segments) / 2
}

// RFC 6937 §3: while recovery runs, PRR paces sending. RecoverFS is 12 segments and ssthresh 6, and the three
// duplicates before recovery leave pipe at 9: while pipe > ssthresh one segment goes out per two delivered
// (the proportional part); once pipe is down to ssthresh (after the 7th duplicate), PRR-SSRB keeps it there,
// one segment per delivered one.
TEST(Recovery, PrrPacesProportionallyThenHoldsPipeAtSsthresh) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 30000);
    EXPECT_EQ(three_dup_acks(h).size(), 3u);  // two limited transmits, the fast retransmit
    std::string pattern;
    uint32_t next = 12;
    for (int i = 4; i <= 11; ++i) {
        dup_ack(h);
        auto v = h.out();
        pattern += std::to_string(v.size());
        for (const Seg& s : v) {
            EXPECT_SEG(s, kAck, seg_seq(next), kRcvNxt, 65535, data(kMss, next * kMss));
            ++next;
        }
    }
    EXPECT_EQ(pattern, "01001111");
    EXPECT_EQ(h.tcb()->prr.prr_out(), 6u * kMss);  // the retransmission and five new segments
    EXPECT_EQ(h.tcb()->prr.prr_delivered(), 9u * kMss);
    EXPECT_EQ(h.tcb()->flight_size() - h.tcb()->dup_bytes, 6u * kMss);  // pipe = ssthresh
}

// RFC 6582 §3.2 step 5: an ACK that covers the first hole but not `recover` resends the next hole at once;
// step 3: the ACK of everything ends recovery with cwnd = min(ssthresh, FlightSize + SMSS).
TEST(Recovery, NewRenoPartialAckResendsTheNextHoleThenFullAckEnds) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 30000);
    three_dup_acks(h);
    h.at_ms(20);
    h.send(kAck, kRcvNxt, seg_seq(5));  // segment 0 arrived; 5 was lost too
    EXPECT_SEG(h.one(), kAck, seg_seq(5), kRcvNxt, 65535, data(kMss, 5 * kMss));
    EXPECT_EQ(h.engine.counters().partial_acks, 1u);
    EXPECT_TRUE(h.tcb()->recovery.in_recovery());
    h.at_ms(30);
    h.send(kAck, kRcvNxt, seg_seq(12));  // all up to `recover`
    EXPECT_FALSE(h.tcb()->recovery.in_recovery());
    EXPECT_EQ(h.tcb()->cwnd(), 2 * kMss);  // min(6000, max(FlightSize 0, SMSS) + SMSS)
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, seg_seq(12), kRcvNxt, 65535, data(kMss, 12 * kMss));
    EXPECT_SEG(v[1], kAck, seg_seq(13), kRcvNxt, 65535, data(kMss, 13 * kMss));
    EXPECT_EQ(h.engine.counters().tx_retransmits, 2u);
}

// Duplicates after a timeout are from the go-back-N resend, not a new loss (RFC 6582 §3.2 step 2 via `recover`).
TEST(Recovery, RtoCollapsesCwndAndLaterDuplicatesDoNotFastRetransmit) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 10000);
    h.at_ms(999);
    h.none();
    h.at_ms(1000);  // initial RTO 1 s (no sample yet)
    EXPECT_SEG(h.one(), kAck, seg_seq(0), kRcvNxt, 65535, data(kMss, 0));
    EXPECT_EQ(h.tcb()->cwnd(), kMss);          // RFC 5681 §3.1: LW = 1 SMSS
    EXPECT_EQ(h.tcb()->ssthresh(), 5 * kMss);  // FlightSize / 2
    EXPECT_EQ(h.tcb()->rto_us, 2000000u);      // RFC 6298 §5.5: backed off
    for (int i = 0; i < 4; ++i) dup_ack(h);
    auto v = h.out();
    EXPECT_EQ(h.engine.counters().fast_retransmits, 0u);
    for (const Seg& s : v) EXPECT_GT(s.seq, seg_seq(0)) << "segment 0 resent again";
}

// CUBIC (the default) reduces by beta = 0.7 on fast retransmit (RFC 9438 §4.6), then the same PRR pace.
TEST(Recovery, CubicFastRetransmitSetsSsthreshToSevenTenthsOfTheFlight) {
    EngineHarness h;
    open_and_send(h, 20000);
    auto v = three_dup_acks(h);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_SEG(v[2], kAck, seg_seq(0), kRcvNxt, 65535, data(kMss, 0));
    EXPECT_EQ(h.tcb()->ssthresh(), 8400u);  // 0.7 x 12 segments in flight
}

// RFC 2883 §4/§5: the fast retransmission of segment 0 was spurious (it had been reordered): the ACK of everything
// carries a D-SACK for it, and the window from before the fast retransmit comes back.
TEST(Recovery, DsackOfTheOnlyRetransmissionUndoesTheReduction) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 12000);
    const_cast<tcp::Tcb*>(h.tcb())->sack_ok = true;
    auto v = three_dup_acks(h);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_SEG(v[2], kAck, seg_seq(0), kRcvNxt, 65535, data(kMss, 0));
    EXPECT_EQ(h.tcb()->ssthresh(), 6 * kMss);
    h.at_ms(20);
    sack_ack(h, seg_seq(12), {{0, 1}});  // a D-SACK: the block is below SEG.ACK, a duplicate
    EXPECT_EQ(h.engine.counters().spurious_retransmits_undone, 1u);
    EXPECT_EQ(h.tcb()->ssthresh(), UINT32_MAX);  // as before the fast retransmit
    EXPECT_EQ(h.tcb()->cwnd(), 10 * kMss);
    EXPECT_FALSE(h.tcb()->recovery.in_recovery());
}

// A SACK block that reports new data (not a duplicate) undoes nothing.
TEST(Recovery, OrdinarySackBlockUndoesNothing) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 12000);
    const_cast<tcp::Tcb*>(h.tcb())->sack_ok = true;
    three_dup_acks(h);
    h.at_ms(20);
    sack_ack(h, seg_seq(5), {{6, 12}});  // above SEG.ACK
    EXPECT_EQ(h.engine.counters().spurious_retransmits_undone, 0u);
    EXPECT_EQ(h.tcb()->ssthresh(), 6 * kMss);
}

// ======================= tail loss probe (RFC 8985 §7) =======================

/// Sends 10 segments at t=0; at 10 ms the peer acknowledges the first 8 (SRTT 10 ms): the last two are lost.
void lose_the_tail(EngineHarness& h, bool sack) {
    open_and_send(h, 10000);
    const_cast<tcp::Tcb*>(h.tcb())->sack_ok = sack;  // what the handshake's SACK-permitted options would set
    h.at_ms(10);
    h.send(kAck, kRcvNxt, seg_seq(8));
    h.none();
    ASSERT_EQ(h.tcb()->rtt.srtt_us(), 10000u);
    ASSERT_EQ(h.tcb()->rto_us, 200000u);  // the 200 ms floor
}

// PTO = 2 SRTT = 20 ms after the ACK; nothing new to send, so the probe is the last segment again. The RTO
// (200 ms after the probe) then resends the first lost segment.
TEST(Tlp, ProbeAfterTwoSrttResendsTheLastSegment) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    lose_the_tail(h, true);
    h.at_ms(29);
    h.none();
    h.at_ms(30);
    EXPECT_SEG(h.one(), kAck, seg_seq(9), kRcvNxt, 65535, data(kMss, 9 * kMss));
    EXPECT_EQ(h.engine.counters().tlp_probes, 1u);
    h.at_ms(229);
    h.none();
    h.at_ms(230);
    EXPECT_SEG(h.one(), kAck, seg_seq(8), kRcvNxt, 65535, data(kMss, 8 * kMss));
    EXPECT_EQ(h.engine.counters().tlp_probes, 1u) << "one probe per tail";
}

// RFC 8985 §7.4: an ACK beyond the retransmitted probe means the probe repaired a loss (the original and the
// probe cannot both be what it acknowledges): one congestion event, and no growth from that ACK. An ACK of exactly
// the probe's end says nothing yet (without D-SACK it may be the original's).
TEST(Tlp, AckBeyondTheProbeCountsAsARepairedLoss) {
    EngineHarness g(config(CongestionAlgorithm::newreno));
    tcp::ConnId c = open_and_send(g, 10000);
    const_cast<tcp::Tcb*>(g.tcb())->sack_ok = true;
    g.at_ms(10);
    g.send(kAck, kRcvNxt, seg_seq(8));
    g.at_ms(30);
    EXPECT_SEG(g.one(), kAck, seg_seq(9), kRcvNxt, 65535, data(kMss, 9 * kMss));
    g.at_ms(35);
    const std::string more = data(kMss, 10 * kMss);
    ASSERT_EQ(g.engine.send(c, more.data(), kMss), int32_t(kMss));
    EXPECT_SEG(g.one(), kAck, seg_seq(10), kRcvNxt, 65535, more);
    g.at_ms(40);
    g.send(kAck, kRcvNxt, seg_seq(11));
    EXPECT_EQ(g.engine.counters().tlp_recoveries, 1u);
    EXPECT_EQ(g.tcb()->ssthresh(), 2 * kMss);  // RFC 5681: max(FlightSize 3 segments / 2, 2 SMSS)
    EXPECT_EQ(g.tcb()->cwnd(), 2 * kMss);
}

// Without SACK there is no probe (RACK-TLP needs SACK): the RTO, 200 ms after the ACK, resends segment 8.
TEST(Tlp, NoProbeWithoutSack) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    lose_the_tail(h, false);
    h.at_ms(209);
    h.none();
    h.at_ms(210);
    EXPECT_SEG(h.one(), kAck, seg_seq(8), kRcvNxt, 65535, data(kMss, 8 * kMss));
    EXPECT_EQ(h.engine.counters().tlp_probes, 0u);
}


// ======================= SACK recovery (RFC 6675) and RACK (RFC 8985) =======================

/// Two holes: with SACK, `total` bytes queued (ten segments out at t=0); at 10 ms (SRTT 10 ms) the ACK of segment 0
/// carries [5, 10) and [2, 4), most recent first (RFC 2018 §4): segments 1 and 4 are missing, with more than
/// DupThresh segments SACKed above both (RFC 6675 §5). Returns what that ACK lets out.
std::vector<Seg> lose_segments_1_and_4(EngineHarness& h, uint32_t total) {
    open_sack_and_send(h, total);
    h.at_ms(10);
    sack_ack(h, seg_seq(1), {{5, 10}, {2, 4}});
    return h.out();
}

// Nothing beyond the ten segments: exactly the two holes are resent, in order, and no SACKed byte goes again. The
// rescue (NextSeg rule 4) would hold segment 4, already resent: nothing more. The ACK of everything ends recovery
// and returns the scoreboard to the pool.
TEST(SackRecovery, TwoHolesResendExactlyTheHolesInOrder) {
    EngineHarness h;
    auto v = lose_segments_1_and_4(h, 10 * kMss);
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    EXPECT_SEG(v[1], kAck, seg_seq(4), kRcvNxt, 65535, data(kMss, 4 * kMss));
    EXPECT_EQ(h.engine.counters().sack_recoveries, 1u);
    EXPECT_EQ(h.engine.counters().tx_retransmits, 2u);
    EXPECT_EQ(h.engine.counters().fast_retransmits, 0u) << "not the NewReno path";
    EXPECT_TRUE(h.tcb()->recovery.in_recovery());
    EXPECT_NE(h.tcb()->sack, nullptr);
    EXPECT_EQ(h.tcb()->ssthresh(), 6300u);  // CUBIC: 0.7 x the 9 segments in flight
    h.at_ms(20);
    sack_ack(h, seg_seq(4), {{5, 10}});  // segment 1 arrived: a partial ACK; segment 4's resend is in flight
    h.none();
    h.at_ms(21);
    h.send(kAck, kRcvNxt, seg_seq(10));
    h.none();
    EXPECT_FALSE(h.tcb()->recovery.in_recovery());
    EXPECT_EQ(h.tcb()->sack, nullptr) << "the scoreboard went back to the pool";
    EXPECT_EQ(h.engine.counters().tx_retransmits, 2u);
}

// Two holes with 20 segments waiting. RFC 6937 §3: the ACK that ends a SACK recovery sets cwnd = ssthresh, even
// with nothing left in flight, and the sender goes on with that window at once (RFC 6582's min(ssthresh,
// FlightSize + SMSS) would have left 1 segment).
TEST(SackRecovery, RecoveryEndsWithCwndAtSsthresh) {
    EngineHarness h;
    auto v = lose_segments_1_and_4(h, 30 * kMss);
    ASSERT_EQ(v.size(), 7u) << EngineHarness::describe(v);  // the two holes, then new segments 10-14 (PRR)
    EXPECT_EQ(v[6].seq, seg_seq(14));
    EXPECT_EQ(h.tcb()->ssthresh(), 6300u);
    h.at_ms(21);
    h.send(kAck, kRcvNxt, seg_seq(15));  // everything sent: recovery is over, nothing in flight
    EXPECT_FALSE(h.tcb()->recovery.in_recovery());
    v = h.out();
    EXPECT_EQ(h.tcb()->cwnd(), 6300u);
    ASSERT_EQ(v.size(), 6u) << EngineHarness::describe(v);  // six whole segments fit in 6300 bytes
    for (uint32_t i = 0; i < 6; ++i) EXPECT_SEG(v[i], kAck, seg_seq(15 + i), kRcvNxt, 65535, data(kMss, (15 + i) * kMss));
}

// Two holes with 10 segments waiting: after the holes, NextSeg rule 2 sends new data with what PRR allows, never
// SACKed data.
TEST(SackRecovery, HolesFirstThenNewData) {
    EngineHarness h;
    auto v = lose_segments_1_and_4(h, 20 * kMss);
    ASSERT_GE(v.size(), 3u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    EXPECT_SEG(v[1], kAck, seg_seq(4), kRcvNxt, 65535, data(kMss, 4 * kMss));
    for (size_t i = 2; i < v.size(); ++i)
        EXPECT_SEG(v[i], kAck, seg_seq(uint32_t(8 + i)), kRcvNxt, 65535, data(kMss, (8 + i) * kMss));
    // PRR-SSRB (pipe 0 < ssthresh 6300): sndcnt = min(ssthresh - pipe, delivered + SMSS) = 6300: the two holes,
    // then 4300 bytes of new data, rounded up to whole segments as retransmissions are: five.
    EXPECT_EQ(v.size(), 2u + 5u) << EngineHarness::describe(v);
    EXPECT_EQ(h.engine.counters().tx_retransmits, 2u);
}

/// Ten segments out at t=0; at 10 ms (SRTT 10 ms) segment 0 is acknowledged and segment 2 SACKed: segment 1 is
/// missing, but one SACKed segment is below DupThresh: RACK waits for its reordering window (min_RTT / 4 = 2.5 ms).
void one_segment_beyond_a_hole(EngineHarness& h, tcp::ConnId* conn = nullptr) {
    const tcp::ConnId c = open_sack_and_send(h, 10 * kMss);
    if (conn != nullptr) *conn = c;
    h.at_ms(10);
    sack_ack(h, seg_seq(1), {{2, 3}});
    h.none();
    ASSERT_EQ(h.tcb()->rtt.srtt_us(), 10000u);
    ASSERT_FALSE(h.tcb()->recovery.in_recovery());
    ASSERT_EQ(h.tcb()->timer_mode, tcp::TimerMode::reorder);
}

// RFC 8985 §6.3: the reorder timer fires when segment 1's window closes (10 ms + 2.5 ms, on the 1 ms wheel at 13
// ms): segment 1, and only it, is resent, and recovery starts.
TEST(Rack, MarksTheSegmentLostAfterTheReorderWindowAndResendsExactlyIt) {
    EngineHarness h;
    one_segment_beyond_a_hole(h);
    h.at_ms(12);
    h.none();
    h.at_ms(13);
    EXPECT_SEG(h.one(), kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    EXPECT_EQ(h.engine.counters().rack_reorder_timeouts, 1u);
    EXPECT_EQ(h.engine.counters().rack_marked_lost, 1u);
    EXPECT_EQ(h.engine.counters().sack_recoveries, 1u);
    EXPECT_TRUE(h.tcb()->recovery.in_recovery());
    h.at_ms(200);
    h.none();  // the rest are SACKed or in flight: nothing more until the RTO
}

// The same hole filled within the window (segment 1 was only reordered): no retransmission, no recovery.
TEST(Rack, ReorderingWithinTheWindowCausesNoRetransmission) {
    EngineHarness h;
    one_segment_beyond_a_hole(h);
    h.at_us(11500);
    h.send(kAck, kRcvNxt, seg_seq(10));
    h.none();
    h.at_ms(500);
    h.none();
    EXPECT_EQ(h.engine.counters().tx_retransmits, 0u);
    EXPECT_EQ(h.engine.counters().sack_recoveries, 0u);
    EXPECT_EQ(h.engine.counters().rack_marked_lost, 0u);
    EXPECT_EQ(h.tcb()->sack, nullptr);
    EXPECT_EQ(h.tcb()->ssthresh(), UINT32_MAX);
}

// RFC 2883 §5 with SACK recovery: RACK resent segment 1, the ACK of everything carries a D-SACK for it (the
// original had only been delayed): the window from before the recovery comes back.
TEST(Rack, DsackOfTheRackRetransmissionUndoesTheReduction) {
    EngineHarness h;
    one_segment_beyond_a_hole(h);
    h.at_ms(13);
    EXPECT_SEG(h.one(), kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    EXPECT_EQ(h.tcb()->ssthresh(), 6300u);
    h.at_ms(20);
    sack_ack(h, seg_seq(10), {{1, 2}});  // a D-SACK: the block is below SEG.ACK, a duplicate
    EXPECT_EQ(h.engine.counters().spurious_retransmits_undone, 1u);
    EXPECT_EQ(h.tcb()->ssthresh(), UINT32_MAX);
    EXPECT_EQ(h.tcb()->cwnd(), 11 * kMss);  // slow start had grown it by the ACK of segment 0 before the recovery
    EXPECT_FALSE(h.tcb()->recovery.in_recovery());
    EXPECT_EQ(h.tcb()->sack, nullptr);
}

// RFC 8985 §6.2 step 4: reo_wnd_mult grows with a D-SACK and is kept for 16 recoveries, which only works if it
// outlives the scoreboard lent for one episode (RackPath in the TCB). Episode 1: RACK resends segment 1, the D-SACK
// shows it was only late (multiplier 2) and the scoreboard goes back to the pool. Episode 2: segments 10-19 go out
// at 20 ms, the ACK at 30 ms leaves segment 10 missing below SACKed 11: reo_wnd = 2 x min_RTT / 4 = 5 ms, so
// segment 10 is resent when its window closes at 20 + 10 + 5 = 35 ms, not at 32.5 ms as a fresh RACK would.
TEST(Rack, ReorderWindowGrownByDsackOutlivesTheScoreboard) {
    EngineHarness h;
    tcp::ConnId c;
    one_segment_beyond_a_hole(h, &c);
    h.at_ms(13);
    EXPECT_SEG(h.one(), kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    h.at_ms(20);
    sack_ack(h, seg_seq(10), {{1, 2}});  // D-SACK
    ASSERT_EQ(h.tcb()->sack, nullptr) << "episode 1 over: the scoreboard went back to the pool";
    EXPECT_EQ(h.tcb()->rack_path.reo_wnd_mult, 2);
    const std::string more = data(10 * kMss, 10 * kMss);
    ASSERT_EQ(h.engine.send(c, more.data(), 10 * kMss), int32_t(10 * kMss));
    auto v = h.out();
    ASSERT_EQ(v.size(), 10u) << EngineHarness::describe(v);
    for (uint32_t i = 10; i < 20; ++i) EXPECT_SEG(v[i - 10], kAck, seg_seq(i), kRcvNxt, 65535, data(kMss, i * kMss));
    h.at_ms(30);
    sack_ack(h, seg_seq(10), {{11, 12}});
    h.none();
    ASSERT_NE(h.tcb()->sack, nullptr);
    EXPECT_EQ(h.tcb()->sack->rack.reo_wnd_mult(), 2);
    EXPECT_EQ(h.tcb()->sack->rack.min_rtt_us(), 10000u);
    h.at_ms(34);
    h.none();
    h.at_ms(35);
    EXPECT_SEG(h.one(), kAck, seg_seq(10), kRcvNxt, 65535, data(kMss, 10 * kMss));
    EXPECT_EQ(h.engine.counters().rack_reorder_timeouts, 2u);
}

// RFC 8985 §6.2 step 3: once a segment was delivered out of order (segment 1 after SACKed segment 2, never resent),
// RACK.reordering_seen holds for the connection: the next episode's RACK starts with it (and with the min_RTT of
// every sample, 10 ms), so it keeps its reordering window in recovery and past DupThresh SACKed segments.
TEST(Rack, ReorderingSeenOutlivesTheScoreboard) {
    EngineHarness h;
    tcp::ConnId c;
    one_segment_beyond_a_hole(h, &c);
    h.at_us(11500);
    h.send(kAck, kRcvNxt, seg_seq(10));
    ASSERT_EQ(h.tcb()->sack, nullptr);
    EXPECT_TRUE(h.tcb()->rack_path.reordering_seen);
    const std::string more = data(10 * kMss, 10 * kMss);
    ASSERT_EQ(h.engine.send(c, more.data(), 10 * kMss), int32_t(10 * kMss));
    EXPECT_EQ(h.out().size(), 10u);
    h.at_us(21500);
    sack_ack(h, seg_seq(10), {{11, 12}});
    h.none();
    ASSERT_NE(h.tcb()->sack, nullptr);
    EXPECT_TRUE(h.tcb()->sack->rack.reordering_seen());
    EXPECT_EQ(h.tcb()->sack->rack.min_rtt_us(), 10000u);
    EXPECT_EQ(h.tcb()->sack->rack.reo_wnd_us(h.tcb()->rtt.srtt_us(), true, 3), 2500u);
    EXPECT_EQ(h.engine.counters().tx_retransmits, 0u);
}

// A peer that did not offer SACK gets NewReno whatever its ACKs carry: blocks are not read, the third duplicate
// fast-retransmits SND.UNA's segment and no scoreboard is taken.
TEST(SackRecovery, PeerWithoutSackGetsNewReno) {
    EngineHarness h(config(CongestionAlgorithm::newreno));
    open_and_send(h, 20000);
    h.at_ms(10);
    sack_ack(h, kData, {{5, 10}});
    EXPECT_SEG(h.one(), kAck, seg_seq(10), kRcvNxt, 65535, data(kMss, 10 * kMss));  // limited transmit
    sack_ack(h, kData, {{5, 10}});
    EXPECT_SEG(h.one(), kAck, seg_seq(11), kRcvNxt, 65535, data(kMss, 11 * kMss));
    sack_ack(h, kData, {{5, 10}});
    EXPECT_SEG(h.one(), kAck, seg_seq(0), kRcvNxt, 65535, data(kMss, 0));
    EXPECT_EQ(h.engine.counters().fast_retransmits, 1u);
    EXPECT_EQ(h.engine.counters().sack_recoveries, 0u);
    EXPECT_EQ(h.tcb()->sack, nullptr);
    h.at_ms(20);
    h.send(kAck, kRcvNxt, seg_seq(5));  // partial ACK (RFC 6582 §3.2 step 5): the next hole at once
    EXPECT_SEG(h.one(), kAck, seg_seq(5), kRcvNxt, 65535, data(kMss, 5 * kMss));
}

// An RTO discards the SACK state (RFC 6675 §5.1) and goes back to SND.UNA; the SACKed data is still in the send
// queue (RFC 2018 §8: the receiver may renege), so it is resent too when the window reaches it.
TEST(SackRecovery, RtoDiscardsTheScoreboardAndKeepsSackedData) {
    EngineHarness h;
    one_segment_beyond_a_hole(h);
    ASSERT_NE(h.tcb()->sack, nullptr);
    EXPECT_EQ(h.tcb()->snd_buf.bytes, 9 * kMss) << "SACKed bytes stay queued";
    h.at_ms(13);
    EXPECT_SEG(h.one(), kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));  // RACK
    h.at_ms(213);  // the RTO (200 ms floor) after the retransmission
    EXPECT_SEG(h.one(), kAck, seg_seq(1), kRcvNxt, 65535, data(kMss, 1 * kMss));
    EXPECT_EQ(h.tcb()->sack, nullptr) << "SACK information discarded";
    EXPECT_EQ(h.engine.counters().rto_expired, 1u);
    h.at_ms(223);
    h.send(kAck, kRcvNxt, seg_seq(2));  // slow start from one segment: two more, SACKed segment 2 among them
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, seg_seq(2), kRcvNxt, 65535, data(kMss, 2 * kMss));
    EXPECT_SEG(v[1], kAck, seg_seq(3), kRcvNxt, 65535, data(kMss, 3 * kMss));
}


// The pool holds 64 scoreboards for this table size (a sixteenth of 1024, at least 64): the 65th connection with
// SACKed data outstanding finds none, is counted, and recovers with NewReno; once one is returned, it is lent again.
TEST(SackRecovery, PoolEmptyFallsBackToNewRenoCounted) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const std::string d = data(3 * kMss);
    constexpr uint16_t kConns = 65;
    auto from = [&](uint16_t i, uint8_t flags, uint32_t seq, uint32_t ack, const TcpOptions* o = nullptr) {
        h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, uint16_t(41000 + i), EngineHarness::kUsPort,
                             flags, seq, ack, "", 65535, o), h.now);
    };
    TcpOptions syn = mss_option(kMss);
    syn.sack_permitted = true;
    for (uint16_t i = 0; i < kConns; ++i) {
        from(i, kSyn, kPeerIsn, 0, &syn);
        from(i, kAck, kRcvNxt, kIss + 1);
    }
    auto ev = h.events();
    ASSERT_EQ(ev.size(), kConns);
    for (const Event& e : ev) ASSERT_EQ(h.engine.send(e.conn, d.data(), 3 * kMss), int32_t(3 * kMss));
    h.out();
    h.at_ms(10);
    TcpOptions sack;
    sack.sack_count = 1;
    sack.sack[0] = {seg_seq(1), seg_seq(3)};
    for (uint16_t i = 0; i < kConns; ++i) from(i, kAck, kRcvNxt, kData, &sack);
    h.out();
    EXPECT_EQ(h.engine.counters().sack_pool_empty, 1u);
    const tcp::Tcb* last = h.engine.find(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, EngineHarness::kUsPort,
                                                        uint16_t(41000 + kConns - 1)});
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->sack, nullptr) << "no scoreboard left for the 65th";
    // Connection 0 is acknowledged in full: its scoreboard returns, and the 65th's next SACK takes it.
    from(0, kAck, kRcvNxt, seg_seq(3));
    from(kConns - 1, kAck, kRcvNxt, kData, &sack);
    EXPECT_NE(last->sack, nullptr);
    EXPECT_EQ(h.engine.counters().sack_pool_empty, 1u);
    h.out();
}

// ======================= Eifel (RFC 3522 detection, RFC 4015 response) =======================

/// Passive open with timestamps (the peer's MSS 1012: 1000-byte segments beside the 12 option bytes, RFC 6691 §2),
/// then 10 segments of data out at t = 0; returns the TSval they carry.
uint32_t open_ts_and_send(EngineHarness& h) {
    TcpOptions syn = mss_option(kMss + 12);
    syn.has_timestamps = true;
    syn.ts_val = 500;  // the ACK carries 501
    const tcp::ConnId c = h.establish_passive(kPeerIsn, &syn);
    EXPECT_TRUE(h.tcb() != nullptr && h.tcb()->ts_ok);
    const auto v = send_iw(h, c, 10 * kMss);
    return v.empty() ? 0 : v[0].opt.ts_val;
}

/// The RTO at 1 s resends segment 0 (CUBIC: ssthresh 0.7 x 10 segments, cwnd 1 SMSS); returns its TSval.
uint32_t time_out(EngineHarness& h, uint32_t ts0) {
    h.at_ms(1000);
    const Seg r = h.one();
    EXPECT_EQ(r.seq, seg_seq(0));
    EXPECT_GT(r.opt.ts_val, ts0);
    EXPECT_EQ(h.tcb()->ssthresh(), 7 * kMss);
    EXPECT_EQ(h.tcb()->cwnd(), kMss);
    return r.opt.ts_val;
}

/// The peer's ACK of the first five segments, echoing `ts_ecr`.
void ack_half(EngineHarness& h, uint32_t ts_ecr) {
    TcpOptions a;
    a.has_timestamps = true;
    a.ts_val = 600;
    a.ts_ecr = ts_ecr;
    h.send(kAck, kRcvNxt, seg_seq(5), "", 65535, &a);
}

// The flight was only delayed: the first ACK after the timeout echoes the TSval of the original segments (older
// than the retransmission's), so the timeout was spurious. The window from before it comes back (slow start, no
// ssthresh), capped at FlightSize + min(acked, IW) = 5 + 5 segments, and this ACK's slow-start growth (5 segments)
// is added; segments 5-9 are not resent (SND.NXT = SND.MAX) and the backed-off RTO is gone.
TEST(Eifel, SpuriousTimeoutRestoresTheWindowWithoutGoBackN) {
    EngineHarness h;
    const uint32_t ts0 = open_ts_and_send(h);
    time_out(h, ts0);
    EXPECT_EQ(h.tcb()->rto_us, 2000000u);
    h.at_ms(1001);
    ack_half(h, ts0);
    EXPECT_EQ(h.engine.counters().spurious_rto_undone, 1u);
    EXPECT_EQ(h.tcb()->ssthresh(), UINT32_MAX);
    EXPECT_EQ(h.tcb()->cwnd(), 15 * kMss);
    EXPECT_EQ(h.tcb()->snd_nxt, tcp::Seq{seg_seq(10)});
    EXPECT_EQ(h.tcb()->rto_us, 1000000u) << "backoff reset by the new data acknowledged";
    h.none();  // nothing left to send, nothing resent
}

// A genuine loss: the ACK echoes the retransmission's TSval. Nothing is undone: ssthresh stays at 7 segments, the
// loss window grows by 2 SMSS (RFC 3465 L = 2 after the initial slow start), and go-back-N resends from segment 5.
TEST(Eifel, GenuineLossIsNotUndone) {
    EngineHarness h;
    const uint32_t ts0 = open_ts_and_send(h);
    const uint32_t ts1 = time_out(h, ts0);
    h.at_ms(1001);
    ack_half(h, ts1);
    EXPECT_EQ(h.engine.counters().spurious_rto_undone, 0u);
    EXPECT_EQ(h.tcb()->ssthresh(), 7 * kMss);
    EXPECT_EQ(h.tcb()->cwnd(), 3 * kMss);
    auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_SEG(v[i], kAck, seg_seq(5 + i), kRcvNxt, 65535, data(kMss, (5 + i) * kMss));
}

// Only the first ACK after the timeout is checked (RFC 3522 §3.2): a later old echo (a reordered ACK) undoes nothing.
TEST(Eifel, OnlyTheFirstAckAfterTheTimeoutCounts) {
    EngineHarness h;
    const uint32_t ts0 = open_ts_and_send(h);
    const uint32_t ts1 = time_out(h, ts0);
    h.at_ms(1001);
    TcpOptions a;
    a.has_timestamps = true;
    a.ts_val = 600;
    a.ts_ecr = ts1;
    h.send(kAck, kRcvNxt, seg_seq(1), "", 65535, &a);
    h.out();
    ack_half(h, ts0);
    EXPECT_EQ(h.engine.counters().spurious_rto_undone, 0u);
    EXPECT_EQ(h.tcb()->ssthresh(), 7 * kMss);
}

}  // namespace
}  // namespace synack::test
