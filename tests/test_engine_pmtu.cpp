// Path MTU in the engine, segment by segment: ICMP "fragmentation needed" (RFC 1191) checked against the send
// window (RFC 5927), black-hole detection on repeated timeouts (RFC 4821 §7.3), and the other ICMP errors as soft
// errors (RFC 1122 §4.2.3.9).
#include <gtest/gtest.h>

#include "engine_harness.hpp"

namespace synack::test {
namespace {

using tcp::ConnId;

constexpr uint32_t kPeerIsn = 7000;
constexpr uint32_t kIss = 3000;  // the harness pins our ISN

class PmtuTest : public ::testing::Test {
protected:
    explicit PmtuTest(TcpConfig cfg = probing_config()) : h(cfg, kIss) {}
    static TcpConfig probing_config() {
        TcpConfig c = test_config();
        c.mtu_probing = true;  // off by default
        return c;
    }

    // Passive open where the peer's SYN says MSS 1460 (its own link is 1500: the option cannot reveal our path).
    ConnId establish() {
        const TcpOptions o = mss_option(1460);
        const ConnId c = h.establish_passive(kPeerIsn, &o);
        EXPECT_EQ(h.tcb()->snd_mss, 1460);
        return c;
    }
    net::IcmpError error(uint8_t type, uint8_t code, uint32_t seq, uint16_t mtu = 0) const {
        net::IcmpError e;
        e.type = type;
        e.code = code;
        e.next_hop_mtu = mtu;
        e.quoted_len = 1500;
        e.local_ip = EngineHarness::kUs;
        e.remote_ip = EngineHarness::kThem;
        e.local_port = EngineHarness::kUsPort;
        e.remote_port = EngineHarness::kThemPort;
        e.seq = seq;
        return e;
    }
    // Sends n bytes of data and returns the payload sizes of the segments that went out.
    std::vector<size_t> write(ConnId c, size_t n) {
        data.assign(n, 'x');
        for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>('a' + i % 26);
        EXPECT_EQ(h.engine.send(c, data.data(), static_cast<uint32_t>(n)), static_cast<int32_t>(n));
        return sizes(h.out());
    }
    static std::vector<size_t> sizes(const std::vector<Seg>& v) {
        std::vector<size_t> s;
        for (const Seg& x : v) s.push_back(x.payload.size());
        return s;
    }
    EngineHarness h;
    std::string data;
};

TEST_F(PmtuTest, FragNeededLowersTheMssAndResendsTheWholeFlightInSmallerSegments) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 4000), (std::vector<size_t>{1460, 1460, 1080}));
    const uint64_t retrans0 = h.engine.counters().tx_retransmits;
    // The router in front of a 1280-byte link refuses the first segment.
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1, 1280), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1240);
    EXPECT_EQ(h.engine.counters().pmtu_lowered, 1u);
    auto v = h.out();
    ASSERT_EQ(sizes(v), (std::vector<size_t>{1240, 1240, 1240, 280}));
    uint32_t seq = kIss + 1;
    for (const Seg& s : v) {
        EXPECT_EQ(s.seq, seq);
        EXPECT_EQ(s.ack, kPeerIsn + 1);
        EXPECT_EQ(s.payload, data.substr(seq - kIss - 1, s.payload.size()));
        seq += static_cast<uint32_t>(s.payload.size());
    }
    EXPECT_EQ(h.engine.counters().tx_retransmits - retrans0, 4u);
    // Not a congestion signal (RFC 1191 §6.3): what follows is acknowledged and new data goes at the new size.
    h.send(kAck, kPeerIsn + 1, kIss + 1 + 4000);
    h.none();
    EXPECT_EQ(write(c, 2500), (std::vector<size_t>{1240, 1240, 20}));
    // A second report for the same size changes nothing (it arrives late, for a segment still in flight).
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1 + 4000, 1280), h.now));
    h.none();
    EXPECT_EQ(h.engine.counters().icmp_frag_needed_ignored, 1u);
}

TEST_F(PmtuTest, QuotedSequenceOutsideTheFlightIsIgnoredAndCounted) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 2000).size(), 2u);  // SND.UNA = ISS+1, SND.MAX = ISS+2001
    h.send(kAck, kPeerIsn + 1, kIss + 1 + 1000);  // the peer has 1000 of them: SND.UNA = ISS+1001
    h.none();
    // Already acknowledged, one past SND.MAX, and far away: a blind attacker's guesses (RFC 5927 §4.1).
    for (uint32_t seq : {kIss + 1u, kIss + 1000u, kIss + 2001u, kIss + 0x80000000u}) {
        SCOPED_TRACE(seq);
        EXPECT_TRUE(h.engine.icmp_error(error(3, 4, seq, 576), h.now));
        h.none();
        EXPECT_EQ(h.tcb()->snd_mss, 1460);
    }
    EXPECT_TRUE(h.engine.icmp_error(error(3, 3, kIss + 1u, 0), h.now));  // soft errors are checked the same way
    EXPECT_EQ(h.tcb()->err, 0);
    EXPECT_EQ(h.engine.counters().icmp_seq_outside_window, 5u);
    EXPECT_EQ(h.engine.counters().pmtu_lowered, 0u);
    // The edges that are in: SND.UNA and SND.MAX - 1.
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 2000u, 1400), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1360);
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1001u, 1300), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1260);
    EXPECT_EQ(h.engine.counters().pmtu_lowered, 2u);
}

