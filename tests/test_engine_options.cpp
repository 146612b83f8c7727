// Handshake options (RFC 7323 window scaling and timestamps, RFC 2018 SACK, RFC 2883 D-SACK) and keepalive
// (RFC 1122 §4.2.3.6), one crafted segment at a time with the exact reply.
//
// Our ISN is pinned to 3000, the peer's is 1300: after the handshake RCV.NXT = 1301, SND.NXT = 3001. The harness
// clock is 1 cycle = 1 µs, and our timestamp clock ticks in ms (plus a keyed offset per address pair: our_ts()).
#include <sstream>

#include <gtest/gtest.h>

#include "engine_harness.hpp"

namespace synack::test {
namespace {

using tcp::ConnId;

constexpr uint32_t kIss = 3000;
constexpr uint32_t kPeerIsn = 1300;
constexpr uint32_t kRcvNxt = kPeerIsn + 1;
constexpr uint32_t kSndNxt = kIss + 1;

struct Offer {
    int wscale = -1;  ///< -1: no window scale option
    bool sack = false;
    bool ts = false;
    uint32_t ts_val = 0, ts_ecr = 0;
};

TcpOptions make(const Offer& o, uint16_t mss = 1460) {
    TcpOptions t;
    t.has_mss = mss != 0;
    t.mss = mss;
    t.has_wscale = o.wscale >= 0;
    t.wscale = static_cast<uint8_t>(o.wscale < 0 ? 0 : o.wscale);
    t.sack_permitted = o.sack;
    t.has_timestamps = o.ts;
    t.ts_val = o.ts_val;
    t.ts_ecr = o.ts_ecr;
    return t;
}

TcpOptions ts_only(uint32_t val, uint32_t ecr) {
    TcpOptions t;
    t.has_timestamps = true;
    t.ts_val = val;
    t.ts_ecr = ecr;
    return t;
}

std::string bytes(size_t n, char first = 'a') {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
    return s;
}

/// Passive open with the peer's SYN carrying `syn`; the handshake ACK carries `ack_opt` and window `ack_wnd`.
/// Returns the SYN-ACK we sent.
Seg handshake(EngineHarness& h, const TcpOptions& syn, const TcpOptions* ack_opt = nullptr, uint16_t ack_wnd = 65535,
              ConnId* conn = nullptr) {
    EXPECT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0, "", 65535, &syn);
    Seg synack = h.one();
    EXPECT_TRUE(synack.has(kSyn | kAck));
    h.send(kAck, kRcvNxt, kSndNxt, "", ack_wnd, ack_opt);
    h.none();
    auto ev = h.events();
    EXPECT_EQ(event_types(ev), "accepted");
    if (conn != nullptr && !ev.empty()) *conn = ev[0].conn;
    return synack;
}

/// Our TSval now on the harness connection (the clock in ms plus the address pair's offset).
uint32_t our_ts(const EngineHarness& h) {
    return h.engine.tsval(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, EngineHarness::kUsPort,
                                         EngineHarness::kThemPort});
}

std::string blocks(const Seg& s) {
    std::ostringstream r;
    for (uint32_t i = 0; i < s.opt.sack_count; ++i) r << '[' << s.opt.sack[i].left << ',' << s.opt.sack[i].right << ')';
    return r.str();
}

// ======================= options echoed only when offered =======================

TEST(Handshake, PeerOfferingNothingGetsOnlyMss) {
    EngineHarness h;
    const TcpOptions syn = make({});
    const Seg sa = handshake(h, syn);
    EXPECT_SEG(sa, kSyn | kAck, kIss, kRcvNxt, 65535, "", 1460);
    EXPECT_FALSE(sa.opt.has_wscale);
    EXPECT_FALSE(sa.opt.sack_permitted);
    EXPECT_FALSE(sa.opt.has_timestamps);
    const tcp::Tcb* t = h.tcb();
    ASSERT_NE(t, nullptr);
    EXPECT_FALSE(t->ws_ok || t->ts_ok || t->sack_ok);
    EXPECT_EQ(t->snd_mss, 1460);
}

