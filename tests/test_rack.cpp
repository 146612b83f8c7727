// RACK-TLP (RFC 8985): time-based loss marking and the reorder timer, reo_wnd and its D-SACK adaptation, lost
// retransmissions, the transmit-time ring (coalescing, splitting, overflow), and TLP's PTO and outcome.
#include <vector>

#include <gtest/gtest.h>

#include "tcp/rack.hpp"

using namespace synack::tcp;

namespace {

constexpr uint32_t kMss = 1000;
Seq S(uint32_t k) { return Seq(1'000'000 + k * kMss); }  // start of segment k
SeqRange seg(uint32_t from, uint32_t to_incl) { return {S(from), S(to_incl + 1)}; }

struct Harness {
    Rack rack;
    uint32_t srtt = 100'000;
    bool in_recovery = false;
    uint32_t segs_sacked = 0;
    Seq una = S(0);
    Seq nxt = S(0);

    void send(uint32_t k, uint64_t t) {
        ASSERT_TRUE(rack.on_send(S(k), S(k + 1), t, false));
        nxt = max(nxt, S(k + 1));
    }
    Rack::Result ack(uint64_t t, Seq cum, std::vector<SeqRange> sacked = {}, bool dsack = false) {
        una = max(una, cum);
        for (auto& r : sacked) segs_sacked += r.size() / kMss;
        Rack::Ack a;
        a.now_us = t;
        a.snd_una = una;
        a.snd_nxt = nxt;
        a.sacked = sacked.data();
        a.n_sacked = static_cast<uint32_t>(sacked.size());
        a.dsack = dsack;
        a.segs_sacked = segs_sacked;
        a.srtt_us = srtt;
        a.in_recovery = in_recovery;
        return rack.on_ack(a);
    }
    std::vector<SeqRange> lost() const {
        SeqRange out[16];
        const uint32_t n = rack.lost_ranges(out, 16);
        return std::vector<SeqRange>(out, out + n);
    }
};

TEST(Rack, LossAfterRttPlusReoWndAndTimerUntilThen) {  // RFC 8985 §6.2 step 5, §6.3
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    h.send(0, 0);
    h.send(1, 1'000);
    h.send(2, 2'000);
    // P3 SACKed at 102 ms: RACK.rtt = 100 ms, RACK.xmit_ts = 2 ms. One segment SACKed, no reordering seen, not in
    // recovery: reo_wnd = min_RTT / 4 = 25 ms. P1 is due at 0 + 100 + 25, P2 at 1 + 100 + 25.
    auto r = h.ack(102'000, S(0), {seg(2, 2)});
    EXPECT_EQ(h.rack.rack_rtt_us(), 100'000u);
    EXPECT_EQ(h.rack.rack_xmit_us(), 2'000u);
    EXPECT_EQ(h.rack.reo_wnd_us(h.srtt, false, 1), 25'000u);
    EXPECT_EQ(r.newly_lost, 0u);
    EXPECT_EQ(r.reo_timeout_us, 24'000u);  // the later deadline, P2's: 126 - 102 ms
    r = h.rack.on_reorder_timeout(125'000, h.srtt, false, 1);
    EXPECT_EQ(r.newly_lost, 1u);  // P1 only
    EXPECT_EQ(r.reo_timeout_us, 1'000u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 0)}));
    r = h.rack.on_reorder_timeout(126'000, h.srtt, false, 1);
    EXPECT_EQ(r.newly_lost, 1u);
    EXPECT_EQ(r.reo_timeout_us, 0u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 1)}));
    // Retransmitting clears the mark.
    EXPECT_TRUE(h.rack.on_send(S(0), S(2), 126'000, true));
    EXPECT_TRUE(h.lost().empty());
}

TEST(Rack, DupThreshWorthOfSacksWithoutReorderingMeansNoWindow) {  // §6.2 step 4
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    for (uint32_t k = 0; k < 4; ++k) h.send(k, k * 1'000);
    auto r = h.ack(102'000, S(0), {seg(1, 2)});  // 2 SACKed: reo_wnd = 25 ms, P0 due at 125 ms
    EXPECT_EQ(r.newly_lost, 0u);
    EXPECT_EQ(r.reo_timeout_us, 23'000u);
    r = h.ack(103'000, S(0), {seg(1, 3)});  // the 3rd: reo_wnd = 0, P0 was due at 0 + 100 ms
    EXPECT_EQ(h.rack.reo_wnd_us(h.srtt, false, 3), 0u);
    EXPECT_EQ(r.newly_lost, 1u);
    EXPECT_EQ(r.reo_timeout_us, 0u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 0)}));
}

TEST(Rack, SameTimeSameBurstLowerSequenceIsLostImmediately) {
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    for (uint32_t k = 0; k < 4; ++k) h.send(k, 0);
    auto r = h.ack(100'000, S(0), {seg(1, 3)});
    // deadline for P0 = 0 + 100 ms + 0 = now: lost on this very ACK.
    EXPECT_EQ(r.newly_lost, 1u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 0)}));
}

TEST(Rack, ReorderingSeenKeepsTheWindowInRecovery) {  // §6.2 step 3
    Harness h;
    h.rack.on_rtt_sample(80'000, 0);
    for (uint32_t k = 0; k < 3; ++k) h.send(k, k * 1'000);
    h.ack(90'000, S(0), {seg(2, 2)});
    EXPECT_FALSE(h.rack.reordering_seen());
    h.ack(91'000, S(2));  // P1 and P2 arrive later than P3: below RACK.fack, never retransmitted
    EXPECT_TRUE(h.rack.reordering_seen());
    EXPECT_EQ(h.rack.reo_wnd_us(h.srtt, true, 5), 20'000u);  // min_RTT / 4 even in recovery
    EXPECT_EQ(h.rack.reo_wnd_us(10'000, true, 5), 10'000u);  // capped at SRTT
}

TEST(Rack, DsackGrowsWindowOncePerRoundAndPersistResets) {  // §6.2 step 4
    Harness h;
    h.rack.on_rtt_sample(40'000, 0);
    h.ack(1, S(0));  // a reordering-free start
    for (uint32_t k = 0; k < 4; ++k) h.send(k, 0);
    h.ack(50'000, S(1), {}, true);
    EXPECT_EQ(h.rack.reo_wnd_mult(), 2);
    h.ack(51'000, S(2), {}, true);  // same round (SND.UNA below the SND.NXT recorded): no second step
    EXPECT_EQ(h.rack.reo_wnd_mult(), 2);
    h.ack(52'000, S(4), {}, false);  // round over
    h.send(4, 53'000);
    h.ack(60'000, S(4), {}, true);
    EXPECT_EQ(h.rack.reo_wnd_mult(), 3);
    EXPECT_EQ(h.rack.reo_wnd_us(1'000'000, false, 0), 30'000u);  // 3 * 40 / 4 ms
    // 16 recoveries ending without a D-SACK put the multiplier back to 1.
    Rack::Ack a;
    a.snd_una = S(5);
    a.snd_nxt = S(5);
    a.recovery_ended = true;
    for (int i = 0; i < 15; ++i) h.rack.on_ack(a);
    EXPECT_EQ(h.rack.reo_wnd_mult(), 3);
    h.rack.on_ack(a);
    EXPECT_EQ(h.rack.reo_wnd_mult(), 1);
}

// RFC 8985 §6.1: min_RTT and the reordering state belong to the connection. clear(path) forgets the segments and
// RACK.rtt but starts from the path's state, and path() gives back what this episode added to it.
TEST(Rack, ClearKeepsWhatThePathTaught) {
    Harness h;
    h.rack.on_rtt_sample(40'000, 0);
    for (uint32_t k = 0; k < 3; ++k) h.send(k, k * 1'000);
    h.ack(50'000, S(0), {seg(2, 2)});
    h.ack(51'000, S(3), {}, true);  // P0, P1 below RACK.fack: reordering; a D-SACK: multiplier 2
    const RackPath learned = h.rack.path();
    EXPECT_TRUE(learned.reordering_seen);
    EXPECT_EQ(learned.reo_wnd_mult, 2);
    EXPECT_EQ(learned.min_rtt_us, 40'000u);
    Rack fresh;
    fresh.clear(learned);
    EXPECT_EQ(fresh.entries(), 0u);
    EXPECT_EQ(fresh.rack_rtt_us(), 0u);
    EXPECT_TRUE(fresh.reordering_seen());
    EXPECT_EQ(fresh.reo_wnd_us(1'000'000, true, 5), 20'000u);  // 2 x 40 / 4 ms, in recovery too
    fresh.clear();
    EXPECT_FALSE(fresh.reordering_seen());
    EXPECT_EQ(fresh.reo_wnd_us(1'000'000, false, 0), 0u) << "no min_RTT: no window";
}

TEST(Rack, LostRetransmissionIsDetected) {  // RFC 8985 §3 (its lost-retransmission example): repaired without an RTO
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    h.send(0, 0);
    h.send(1, 10'000);
    h.send(2, 20'000);
    h.send(3, 30'000);
    h.in_recovery = true;
    h.ack(130'000, S(0), {seg(3, 3)});
    h.rack.on_reorder_timeout(200'000, h.srtt, true, 1);
    ASSERT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 2)}));
    ASSERT_TRUE(h.rack.on_send(S(0), S(1), 200'000, true));  // retransmit P0 only (the others, say, later)
    h.send(4, 210'000);
    // P4 (sent after the retransmission of P0) is SACKed at 310 ms: P0' is lost too, 300 ms after it was sent
    // RACK.rtt (100 ms) has passed.
    auto r = h.ack(310'000, S(0), {seg(4, 4)});
    EXPECT_EQ(r.newly_lost, 1u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 2)}));
}

TEST(Rack, AmbiguousAckOfRetransmissionIgnored) {  // §6.2 step 2
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    h.send(0, 0);
    h.send(1, 1'000);
    ASSERT_TRUE(h.rack.on_send(S(0), S(1), 90'000, true));
    // The ACK of P0 at 100 ms is for the original: 10 ms after the retransmission is below min_RTT.
    h.ack(100'000, S(1));
    EXPECT_FALSE(h.rack.rack_xmit_us() == 90'000u);
    // With timestamps: an echo from before the retransmission says the same.
    Harness t;
    t.rack.on_rtt_sample(10'000, 0);
    t.send(0, 0);
    ASSERT_TRUE(t.rack.on_send(S(0), S(1), 50'000, true));
    Rack::Ack a;
    a.now_us = 100'000;
    a.snd_una = S(1);
    a.snd_nxt = S(1);
    a.ts_echo_us = 1'000;
    t.rack.on_ack(a);
    EXPECT_EQ(t.rack.rack_rtt_us(), 0u) << "no RACK update";
    Harness u;
    u.rack.on_rtt_sample(10'000, 0);
    u.send(0, 0);
    ASSERT_TRUE(u.rack.on_send(S(0), S(1), 50'000, true));
    a.ts_echo_us = 50'000;
    u.rack.on_ack(a);
    EXPECT_EQ(u.rack.rack_rtt_us(), 50'000u);
    EXPECT_EQ(u.rack.rack_xmit_us(), 50'000u);
}

TEST(Rack, RingSplitsOnSackAndRetransmitAndSurvivesOverflow) {
    Rack r;
    ASSERT_TRUE(r.on_send(S(0), S(10), 0, false));
    EXPECT_EQ(r.entries(), 1u);
    EXPECT_FALSE(r.on_send(S(5), S(6), 1, false)) << "new data below what was sent";
    ASSERT_TRUE(r.on_send(S(4), S(5), 1'000, true));  // split into [0,4) [4,5) [5,10)
    EXPECT_EQ(r.entries(), 3u);
    Rack::Ack a;
    a.now_us = 100'000;
    a.snd_una = S(2);
    a.snd_nxt = S(10);
    SeqRange blocks[] = {seg(7, 7)};
    a.sacked = blocks;
    a.n_sacked = 1;
    r.on_ack(a);  // [2,4) [4,5) [5,7) [7,8)s [8,10)
    EXPECT_EQ(r.entries(), 5u);
    EXPECT_EQ(r.rack_end_seq(), S(8));
    // Overflow: many separate sends fold neighbours instead of failing.
    Rack o;
    for (uint32_t k = 0; k < 3 * Rack::kMaxEntries; ++k) ASSERT_TRUE(o.on_send(S(k), S(k + 1), k * 10, false));
    EXPECT_EQ(o.entries(), Rack::kMaxEntries);
    EXPECT_GT(o.overflows(), 0u);
    // Everything is still tracked: an ACK of all of it empties the ring.
    Rack::Ack all;
    all.now_us = 1'000'000;
    all.snd_una = S(3 * Rack::kMaxEntries);
    all.snd_nxt = all.snd_una;
    o.on_ack(all);
    EXPECT_EQ(o.entries(), 0u);
    EXPECT_EQ(o.rack_end_seq(), S(3 * Rack::kMaxEntries));
}

TEST(Rack, BogusBlocksChangeNothing) {
    Harness h;
    h.rack.on_rtt_sample(100'000, 0);
    for (uint32_t k = 0; k < 4; ++k) h.send(k, k * 1'000);
    const uint32_t entries = h.rack.entries();
    // Reversed, beyond SND.NXT, wholly below SND.UNA, and one spanning the whole sequence space the wrong way.
    auto r = h.ack(150'000, S(1), {{S(3), S(2)}, {S(3), S(9)}, {S(0), S(1)}, {S(4), S(2)}});
    EXPECT_EQ(r.newly_lost, 0u);
    EXPECT_EQ(h.rack.entries(), entries - 1);  // only the cumulative ACK of P0 counted
    EXPECT_EQ(h.rack.rack_end_seq(), S(1));
    EXPECT_TRUE(h.rack.consistent(S(1)));
}

TEST(Rack, LossesOnRto) {  // RFC 8985 §6.3
    Harness h;
    h.rack.on_rtt_sample(40'000, 0);  // reo_wnd 10 ms outside recovery: the ACK below marks nothing
    for (uint32_t k = 0; k < 4; ++k) h.send(k, k);
    EXPECT_EQ(h.ack(50'000, S(0), {seg(2, 2)}).newly_lost, 0u);  // RACK.rtt = 50000 - 2 µs
    // RTO recovery without reordering: reo_wnd 0. At 50000: P0 (at SND.UNA) always; P1 was due at
    // 1 + 49998 = 49999; P3 not before 50001; P2 is SACKed.
    EXPECT_EQ(h.rack.on_rto(50'000, h.srtt), 2u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 1)}));
    EXPECT_EQ(h.rack.on_rto(50'001, h.srtt), 1u);
    EXPECT_EQ(h.lost(), (std::vector<SeqRange>{seg(0, 1), seg(3, 3)}));
    // Without any RACK sample (nothing delivered yet) the segment at SND.UNA still is.
    Harness f;
    for (uint32_t k = 0; k < 3; ++k) f.send(k, k * 1'000);
    EXPECT_EQ(f.rack.on_rto(1'000'000, 0), 3u) << "RACK.rtt 0: all are past their time";
}

TEST(Rack, RandomTrafficKeepsTheRingConsistent) {
    // Random new data, retransmissions, cumulative ACKs and SACK blocks (segment-aligned or not), with the ring
    // often full: its invariants hold, SACKed bytes are never reported lost, and acknowledging everything empties it.
    uint32_t x = 99;
    auto rnd = [&](uint32_t m) { x = x * 1103515245u + 12345u; return (x >> 8) % m; };
    int clean = 0;
    for (int iter = 0; iter < 200; ++iter) {
        Rack r;
        const uint32_t base = 0xfff00000u + rnd(1000);
        uint32_t una = base, nxt = base;
        uint64_t t = 1;
        r.on_rtt_sample(1'000 + rnd(5'000), t);
        std::vector<SeqRange> sacked_all;
        const int steps = iter % 2 ? 300 : 60;  // short runs rarely fill the ring, long ones often do
        for (int step = 0; step < steps; ++step) {
            t += rnd(300);
            const uint32_t what = rnd(10);
            if (what < 5) {
                const uint32_t len = 1 + rnd(3 * kMss);
                ASSERT_TRUE(r.on_send(Seq(nxt), Seq(nxt + len), t, false));
                nxt += len;
            } else if (what < 7 && nxt != una) {
                const uint32_t from = una + rnd(nxt - una), len = 1 + rnd(nxt - from);
                r.on_send(Seq(from), Seq(from + len), t, true);
            } else {
                if (rnd(3) == 0 && nxt != una) una += rnd(nxt - una + 1);
                std::vector<SeqRange> blocks;
                for (uint32_t b = 0, nb = rnd(4); b < nb && nxt != una; ++b) {
                    const uint32_t l = una + rnd(nxt - una), len = 1 + rnd(nxt - l);
                    blocks.push_back({Seq(l), Seq(l + len)});
                    sacked_all.push_back(blocks.back());
                }
                Rack::Ack a;
                a.now_us = t;
                a.snd_una = Seq(una);
                a.snd_nxt = Seq(nxt);
                a.sacked = blocks.data();
                a.n_sacked = static_cast<uint32_t>(blocks.size());
                a.srtt_us = 5'000;
                a.segs_sacked = rnd(5);
                a.dsack = rnd(10) == 0;
                a.in_recovery = rnd(2) == 0;
                r.on_ack(a);
            }
            ASSERT_TRUE(r.consistent(Seq(una))) << "iter " << iter << " step " << step;
            SeqRange lost[Rack::kMaxEntries];
            const uint32_t nl = r.lost_ranges(lost, Rack::kMaxEntries);
            for (uint32_t i = 0; i < nl; ++i) {
                ASSERT_TRUE(Seq(una) <= lost[i].left && lost[i].right <= Seq(nxt));
                for (const SeqRange& s : sacked_all) {
                    // A range wholly inside a block that a split isolated is SACKed: never lost afterwards.
                    ASSERT_FALSE(s.left <= lost[i].left && lost[i].right <= s.right && r.overflows() == 0)
                        << "iter " << iter << " step " << step;
                }
            }
        }
        Rack::Ack all;
        all.now_us = t + 1;
        all.snd_una = Seq(nxt);
        all.snd_nxt = Seq(nxt);
        r.on_ack(all);
        EXPECT_EQ(r.entries(), 0u);
        clean += r.overflows() == 0;
    }
    EXPECT_GT(clean, 20) << "enough runs where the strict SACKed-never-lost check applied";
}

// ---- TLP ----

TEST(Tlp, ProbeTimeout) {  // RFC 8985 §7.2
    EXPECT_EQ(Tlp::pto_us(50'000, false, 10'000'000), 100'000u);
    EXPECT_EQ(Tlp::pto_us(50'000, true, 10'000'000), 300'000u);  // + WCDelAckT 200 ms
    EXPECT_EQ(Tlp::pto_us(50'000, true, 10'000'000, 40'000), 140'000u);
    EXPECT_EQ(Tlp::pto_us(0, false, 10'000'000), 1'000'000u);  // no SRTT yet
    EXPECT_EQ(Tlp::pto_us(50'000, false, 70'000), 70'000u);   // never after the RTO
}

TEST(Tlp, Outcomes) {  // RFC 8985 §7.4
    Tlp t;
    EXPECT_EQ(t.on_ack(S(9), true, false, false, {}), Tlp::Outcome::none);
    // New data as the probe: its ACK just ends the episode.
    t.on_probe_sent(false, S(10));
    EXPECT_TRUE(t.in_progress());
    EXPECT_EQ(t.on_ack(S(9), true, false, false, {}), Tlp::Outcome::none);
    EXPECT_EQ(t.on_ack(S(10), true, false, false, {}), Tlp::Outcome::no_loss);
    EXPECT_FALSE(t.in_progress());
    // The last segment again, and a D-SACK for it: nothing was lost.
    t.on_probe_sent(true, S(10));
    EXPECT_EQ(t.on_ack(S(10), true, false, false, {}), Tlp::Outcome::none) << "original's or probe's ACK: wait";
    EXPECT_EQ(t.on_ack(S(10), false, true, true, seg(9, 9)), Tlp::Outcome::no_loss);
    // ... or an ACK beyond it: the probe repaired a loss.
    t.on_probe_sent(true, S(10));
    EXPECT_EQ(t.on_ack(S(12), true, false, false, {}), Tlp::Outcome::loss_repaired);
    // ... or a duplicate ACK with no SACK at all.
    t.on_probe_sent(true, S(10));
    EXPECT_EQ(t.on_ack(S(10), false, false, false, {}), Tlp::Outcome::loss_repaired);
    // A D-SACK for something else does not count.
    t.on_probe_sent(true, S(10));
    EXPECT_EQ(t.on_ack(S(10), false, true, true, seg(3, 3)), Tlp::Outcome::none);
}

}  // namespace
