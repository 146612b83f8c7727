// SYN flood defence at a listener, segment by segment: SYN cookies (RFC 4987 §3.6) when the backlog or the
// connection table is full, and a full table evicting the oldest half-open connection of any listener.
//
// The engine's ISN is pinned to 3000 (a TCB's SYN-ACK carries seq 3000); a cookie SYN-ACK carries the cookie,
// computed here from the engine's key (derived from the harness's all-zero ISN key) and the injected clock.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "engine_harness.hpp"
#include "tcp/syn_cookie.hpp"

namespace synack::test {
namespace {

namespace sc = tcp::syn_cookie;
using tcp::ConnId;
using tcp::FourTuple;

constexpr uint32_t kIss = 3000;
constexpr uint16_t kWnd = 65535;
constexpr uint16_t kMss = 1460;
constexpr uint16_t kFiller = 41000;  // a peer port whose half-open connection fills a backlog of 1

FourTuple tuple(uint16_t peer_port, uint16_t our_port = EngineHarness::kUsPort) {
    return FourTuple{EngineHarness::kUs, EngineHarness::kThem, our_port, peer_port};
}

/// The cookie the engine must send at the harness's current time to a SYN from `peer_port` with `isn` and `mss`.
uint32_t cookie_for(const EngineHarness& h, uint16_t peer_port, uint32_t isn, uint16_t mss, uint16_t our_port = 80) {
    return sc::encode(sc::derive_key(sc::Key{}), tuple(peer_port, our_port), isn, sc::clock(h.now, kHz),
                      sc::mss_index(std::min(mss, kMss)));
}

/// The peer's SYN from `peer_port`, with an MSS option unless `mss` is 0.
void syn(EngineHarness& h, uint16_t peer_port, uint32_t isn, uint16_t mss, uint16_t our_port = 80) {
    const TcpOptions o = mss_option(mss);
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, peer_port, our_port, kSyn, isn, 0, "", kWnd,
                         mss != 0 ? &o : nullptr),
                   h.now);
}

void ack(EngineHarness& h, uint16_t peer_port, uint32_t seq, uint32_t ack_no, const std::string& data = "",
         uint16_t our_port = 80) {
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, peer_port, our_port,
                         data.empty() ? kAck : (kAck | kPsh), seq, ack_no, data),
                   h.now);
}

/// A full handshake through a TCB (pinned ISS 3000).
void establish(EngineHarness& h, uint16_t peer_port, uint16_t our_port = 80) {
    syn(h, peer_port, 100, kMss, our_port);
    const Seg s = h.one();
    EXPECT_EQ(s.flags, kSyn | kAck);
    EXPECT_EQ(s.seq, kIss);
    ack(h, peer_port, 101, kIss + 1, "", our_port);
    h.none();
    EXPECT_EQ(event_types(h.events()), "accepted");
}

/// A SYN-ACK from a TCB, to `peer_port`, for a SYN with ISN `isn`.
void expect_tcb_syn_ack(const Seg& s, uint16_t peer_port, uint32_t isn, uint32_t iss = kIss) {
    EXPECT_EQ(s.flags, kSyn | kAck);
    EXPECT_EQ(s.dst_port, peer_port);
    EXPECT_EQ(s.seq, iss);
    EXPECT_EQ(s.ack, isn + 1);
}

/// Listener on port 80 with a backlog of 1, filled by a half-open connection from kFiller.
void listen_full_backlog(EngineHarness& h) {
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort, 1), 0);
    syn(h, kFiller, 900, kMss);
    expect_tcb_syn_ack(h.one(), kFiller, 900);
}