TEST(Handshake, EachOptionEchoedOnlyWhenOffered) {
    for (int mask = 1; mask < 8; ++mask) {
        SCOPED_TRACE(mask);
        EngineHarness h;
        h.at_ms(50);
        const Offer o{(mask & 1) ? 7 : -1, (mask & 2) != 0, (mask & 4) != 0, 777, 0};
        const Seg sa = handshake(h, make(o));
        EXPECT_SEG(sa, kSyn | kAck, kIss, kRcvNxt, 65535, "", 1460);
        EXPECT_EQ(sa.opt.has_wscale, (mask & 1) != 0);
        if (mask & 1) {
            EXPECT_EQ(sa.opt.wscale, 0);  // 64 KB buffer: shift 0, offered so the peer may scale
        }
        EXPECT_EQ(sa.opt.sack_permitted, (mask & 2) != 0);
        EXPECT_EQ(sa.opt.has_timestamps, (mask & 4) != 0);
        if (mask & 4) {
            EXPECT_EQ(sa.opt.ts_val, our_ts(h));
            EXPECT_EQ(sa.opt.ts_ecr, 777u);  // RFC 7323 §3.2: the SYN's TSval echoed
        }
    }
}

TEST(Handshake, ConfigOffSuppressesOptions) {
    TcpConfig cfg = test_config();
    cfg.window_scaling = cfg.timestamps = cfg.sack = false;
    EngineHarness h(cfg);
    const Seg sa = handshake(h, make({7, true, true, 5, 0}));
    EXPECT_FALSE(sa.opt.has_wscale || sa.opt.sack_permitted || sa.opt.has_timestamps);
}

TEST(Handshake, ActiveOpenOffersAll) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 1 << 20;
    EngineHarness h(cfg);
    h.at_ms(20);
    ConnId c;
    ASSERT_EQ(h.engine.connect(EngineHarness::kUs, EngineHarness::kUsPort, EngineHarness::kThem,
                               EngineHarness::kThemPort, 1, c),
              0);
    const Seg syn = h.one();
    EXPECT_SEG(syn, kSyn, kIss, 0, 65535, "", 1460);  // the SYN's window is never scaled
    EXPECT_TRUE(syn.opt.has_wscale);
    EXPECT_EQ(syn.opt.wscale, 5);  // 65535 << 4 < 1 MB <= 65535 << 5
    EXPECT_TRUE(syn.opt.sack_permitted);
    EXPECT_TRUE(syn.opt.has_timestamps);
    EXPECT_EQ(syn.opt.ts_val, our_ts(h));
    EXPECT_EQ(syn.opt.ts_ecr, 0u);
}

// ======================= window scaling =======================

TEST(WindowScale, AppliedOnlyAfterBothSynsCarryIt) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 1 << 20;
    EngineHarness h(cfg);
    const Seg sa = handshake(h, make({3}), nullptr, 100);
    EXPECT_SEG(sa, kSyn | kAck, kIss, kRcvNxt, 65535, "", 1460);  // SYN-ACK window unscaled
    EXPECT_EQ(sa.opt.wscale, 5);
    EXPECT_EQ(h.tcb()->snd_wnd, 800u);  // the handshake ACK's 100 << 3
    h.send(kAck, kRcvNxt, kSndNxt, "x");
    h.at_ms(100);  // delayed ACK
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 1, 32768, "");  // 1 MB >> 5
    EXPECT_EQ(h.tcb()->rcv_adv.raw(), kRcvNxt + 1 + (32768u << 5));
}