TEST_F(PmtuTest, NoConnectionForTheQuotedTupleIsCountedAndReportedUntaken) {
    establish();
    net::IcmpError e = error(3, 4, kIss + 1, 1280);
    e.remote_port = 40001;
    EXPECT_FALSE(h.engine.icmp_error(e, h.now));
    EXPECT_EQ(h.engine.counters().icmp_no_connection, 1u);
    h.none();
}

TEST_F(PmtuTest, MtuFromAnOldRouterOrATinyOneIsGuessedOrFloored) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 3000).size(), 3u);
    // RFC 1191 §5: no MTU in the message: the plateau below the quoted 1500 bytes, 1492.
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1, 0), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1452);
    EXPECT_EQ(sizes(h.out()), (std::vector<size_t>{1452, 1452, 96}));
    // A forged 68-byte MTU cannot push us under the 576-byte datagram every host takes.
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1, 68), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 536);
    EXPECT_EQ(sizes(h.out()), (std::vector<size_t>{536, 536, 536, 536, 536, 320}));
    EXPECT_TRUE(h.engine.icmp_error(error(3, 4, kIss + 1, 100), h.now));
    h.none();
    EXPECT_EQ(h.engine.counters().pmtu_lowered, 2u);
    EXPECT_EQ(h.engine.counters().icmp_frag_needed_ignored, 1u);
}

TEST_F(PmtuTest, OtherErrorsAreSoftErrorsThatNeverEndAnEstablishedConnection) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 100).size(), 1u);
    EXPECT_TRUE(h.engine.icmp_error(error(11, 0, kIss + 1), h.now));  // time exceeded
    EXPECT_EQ(h.tcb()->err, 113);                                    // EHOSTUNREACH
    EXPECT_TRUE(h.engine.icmp_error(error(3, 1, kIss + 1), h.now));  // host unreachable
    EXPECT_EQ(h.tcb()->err, 113);
    EXPECT_TRUE(h.engine.icmp_error(error(3, 3, kIss + 1), h.now));  // port unreachable: RFC 5461, still soft
    EXPECT_EQ(h.tcb()->err, 111);                                    // ECONNREFUSED
    EXPECT_EQ(h.engine.counters().icmp_soft_errors, 2u);
    EXPECT_EQ(h.engine.counters().icmp_hard_errors, 1u);
    h.none();
    EXPECT_TRUE(h.events().empty());
    EXPECT_EQ(h.state(), State::established);
    h.send(kAck, kPeerIsn + 1, kIss + 101);  // and data still flows
    EXPECT_EQ(write(c, 10), (std::vector<size_t>{10}));
}

class PmtuSynTest : public PmtuTest {
protected:
    static TcpConfig cfg() {
        TcpConfig c = test_config();
        c.syn_retransmits = 2;
        return c;
    }
    PmtuSynTest() : PmtuTest(cfg()) {}
};

TEST_F(PmtuSynTest, PortUnreachableEndsASynSentConnectionOnlyWhenItsRetriesRunOut) {
    ConnId c;
    ASSERT_EQ(h.engine.connect(EngineHarness::kUs, EngineHarness::kUsPort, EngineHarness::kThem,
                               EngineHarness::kThemPort, 7, c),
              0);
    Seg syn = h.one();
    ASSERT_EQ(syn.seq, kIss);
    EXPECT_TRUE(h.engine.icmp_error(error(3, 3, kIss), h.now));
    EXPECT_EQ(h.state(), State::syn_sent);
    EXPECT_EQ(h.tcb()->err, 111);
    EXPECT_TRUE(h.events().empty());
    // RTO 1 s, then 2 s: two more SYNs, each answered by the same ICMP, and the third timeout gives up.
    size_t syns = 0;
    std::vector<Event> ev;
    for (uint64_t ms = 100; ms <= 10000 && ev.empty(); ms += 100) {
        h.at_ms(ms);
        for (const Seg& s : h.out()) {
            EXPECT_TRUE(s.has(kSyn));
            ++syns;
            EXPECT_TRUE(h.engine.icmp_error(error(3, 3, kIss), h.now));
        }
        ev = h.events();
        if (ev.empty()) {
            EXPECT_EQ(h.state(), State::syn_sent) << "at " << ms << " ms";
        }
    }
    EXPECT_EQ(syns, 2u);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EventType::timed_out);
    EXPECT_EQ(h.engine.counters().icmp_hard_errors, 3u);
}