// Backlog full: <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> with our MSS and window, and no TCB. The ACK that
// returns the cookie makes the connection ESTABLISHED with the MSS the cookie carried, and `accepted` follows.
TEST(SynCookie, BacklogFullSynGetsACookieAndItsAckEstablishes) {
    EngineHarness h;
    listen_full_backlog(h);
    h.at_ms(200);
    syn(h, EngineHarness::kThemPort, 1300, 1400);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, 1400);
    EXPECT_NE(cookie, kIss);
    EXPECT_SEG(h.one(), kSyn | kAck, cookie, 1301, kWnd, "", kMss);
    EXPECT_EQ(h.engine.connections(), 1u) << "no TCB for the cookie";
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.counters().syn_cookies_sent, 1u);
    EXPECT_EQ(h.engine.counters().syn_backlog_evicted, 0u);

    h.at_ms(300);
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1);
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(h.tcb()->snd_mss, 1400) << "the MSS comes from the cookie";
    EXPECT_EQ(h.tcb()->iss.raw(), cookie);
    EXPECT_EQ(h.tcb()->rcv_nxt.raw(), 1301u);
    EXPECT_EQ(h.engine.counters().syn_cookies_validated, 1u);
    EXPECT_EQ(h.engine.connections(), 2u);

    // The connection works both ways: data out starts at ISS + 1.
    ASSERT_EQ(h.engine.send(ev[0].conn, "hi", 2), 2);
    EXPECT_SEG(h.one(), kAck | kPsh, cookie + 1, 1301, kWnd, "hi");

    // The backlog's bookkeeping is intact: still full (the filler), so the next SYN gets a cookie...
    syn(h, 40001, 500, kMss);
    EXPECT_EQ(h.one().seq, cookie_for(h, 40001, 500, kMss));
    // ...and once the filler completes, a SYN gets a TCB again; while cookies are being issued its ISS is a
    // cookie too (a later eviction then costs it nothing).
    ack(h, kFiller, 901, kIss + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    syn(h, 40002, 600, kMss);
    const uint32_t cookie2 = cookie_for(h, 40002, 600, kMss);
    expect_tcb_syn_ack(h.one(), 40002, 600, cookie2);
    EXPECT_EQ(h.engine.connections(), 3u);
    EXPECT_EQ(h.engine.counters().syn_cookies_sent, 2u);
    ack(h, 40002, 601, cookie2 + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    // Once no cookie has been issued for a cookie's lifetime (128 s), ISSs are RFC 6528's again.
    h.at_ms(300 + 129000);
    h.drop_output();
    syn(h, 40003, 700, kMss);
    expect_tcb_syn_ack(h.one(), 40003, 700);
}

// Data on the cookie ACK is taken, as on any third segment of a handshake.
TEST(SynCookie, DataOnTheCookieAckIsDelivered) {
    EngineHarness h;
    listen_full_backlog(h);
    syn(h, EngineHarness::kThemPort, 1300, 1200);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, 1200);
    EXPECT_EQ(h.one().seq, cookie);
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1, "hello");
    h.none();
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted,readable");
    EXPECT_EQ(h.tcb()->snd_mss, 1200);
    h.at_ms(40);  // the delayed ACK
    EXPECT_SEG(h.one(), kAck, cookie + 1, 1306, kWnd - 5);
    char buf[16];
    ASSERT_EQ(h.engine.recv(ev[0].conn, buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
}

// A SYN without an MSS option is taken as 536 (RFC 9293 MUST-15), and so is its cookie.
TEST(SynCookie, NoMssOptionEncodes536) {
    EngineHarness h;
    listen_full_backlog(h);
    syn(h, EngineHarness::kThemPort, 1300, 0);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, 536);
    EXPECT_EQ(sc::decode_mss(cookie), 536);
    EXPECT_EQ(h.one().seq, cookie);
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    EXPECT_EQ(h.tcb()->snd_mss, 536);
}

// A forged cookie (one bit changed), or the right cookie with another peer ISN, is an ACK at a listener:
// <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.2), counted, and no TCB.
TEST(SynCookie, ForgedCookieAckGetsRstAtSegAck) {
    EngineHarness h;
    listen_full_backlog(h);
    syn(h, EngineHarness::kThemPort, 1300, kMss);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, kMss);
    EXPECT_EQ(h.one().seq, cookie);
    const uint32_t forged = (cookie ^ 0x10) + 1;
    ack(h, EngineHarness::kThemPort, 1301, forged);
    EXPECT_SEG(h.one(), kRst, forged, 0, 0);
    ack(h, EngineHarness::kThemPort, 1302, cookie + 1);  // not the ISN the cookie was made for
    EXPECT_SEG(h.one(), kRst, cookie + 1, 0, 0);
    EXPECT_EQ(h.engine.counters().syn_cookies_forged, 2u);
    EXPECT_EQ(h.engine.counters().syn_cookies_validated, 0u);
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(event_types(h.events()), "");
    // The genuine one still works.
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
}

