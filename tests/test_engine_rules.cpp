// The segment-processing rules of RFC 9293 §3.10.7 (with RFC 5961, RFC 1337, RFC 6298 and RFC 6528), one crafted
// segment at a time, each answered by an exact reply at an explicit time.
//
// The engine's ISN is pinned to 3000 (SND.NXT = 3001 after the SYN); the scripted peer's ISN is 1300, so its first
// data byte is 1301. With nothing unread our window is 65535, so after the handshake RCV.NXT + RCV.WND = 66836.
#include <rte_ip.h>
#include <rte_tcp.h>

#include <gtest/gtest.h>

#include "engine_harness.hpp"
#include "tcp/isn.hpp"

namespace synack::test {
namespace {

using tcp::ConnId;

constexpr uint32_t kIss = 3000;
constexpr uint32_t kPeerIsn = 1300;
constexpr uint32_t kRcvNxt = kPeerIsn + 1;  // after the handshake
constexpr uint32_t kSndNxt = kIss + 1;
constexpr uint16_t kWnd = 65535;
constexpr uint32_t kRightEdge = kRcvNxt + kWnd;  // RCV.NXT + RCV.WND after the handshake
constexpr uint16_t kMss4 = 1460;  // our MSS over IPv4; h.mss() is the family's

/// Passive open on port 80 with the peer's SYN carrying `opt` (nullptr: no options); returns the accepted handle.
ConnId open_passive(EngineHarness& h, const TcpOptions* opt = nullptr, uint16_t synack_wnd = kWnd) {
    EXPECT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0, "", 65535, opt);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, synack_wnd, "", h.mss());
    h.send(kAck, kRcvNxt, kSndNxt);
    h.none();
    auto ev = h.events();
    EXPECT_EQ(event_types(ev), "accepted");
    return ev.empty() ? ConnId{} : ev[0].conn;
}

ConnId connect(EngineHarness& h, uint64_t user = 7) {
    ConnId c;
    EXPECT_EQ(h.connect(user, c), 0);
    return c;
}

/// Our side closes first and the peer's FIN follows: TIME-WAIT with RCV.NXT = 1302, SND.NXT = 3002.
ConnId to_time_wait(EngineHarness& h) {
    ConnId c = open_passive(h);
    EXPECT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt, kWnd);
    h.send(kFin | kAck, kRcvNxt, kSndNxt + 1);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(event_types(h.events()), "peer_closed,closed");
    return c;
}

std::string bytes(size_t n, char first = 'a') {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
    return s;
}

std::string recv_all(EngineHarness& h, ConnId c) {
    std::string s(70000, '\0');
    const int32_t n = h.engine.recv(c, s.data(), static_cast<uint32_t>(s.size()));
    EXPECT_GE(n, 0);
    s.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return s;
}

// The RFC 9293 rules run once per address family: the same exact replies over IPv4 and IPv6.
class Abort : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Abort, ::testing::Values(Family::v4, Family::v6), family_name);
class Ack : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Ack, ::testing::Values(Family::v4, Family::v6), family_name);
class Close : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Close, ::testing::Values(Family::v4, Family::v6), family_name);
class Closed : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Closed, ::testing::Values(Family::v4, Family::v6), family_name);
class Data : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Data, ::testing::Values(Family::v4, Family::v6), family_name);
class Listen : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Listen, ::testing::Values(Family::v4, Family::v6), family_name);
class Mss : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Mss, ::testing::Values(Family::v4, Family::v6), family_name);
class Tso : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Tso, ::testing::Values(Family::v4, Family::v6), family_name);
class Rst : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Rst, ::testing::Values(Family::v4, Family::v6), family_name);
class Rto : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Rto, ::testing::Values(Family::v4, Family::v6), family_name);
class SendBuffer : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, SendBuffer, ::testing::Values(Family::v4, Family::v6), family_name);
class SeqCheck : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, SeqCheck, ::testing::Values(Family::v4, Family::v6), family_name);
class Syn : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Syn, ::testing::Values(Family::v4, Family::v6), family_name);
class SynSent : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, SynSent, ::testing::Values(Family::v4, Family::v6), family_name);
class TimeWait : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, TimeWait, ::testing::Values(Family::v4, Family::v6), family_name);
class Window : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, Window, ::testing::Values(Family::v4, Family::v6), family_name);
class ZeroWindow : public ::testing::TestWithParam<Family> {};
INSTANTIATE_TEST_SUITE_P(Families, ZeroWindow, ::testing::Values(Family::v4, Family::v6), family_name);

uint64_t parse_errors(const EngineHarness& h, ParseStatus st) {
    return h.engine.counters().rx_parse_errors[static_cast<int>(st)];
}

/// Recomputes the TCP checksum of a packet built by build() after its bytes were edited.
void fix_tcp_checksum(rte_mbuf* m) {
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    auto* tcp = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, sizeof(rte_ipv4_hdr));
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}

// ======================= RFC 9293 §3.10.7.1: no connection (CLOSED) =======================

TEST_P(Closed, SynDrawsRstAckCoveringTheSyn) {
    EngineHarness h{GetParam()};
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kRst | kAck, 0, kPeerIsn + 1, 0);  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.counters().rx_no_connection, 1u);
    EXPECT_EQ(h.engine.counters().tx_rst, 1u);
}

TEST_P(Closed, SynWithDataDrawsRstAckCoveringSegLen) {
    EngineHarness h{GetParam()};
    h.send(kSyn, kPeerIsn, 0, "hello");
    EXPECT_SEG(h.one(), kRst | kAck, 0, kPeerIsn + 6, 0);  // SEG.LEN = SYN + 5 octets
}

TEST_P(Closed, FinWithoutAckDrawsRstAckCoveringTheFin) {
    EngineHarness h{GetParam()};
    h.send(kFin, 5000, 0, "abc");
    EXPECT_SEG(h.one(), kRst | kAck, 0, 5004, 0);
}

TEST_P(Closed, AckDrawsRstAtSegAck) {
    EngineHarness h{GetParam()};
    h.send(kAck, kPeerIsn, 5555, "data");
    EXPECT_SEG(h.one(), kRst, 5555, 0, 0);  // <SEQ=SEG.ACK><CTL=RST>
    EXPECT_EQ(h.engine.counters().rx_no_connection, 1u);
}

TEST_P(Closed, RstIsNeverAnswered) {
    EngineHarness h{GetParam()};
    h.send(kRst, kPeerIsn, 0);
    h.send(kRst | kAck, kPeerIsn, 5555);
    h.none();
    EXPECT_EQ(h.engine.counters().rx_rst_no_connection, 2u);
    EXPECT_EQ(h.engine.counters().rx_no_connection, 0u);
    EXPECT_EQ(h.engine.counters().tx_rst, 0u);
}

// ======================= §3.10.7.2: LISTEN =======================

TEST_P(Listen, RstIgnored) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kRst, kPeerIsn, 0);
    h.send(kRst | kAck, kPeerIsn, 777);
    h.none();
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.counters().rx_listen_dropped, 2u);
    h.send(kSyn, kPeerIsn, 0);  // still listening
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, kWnd, "", h.mss());
}

TEST_P(Listen, AnyAckAnsweredWithRstAtSegAck) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kAck, kPeerIsn, 5555);
    EXPECT_SEG(h.one(), kRst, 5555, 0, 0);
    h.send(kSyn | kAck, kPeerIsn, 777);  // the ACK check comes before the SYN check
    EXPECT_SEG(h.one(), kRst, 777, 0, 0);
    EXPECT_EQ(h.engine.connections(), 0u);
}

TEST_P(Listen, SegmentWithoutSynAckOrRstDropped) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kFin, kPeerIsn, 0);
    h.send(kPsh, kPeerIsn, 0, "data");
    h.none();
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.counters().rx_listen_dropped, 2u);
}