TEST(WindowScale, NotAppliedWhenThePeerOffersNone) {
    TcpConfig cfg = test_config();
    cfg.rcv_buf = 1 << 20;
    EngineHarness h(cfg);
    const Seg sa = handshake(h, make({}), nullptr, 100);
    EXPECT_FALSE(sa.opt.has_wscale);
    EXPECT_EQ(h.tcb()->snd_wnd, 100u);
    h.send(kAck, kRcvNxt, kSndNxt, "x");
    h.at_ms(100);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 1, 65534, "");  // capped at 16 bits unscaled, 1 byte unread
}

TEST(WindowScale, SynAckWindowNeverScaledAndSynAckWithoutItTurnsItOff) {
    for (bool peer_ws : {true, false}) {
        SCOPED_TRACE(peer_ws);
        TcpConfig cfg = test_config();
        cfg.rcv_buf = 1 << 20;
        EngineHarness h(cfg);
        ConnId c;
        ASSERT_EQ(h.engine.connect(EngineHarness::kUs, EngineHarness::kUsPort, EngineHarness::kThem,
                                   EngineHarness::kThemPort, 1, c),
                  0);
        h.one();
        const TcpOptions o = make({peer_ws ? 4 : -1});
        h.send(kSyn | kAck, kPeerIsn, kSndNxt, "", 1000, &o);
        EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt, static_cast<uint16_t>(peer_ws ? 32768 : 65535), "");
        EXPECT_EQ(h.tcb()->snd_wnd, 1000u);  // the SYN-ACK's own window: not shifted
        h.send(kAck, kRcvNxt, kSndNxt, "", 1000);
        EXPECT_EQ(h.tcb()->snd_wnd, peer_ws ? 16000u : 1000u);
    }
}

// ======================= timestamps =======================

TEST(Timestamps, EchoedOnEverySegment) {
    EngineHarness h;
    const TcpOptions ack = ts_only(101, 0);
    handshake(h, make({-1, false, true, 100, 0}), &ack);
    EXPECT_EQ(h.tcb()->snd_mss, 1448);  // 12 option bytes come out of every segment
    h.at_ms(200);
    const TcpOptions d = ts_only(150, 200);
    h.send(kAck | kPsh, kRcvNxt, kSndNxt, "hello", 65535, &d);
    h.at_ms(300);
    const Seg a = h.one();
    EXPECT_SEG(a, kAck, kSndNxt, kRcvNxt + 5, 65530, "");
    ASSERT_TRUE(a.opt.has_timestamps);
    EXPECT_EQ(a.opt.ts_val, our_ts(h));
    EXPECT_EQ(a.opt.ts_ecr, 150u);
    EXPECT_EQ(a.opt.sack_count, 0u);
}

TEST(Timestamps, TsRecentOnlyFromSegmentsAtLastAckSent) {
    EngineHarness h;
    const TcpOptions ack = ts_only(101, 0);
    handshake(h, make({-1, false, true, 100, 0}), &ack);
    // Out of order (SEG.SEQ > Last.ACK.sent): TS.Recent stays at the handshake's 101.
    const TcpOptions late = ts_only(180, 0);
    h.send(kAck, kRcvNxt + 10, kSndNxt, "bbbb", 65535, &late);
    const Seg a = h.one();
    EXPECT_SEG(a, kAck, kSndNxt, kRcvNxt, 65535, "");
    EXPECT_EQ(a.opt.ts_ecr, 101u);
}

TEST(Timestamps, PawsOldSegmentDroppedWithAnAck) {
    EngineHarness h;
    const TcpOptions ack = ts_only(1000, 0);
    handshake(h, make({-1, false, true, 1000, 0}), &ack);
    h.at_ms(10);
    const TcpOptions old = ts_only(999, 0);  // in window, but older than TS.Recent
    h.send(kAck, kRcvNxt, kSndNxt, "stale", 65535, &old);
    const Seg a = h.one();
    EXPECT_SEG(a, kAck, kSndNxt, kRcvNxt, 65535, "");  // RCV.NXT unmoved: the data was dropped
    EXPECT_EQ(a.opt.ts_ecr, 1000u);
    EXPECT_EQ(h.engine.counters().rx_paws_dropped, 1u);
    EXPECT_EQ(h.tcb()->rcv_buf.bytes, 0u);
    // A RST is not judged by PAWS (RFC 7323 §5.3): at RCV.NXT it resets.
    h.send(kRst, kRcvNxt, 0, "", 65535, &old);
    h.none();
    EXPECT_EQ(event_types(h.events()), "reset");
}