// A cookie returned after its time window (here 130 s, two periods later) is stale: RST.
TEST(SynCookie, StaleCookieAckGetsRst) {
    EngineHarness h;
    listen_full_backlog(h);
    syn(h, EngineHarness::kThemPort, 1300, kMss);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, kMss);
    EXPECT_EQ(h.one().seq, cookie);
    h.at_ms(130000);
    h.drop_output();  // the filler's SYN-ACK retransmissions
    syn(h, 40001, 500, kMss);  // cookies are still being issued
    EXPECT_EQ(h.one().seq, cookie_for(h, 40001, 500, kMss));
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1);
    EXPECT_SEG(h.one(), kRst, cookie + 1, 0, 0);
    EXPECT_EQ(h.engine.counters().syn_cookies_stale, 1u);
    EXPECT_EQ(h.tcb(), nullptr);
}

// With no cookie issued lately, an ACK at a listener is not even looked at as one (as Linux): plain RST.
TEST(SynCookie, AckAtAnIdleListenerIsNotCheckedAsACookie) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    ack(h, EngineHarness::kThemPort, 1301, 5001);
    EXPECT_SEG(h.one(), kRst, 5001, 0, 0);
    EXPECT_EQ(h.engine.counters().syn_cookies_forged + h.engine.counters().syn_cookies_stale, 0u);
    EXPECT_EQ(h.engine.counters().rx_no_connection, 1u);
}

// --syncookies 2: every SYN gets a cookie, none a TCB; an MSS above ours is clamped to ours.
TEST(SynCookie, AlwaysModeAnswersEverySynWithACookie) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 2;
    EngineHarness h(cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    syn(h, EngineHarness::kThemPort, 1300, 9000);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, kMss);
    EXPECT_SEG(h.one(), kSyn | kAck, cookie, 1301, kWnd, "", kMss);
    EXPECT_EQ(h.engine.connections(), 0u);
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    EXPECT_EQ(h.tcb()->snd_mss, kMss);
}

// --syncookies 0 with a table full of established connections: the SYN is refused (counted), no reply.
TEST(SynCookie, OffAndTableFullOfEstablishedRefuses) {
    TcpConfig cfg = test_config();
    cfg.max_connections = 2;
    cfg.syn_cookies = 0;
    EngineHarness h(cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    establish(h, 40000);
    establish(h, 40001);
    syn(h, 40002, 100, kMss);
    h.none();
    EXPECT_EQ(h.engine.counters().rx_no_tcb, 1u);
    EXPECT_EQ(h.engine.counters().syn_cookies_sent, 0u);
}

// A table full of established connections: nothing to evict, so the SYN gets a cookie. Its ACK finds the table
// still full and is dropped (the peer sends again); once a slot frees, the same ACK establishes.
TEST(TableFull, OfEstablishedConnectionsSynGetsACookie) {
    TcpConfig cfg = test_config();
    cfg.max_connections = 2;
    EngineHarness h(cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    establish(h, 41000);
    establish(h, 41001);
    syn(h, EngineHarness::kThemPort, 1300, 1200);
    const uint32_t cookie = cookie_for(h, EngineHarness::kThemPort, 1300, 1200);
    EXPECT_SEG(h.one(), kSyn | kAck, cookie, 1301, kWnd, "", kMss);
    EXPECT_EQ(h.engine.counters().syn_cookies_sent, 1u);
    EXPECT_EQ(h.engine.counters().rx_no_tcb, 0u);
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1, "x");
    h.none();
    EXPECT_EQ(h.engine.counters().rx_no_tcb, 1u);
    EXPECT_EQ(event_types(h.events()), "");
    // One of the established connections goes away; the retransmitted data segment establishes.
    const tcp::Tcb* other = h.engine.find(tuple(41000));
    ASSERT_NE(other, nullptr);
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, 41000, 80, kRst, other->rcv_nxt.raw(), 0), h.now);
    EXPECT_EQ(event_types(h.events()), "reset");
    ack(h, EngineHarness::kThemPort, 1301, cookie + 1, "x");
    EXPECT_EQ(event_types(h.events()), "accepted,readable");
    EXPECT_EQ(h.tcb()->snd_mss, 1200);
    EXPECT_EQ(h.engine.counters().syn_cookies_validated, 1u);
}