// A retransmitted SYN (same SEG.SEQ) while the connection is SYN-RECEIVED lies below RCV.NXT: it fails the
// acceptability test of §3.10.7.4 and draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. No second TCB is made.
// (Linux resends the SYN,ACK here instead; both leave the peer to complete with the next SYN,ACK or its own ACK.)
TEST_P(Listen, DuplicateSynWhileSynReceived) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, kWnd, "", h.mss());
    h.at_ms(300);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.engine.connections(), 1u);
    EXPECT_EQ(h.state(), State::syn_received);
    // The handshake still completes, once.
    h.send(kAck, kRcvNxt, kSndNxt);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "accepted");
}

// An in-window SYN with another sequence number in a passively opened SYN-RECEIVED returns it to LISTEN
// (§3.10.7.4 fourth, SYN-RECEIVED): TCB gone, nothing sent; the listener takes the next SYN.
TEST_P(Listen, NewSynInWindowWhileSynReceivedReturnsToListen) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort, 1), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.send(kSyn, kPeerIsn + 100, 0);
    h.none();
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    h.send(kSyn, kPeerIsn + 100, 0);  // the backlog of 1 is free again
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 101, kWnd, "", h.mss());
}

// §3.10.7.4 fifth, SYN-RECEIVED: an ACK that does not acknowledge our SYN draws <SEQ=SEG.ACK><CTL=RST>.
TEST_P(Listen, UnacceptableAckInSynReceivedDrawsRst) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.send(kAck, kRcvNxt, 5000);
    EXPECT_SEG(h.one(), kRst, 5000, 0, 0);
    EXPECT_EQ(h.state(), State::syn_received);
    EXPECT_EQ(h.engine.counters().rx_bad_ack_syn_received, 1u);
    h.send(kAck, kRcvNxt, kSndNxt);
    h.none();
    EXPECT_EQ(h.state(), State::established);
}

// The ACK that completes the handshake may carry data: it is delivered, and ACKed by the delayed ACK.
TEST_P(Listen, HandshakeAckCarryingData) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.at_ms(100);
    h.send(kAck | kPsh, kRcvNxt, kSndNxt, "GET /");
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted,readable");
    h.at_ms(140);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 5, kWnd - 5);
    EXPECT_EQ(recv_all(h, ev[0].conn), "GET /");
}

// With SYN cookies off, a full backlog drops its oldest half-open connection for the new SYN (as BSD's syncache
// does): a flood of spoofed SYNs cannot lock the listener for the ~3 minutes its half-open connections would live.
// (With cookies on, the SYN gets a cookie instead: test_engine_syn_flood.cpp.)
TEST_P(Listen, SynBacklogFullEvictsTheOldestHalfOpen) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 0;
    EngineHarness h(GetParam(), cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort, 2), 0);
    h.send_from(40000, 80, kSyn, 100, 0);
    h.send_from(40001, 80, kSyn, 200, 0);
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_EQ(v[0].dst_port, 40000);
    EXPECT_EQ(v[0].ack, 101u);
    EXPECT_EQ(v[1].dst_port, 40001);
    EXPECT_EQ(v[1].ack, 201u);
    h.send_from(40002, 80, kSyn, 300, 0);  // a third half-open connection is one too many: 40000 goes
    Seg s = h.one();
    EXPECT_EQ(s.flags, kSyn | kAck);
    EXPECT_EQ(s.dst_port, 40002);
    EXPECT_EQ(s.ack, 301u);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 1u);
    EXPECT_EQ(h.engine.connections(), 2u);
    // 40000's handshake ACK now finds no connection, only the listener: <SEQ=SEG.ACK><CTL=RST>.
    h.send_from(40000, 80, kAck, 101, kSndNxt);
    EXPECT_SEG(h.one(), kRst, kSndNxt, 0, 0);
    EXPECT_EQ(event_types(h.events()), "");
    // The two younger ones complete; completing takes them off the half-open list, so two more SYNs fit
    // without evicting anyone.
    h.send_from(40001, 80, kAck, 201, kSndNxt);
    h.send_from(40002, 80, kAck, 301, kSndNxt);
    h.none();
    EXPECT_EQ(event_types(h.events()), "accepted,accepted");
    h.send_from(40003, 80, kSyn, 400, 0);
    h.send_from(40004, 80, kSyn, 500, 0);
    EXPECT_EQ(h.out().size(), 2u);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 1u);
    EXPECT_EQ(h.engine.connections(), 4u);
    // The next SYN evicts the oldest half-open one, 40003 (not an established connection).
    h.send_from(40005, 80, kSyn, 600, 0);
    EXPECT_EQ(h.one().dst_port, 40005);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 2u);
    h.send_from(40004, 80, kAck, 501, kSndNxt);
    h.none();
    EXPECT_EQ(event_types(h.events()), "accepted");
    h.send_from(40003, 80, kAck, 401, kSndNxt);
    const Seg r = h.one();
    EXPECT_EQ(r.dst_port, 40003);
    EXPECT_EQ(r.flags, kRst);
    EXPECT_EQ(r.seq, kSndNxt);
}

// A backlog configured as 0 still holds one half-open connection (eviction needs an oldest to drop).
TEST_P(Listen, ZeroBacklogHoldsOne) {
    TcpConfig cfg = test_config();
    cfg.syn_backlog = 0;
    cfg.syn_cookies = 0;
    EngineHarness h(GetParam(), cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send_from(40000, 80, kSyn, 100, 0);
    EXPECT_EQ(h.one().dst_port, 40000);
    h.send_from(40001, 80, kSyn, 200, 0);
    EXPECT_EQ(h.one().dst_port, 40001);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 1u);
    EXPECT_EQ(h.engine.connections(), 1u);
}

// A half-open connection leaving SYN-RECEIVED by a RST comes off the list too (from the middle).
TEST_P(Listen, HalfOpenRemovedFromTheMiddleByRst) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 0;
    EngineHarness h(GetParam(), cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort, 3), 0);
    for (uint16_t p = 0; p < 3; ++p) h.send_from(40000 + p, 80, kSyn, 100u * (p + 1), 0);
    EXPECT_EQ(h.out().size(), 3u);
    h.send_from(40001, 80, kRst, 201, 0);  // RST at RCV.NXT: 40001 is gone
    h.none();
    EXPECT_EQ(h.engine.connections(), 2u);
    h.send_from(40003, 80, kSyn, 400, 0);  // fits: no eviction
    EXPECT_EQ(h.one().dst_port, 40003);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 0u);
    h.send_from(40004, 80, kSyn, 500, 0);  // full: the oldest, 40000, goes
    EXPECT_EQ(h.one().dst_port, 40004);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 1u);
    h.send_from(40000, 80, kAck, 101, kSndNxt);
    EXPECT_SEG(h.one(), kRst, kSndNxt, 0, 0);
    h.send_from(40002, 80, kAck, 301, kSndNxt);
    h.send_from(40003, 80, kAck, 401, kSndNxt);
    h.send_from(40004, 80, kAck, 501, kSndNxt);
    h.none();
    EXPECT_EQ(event_types(h.events()), "accepted,accepted,accepted");
}

// ======================= §3.10.7.3: SYN-SENT =======================

