// Congestion control: exact windows after given ACK sequences (RFC 5681, 3465, 6928, 6582 exit), CUBIC's formulas
// (RFC 9438: K, W_cubic, Reno-friendly region, fast convergence, RTO), HyStart++ (RFC 9406) and undo. Expected
// values are computed here from the RFC's equations, never read back from the code under test.
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/cc/cc.hpp"

using namespace synack::tcp;
using namespace synack::tcp::cc;

namespace {

constexpr uint32_t kMss = 1000;

AckEvent ack_of(uint32_t bytes, uint64_t now_us = 1, uint32_t srtt_us = 100'000) {
    AckEvent a;
    a.acked_bytes = bytes;
    a.now_us = now_us;
    a.srtt_us = srtt_us;
    return a;
}

TEST(CcInitialWindow, Rfc6928) {
    EXPECT_EQ(initial_window(1460), 14'600u);
    EXPECT_EQ(initial_window(536), 5'360u);
    EXPECT_EQ(initial_window(9'000), 18'000u);  // min(10 MSS, max(2 MSS = 18000, 14600))
    CongestionControl c;
    c.init(Algorithm::newreno, 1460);
    EXPECT_EQ(c.cwnd(), 14'600u);
    EXPECT_EQ(c.ssthresh(), UINT32_MAX);
    EXPECT_TRUE(c.in_slow_start());
}

TEST(NewReno, SlowStartGrowsByBytesAckedCappedAtTwoSmss) {  // RFC 5681 §3.1, RFC 3465 §2.2
    CongestionControl c;
    c.init(Algorithm::newreno, kMss);
    for (int i = 0; i < 10; ++i) c.on_ack(ack_of(kMss));
    EXPECT_EQ(c.cwnd(), 20'000u);
    c.on_ack(ack_of(500));  // a partial segment counts its bytes
    EXPECT_EQ(c.cwnd(), 20'500u);
    c.on_ack(ack_of(10 * kMss));  // a stretch ACK: L = 2
    EXPECT_EQ(c.cwnd(), 22'500u);
}

TEST(NewReno, AvoidanceAddsOneSmssPerWindowOfBytes) {  // RFC 3465 §2.1
    CongestionControl c;
    c.init(Algorithm::newreno, kMss);
    c.on_congestion_event(40'000);  // ssthresh = cwnd = 20000
    EXPECT_EQ(c.ssthresh(), 20'000u);
    EXPECT_EQ(c.cwnd(), 20'000u);
    for (int i = 0; i < 19; ++i) c.on_ack(ack_of(kMss));
    EXPECT_EQ(c.cwnd(), 20'000u) << "19 of the 20 segments of a window";
    c.on_ack(ack_of(kMss));
    EXPECT_EQ(c.cwnd(), 21'000u);
    for (int i = 0; i < 21; ++i) c.on_ack(ack_of(kMss));
    EXPECT_EQ(c.cwnd(), 22'000u);
}

TEST(NewReno, CongestionEventFloorIsTwoSmss) {  // RFC 5681 §3.1 (4)
    CongestionControl c;
    c.init(Algorithm::newreno, kMss);
    c.on_congestion_event(1'500);
    EXPECT_EQ(c.ssthresh(), 2'000u);
    EXPECT_EQ(c.cwnd(), 2'000u);
}

TEST(NewReno, RtoLossWindowAndOnlyFirstTimeoutHalves) {
    CongestionControl c;
    c.init(Algorithm::newreno, kMss);
    c.on_rto(30'000, true);
    EXPECT_EQ(c.cwnd(), kMss);
    EXPECT_EQ(c.ssthresh(), 15'000u);
    c.on_rto(kMss, false);  // the same segment timing out again: flight is 1 SMSS now, ssthresh stays
    EXPECT_EQ(c.ssthresh(), 15'000u);
    EXPECT_EQ(c.cwnd(), kMss);
    c.on_ack(ack_of(kMss));  // slow start again
    EXPECT_EQ(c.cwnd(), 2 * kMss);
}

TEST(CongestionControl, RecoveryExitAndNoGrowthInRecoveryOrWhenAppLimited) {  // RFC 6582 §3.2 step 3, RFC 7661
    CongestionControl c;
    c.init(Algorithm::newreno, kMss);
    c.on_congestion_event(40'000);
    AckEvent a = ack_of(kMss);
    a.in_recovery = true;
    c.on_ack(a);
    EXPECT_EQ(c.cwnd(), 20'000u);
    a.in_recovery = false;
    a.cwnd_limited = false;
    for (int i = 0; i < 40; ++i) c.on_ack(a);
    EXPECT_EQ(c.cwnd(), 20'000u);
    c.set_cwnd(35'000);  // PRR moved it
    c.on_recovery_exit(5'000);
    EXPECT_EQ(c.cwnd(), 6'000u);  // min(20000, 5000 + 1000)
    c.on_recovery_exit(50'000);
    EXPECT_EQ(c.cwnd(), 20'000u);
    c.on_recovery_exit(0);
    EXPECT_EQ(c.cwnd(), 2'000u);  // max(FlightSize, SMSS) + SMSS
}

TEST(CongestionControl, RestartAfterIdle) {  // RFC 5681 §4.1
    for (Algorithm algo : {Algorithm::newreno, Algorithm::cubic}) {
        CongestionControl c;
        c.init(algo, kMss);
        for (int i = 0; i < 40; ++i) c.on_ack(ack_of(kMss));
        const uint32_t big = c.cwnd();
        ASSERT_GT(big, 20'000u);
        c.on_idle_restart(300'000, 300'000);  // idle not longer than one RTO
        EXPECT_EQ(c.cwnd(), big);
        c.on_idle_restart(300'001, 300'000);
        EXPECT_EQ(c.cwnd(), 10'000u) << to_string(algo);  // RW = min(IW, cwnd), IW = 10 MSS here
        c.set_cwnd(3'000);
        c.on_idle_restart(1'000'000, 300'000);
        EXPECT_EQ(c.cwnd(), 3'000u);  // never raised
    }
}

TEST(CongestionControl, SmssChangeKeepsSegments) {  // a PMTU drop
    CongestionControl c;
    c.init(Algorithm::newreno, 1460);
    c.on_congestion_event(40 * 1460);
    EXPECT_EQ(c.cwnd(), 20u * 1460);
    c.set_smss(1200);
    EXPECT_EQ(c.smss(), 1200u);
    EXPECT_EQ(c.cwnd(), 20u * 1200);
    EXPECT_EQ(c.ssthresh(), 20u * 1200);
    c.set_smss(0);  // ignored
    EXPECT_EQ(c.smss(), 1200u);
    c.init(Algorithm::cubic, 0);
    EXPECT_EQ(c.smss(), 536u);
    EXPECT_EQ(c.cwnd(), 5'360u);
}

TEST(CongestionControl, AlgorithmNames) {
    Algorithm a = Algorithm::cubic;
    EXPECT_TRUE(parse_algorithm("newreno", a));
    EXPECT_EQ(a, Algorithm::newreno);
    EXPECT_TRUE(parse_algorithm("cubic", a));
    EXPECT_EQ(a, Algorithm::cubic);
    EXPECT_FALSE(parse_algorithm("Cubic", a));
    EXPECT_FALSE(parse_algorithm("", a));
    EXPECT_STREQ(to_string(Algorithm::newreno), "newreno");
}

// ---- CUBIC ----

TEST(Cubic, FormulasKAndWcubic) {  // RFC 9438 §4.2 eq. 1 and 2
    // W_max 100, cwnd_epoch 70 (beta 0.7): K = cbrt(30 / 0.4) = cbrt(75).
    EXPECT_NEAR(Cubic::k_seconds(100, 70), 4.217163326508746, 1e-9);
    EXPECT_EQ(Cubic::k_seconds(50, 70), 0.0);
    const double k = std::cbrt(75.0);
    EXPECT_NEAR(Cubic::w_cubic(0, k, 100), 70.0, 1e-9);  // the curve starts at cwnd_epoch
    EXPECT_NEAR(Cubic::w_cubic(k, k, 100), 100.0, 1e-12);  // plateau at W_max at t = K
    EXPECT_NEAR(Cubic::w_cubic(k + 2, k, 100), 100 + 0.4 * 8, 1e-9);
    EXPECT_NEAR(Cubic::w_cubic(1.0, k, 100), 100 + 0.4 * std::pow(1.0 - k, 3), 1e-9);
    EXPECT_NEAR(Cubic::kAlpha, 3 * 0.3 / 1.7, 1e-12);
}

/// Drives `c` through `seconds` of ACKs at a fixed RTT: one ACK per SMSS, a window of them per RTT, spread evenly.
uint64_t run_ack_clock(CongestionControl& c, uint64_t t_us, double seconds, uint32_t rtt_us) {
    const uint64_t end = t_us + static_cast<uint64_t>(seconds * 1e6);
    while (t_us < end) {
        const uint32_t n = c.cwnd() / kMss;
        for (uint32_t i = 0; i < n; ++i) c.on_ack(ack_of(kMss, t_us + static_cast<uint64_t>(rtt_us) * i / n, rtt_us));
        t_us += rtt_us;
    }
    return t_us;
}

TEST(Cubic, MultiplicativeDecreaseAndK) {  // RFC 9438 §4.6, §4.2
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_congestion_event(100 * kMss);
    EXPECT_EQ(c.ssthresh(), 70 * kMss);
    EXPECT_EQ(c.cwnd(), 70 * kMss);
    EXPECT_DOUBLE_EQ(c.cubic()->w_max(), 100.0);
    EXPECT_DOUBLE_EQ(c.cubic()->cwnd_prior(), 100.0);
    c.on_ack(ack_of(kMss, 1'000'000));  // first avoidance ACK starts the epoch
    EXPECT_NEAR(c.cubic()->k(), std::cbrt(30 / 0.4), 1e-9);
}

TEST(Cubic, WindowFollowsTheCurveToWmaxAtK) {  // RFC 9438 §4.4/§4.5 at a long RTT (cubic region)
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_congestion_event(100 * kMss);
    const double k = std::cbrt(30 / 0.4);
    const uint64_t t0 = 10'000'000;
    // Half-way to K the window is concave: close to W_cubic(t) and well below W_max.
    uint64_t t = run_ack_clock(c, t0, k / 2, 100'000);
    double expect = Cubic::w_cubic(static_cast<double>(t - t0) / 1e6, k, 100);
    EXPECT_NEAR(c.cwnd() / double(kMss), expect, 3.0) << "t = " << (t - t0) / 1e6;
    EXPECT_LT(c.cwnd(), 98 * kMss);
    t = run_ack_clock(c, t, k / 2, 100'000);
    EXPECT_NEAR(c.cwnd() / double(kMss), 100.0, 2.5) << "at t = K the window reaches W_max";
    // Past K, convex growth: W_cubic(t) again.
    t = run_ack_clock(c, t, 3.0, 100'000);
    expect = Cubic::w_cubic(static_cast<double>(t - t0) / 1e6, k, 100);
    EXPECT_NEAR(c.cwnd() / double(kMss), expect, expect * 0.05);
    EXPECT_GT(c.cwnd(), 105 * kMss);
    // The Reno estimate stayed below the curve all along (alpha 0.53 per RTT).
    EXPECT_LT(c.cubic()->w_est() * kMss, c.cwnd());
}

TEST(Cubic, RenoFriendlyRegionAtShortRtt) {  // RFC 9438 §4.3
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(20 * kMss);
    c.on_congestion_event(20 * kMss);  // cwnd 14, W_max 20, K = cbrt(15) = 2.47 s
    // 1 s at 10 ms RTT is 100 rounds: W_est climbs 6 segments at alpha = 0.53 (about 11 rounds) and then one per
    // round (alpha = 1 once past cwnd_prior = 20): about 20 + 89 = 109, far above W_cubic(1 s) = 18.7.
    const uint64_t t0 = 5'000'000;
    const uint64_t t = run_ack_clock(c, t0, 1.0, 10'000);
    const double t_s = static_cast<double>(t - t0) / 1e6;
    EXPECT_LT(Cubic::w_cubic(t_s, std::cbrt(15.0), 20), 20.0);
    const double rounds = t_s / 0.010;
    const double reno = 20 + (rounds - 6 / Cubic::kAlpha);
    EXPECT_NEAR(c.cwnd() / double(kMss), reno, 4.0);
    EXPECT_NEAR(c.cwnd() / double(kMss), c.cubic()->w_est(), 1.0) << "cwnd = W_est in the Reno-friendly region";
}

TEST(Cubic, FastConvergenceLowersWmax) {  // RFC 9438 §4.7
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_congestion_event(100 * kMss);
    c.set_cwnd(80 * kMss);  // lost again before reaching the old W_max
    c.on_congestion_event(80 * kMss);
    EXPECT_DOUBLE_EQ(c.cubic()->w_max(), 80 * (1 + 0.7) / 2);
    EXPECT_EQ(c.ssthresh(), 56 * kMss);
    c.set_cwnd(90 * kMss);  // above W_max (68): plain W_max = cwnd
    c.on_congestion_event(90 * kMss);
    EXPECT_DOUBLE_EQ(c.cubic()->w_max(), 90.0);
}

TEST(Cubic, RtoLossWindowThenCurveFromZeroK) {  // RFC 9438 §4.8
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_rto(100 * kMss, true);
    EXPECT_EQ(c.cwnd(), kMss);
    EXPECT_EQ(c.ssthresh(), 70 * kMss);
    uint64_t t = 1'000'000;
    while (c.in_slow_start()) c.on_ack(ack_of(kMss, t += 1'000));
    c.on_ack(ack_of(kMss, t += 1'000));
    EXPECT_EQ(c.cubic()->k(), 0.0);
    EXPECT_NEAR(c.cubic()->w_max(), 70.0, 2.0);  // the window at the start of this avoidance stage
    EXPECT_FALSE(c.cubic()->hystart().active()) << "HyStart++ only for the initial slow start";
}

TEST(Cubic, UndoRestoresWindowAndCurve) {  // RFC 9438 §4.9, RFC 3522
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_congestion_event(100 * kMss);
    c.on_ack(ack_of(kMss, 1'000'000));
    const double k = c.cubic()->k();
    const uint32_t cwnd = c.cwnd();
    ASSERT_GE(cwnd, 70 * kMss);
    c.on_congestion_event(cwnd);
    EXPECT_EQ(c.cwnd(), static_cast<uint32_t>(cwnd * 0.7));
    EXPECT_TRUE(c.undo());
    EXPECT_EQ(c.cwnd(), cwnd);
    EXPECT_EQ(c.ssthresh(), 70 * kMss);
    EXPECT_DOUBLE_EQ(c.cubic()->w_max(), 100.0);
    EXPECT_DOUBLE_EQ(c.cubic()->k(), k);
    EXPECT_FALSE(c.undo()) << "one undo per event";
}

// ---- HyStart++ ----

TEST(HyStart, RttThresholdClamp) {  // RFC 9406 §4.2
    EXPECT_EQ(HyStart::rtt_thresh(10'000), 4'000u);
    EXPECT_EQ(HyStart::rtt_thresh(80'000), 10'000u);
    EXPECT_EQ(HyStart::rtt_thresh(200'000), 16'000u);
}

/// Feeds one round: `acks` ACKs of 1 SMSS each carrying `rtt_us`. SND.NXT at the round's first ACK is the end of
/// the round's data, so the round (windowEnd) ends exactly with its last ACK.
struct Rounds {
    CongestionControl& c;
    uint32_t una = 0;
    uint64_t t = 1'000'000;
    void round(int acks, uint32_t rtt_us) { round_of(std::vector<uint32_t>(static_cast<size_t>(acks), rtt_us)); }
    /// One round with one ACK per sample in `rtts`.
    void round_of(const std::vector<uint32_t>& rtts) {
        const uint32_t end = una + static_cast<uint32_t>(rtts.size()) * kMss;
        for (const uint32_t rtt_us : rtts) {
            una += kMss;
            AckEvent a = ack_of(kMss, t += 1'000, rtt_us);
            a.rtt_us = rtt_us;
            a.ack = Seq(una);
            a.snd_nxt = Seq(end);
            c.on_ack(a);
        }
    }
};

TEST(HyStart, LeavesSlowStartOnRttRiseThroughCss) {  // RFC 9406 §4.2
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    Rounds r{c};
    r.round(10, 100'000);
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    EXPECT_EQ(c.cwnd(), 20'000u);  // standard growth: +1 SMSS per SMSS acknowledged
    r.round(20, 112'000);          // +12 ms < RttThresh 12.5 ms: stays
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    EXPECT_EQ(c.cwnd(), 40'000u);
    r.round(7, 126'000);  // 126 >= 112 + 14 (RttThresh = 112/8), but only 7 samples so far
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    r.round(1, 126'000);  // a new round: its 1 sample is below N_RTT_SAMPLE
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start) << "samples count per round";
    EXPECT_EQ(c.cwnd(), 48'000u);
    r.round(8, 126'000);  // last round's min 126 -> needs 126 + 15.75: no exit on a flat RTT
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    r.round(8, 142'000);  // 142 >= 126 + 15.75: CSS after the 8th sample of the round
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::css);
    EXPECT_EQ(c.cwnd(), 64'000u);
    r.round(4, 142'000);
    EXPECT_EQ(c.cwnd(), 65'000u) << "CSS grows at a quarter: 4 ACKs of 1 SMSS add 1 SMSS";
    EXPECT_EQ(c.cubic()->hystart().css_rounds(), 1) << "the partial round CSS began in counts";
    for (int i = 0; i < 3; ++i) r.round(4, 142'000);
    EXPECT_TRUE(c.in_slow_start());
    EXPECT_EQ(c.cwnd(), 68'000u);
    // The ACK opening the next round completes CSS_ROUNDS = 5: ssthresh = cwnd, congestion avoidance.
    r.round(1, 142'000);
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::done);
    EXPECT_FALSE(c.in_slow_start());
    EXPECT_EQ(c.ssthresh(), 68'000u);
    EXPECT_EQ(c.cwnd(), 68'000u);
}

TEST(HyStart, CssBackToSlowStartWhenRttFalls) {
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    Rounds r{c};
    r.round(10, 50'000);
    r.round(10, 60'000);  // RttThresh(50 ms) = 6.25 ms: 60 >= 56.25
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::css);
    r.round(10, 55'000);  // below the CSS baseline of 60 ms: the rise was spurious
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
}

// RFC 9406 §4.2 takes the round's minimum over N_RTT_SAMPLE samples: per-ACK samples that jump (a loaded host,
// a delayed ACK) do not end slow start while one sample of the round still sees the base RTT.
TEST(HyStart, NoExitOnNoisySamplesWhileTheRoundMinimumHolds) {
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    Rounds r{c};
    r.round(10, 10'000);
    // Nine samples of 36 ms (26 ms above the base; RttThresh is 4 ms) and one at the base RTT among the first
    // eight: the round's minimum stays 10 ms, and slow start goes on.
    r.round_of({36'000, 36'000, 10'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000});
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    EXPECT_EQ(c.cwnd(), 30'000u);
    // The base sample last: the eighth sample takes it to CSS, the tenth (below the CSS baseline) back.
    r.round_of({36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 10'000});
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::slow_start);
    r.round_of({36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 36'000, 35'000, 36'000, 36'000});
    EXPECT_EQ(c.cubic()->hystart().phase(), HyStart::Phase::css) << "a whole round at 35+ ms is a real rise";
}

TEST(HyStart, GrowthPerAckCappedAtL) {  // RFC 9406 §4.3, L = 8 when not pacing
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    AckEvent a = ack_of(20 * kMss);
    a.ack = Seq(20 * kMss);
    a.snd_nxt = Seq(30 * kMss);
    c.on_ack(a);
    EXPECT_EQ(c.cwnd(), 18 * kMss);
}

TEST(Cubic, SsthreshFromFlightSizeWmaxFromCwnd) {  // RFC 9438 §4.6
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.set_cwnd(100 * kMss);
    c.on_congestion_event(60 * kMss);  // application-limited: only 60 segments were in flight
    EXPECT_EQ(c.ssthresh(), 42 * kMss);
    EXPECT_EQ(c.cwnd(), 42 * kMss);
    EXPECT_DOUBLE_EQ(c.cubic()->w_max(), 100.0);
    c.set_cwnd(3 * kMss);
    c.on_congestion_event(2 * kMss);
    EXPECT_EQ(c.ssthresh(), 2 * kMss) << "at least 2 SMSS";
}

TEST(HyStart, LossEndsIt) {
    CongestionControl c;
    c.init(Algorithm::cubic, kMss);
    c.on_congestion_event(10 * kMss);
    EXPECT_FALSE(c.cubic()->hystart().active());
    EXPECT_EQ(c.ssthresh(), 7 * kMss);
}

}  // namespace