// A table full of established and half-open connections: a SYN evicts the oldest half-open one, of any listener
// (here one of port 81 for a SYN to port 80); with cookies on, the new one's ISS is a cookie, so that being
// evicted in turn does not cost its handshake.
TEST(TableFull, SynEvictsTheOldestHalfOpenOfAnyListener) {
    TcpConfig cfg = test_config();
    cfg.max_connections = 4;
    EngineHarness h(cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    ASSERT_EQ(h.engine.listen(0, 81), 1);
    establish(h, 41000);
    establish(h, 41001);
    h.at_ms(1);
    syn(h, 42000, 100, kMss, 81);  // the oldest half-open, on port 81
    expect_tcb_syn_ack(h.one(), 42000, 100);
    h.at_ms(2);
    syn(h, 42001, 200, kMss);
    expect_tcb_syn_ack(h.one(), 42001, 200);
    EXPECT_EQ(h.engine.connections(), 4u);

    h.at_ms(3);
    syn(h, 42002, 300, 1300);
    const uint32_t cookie2 = cookie_for(h, 42002, 300, 1300);
    expect_tcb_syn_ack(h.one(), 42002, 300, cookie2);
    EXPECT_EQ(h.engine.counters().syn_table_full_evicted, 1u);
    EXPECT_EQ(h.engine.counters().syn_cookies_sent, 0u) << "a TCB holds it";
    EXPECT_EQ(h.engine.connections(), 4u);
    EXPECT_EQ(h.engine.find(tuple(42000, 81)), nullptr) << "the oldest went, though on another listener";
    EXPECT_NE(h.engine.find(tuple(42001)), nullptr);
    EXPECT_NE(h.engine.find(tuple(42002)), nullptr);
    // The evicted one's ACK (its ISS was no cookie): RST.
    ack(h, 42000, 101, kIss + 1, "", 81);
    const Seg r = h.one();
    EXPECT_EQ(r.flags, kRst);
    EXPECT_EQ(r.seq, kIss + 1);

    // Two more SYNs evict 42001, then 42002 (whose ISS is a cookie).
    h.at_ms(4);
    syn(h, 42003, 400, kMss);
    h.one();
    h.at_ms(5);
    syn(h, 42004, 500, kMss);
    h.one();
    EXPECT_EQ(h.engine.counters().syn_table_full_evicted, 3u);
    EXPECT_EQ(h.engine.find(tuple(42002)), nullptr);
    // 42002's ACK validates as a cookie; the table is full, so the oldest half-open (42003) makes room.
    ack(h, 42002, 301, cookie2 + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    const tcp::Tcb* t = h.engine.find(tuple(42002));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->state, State::established);
    EXPECT_EQ(t->snd_mss, 1300);
    EXPECT_EQ(h.engine.counters().syn_table_full_evicted, 4u);
    EXPECT_EQ(h.engine.find(tuple(42003)), nullptr);
    EXPECT_NE(h.engine.find(tuple(42004)), nullptr);
}

// Without cookies the full table still evicts (before refusing), and the new connection's ISS is the usual one.
TEST(TableFull, WithoutCookiesSynStillEvictsTheOldestHalfOpen) {
    TcpConfig cfg = test_config();
    cfg.max_connections = 3;
    cfg.syn_cookies = 0;
    EngineHarness h(cfg);
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    establish(h, 41000);
    establish(h, 41001);
    syn(h, 42000, 100, kMss);
    expect_tcb_syn_ack(h.one(), 42000, 100);
    h.at_ms(1);
    syn(h, 42001, 200, kMss);
    expect_tcb_syn_ack(h.one(), 42001, 200);
    EXPECT_EQ(h.engine.counters().syn_table_full_evicted, 1u);
    EXPECT_EQ(h.engine.counters().rx_no_tcb, 0u);
    EXPECT_EQ(h.engine.find(tuple(42000)), nullptr);
    ack(h, 42001, 201, kIss + 1);
    EXPECT_EQ(event_types(h.events()), "accepted");
    EXPECT_EQ(h.engine.connections(), 3u);
}

}  // namespace
}  // namespace synack::test