TEST_P(SynSent, UnacceptableAckDrawsRstAtSegAck) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    h.send(kSyn | kAck, kPeerIsn, kIss);  // SEG.ACK = ISS
    EXPECT_SEG(h.one(), kRst, kIss, 0, 0);
    h.send(kSyn | kAck, kPeerIsn, kIss + 2);  // SEG.ACK > SND.NXT
    EXPECT_SEG(h.one(), kRst, kIss + 2, 0, 0);
    h.send(kAck, kPeerIsn, 2000);  // SEG.ACK < ISS
    EXPECT_SEG(h.one(), kRst, 2000, 0, 0);
    h.send(kRst | kAck, kPeerIsn, kIss + 2);  // unacceptable, and a RST: dropped silently
    h.none();
    EXPECT_EQ(h.state(), State::syn_sent);
    EXPECT_EQ(event_types(h.events()), "");
    // The right SYN,ACK still completes the open.
    h.send(kSyn | kAck, kPeerIsn, kSndNxt);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.engine.state(c), State::established);
}

TEST_P(SynSent, RstWithoutAckIgnored) {
    EngineHarness h{GetParam()};
    connect(h);
    h.out();
    h.send(kRst, kPeerIsn, 0);
    h.none();
    EXPECT_EQ(h.state(), State::syn_sent);
    EXPECT_EQ(event_types(h.events()), "");
}

// §3.10.2 SEND in SYN-SENT: the data is queued and goes out, cut to the peer's MSS, once ESTABLISHED.
TEST_P(SynSent, DataQueuedUntilEstablished) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    h.out();
    const std::string d = bytes(1000);
    ASSERT_EQ(h.engine.send(c, d.data(), 1000), 1000);
    h.none();
    const TcpOptions mss = mss_option(536);
    h.send(kSyn | kAck, kPeerIsn, kSndNxt, "", 65535, &mss);
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);  // the data carries the ACK of the SYN
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 536));
    EXPECT_SEG(v[1], kAck, kSndNxt + 536, kRcvNxt, kWnd, d.substr(536));
}

// ======================= §3.10.7.4 first: sequence number check =======================

TEST_P(SeqCheck, DataBeyondWindowAnsweredAndDropped) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(100);
    h.send(kAck, kRightEdge, kSndNxt, bytes(100));  // starts exactly at the right edge: outside
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(h.engine.counters().rx_unacceptable, 1u);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(200);  // and no delayed ACK follows
    h.none();
}

TEST_P(SeqCheck, OldDuplicateDataAnsweredAndDropped) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt - 100, kSndNxt, bytes(100));  // octets 1201..1300: all before RCV.NXT
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(h.engine.counters().rx_unacceptable, 1u);
}

// ======================= second: RST (RFC 5961 §3.2) =======================

TEST_P(Rst, ExactlyAtRcvNxtResets) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kRst, kRcvNxt, 0);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "reset");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.counters().rx_rst_accepted, 1u);
}

TEST_P(Rst, InWindowButNotExactDrawsChallengeAck) {
    EngineHarness h{GetParam()};
    open_passive(h);
    h.send(kRst, kRcvNxt + 1, 0);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    h.send(kRst | kAck, kRightEdge - 1, kSndNxt);  // the last octet of the window
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.counters().rx_rst_challenged, 2u);
    EXPECT_EQ(h.engine.counters().tx_challenge_acks, 2u);
}

TEST_P(Rst, OutOfWindowIgnored) {
    EngineHarness h{GetParam()};
    open_passive(h);
    h.send(kRst, kRcvNxt - 1, 0);
    h.send(kRst, kRightEdge, 0);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.counters().rx_rst_out_of_window, 2u);
}

// ======================= fourth: SYN (RFC 5961 §4.2) =======================

TEST_P(Syn, InEstablishedDrawsChallengeAck) {
    EngineHarness h{GetParam()};
    open_passive(h);
    h.send(kSyn, kRcvNxt + 500, 0);  // in window
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    h.send(kSyn, 90000, 0);  // out of window: answered all the same
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.counters().rx_syn_challenged, 1u);
}

// Our ACK of the SYN,ACK was lost: the peer's retransmitted SYN,ACK is answered with the same ACK.
TEST_P(Syn, RetransmittedSynAckInEstablishedIsAckedAgain) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_active(kPeerIsn);
    h.at_ms(1000);
    h.send(kSyn | kAck, kPeerIsn, kSndNxt);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.engine.state(c), State::established);
}

// ======================= TIME-WAIT =======================

TEST_P(TimeWait, RstIgnored) {  // RFC 1337
    EngineHarness h{GetParam()};
    to_time_wait(h);
    h.send(kRst, kRcvNxt + 1, 0);  // exactly RCV.NXT
    h.none();
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(h.engine.counters().rx_rst_time_wait, 1u);
    EXPECT_EQ(event_types(h.events()), "");
}

TEST_P(TimeWait, RetransmittedFinAckedAndTwoMslRestarted) {
    EngineHarness h{GetParam()};
    to_time_wait(h);  // at t = 0
    h.at_ms(20000);
    h.send(kFin | kAck, kRcvNxt, kSndNxt + 1);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, kWnd);
    h.at_ms(60000);  // the first 2 MSL would have ended here
    EXPECT_EQ(h.state(), State::time_wait);
    h.at_ms(20000 + 60000 - 1);
    EXPECT_EQ(h.state(), State::time_wait);
    h.at_ms(20000 + 60000);
    EXPECT_EQ(h.state(), State::closed);
    h.none();
}

// RFC 9293 MAY-2: a SYN above RCV.NXT reopens the 4-tuple when a listener exists; the new ISS is the new clock's.
TEST_P(TimeWait, ReopenedBySynWithHigherSequenceNumber) {
    EngineHarness h{GetParam()};
    to_time_wait(h);
    h.at_ms(5000);
    h.pinned_isn = 90000;
    h.send(kSyn, 500000, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, 90000, 500001, kWnd, "", h.mss());
    EXPECT_EQ(h.state(), State::syn_received);
    EXPECT_EQ(h.engine.counters().rx_time_wait_reopen, 1u);
    h.send(kAck, 500001, 90001);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "accepted");
}

TEST_P(TimeWait, SynWithLowerSequenceNumberDoesNotReopen) {
    EngineHarness h{GetParam()};
    to_time_wait(h);
    h.pinned_isn = 90000;
    h.send(kSyn, 1000, 0);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(h.engine.counters().rx_time_wait_reopen, 0u);
}

TEST_P(TimeWait, SynWithoutListenerDoesNotReopen) {
    EngineHarness h{GetParam()};
    ConnId c = h.establish_active(kPeerIsn);  // no listener on port 80
    ASSERT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt, kWnd);
    h.send(kFin | kAck, kRcvNxt, kSndNxt + 1);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, kWnd);
    ASSERT_EQ(h.state(), State::time_wait);
    h.send(kSyn, kRcvNxt + 10, 0);  // above RCV.NXT, in window: a challenge ACK (RFC 5961 §4.2)
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    EXPECT_EQ(h.engine.counters().rx_time_wait_reopen, 0u);
}

// ======================= fifth: ACK =======================

TEST_P(Ack, OfUnsentDataDroppedAndAnswered) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt, kSndNxt + 1000, "data!");  // SEG.ACK > SND.NXT
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(recv_all(h, c), "");  // the segment's text is dropped with it
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.counters().rx_ack_too_new, 1u);
}

TEST_P(Ack, TooOldDroppedAndAnswered) {  // RFC 5961 §5.2: below SND.UNA - MAX.SND.WND
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt, kSndNxt - 65535 - 1, "data!");
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(h.engine.counters().rx_ack_too_old, 1u);
}

TEST_P(Ack, SegmentWithoutAckFlagDropped) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kPsh, kRcvNxt, 0, "hello");
    h.none();
    h.at_ms(500);
    h.none();
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.counters().rx_no_ack_flag, 1u);
}

// ======================= seventh: text =======================

TEST_P(Data, LoneSegmentAckedByDelayedAckAfter40Ms) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(1000);
    const std::string d = bytes(100);
    h.send(kAck | kPsh, kRcvNxt, kSndNxt, d);
    h.none();
    EXPECT_EQ(event_types(h.events()), "readable");
    h.at_ms(1039);
    h.none();
    h.at_ms(1040);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 100, kWnd - 100);
    EXPECT_EQ(recv_all(h, c), d);
    h.at_ms(2000);
    h.none();
}