TEST(Timestamps, RttSampleFromTsecrAfterARetransmission) {
    EngineHarness h;
    const TcpOptions ack = ts_only(1, 0);
    ConnId c;
    EXPECT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const TcpOptions syn = make({-1, false, true, 1, 0});
    h.send(kSyn, kPeerIsn, 0, "", 65535, &syn);
    h.one();
    h.send(kAck, kRcvNxt, kSndNxt, "", 65535, &ack);
    auto ev = h.events();
    ASSERT_EQ(event_types(ev), "accepted");
    c = ev[0].conn;
    ASSERT_EQ(h.engine.send(c, "data", 4), 4);
    const Seg d = h.one();
    EXPECT_EQ(d.opt.ts_val, our_ts(h));
    h.at_ms(1000);  // RTO: the data goes again; Karn has no sample for it
    const Seg r = h.one();
    EXPECT_EQ(r.payload, "data");
    EXPECT_EQ(r.opt.ts_val - d.opt.ts_val, 1000u);  // 1 ms ticks
    h.at_ms(1030);
    const TcpOptions echo = ts_only(2, r.opt.ts_val);  // echoes the retransmission's TSval: RTT 30 ms
    h.send(kAck, kRcvNxt, kSndNxt + 4, "", 65535, &echo);
    EXPECT_EQ(h.engine.counters().ts_rtt_samples, 1u);
    EXPECT_EQ(h.tcb()->rtt.srtt_us(), 30000u);
}

TEST(Timestamps, TimeWaitReopenedByAHigherTsvalOnly) {
    for (bool higher : {true, false}) {
        SCOPED_TRACE(higher);
        EngineHarness h;
        const TcpOptions ack = ts_only(500, 0);
        ConnId c;
        handshake(h, make({-1, false, true, 500, 0}), &ack, 65535, &c);
        ASSERT_EQ(h.engine.close(c), 0);  // our side closes first, the peer's FIN follows: TIME-WAIT
        const Seg fin = h.one();
        EXPECT_SEG(fin, kFin | kAck, kSndNxt, kRcvNxt, 65535, "");
        const TcpOptions f = ts_only(510, fin.opt.ts_val);
        h.send(kFin | kAck, kRcvNxt, kSndNxt + 1, "", 65535, &f);
        EXPECT_SEG(h.one(), kAck, kSndNxt + 1, kRcvNxt + 1, 65535, "");
        ASSERT_EQ(h.state(), State::time_wait);
        h.events();
        // A new SYN for the 4-tuple with an ISN *below* RCV.NXT: only its timestamp can reopen (RFC 6191).
        const TcpOptions syn = make({-1, false, true, higher ? 600u : 505u, 0});
        h.send(kSyn, kPeerIsn - 5000, 0, "", 65535, &syn);
        const Seg r = h.one();
        if (higher) {
            EXPECT_SEG(r, kSyn | kAck, kIss, kPeerIsn - 4999, 65535, "", 1460);
            EXPECT_EQ(r.opt.ts_ecr, 600u);
            EXPECT_EQ(h.engine.counters().rx_time_wait_reopen, 1u);
        } else {
            EXPECT_SEG(r, kAck, kSndNxt + 1, kRcvNxt + 1, 65535, "");  // TIME-WAIT answers the old SYN
            EXPECT_EQ(h.engine.counters().time_wait_ts_refused, 1u);
            EXPECT_EQ(h.state(), State::time_wait);
        }
    }
}

// ======================= SACK and D-SACK =======================