// Runs the clock until something is sent (at most `limit_ms` more); returns what was.
std::vector<Seg> until_sent(EngineHarness& h, uint64_t limit_ms) {
    const uint64_t end = h.now / 1000 + limit_ms;
    for (uint64_t ms = h.now / 1000 + 10; ms <= end; ms += 10) {
        h.at_ms(ms);
        auto v = h.out();
        if (!v.empty()) return v;
    }
    return {};
}

TEST_F(PmtuTest, RepeatedTimeoutsOfFullSizedDataStepDownThePlateausWhenIcmpIsDropped) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 4000), (std::vector<size_t>{1460, 1460, 1080}));
    // The path is 1280 and the router's ICMP never arrives. The first timeout is an ordinary loss.
    EXPECT_EQ(sizes(until_sent(h, 5000)), (std::vector<size_t>{1460}));
    EXPECT_EQ(h.tcb()->snd_mss, 1460);
    // The second timeout of the same data tries the next plateau, 1492, then 1280.
    EXPECT_EQ(sizes(until_sent(h, 5000)), (std::vector<size_t>{1452}));
    EXPECT_EQ(sizes(until_sent(h, 10000)), (std::vector<size_t>{1240}));
    EXPECT_EQ(h.engine.counters().pmtu_black_hole_lowered, 2u);
    // That one arrives: the rest follows at 1240 (slow start from one segment after the timeouts).
    h.send(kAck, kPeerIsn + 1, kIss + 1 + 1240);
    auto v = h.out();
    ASSERT_FALSE(v.empty());
    for (const Seg& s : v) EXPECT_LE(s.payload.size(), 1240u);
    EXPECT_EQ(v[0].seq, kIss + 1 + 1240);
    EXPECT_EQ(v[0].payload, data.substr(1240, v[0].payload.size()));
    EXPECT_EQ(h.tcb()->snd_mss, 1240);
}

class NoProbingTest : public PmtuTest {
protected:
    static TcpConfig cfg() {
        TcpConfig c = test_config();
        c.mtu_probing = false;
        return c;
    }
    NoProbingTest() : PmtuTest(cfg()) {}
};

TEST_F(NoProbingTest, WithProbingOffTimeoutsKeepTheMss) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 4000).size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(sizes(until_sent(h, 20000)), (std::vector<size_t>{1460}));
    EXPECT_EQ(h.engine.counters().pmtu_black_hole_lowered, 0u);
}

TEST_F(PmtuTest, SmallSegmentsTimingOutAreNotTakenForABlackHole) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 700), (std::vector<size_t>{700}));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(sizes(until_sent(h, 20000)), (std::vector<size_t>{700}));
    EXPECT_EQ(h.tcb()->snd_mss, 1460);
}

// ---- IPv6: Packet Too Big (RFC 8201), the same RFC 5927 check ----

std::vector<size_t> payload_sizes(const std::vector<Seg>& v) {
    std::vector<size_t> s;
    for (const Seg& x : v) s.push_back(x.payload.size());
    return s;
}

class Pmtu6Test : public ::testing::Test {
protected:
    Pmtu6Test() : h(Family::v6, test_config(), kIss) {}
    // Passive open over IPv6; the peer offers 1440 (its own 1500-byte link), which is also ours.
    ConnId establish() {
        const TcpOptions o = mss_option(1440);
        const ConnId c = h.establish_passive(kPeerIsn, &o);
        EXPECT_EQ(h.tcb()->snd_mss, 1440);
        return c;
    }
    net::PacketTooBig ptb(uint32_t mtu, uint32_t seq, bool has_seq = true) const {
        net::PacketTooBig p;
        p.quoted = Ip6Pair{EngineHarness::us6(), EngineHarness::them6()};
        p.src_port = EngineHarness::kUsPort;
        p.dst_port = EngineHarness::kThemPort;
        p.mtu = mtu;
        p.has_seq = has_seq;
        p.seq = seq;
        return p;
    }
    std::vector<size_t> write(ConnId c, size_t n) {
        const std::string data(n, 'y');
        EXPECT_EQ(h.engine.send(c, data.data(), static_cast<uint32_t>(n)), static_cast<int32_t>(n));
        return payload_sizes(h.out());
    }
    EngineHarness h;
};