// Two segments of `len` from a peer that announced `peer_mss` (nullptr: no option): the first waits for the
// delayed ACK, the second is ACKed at once, and nothing more is owed after.
void expect_ack_on_second_segment(Family f, const TcpOptions* peer_mss, uint32_t len) {
    EngineHarness h{f};
    ConnId c = open_passive(h, peer_mss);
    h.at_ms(1000);
    const std::string d1 = bytes(len, 'a'), d2 = bytes(len, 'k');
    h.send(kAck, kRcvNxt, kSndNxt, d1);
    h.none();
    h.send(kAck, kRcvNxt + len, kSndNxt, d2);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 2 * len, static_cast<uint16_t>(kWnd - 2 * len));
    h.at_ms(1040);
    h.none();
    EXPECT_EQ(recv_all(h, c), d1 + d2);
}

TEST_P(Data, SecondFullSizedSegmentAckedAtOnce) {  // RFC 9293 SHLD-19
    const TcpOptions mss = mss_option(1460);
    expect_ack_on_second_segment(GetParam(), &mss, 1460);
}

TEST_P(Data, OutOfOrderHeldDupAckedThenDeliveredInOrder) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(1000);
    const std::string first = bytes(100, 'a'), second = bytes(100, 'A');
    h.send(kAck, kRcvNxt + 100, kSndNxt, second);  // the hole is 1301..1400
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);  // immediate duplicate ACK (RFC 5681 §4.2)
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(1010);
    h.send(kAck, kRcvNxt, kSndNxt, first);  // fills the hole: ACKed at once, covering both
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 200, kWnd - 200);
    EXPECT_EQ(event_types(h.events()), "readable");
    EXPECT_EQ(recv_all(h, c), first + second);
    h.at_ms(1100);
    h.none();
}

// Text and FIN in one segment: delivered, and the FIN ACKed at once (CLOSE-WAIT). The right window edge stays
// where it was advertised, so the window shrinks by the 5 octets and the FIN's sequence number.
TEST_P(Data, TextWithFinAckedAtOnce) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck | kFin | kPsh, kRcvNxt, kSndNxt, "hello");
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 6, kWnd - 6);
    EXPECT_EQ(h.state(), State::close_wait);
    EXPECT_EQ(event_types(h.events()), "readable,peer_closed");
    EXPECT_EQ(recv_all(h, c), "hello");
}

// A FIN that arrives ahead of a hole is held with its text, and takes effect when the hole fills.
TEST_P(Data, OutOfOrderFinTakesEffectWhenHoleFills) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck | kFin, kRcvNxt + 5, kSndNxt, "world");
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    h.send(kAck, kRcvNxt, kSndNxt, "hello");
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 11, kWnd - 11);
    EXPECT_EQ(h.state(), State::close_wait);
    EXPECT_EQ(event_types(h.events()), "readable,peer_closed");
    EXPECT_EQ(recv_all(h, c), "helloworld");
}

// A retransmission overlapping what was received: only the new octets are taken (§3.10.7.4 trimming), and the
// duplicate part makes the ACK immediate.
TEST_P(Data, OverlappingRetransmissionTrimmed) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    const std::string d = bytes(150);
    h.send(kAck, kRcvNxt, kSndNxt, d.substr(0, 100));
    h.out();
    h.send(kAck, kRcvNxt + 50, kSndNxt, d.substr(50, 100));
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 150, kWnd - 150);
    EXPECT_EQ(recv_all(h, c), d);
}

// Half-close: after our FIN is acknowledged (FIN-WAIT-2) the peer's data still arrives and is delivered.
TEST_P(Data, ReceivedInFinWait2) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    ASSERT_EQ(h.engine.close(c), 0);
    h.out();
    h.send(kAck, kRcvNxt, kSndNxt + 1);
    ASSERT_EQ(h.state(), State::fin_wait_2);
    h.at_ms(1000);
    h.send(kAck | kPsh, kRcvNxt, kSndNxt + 1, "late reply");
    h.none();
    EXPECT_EQ(event_types(h.events()), "readable");
    h.at_ms(1040);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 10, kWnd - 10);
    EXPECT_EQ(recv_all(h, c), "late reply");
}

// Sequence numbers are compared modulo 2^32 (§3.4): the peer's data crosses zero.
TEST_P(Data, ReceiveAcrossSequenceWrap) {
    EngineHarness h{GetParam()};
    const uint32_t peer_isn = 0xFFFFFFC0u;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, peer_isn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, peer_isn + 1, kWnd, "", h.mss());
    h.send(kAck, peer_isn + 1, kSndNxt);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    const std::string d = bytes(200);
    h.send(kAck, peer_isn + 1, kSndNxt, d.substr(0, 100));  // octets 0xFFFFFFC1 .. 0x24
    h.at_ms(40);
    EXPECT_SEG(h.one(), kAck, kSndNxt, 0x25u, kWnd - 100);
    h.send(kAck, 0x25u, kSndNxt, d.substr(100));
    h.at_ms(80);
    EXPECT_SEG(h.one(), kAck, kSndNxt, 0x89u, kWnd - 200);
    EXPECT_EQ(recv_all(h, ev[0].conn), d);
}

// Our data crosses zero and is acknowledged with a wrapped SEG.ACK: nothing is retransmitted.
TEST_P(Data, SendAcrossSequenceWrap) {
    EngineHarness h(GetParam(), test_config(), 0xFFFFFFF0u);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, 0xFFFFFFF0u, kRcvNxt, kWnd, "", h.mss());
    h.send(kAck, kRcvNxt, 0xFFFFFFF1u);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    const std::string d = bytes(100);
    ASSERT_EQ(h.engine.send(ev[0].conn, d.data(), 100), 100);
    EXPECT_SEG(h.one(), kAck, 0xFFFFFFF1u, kRcvNxt, kWnd, d);
    h.at_ms(100);
    h.send(kAck, kRcvNxt, 0x55u);
    h.none();
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.tcb()->snd_una.raw(), 0x55u);
    EXPECT_EQ(h.tcb()->rto_us, 300000u);  // one clean RTT sample of 100 ms
    h.at_ms(5000);
    h.none();
}

// ======================= TCP segmentation offload =======================

TcpConfig tso_config(uint32_t tso_max, uint16_t max_segs = 0) {
    TcpConfig c = test_config();
    c.tx_checksum_offload = true;
    c.tso_max = tso_max;
    c.tso_max_segs = max_segs;
    return c;
}

// Segments of up to tso_max, cut at whole MSS multiples; each asks the port to cut it at SND.MSS (tso_segsz).
TEST_P(Tso, SendsWholeMssMultiplesUpToTsoMax) {
    EngineHarness h(GetParam(), tso_config(4500));
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(9000);
    ASSERT_EQ(h.engine.send(c, d.data(), 9000), 9000);
    const auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 4000));
    EXPECT_SEG(v[1], kAck, kSndNxt + 4000, kRcvNxt, kWnd, d.substr(4000, 4000));
    EXPECT_SEG(v[2], kAck | kPsh, kSndNxt + 8000, kRcvNxt, kWnd, d.substr(8000));
    for (int i : {0, 1}) {
        EXPECT_TRUE(v[i].ol_flags & RTE_MBUF_F_TX_TCP_SEG) << i;
        EXPECT_EQ(v[i].tso_segsz, 1000u) << i;
    }
    EXPECT_FALSE(v[2].ol_flags & RTE_MBUF_F_TX_TCP_SEG) << "one MSS needs no cutting";
    h.send(kAck, kRcvNxt, kSndNxt + 9000);
    h.none();
}