class Sack : public ::testing::Test {
protected:
    void SetUp() override { handshake(h, make({-1, true, false})); }
    Seg data(uint32_t off, const std::string& s) {
        h.send(kAck, kRcvNxt + off, kSndNxt, s);
        return h.one();
    }
    EngineHarness h;
};

TEST_F(Sack, TwoHolesMostRecentFirst) {
    const Seg a1 = data(100, bytes(100));  // hole [0,100), held [100,200)
    EXPECT_SEG(a1, kAck, kSndNxt, kRcvNxt, 65535, "");
    EXPECT_EQ(blocks(a1), "[1401,1501)");
    const Seg a2 = data(300, bytes(100));  // second hole [200,300), held [300,400)
    EXPECT_SEG(a2, kAck, kSndNxt, kRcvNxt, 65535, "");
    EXPECT_EQ(blocks(a2), "[1601,1701)[1401,1501)");
    const Seg a3 = data(150, bytes(100));  // extends the first block: it goes first again
    EXPECT_EQ(blocks(a3), "[1401,1551)[1601,1701)");
    const Seg a4 = data(0, bytes(100));  // fills the first hole: RCV.NXT jumps past the first block
    EXPECT_SEG(a4, kAck, kSndNxt, kRcvNxt + 250, 65535 - 250, "");
    EXPECT_EQ(blocks(a4), "[1601,1701)");
    EXPECT_EQ(h.engine.counters().tx_sack_blocks, 6u);
}

TEST_F(Sack, DsackForAnOldDuplicate) {
    h.send(kAck, kRcvNxt, kSndNxt, bytes(100));
    h.at_ms(100);
    EXPECT_SEG(h.one(), kAck, kSndNxt, kRcvNxt + 100, 65535 - 100, "");
    const Seg a = data(0, bytes(100));  // the same bytes again: below RCV.NXT
    EXPECT_SEG(a, kAck, kSndNxt, kRcvNxt + 100, 65535 - 100, "");
    EXPECT_EQ(blocks(a), "[1301,1401)");  // RFC 2883 §4: D-SACK, below the cumulative ACK
    EXPECT_EQ(h.engine.counters().tx_dsacks, 1u);
    h.send(kAck, kRcvNxt + 100, kSndNxt, "x");
    h.at_ms(300);
    EXPECT_EQ(blocks(h.one()), "");  // reported once
}

TEST_F(Sack, DsackForAHeldDuplicateThenItsBlock) {
    data(100, bytes(100));
    data(300, bytes(100));
    const Seg a = data(100, bytes(100));
    EXPECT_EQ(blocks(a), "[1401,1501)[1401,1501)[1601,1701)");  // RFC 2883 §4 (3)
}

TEST(SackOff, NoBlocksWithoutSackPermitted) {
    EngineHarness h;
    handshake(h, make({}));
    h.send(kAck, kRcvNxt + 100, kSndNxt, bytes(100));
    const Seg a = h.one();
    EXPECT_SEG(a, kAck, kSndNxt, kRcvNxt, 65535, "");
    EXPECT_EQ(a.opt.sack_count, 0u);
}

TEST(SackTs, AtMostThreeBlocksBesideTimestamps) {
    EngineHarness h;
    const TcpOptions ack = ts_only(1, 0);
    handshake(h, make({-1, true, true, 1, 0}), &ack);
    const TcpOptions t = ts_only(2, 0);
    Seg last;
    for (uint32_t i = 1; i <= 4; ++i) {
        h.send(kAck, kRcvNxt + 200 * i, kSndNxt, bytes(100), 65535, &t);
        last = h.one();
    }
    EXPECT_EQ(blocks(last), "[2101,2201)[1901,2001)[1701,1801)");
    EXPECT_TRUE(last.opt.has_timestamps);
}

// ======================= SYN cookies carrying WS / SACK in TSval (RFC 4987 §3.6, Linux's scheme) ==========