// A 1280-byte link on the path: SND.MSS = 1280 - 60 and the whole flight again in 1220-byte segments.
TEST_F(Pmtu6Test, PacketTooBigLowersTheMssToMtuLess60AndResends) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 4000), (std::vector<size_t>{1440, 1440, 1120}));
    EXPECT_TRUE(h.engine.packet_too_big(ptb(1280, kIss + 1), h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1220);
    EXPECT_EQ(h.engine.counters().pmtu_lowered, 1u);
    const std::vector<Seg> v = h.out();
    ASSERT_EQ(payload_sizes(v), (std::vector<size_t>{1220, 1220, 1220, 340}));
    EXPECT_EQ(v[0].seq, kIss + 1);
    EXPECT_EQ(v[3].seq, kIss + 1 + 3 * 1220);
}

// RFC 5927: a quoted sequence number outside SND.UNA..SND.MAX, or none at all, changes nothing; so does an MTU
// no smaller than what we send, and a tuple that is no connection of ours.
TEST_F(Pmtu6Test, PacketTooBigOutsideTheWindowOrNotSmallerIsIgnored) {
    ConnId c = establish();
    ASSERT_EQ(write(c, 2000).size(), 2u);
    EXPECT_TRUE(h.engine.packet_too_big(ptb(1280, kIss + 100000), h.now));
    EXPECT_TRUE(h.engine.packet_too_big(ptb(1280, kIss + 1, false), h.now));
    EXPECT_EQ(h.engine.counters().icmp_seq_outside_window, 2u);
    EXPECT_TRUE(h.engine.packet_too_big(ptb(1500, kIss + 1), h.now));
    EXPECT_EQ(h.engine.counters().icmp_frag_needed_ignored, 1u);
    net::PacketTooBig other = ptb(1280, kIss + 1);
    other.dst_port = 1;
    EXPECT_FALSE(h.engine.packet_too_big(other, h.now));
    EXPECT_EQ(h.tcb()->snd_mss, 1440);
    h.none();
}

// With timestamps every segment carries 12 option bytes that SND.MSS already leaves room for: an MTU of 1280 makes
// SND.MSS 1280 - 40 - 12 = 1228 over IPv4 and 1280 - 60 - 12 = 1208 over IPv6, so that each packet is 1280 bytes.
class PmtuTimestampsTest : public ::testing::TestWithParam<Family> {
protected:
    PmtuTimestampsTest() : h(GetParam(), test_config(), kIss) {}
    ConnId establish() {
        TcpOptions o = mss_option(1460);
        o.has_timestamps = true;
        o.ts_val = 100;  // the ACK carries 101
        const ConnId c = h.establish_passive(kPeerIsn, &o);
        EXPECT_TRUE(h.tcb() != nullptr && h.tcb()->ts_ok);
        return c;
    }
    EngineHarness h;
};
INSTANTIATE_TEST_SUITE_P(Families, PmtuTimestampsTest, ::testing::Values(Family::v4, Family::v6), family_name);

TEST_P(PmtuTimestampsTest, TheTimestampOptionIsPartOfThePacketThatMustFit) {
    const ConnId c = establish();
    const bool v6 = GetParam() == Family::v6;
    const uint32_t full = v6 ? 1440 - 12 : 1460 - 12;  // SND.MSS after the handshake
    EXPECT_EQ(h.tcb()->snd_mss, full);
    const std::string data(4000, 'p');
    ASSERT_EQ(h.engine.send(c, data.data(), 4000), 4000);
    EXPECT_EQ(payload_sizes(h.out()), (std::vector<size_t>{full, full, 4000 - 2 * full}));
    if (v6) {
        net::PacketTooBig p;
        p.quoted = Ip6Pair{EngineHarness::us6(), EngineHarness::them6()};
        p.src_port = EngineHarness::kUsPort;
        p.dst_port = EngineHarness::kThemPort;
        p.mtu = 1280;
        p.has_seq = true;
        p.seq = kIss + 1;
        EXPECT_TRUE(h.engine.packet_too_big(p, h.now));
    } else {
        net::IcmpError e;
        e.type = 3;
        e.code = 4;
        e.next_hop_mtu = 1280;
        e.quoted_len = 1500;
        e.local_ip = EngineHarness::kUs;
        e.remote_ip = EngineHarness::kThem;
        e.local_port = EngineHarness::kUsPort;
        e.remote_port = EngineHarness::kThemPort;
        e.seq = kIss + 1;
        EXPECT_TRUE(h.engine.icmp_error(e, h.now));
    }
    const uint32_t mss = v6 ? 1208 : 1228;
    EXPECT_EQ(h.tcb()->snd_mss, mss);
    const std::vector<Seg> v = h.out();
    ASSERT_EQ(payload_sizes(v), (std::vector<size_t>{mss, mss, mss, 4000 - 3 * mss}));
    for (const Seg& s : v) EXPECT_TRUE(s.opt.has_timestamps);  // 20 + 20 (40 over IPv6) + 12 + SND.MSS = 1280
}

}  // namespace
}  // namespace synack::test