// Without checksum offload there is no TSO: one MSS per segment whatever tso_max says.
TEST_P(Tso, OffWithoutChecksumOffload) {
    TcpConfig cfg = tso_config(60000);
    cfg.tx_checksum_offload = false;
    EngineHarness h(GetParam(), cfg);
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(3000);
    ASSERT_EQ(h.engine.send(c, d.data(), 3000), 3000);
    const auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    for (const Seg& s : v) EXPECT_EQ(s.payload.size(), 1000u);
}

// A port that takes at most N mbufs per packet: the segment stops at the last whole MSS that fits (the header
// mbuf plus one reference per send-buffer mbuf, which hold one MSS each here).
TEST_P(Tso, MbufLimitCutsAtWholeMss) {
    EngineHarness h(GetParam(), tso_config(60000, 3));
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(5000);
    ASSERT_EQ(h.engine.send(c, d.data(), 5000), 5000);
    const auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 2000));
    EXPECT_SEG(v[1], kAck, kSndNxt + 2000, kRcvNxt, kWnd, d.substr(2000, 2000));
    EXPECT_SEG(v[2], kAck | kPsh, kSndNxt + 4000, kRcvNxt, kWnd, d.substr(4000));
}

// The congestion window still rules: IW10 with MSS 1000 lets 10000 bytes out, as one 10000-byte segment.
TEST_P(Tso, CwndLimitsTheSegment) {
    EngineHarness h(GetParam(), tso_config(60000));
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(30000);
    ASSERT_EQ(h.engine.send(c, d.data(), 30000), 30000);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 10000));
}

// A peer MSS below 536 gets no TSO: one MSS per packet.
TEST_P(Tso, NotForATinyPeerMss) {
    EngineHarness h(GetParam(), tso_config(60000));
    const TcpOptions mss = mss_option(300);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(900);
    ASSERT_EQ(h.engine.send(c, d.data(), 900), 900);
    const auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    for (const Seg& s : v) {
        EXPECT_EQ(s.payload.size(), 300u);
        EXPECT_FALSE(s.ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    }
}

// "Full-sized" is what the peer sends, not the MSS it announced: a peer with no MSS option (SND.MSS 536) sending
// 1460-byte segments is ACKed every second segment, not every one.
TEST_P(Data, FullSizedLearnedFromThePeersSegments) { expect_ack_on_second_segment(GetParam(), nullptr, 1460); }

// Segments below our MSS (a peer behind a smaller MTU) still draw an ACK every second one.
TEST_P(Data, SmallerSegmentsAckedEverySecond) {
    const TcpOptions mss = mss_option(1000);
    expect_ack_on_second_segment(GetParam(), &mss, 1000);
}

// A segment the peer's TSO left whole (or an LRO'd one) holding two or more full-sized segments is ACKed at
// once (SHLD-19 counts the segments it holds), not after the delayed-ACK timer.
TEST_P(Tso, ReceivedMultiMssSegmentAckedAtOnce) {
    EngineHarness h{GetParam()};
    const TcpOptions mss = mss_option(536);  // three full-sized segments still fit one test mbuf
    ConnId c = open_passive(h, &mss);
    h.at_ms(1000);
    const std::string d = bytes(3 * 536);
    h.send(kAck, kRcvNxt, kSndNxt, d);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 3 * 536, kWnd - 3 * 536);
    EXPECT_EQ(recv_all(h, c), d);
}

// A FIN on the ACK that completes a passive handshake: ESTABLISHED and at once CLOSE-WAIT.
TEST_P(Data, FinOnHandshakeAck) {
    EngineHarness h{GetParam()};
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.out();
    h.send(kAck | kFin, kRcvNxt, kSndNxt);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 1, kWnd);
    EXPECT_EQ(h.state(), State::close_wait);
    EXPECT_EQ(event_types(h.events()), "accepted,peer_closed");
}

// RFC 9293 §3.8.6.2.2: the window shrinks by what is unread and reopens, after the user reads, once it can grow by
// min(RCV.BUFF / 2, MSS). With a 2000-byte buffer that step is 1000.
TEST_P(Window, ShrinksWithUnreadDataAndReopensAfterRecv) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 2000;
    EngineHarness h(GetParam(), cfg);
    const TcpOptions mss = mss_option(1460);
    ConnId c = open_passive(h, &mss, 2000);
    h.at_ms(1000);
    h.send(kAck, kRcvNxt, kSndNxt, bytes(1000));
    h.at_ms(1040);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 1000, 1000);
    h.at_ms(1100);
    h.send(kAck, kRcvNxt + 1000, kSndNxt, bytes(1000));
    h.at_ms(1140);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 2000, 0);
    // A zero window takes no more text: the octet is answered, not delivered.
    h.send(kAck, kRcvNxt + 2000, kSndNxt, "z");
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 2000, 0);
    // Reading 1500 octets opens the window by 1500 >= 1000: a window update goes out at once.
    char buf[1500];
    EXPECT_EQ(h.engine.recv(c, buf, sizeof buf), 1500);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 2000, 1500);
    // Reading the last 500 would grow it by only 500: no update.
    EXPECT_EQ(h.engine.recv(c, buf, sizeof buf), 500);
    h.none();
    h.at_ms(2000);
    h.none();
}

// MUST-66: a RST at RCV.NXT is processed even with a zero receive window.
TEST_P(Window, RstProcessedWithZeroWindow) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 2000;
    EngineHarness h(GetParam(), cfg);
    const TcpOptions mss = mss_option(1460);
    ConnId c = open_passive(h, &mss, 2000);
    h.send(kAck, kRcvNxt, kSndNxt, bytes(1000));
    h.send(kAck, kRcvNxt + 1000, kSndNxt, bytes(1000));
    h.at_ms(40);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 2000, 0);
    h.events();
    h.send(kRst, kRcvNxt + 2000, 0);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "reset");
    EXPECT_EQ(ev[0].conn, c);
}

// §3.10.7.4: a segment straddling the right window edge is trimmed to the window, the rest dropped, and the
// new RCV.NXT ACKed at once.
TEST_P(Window, SegmentStraddlingRightEdgeTrimmed) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 1000;
    EngineHarness h(GetParam(), cfg);
    const TcpOptions mss = mss_option(1460);
    ConnId c = open_passive(h, &mss, 1000);
    const std::string d = bytes(1500);  // octets 1301..2800; the window ends at 2301
    h.send(kAck, kRcvNxt, kSndNxt, d);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 1000, 0);
    EXPECT_EQ(recv_all(h, c), d.substr(0, 1000));
}

// ======================= MSS (MUST-14, MUST-15) =======================

TEST_P(Mss, NoOptionFromPeerMeans536) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);  // the SYN carried no MSS option
    const std::string d = bytes(2000);
    ASSERT_EQ(h.engine.send(c, d.data(), 2000), 2000);
    auto v = h.out();
    ASSERT_EQ(v.size(), 4u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 536));
    EXPECT_SEG(v[1], kAck, kSndNxt + 536, kRcvNxt, kWnd, d.substr(536, 536));
    EXPECT_SEG(v[2], kAck, kSndNxt + 1072, kRcvNxt, kWnd, d.substr(1072, 536));
    EXPECT_SEG(v[3], kAck, kSndNxt + 1608, kRcvNxt, kWnd, d.substr(1608));
}

TEST_P(Mss, PeerMss1000) {
    EngineHarness h{GetParam()};
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(2500);
    ASSERT_EQ(h.engine.send(c, d.data(), 2500), 2500);
    auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 1000));
    EXPECT_SEG(v[1], kAck, kSndNxt + 1000, kRcvNxt, kWnd, d.substr(1000, 1000));
    EXPECT_SEG(v[2], kAck, kSndNxt + 2000, kRcvNxt, kWnd, d.substr(2000));
}