TEST(Cookies, TsvalCarriesWindowScaleAndSack) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 2;  // every SYN gets a cookie
    cfg.rcv_buf = 1 << 20;
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.at_ms(5000);
    const TcpOptions syn = make({7, true, true, 100, 0});
    h.send(kSyn, kPeerIsn, 0, "", 65535, &syn);
    const Seg sa = h.one();
    EXPECT_TRUE(sa.has(kSyn | kAck));
    EXPECT_EQ(h.engine.connections(), 0u);  // no TCB: the state is in the cookie
    ASSERT_TRUE(sa.opt.has_timestamps);
    EXPECT_EQ(sa.opt.ts_val & 0x3f, 0x17u);  // the peer's shift 7, SACK bit 0x10
    EXPECT_LT(our_ts(h) - sa.opt.ts_val, 64u);  // never ahead of our clock, at most one period behind
    EXPECT_EQ(sa.opt.ts_ecr, 100u);
    EXPECT_TRUE(sa.opt.has_wscale);
    EXPECT_EQ(sa.opt.wscale, 5);
    EXPECT_TRUE(sa.opt.sack_permitted);
    h.at_ms(5010);
    // A TSecr from the future cannot be ours: not a cookie ACK, so the listener answers with a RST.
    const TcpOptions bad = ts_only(101, our_ts(h) + 4000);
    h.send(kAck, kRcvNxt, sa.seq + 1, "", 10, &bad);
    EXPECT_SEG(h.one(), kRst, sa.seq + 1, 0, 0, "");
    EXPECT_EQ(h.engine.counters().syn_cookies_forged, 1u);
    const TcpOptions ack = ts_only(101, sa.opt.ts_val);
    h.send(kAck, kRcvNxt, sa.seq + 1, "", 10, &ack);
    h.none();
    EXPECT_EQ(event_types(h.events()), "accepted");
    const tcp::Tcb* t = h.tcb();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->ws_ok && t->sack_ok && t->ts_ok);
    EXPECT_EQ(t->snd_wscale, 7);
    EXPECT_EQ(t->rcv_wscale, 5);
    EXPECT_EQ(t->snd_wnd, 10u << 7);
    EXPECT_EQ(t->snd_mss, 1460 - 12);
    h.send(kAck, kRcvNxt, sa.seq + 1, "x", 10, &ack);
    h.at_ms(5100);
    const Seg a = h.one();
    EXPECT_SEG(a, kAck, sa.seq + 1, kRcvNxt + 1, 32768, "");  // our scaled window
    EXPECT_EQ(a.opt.ts_ecr, 101u);
}

TEST(Cookies, TsEncodingRoundTripsAndNeverRunsAhead) {
    namespace sc = tcp::syn_cookie;
    for (uint32_t now : {64u, 1000u, 1001u, 0x7fffffc0u, 0xffffffffu}) {
        for (int ws = -1; ws <= 14; ++ws) {
            for (bool sack : {false, true}) {
                const sc::TsOptions in{ws >= 0, static_cast<uint8_t>(ws < 0 ? 0 : ws), sack};
                const uint32_t ts = sc::encode_ts(now, in);
                EXPECT_LE(now - ts, 63u) << now;  // at most one period back, never ahead
                sc::TsOptions out;
                ASSERT_TRUE(sc::decode_ts(ts, now + 5, 1000, out));
                EXPECT_EQ(out.wscale_ok, in.wscale_ok);
                EXPECT_EQ(out.snd_wscale, in.snd_wscale);
                EXPECT_EQ(out.sack_ok, in.sack_ok);
            }
        }
        sc::TsOptions out;
        EXPECT_FALSE(sc::decode_ts(now + 1, now, 1000, out));      // from the future
        EXPECT_FALSE(sc::decode_ts(now - 2000, now, 1000, out));   // older than a cookie lives
    }
}