TEST_P(Mss, ActiveOpenTakesMssFromSynAck) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    h.out();
    const TcpOptions mss = mss_option(700);
    h.send(kSyn | kAck, kPeerIsn, kSndNxt, "", 65535, &mss);
    h.out();
    const std::string d = bytes(1000);
    ASSERT_EQ(h.engine.send(c, d.data(), 1000), 1000);
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt, kRcvNxt, kWnd, d.substr(0, 700));
    EXPECT_SEG(v[1], kAck, kSndNxt + 700, kRcvNxt, kWnd, d.substr(700));
}

// ======================= Retransmission (RFC 6298, RFC 9293 §3.8.3) =======================

TEST_P(Rto, InitialOneSecondBackoffSameSeqThenTimedOut) {
    TcpConfig cfg = test_config();
    cfg.max_retransmits = 3;
    EngineHarness h(GetParam(), cfg);
    ConnId c = open_passive(h);
    h.at_ms(10000);
    const std::string d = bytes(100);
    ASSERT_EQ(h.engine.send(c, d.data(), 100), 100);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, d);
    // RTO 1 s, then 2 s, then 4 s: the same segment each time.
    for (uint64_t t : {11000u, 13000u, 17000u}) {
        SCOPED_TRACE(t);
        h.at_ms(t - 1);
        h.none();
        h.at_ms(t);
        EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, d);
    }
    // After the third retransmission's 8 s: give up (R2).
    h.at_ms(24999);
    h.none();
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(25000);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "timed_out");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.counters().tx_retransmits, 3u);
    EXPECT_EQ(h.engine.counters().conn_timed_out, 1u);
}

TEST_P(Rto, SynRetransmittedWithBackoffThenTimedOut) {
    TcpConfig cfg = test_config();
    cfg.syn_retransmits = 2;
    EngineHarness h(GetParam(), cfg);
    ConnId c = connect(h);
    EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    for (uint64_t t : {1000u, 3000u}) {
        SCOPED_TRACE(t);
        h.at_ms(t - 1);
        h.none();
        h.at_ms(t);
        EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    }
    h.at_ms(6999);
    h.none();
    EXPECT_EQ(h.state(), State::syn_sent);
    h.at_ms(7000);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "timed_out");
    EXPECT_EQ(ev[0].conn, c);
    EXPECT_EQ(h.tcb(), nullptr);
}

TEST_P(Rto, SynAckRetransmittedThenHalfOpenDropped) {
    TcpConfig cfg = test_config();
    cfg.syn_retransmits = 2;
    EngineHarness h(GetParam(), cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, kWnd, "", h.mss());
    for (uint64_t t : {1000u, 3000u}) {
        SCOPED_TRACE(t);
        h.at_ms(t - 1);
        h.none();
        h.at_ms(t);
        EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, kWnd, "", h.mss());
    }
    h.at_ms(7000);
    h.none();
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(event_types(h.events()), "");
    h.send(kSyn, kPeerIsn, 0);  // the listener is unaffected
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kRcvNxt, kWnd, "", h.mss());
}

// MUST-23: with the default configuration a SYN is retransmitted for at least 3 minutes. RTO doubling from 1 s
// with the 60 s ceiling sends it at 1, 3, 7, 15, 31, 63 and 123 s; the connection must still be trying at 180 s.
TEST_P(Rto, SynRetransmittedForAtLeastThreeMinutesByDefault) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    std::vector<uint64_t> sent_at;
    for (uint64_t t = 1000; t <= 180000; t += 1000) {
        h.at_ms(t);
        for (const Seg& s : h.out()) {
            EXPECT_SEG(s, kSyn, kIss, 0, kWnd, "", h.mss());
            sent_at.push_back(t);
        }
    }
    EXPECT_EQ(sent_at, (std::vector<uint64_t>{1000, 3000, 7000, 15000, 31000, 63000, 123000}));
    EXPECT_EQ(h.engine.state(c), State::syn_sent) << "gave up on the SYN before 3 minutes";
    EXPECT_EQ(event_types(h.events()), "");
}

// RFC 6298 §2.2: first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 3R, at least rto_min.
TEST_P(Rto, FirstRttSampleSetsRto) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(10000);
    ASSERT_EQ(h.engine.send(c, "0123456789", 10), 10);
    h.out();
    h.at_ms(10100);
    h.send(kAck, kRcvNxt, kSndNxt + 10);
    h.none();
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.tcb()->rtt.srtt_us(), 100000u);
    EXPECT_EQ(h.tcb()->rtt.rttvar_us(), 50000u);
    EXPECT_EQ(h.tcb()->rto_us, 300000u);
    // The next segment is retransmitted 300 ms after it was sent.
    h.at_ms(20000);
    ASSERT_EQ(h.engine.send(c, "abc", 3), 3);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 10, kRcvNxt, kWnd, "abc");
    h.at_ms(20299);
    h.none();
    h.at_ms(20300);
    EXPECT_SEG(h.one(), kAck, kSndNxt + 10, kRcvNxt, kWnd, "abc");
}

// RFC 6298 §2.3: R' = 200 ms after R = 100 ms: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms,
// SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms, RTO = 112.5 + 4 * 62.5 = 362.5 ms.
TEST_P(Rto, SecondRttSampleSmoothed) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(10000);
    ASSERT_EQ(h.engine.send(c, "0123456789", 10), 10);
    h.at_ms(10100);
    h.send(kAck, kRcvNxt, kSndNxt + 10);
    h.at_ms(11000);
    ASSERT_EQ(h.engine.send(c, "abc", 3), 3);
    h.at_ms(11200);
    h.send(kAck, kRcvNxt, kSndNxt + 13);
    h.out();
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.tcb()->rtt.srtt_us(), 112500u);
    EXPECT_EQ(h.tcb()->rtt.rttvar_us(), 62500u);
    EXPECT_EQ(h.tcb()->rto_us, 362500u);
}

TEST_P(Rto, FloorIsRtoMin) {  // 3 * 50 ms = 150 ms < rto_min_ms (200)
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.at_ms(10000);
    ASSERT_EQ(h.engine.send(c, "0123456789", 10), 10);
    h.out();
    h.at_ms(10050);
    h.send(kAck, kRcvNxt, kSndNxt + 10);
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.tcb()->rto_us, 200000u);
}

// RFC 6298 §5.7: after the SYN timed out, RTO is re-initialised to 3 s once the handshake completes.
TEST_P(Rto, ThreeSecondsAfterSynTimeout) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    h.out();
    h.at_ms(1000);
    EXPECT_SEG(h.one(), kSyn, kIss, 0, kWnd, "", h.mss());
    h.at_ms(1500);
    h.send(kSyn | kAck, kPeerIsn, kSndNxt);  // answers the retransmission: no RTT sample (Karn)
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd);
    h.at_ms(2000);
    ASSERT_EQ(h.engine.send(c, "abc", 3), 3);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, "abc");
    h.at_ms(4999);
    h.none();
    h.at_ms(5000);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, "abc");
}

// RFC 6298 §5: a FIN is retransmitted like data, in FIN-WAIT-1 and in LAST-ACK.
TEST_P(Rto, FinRetransmittedInFinWait1AndLastAck) {
    {
        EngineHarness h{GetParam()};
        ConnId c = open_passive(h);
        h.at_ms(100);
        ASSERT_EQ(h.engine.close(c), 0);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt, kWnd);
        h.at_ms(1099);
        h.none();
        h.at_ms(1100);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt, kWnd);
        h.at_ms(3100);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt, kWnd);
        EXPECT_EQ(h.state(), State::fin_wait_1);
    }
    {
        EngineHarness h{GetParam()};
        ConnId c = open_passive(h);
        h.send(kFin | kAck, kRcvNxt, kSndNxt);
        h.out();
        h.at_ms(100);
        ASSERT_EQ(h.engine.close(c), 0);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt + 1, kWnd);
        h.at_ms(1099);
        h.none();
        h.at_ms(1100);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, kRcvNxt + 1, kWnd);
        EXPECT_EQ(h.state(), State::last_ack);
    }
}

// RFC 9293 §3.6: a FIN is retransmitted until acknowledged; the user timeout (RFC 5482, §3.10.8) counts from when
// the oldest unacknowledged octet or FIN was sent. A connection whose last data was acknowledged long ago (or that
// never sent any, as a receiver) and then closes must still retransmit its FIN at the RTO, and give up only after
// the FIN itself has waited the user timeout: the FIN sent at 10 s goes again at 11 s (RTO 1 s) and 13 s (2 s);
// at the next timeout, 17 s, it has waited 7 s >= 4 s. The FIN's first RTO used to find the connection quiet since
// the handshake, past the user timeout, and end it unsent (seen at 20% loss: the peer lost the server's only FIN,
// had its own acknowledged, and waited in FIN-WAIT-2 for a FIN that never came again).
TEST_P(Rto, FinAfterLongIdleRetransmittedBeforeUserTimeout) {
    for (bool peer_closed_first : {false, true}) {
        SCOPED_TRACE(peer_closed_first ? "LAST-ACK" : "FIN-WAIT-1");
        TcpConfig cfg = test_config();
        cfg.user_timeout_ms = 4000;
        EngineHarness h(GetParam(), cfg);
        ConnId c = open_passive(h);
        const uint32_t ack = kRcvNxt + (peer_closed_first ? 1 : 0);
        if (peer_closed_first) {
            h.send(kFin | kAck, kRcvNxt, kSndNxt);
            EXPECT_SEG(h.one(), kAck, kSndNxt, ack, kWnd);
            EXPECT_EQ(event_types(h.events()), "peer_closed");
        }
        h.at_ms(10000);  // idle for more than the user timeout, with nothing outstanding
        ASSERT_EQ(h.engine.close(c), 0);
        EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, ack, kWnd);
        EXPECT_EQ(h.state(), peer_closed_first ? State::last_ack : State::fin_wait_1);
        for (uint64_t t : {11000u, 13000u}) {
            SCOPED_TRACE(t);
            h.at_ms(t - 1);
            h.none();
            h.at_ms(t);
            EXPECT_SEG(h.one(), kFin | kAck, kSndNxt, ack, kWnd);
            EXPECT_EQ(event_types(h.events()), "");
        }
        h.at_ms(16999);
        h.none();
        EXPECT_EQ(event_types(h.events()), "");
        h.at_ms(17000);
        h.none();
        EXPECT_EQ(event_types(h.events()), "user_timed_out");
        EXPECT_EQ(h.tcb(), nullptr);
        EXPECT_EQ(h.engine.counters().tx_retransmits, 2u);
        EXPECT_EQ(h.engine.counters().conn_user_timed_out, 1u);
    }
}

// ======================= Send buffer =======================

TEST_P(SendBuffer, BackpressureThenWritable) {
    TcpConfig cfg = test_config();
    cfg.snd_buf = 4000;
    EngineHarness h(GetParam(), cfg);
    const TcpOptions mss = mss_option(1000);
    ConnId c = open_passive(h, &mss);
    const std::string d = bytes(10000);
    EXPECT_EQ(h.engine.send(c, d.data(), 10000), 4000);
    auto v = h.out();
    ASSERT_EQ(v.size(), 4u) << EngineHarness::describe(v);
    for (uint32_t i = 0; i < 4; ++i)
        EXPECT_SEG(v[i], kAck, kSndNxt + 1000 * i, kRcvNxt, kWnd, d.substr(1000 * i, 1000));
    EXPECT_EQ(h.engine.send_space(c), 0u);
    EXPECT_EQ(h.engine.send(c, d.data() + 4000, 1000), 0);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(50);
    h.send(kAck, kRcvNxt, kSndNxt + 2000);  // two segments acknowledged: 2000 octets free
    h.none();
    EXPECT_EQ(event_types(h.events()), "writable");
    EXPECT_EQ(h.engine.send_space(c), 2000u);
    EXPECT_EQ(h.engine.send(c, d.data() + 4000, 6000), 2000);
    v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    EXPECT_SEG(v[0], kAck, kSndNxt + 4000, kRcvNxt, kWnd, d.substr(4000, 1000));
    EXPECT_SEG(v[1], kAck, kSndNxt + 5000, kRcvNxt, kWnd, d.substr(5000, 1000));
}

// ======================= Zero window (MUST-36, SHLD-29, SHLD-30) =======================

TEST_P(ZeroWindow, SenderStopsAndProbesWithBackoff) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt, kSndNxt, "", 0);  // the peer's window closes
    h.none();
    h.at_ms(10000);
    const std::string d = bytes(100);
    ASSERT_EQ(h.engine.send(c, d.data(), 100), 100);
    h.none();  // nothing fits
    // First probe one RTO later, then at doubling intervals; each probe is the first unsent octet.
    for (uint64_t t : {11000u, 13000u, 17000u}) {
        SCOPED_TRACE(t);
        h.at_ms(t - 1);
        h.none();
        h.at_ms(t);
        EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, "a");
    }
    EXPECT_EQ(h.engine.counters().zero_window_probes, 3u);
    // The window opens: the data goes out.
    h.at_ms(17100);
    h.send(kAck, kRcvNxt, kSndNxt, "", 65535);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, d);
}

// The usual case: the receiver answers every probe with its (still zero) window. Probing must go on, still backing
// off, and must not turn into retransmission timeouts that end the connection.
TEST_P(ZeroWindow, AnsweredProbesContinueWithBackoff) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt, kSndNxt, "", 0);
    h.at_ms(10000);
    const std::string d = bytes(100);
    ASSERT_EQ(h.engine.send(c, d.data(), 100), 100);
    h.none();
    for (uint64_t t : {11000u, 13000u, 17000u, 25000u}) {
        SCOPED_TRACE(t);
        h.at_ms(t - 1);
        h.none();
        h.at_ms(t);
        EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, "a");
        h.send(kAck, kRcvNxt, kSndNxt, "", 0);  // "still zero"
        h.none();
    }
    EXPECT_EQ(h.engine.state(c), State::established);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(25100);
    h.send(kAck, kRcvNxt, kSndNxt, "", 65535);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, kWnd, d);
}

// The window closes while data is in flight (the receiver took the first segment, not the second). When the
// retransmission timer expires the sender must still send something (RFC 6298 §5.4: the earliest unacknowledged
// octets; RFC 9293 §3.8.6.1: a zero window is probed), or it could never learn that the window reopened.
TEST_P(ZeroWindow, ClosesWithDataInFlightStillProbedAtRto) {
    EngineHarness h{GetParam()};
    const TcpOptions mss = mss_option(100);
    ConnId c = open_passive(h, &mss);
    h.at_ms(1000);
    const std::string d = bytes(200);
    ASSERT_EQ(h.engine.send(c, d.data(), 200), 200);
    auto v = h.out();
    ASSERT_EQ(v.size(), 2u) << EngineHarness::describe(v);
    h.at_ms(1100);
    h.send(kAck, kRcvNxt, kSndNxt + 100, "", 0);  // RTT 100 ms: RTO 300 ms, restarted now
    h.none();
    h.at_ms(1399);
    h.none();
    h.at_ms(1400);
    v = h.out();
    ASSERT_EQ(v.size(), 1u) << "nothing sent when the RTO expired against a zero window";
    EXPECT_EQ(v[0].flags & ~kPsh, kAck);
    EXPECT_EQ(v[0].seq, kSndNxt + 100);
    EXPECT_EQ(v[0].ack, kRcvNxt);
    EXPECT_EQ(v[0].wnd, kWnd);
    EXPECT_FALSE(v[0].payload.empty());
    EXPECT_EQ(v[0].payload, d.substr(100, v[0].payload.size()));
    // The window reopens: the rest goes out.
    h.at_ms(1500);
    h.send(kAck, kRcvNxt, kSndNxt + 100, "", 65535);
    v = h.out();
    ASSERT_FALSE(v.empty());
    EXPECT_EQ(v.back().seq + v.back().payload.size(), kSndNxt + 200);
    EXPECT_EQ(event_types(h.events()), "");
}