TEST(Cookies, WithoutTimestampsOnlyTheMss) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 2;
    EngineHarness h(cfg);
    ASSERT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    const TcpOptions syn = make({7, true, false});
    h.send(kSyn, kPeerIsn, 0, "", 65535, &syn);
    const Seg sa = h.one();
    EXPECT_SEG(sa, kSyn | kAck, sa.seq, kRcvNxt, 65535, "", 1460);
    EXPECT_FALSE(sa.opt.has_wscale || sa.opt.sack_permitted || sa.opt.has_timestamps);
    h.send(kAck, kRcvNxt, sa.seq + 1, "", 10);
    EXPECT_EQ(event_types(h.events()), "accepted");
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_FALSE(h.tcb()->ws_ok || h.tcb()->sack_ok || h.tcb()->ts_ok);
    EXPECT_EQ(h.tcb()->snd_wnd, 10u);
}

// ======================= keepalive =======================

ConnId accepted(EngineHarness& h) {
    EXPECT_GE(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.send(kSyn, kPeerIsn, 0);
    h.one();
    h.send(kAck, kRcvNxt, kSndNxt);
    auto ev = h.events();
    EXPECT_EQ(event_types(ev), "accepted");
    return ev.empty() ? ConnId{} : ev[0].conn;
}

TEST(Keepalive, OffByDefault) {
    EngineHarness h;
    accepted(h);
    h.at_ms(3ull * 3600 * 1000);
    h.none();
    EXPECT_EQ(h.state(), State::established);
}

TEST(Keepalive, ProbesThenGivesUp) {
    EngineHarness h;
    ConnId c = accepted(h);
    EXPECT_EQ(h.engine.set_keepalive(c, 10, 2, 1), -tcp::kErrInvalid);  // MUST-29: one lost probe never kills
    ASSERT_EQ(h.engine.set_keepalive(c, 10, 2, 3), 0);
    h.at_ms(9000);
    h.none();
    for (uint64_t t : {10000, 12000, 14000}) {
        h.at_ms(t);
        EXPECT_SEG(h.one(), kAck, kSndNxt - 1, kRcvNxt, 65535, "");  // <SEQ=SND.NXT-1>
    }
    EXPECT_EQ(event_types(h.events()), "");
    h.at_ms(16000);
    h.none();
    EXPECT_EQ(event_types(h.events()), "keepalive_timed_out");
    EXPECT_EQ(h.tcb(), nullptr);
    EXPECT_EQ(h.engine.counters().keepalive_probes, 3u);
    EXPECT_EQ(h.engine.counters().conn_keepalive_timed_out, 1u);
}

TEST(Keepalive, AnAnswerKeepsItAlive) {
    EngineHarness h;
    ConnId c = accepted(h);
    ASSERT_EQ(h.engine.set_keepalive(c, 10, 2, 2), 0);
    h.at_ms(10000);
    EXPECT_SEG(h.one(), kAck, kSndNxt - 1, kRcvNxt, 65535, "");
    h.at_ms(11000);
    h.send(kAck, kRcvNxt, kSndNxt);  // the peer's answer
    h.none();
    h.at_ms(14000);
    h.none();  // idle counts from the answer: next probe at 21 s
    h.at_ms(21000);
    EXPECT_SEG(h.one(), kAck, kSndNxt - 1, kRcvNxt, 65535, "");
    EXPECT_EQ(event_types(h.events()), "");
    EXPECT_EQ(h.state(), State::established);
}

TEST(Keepalive, ConfigTurnsItOnForEveryConnection) {
    TcpConfig cfg = test_config();
    cfg.keepalive = true;
    cfg.keepalive_idle_s = 7200;
    EngineHarness h(cfg);
    accepted(h);
    h.at_ms(7199ull * 1000);
    h.none();
    h.at_ms(7200ull * 1000);
    EXPECT_SEG(h.one(), kAck, kSndNxt - 1, kRcvNxt, 65535, "");
}

}  // namespace
}  // namespace synack::test