// ======================= CLOSE and ABORT =======================

TEST_P(Close, WithUnreadDataSendsRst) {  // SHLD-3
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    h.send(kAck, kRcvNxt, kSndNxt, bytes(100));
    h.none();
    h.events();
    EXPECT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kRst, kSndNxt, 0, 0);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(1000);  // the pending delayed ACK died with the TCB
    h.none();
}

TEST_P(Abort, SendsRstAtSndNxt) {
    EngineHarness h{GetParam()};
    ConnId c = open_passive(h);
    ASSERT_EQ(h.engine.send(c, "0123456789", 10), 10);
    h.out();
    EXPECT_EQ(h.engine.abort(c), 0);
    EXPECT_SEG(h.one(), kRst, kSndNxt + 10, 0, 0);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.engine.abort(c), -tcp::kErrInvalid);
    h.at_ms(5000);  // nothing is retransmitted
    h.none();
}

TEST_P(Abort, InSynSentSendsNothing) {
    EngineHarness h{GetParam()};
    ConnId c = connect(h);
    h.out();
    EXPECT_EQ(h.engine.abort(c), 0);
    h.none();
    EXPECT_EQ(h.tcb(), nullptr);
    h.at_ms(5000);
    h.none();
}

// ======================= Malformed segments =======================

TEST(Parse, BadTcpChecksumDroppedAndCounted) {
    EngineHarness h;
    ConnId c = open_passive(h);
    rte_mbuf* m = build(EngineHarness::kThem, EngineHarness::kUs, EngineHarness::kThemPort, EngineHarness::kUsPort,
                        kAck, kRcvNxt, kSndNxt, "hello");
    rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, sizeof(rte_ipv4_hdr))->cksum ^= 0x5a5a;
    h.engine.input(m, h.now);
    h.none();
    h.at_ms(500);
    h.none();
    EXPECT_EQ(recv_all(h, c), "");
    EXPECT_EQ(parse_errors(h, ParseStatus::bad_tcp_checksum), 1u);
}

TEST(Parse, BadChecksumSynToListenerDropped) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    rte_mbuf* m = build(EngineHarness::kThem, EngineHarness::kUs, EngineHarness::kThemPort, EngineHarness::kUsPort,
                        kSyn, kPeerIsn, 0);
    rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, sizeof(rte_ipv4_hdr))->cksum ^= 0x0001;
    h.engine.input(m, h.now);
    m = build(EngineHarness::kThem, EngineHarness::kUs, EngineHarness::kThemPort, EngineHarness::kUsPort, kSyn,
              kPeerIsn, 0);
    rte_pktmbuf_mtod(m, rte_ipv4_hdr*)->hdr_checksum ^= 0x0100;
    h.engine.input(m, h.now);
    h.none();
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(parse_errors(h, ParseStatus::bad_tcp_checksum), 1u);
    EXPECT_EQ(parse_errors(h, ParseStatus::bad_ip_checksum), 1u);
}

TEST(Parse, MalformedOptionLengthsDropped) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const TcpOptions mss = mss_option(1460);
    for (uint8_t bad_len : {uint8_t{0}, uint8_t{1}, uint8_t{5}, uint8_t{40}}) {
        SCOPED_TRACE(int{bad_len});
        rte_mbuf* m = build(EngineHarness::kThem, EngineHarness::kUs, EngineHarness::kThemPort,
                            EngineHarness::kUsPort, kSyn, kPeerIsn, 0, "", 65535, &mss);
        auto* opt = rte_pktmbuf_mtod_offset(m, uint8_t*, sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr));
        ASSERT_EQ(opt[0], kOptMss);
        ASSERT_EQ(opt[1], 4);
        opt[1] = bad_len;  // below 2, or running past the 4-byte option area
        fix_tcp_checksum(m);
        h.engine.input(m, h.now);
        h.none();
    }
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(parse_errors(h, ParseStatus::bad_tcp_options), 4u);
}

// ======================= ISN (RFC 9293 §3.4.1, RFC 6528) =======================

TEST(Isn, DefaultGeneratorDiffersAcrossFourTuples) {
    EngineHarness h;
    h.engine.set_isn_hook(nullptr, nullptr);  // the engine's own RFC 6528 generator, keyed with zeros here
    const tcp::IsnGenerator gen{std::array<uint8_t, 16>{}};
    h.at_ms(5);
    ConnId c1, c2;
    ASSERT_EQ(h.engine.connect(EngineHarness::kUs, 80, EngineHarness::kThem, 40000, 1, c1), 0);
    ASSERT_EQ(h.engine.connect(EngineHarness::kUs, 80, EngineHarness::kThem, 40001, 2, c2), 0);
    ASSERT_EQ(h.engine.listen(0, 81), 0);
    h.send_from(40002, 81, kSyn, 100, 0);
    auto v = h.out();
    ASSERT_EQ(v.size(), 3u) << EngineHarness::describe(v);
    const uint32_t isn1 = gen.isn(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, 80, 40000}, 5000, kHz);
    const uint32_t isn2 = gen.isn(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, 80, 40001}, 5000, kHz);
    const uint32_t isn3 = gen.isn(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, 81, 40002}, 5000, kHz);
    EXPECT_EQ(v[0].seq, isn1);
    EXPECT_EQ(v[1].seq, isn2);
    EXPECT_EQ(v[2].seq, isn3);
    EXPECT_EQ(v[2].flags, kSyn | kAck);
    EXPECT_NE(isn1, isn2);
    EXPECT_NE(isn1, isn3);
    EXPECT_NE(isn2, isn3);
}

// ======================= the exception path: ports we do not serve =======================

struct Strays {
    std::vector<Seg> got;
    static void take(void* ctx, rte_mbuf* m) {
        static_cast<Strays*>(ctx)->got.push_back(decode(m));
        rte_pktmbuf_free(m);
    }
};

TEST(ExceptionPath, SegmentForAPortWithoutListenerGoesToTheHandlerNotARst) {
    EngineHarness h;
    Strays s;
    h.engine.set_stray_handler(&Strays::take, &s);
    h.send_from(40001, 22, kSyn, kPeerIsn, 0);
    h.none();
    ASSERT_EQ(s.got.size(), 1u);
    EXPECT_EQ(s.got[0].dst_port, 22);
    EXPECT_EQ(s.got[0].seq, kPeerIsn);
    EXPECT_TRUE(s.got[0].has(kSyn));
    EXPECT_EQ(h.engine.counters().rx_no_connection, 0u);
    EXPECT_EQ(h.engine.counters().tx_rst, 0u);
}

TEST(ExceptionPath, StrayForAListeningPortIsStillAnsweredWithRst) {
    EngineHarness h;
    Strays s;
    h.engine.set_stray_handler(&Strays::take, &s);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kAck, kPeerIsn, 5555);
    EXPECT_SEG(h.one(), kRst, 5555, 0, 0);  // RFC 9293 §3.10.7.2: <SEQ=SEG.ACK><CTL=RST>
    EXPECT_TRUE(s.got.empty());
}

}  // namespace
}  // namespace synack::test
