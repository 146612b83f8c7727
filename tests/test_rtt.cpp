// RFC 6298 estimator: exact SRTT/RTTVAR/RTO after given samples, clamps, backoff, Karn, §5.7, RFC 7323 App. G.
#include <gtest/gtest.h>

#include "tcp/rtt.hpp"

using namespace synack::tcp;

namespace {

RttConfig rfc_config() {
    RttConfig c;
    c.min_rto_us = 1'000;  // out of the way so the formula itself shows
    return c;
}

TEST(RttEstimator, InitialRtoIsOneSecond) {  // RFC 6298 §2.1
    RttEstimator e;
    EXPECT_FALSE(e.has_sample());
    EXPECT_EQ(e.rto_us(), 1'000'000u);
}

TEST(RttEstimator, FirstAndSecondSampleExact) {
    RttEstimator e(rfc_config());
    e.sample(100'000);  // §2.2: SRTT = R, RTTVAR = R/2, RTO = R + 4 R/2
    EXPECT_EQ(e.srtt_us(), 100'000u);
    EXPECT_EQ(e.rttvar_us(), 50'000u);
    EXPECT_EQ(e.rto_us(), 300'000u);
    e.sample(200'000);  // §2.3: RTTVAR = 3/4 50 + 1/4 100 = 62.5; SRTT = 7/8 100 + 1/8 200 = 112.5 (ms)
    EXPECT_EQ(e.rttvar_us(), 62'500u);
    EXPECT_EQ(e.srtt_us(), 112'500u);
    EXPECT_EQ(e.rto_us(), 112'500u + 250'000u);
}

TEST(RttEstimator, GranularityFloorsTheVarianceTerm) {
    RttConfig c = rfc_config();
    c.granularity_us = 10'000;
    RttEstimator e(c);
    for (int i = 0; i < 200; ++i) e.sample(1'000);  // RTTVAR decays towards 0
    EXPECT_EQ(e.srtt_us(), 1'000u);
    EXPECT_LT(e.rttvar_us() * 4, 10'000u);
    EXPECT_EQ(e.rto_us(), 11'000u);  // SRTT + G
}

TEST(RttEstimator, ClampedToMinAndMax) {
    RttConfig c;
    c.min_rto_us = 200'000;
    c.max_rto_us = 60'000'000;
    RttEstimator e(c);
    e.sample(1'000);
    EXPECT_EQ(e.rto_us(), 200'000u);  // §2.4 floor (configurable)
    RttEstimator slow(c);
    slow.sample(50'000'000);
    EXPECT_EQ(slow.rto_us(), 60'000'000u);  // §2.5 ceiling
}

TEST(RttEstimator, BackoffDoublesUpToMaxAndSampleClearsIt) {  // §5.5, §5.7
    RttConfig c = rfc_config();
    c.max_rto_us = 60'000'000;
    RttEstimator e(c);
    e.sample(100'000);
    e.on_timeout();
    EXPECT_EQ(e.rto_us(), 600'000u);
    e.on_timeout();
    EXPECT_EQ(e.rto_us(), 1'200'000u);
    for (int i = 0; i < 40; ++i) e.on_timeout();
    EXPECT_EQ(e.rto_us(), 60'000'000u);
    e.sample(100'000);
    EXPECT_EQ(e.backoff(), 0);
    EXPECT_EQ(e.rto_us(), 100'000u + 4 * 37'500u);
    e.on_timeout();
    e.reset_backoff();
    EXPECT_EQ(e.rto_us(), 250'000u);
}

TEST(RttEstimator, SynTimeoutMeansThreeSecondsOnceDataFlows) {  // §5.7
    RttEstimator e;
    e.on_syn_timeout();
    EXPECT_EQ(e.rto_us(), 3'000'000u);
    e.sample(10'000);  // a sample overrides it
    EXPECT_EQ(e.rto_us(), 200'000u);
}

TEST(RttEstimator, AppendixGScalesAlphaAndBetaPerWindow) {  // RFC 7323 App. G
    RttEstimator e(rfc_config());
    e.sample(100'000);
    e.sample(200'000, 4);  // alpha = 1/32, beta = 1/16
    EXPECT_EQ(e.rttvar_us(), 53'125u);   // 15/16 50 + 1/16 100
    EXPECT_EQ(e.srtt_us(), 103'125u);    // 31/32 100 + 1/32 200
    EXPECT_EQ(e.rto_us(), 103'125u + 212'500u);
    // 4 samples per window at alpha/4 move SRTT about as far as 1 sample at alpha.
    RttEstimator a(rfc_config()), b(rfc_config());
    a.sample(100'000);
    b.sample(100'000);
    a.sample(200'000);
    for (int i = 0; i < 4; ++i) b.sample(200'000, 4);
    EXPECT_NEAR(static_cast<double>(a.srtt_us()), static_cast<double>(b.srtt_us()), 1'000.0);
    EXPECT_LT(b.srtt_us(), a.srtt_us());
}

TEST(RttTimer, KarnNoSampleFromRetransmittedSegment) {  // RFC 6298 §3
    RttTimer t;
    uint32_t rtt = 0;
    t.on_send(Seq(1000), 5'000);
    t.on_send(Seq(2000), 6'000);  // only one segment is timed at a time
    EXPECT_FALSE(t.on_ack(Seq(999), 7'000, rtt));
    EXPECT_TRUE(t.on_ack(Seq(1000), 9'000, rtt));
    EXPECT_EQ(rtt, 4'000u);
    EXPECT_FALSE(t.timing());
    t.on_send(Seq(3000), 10'000);
    t.on_retransmit();
    EXPECT_FALSE(t.on_ack(Seq(3000), 20'000, rtt));
    // Across the sequence wrap.
    t.on_send(Seq(5), 30'000);
    EXPECT_FALSE(t.on_ack(Seq(0xfffffff0u), 31'000, rtt));
    EXPECT_TRUE(t.on_ack(Seq(10), 32'500, rtt));
    EXPECT_EQ(rtt, 2'500u);
}

TEST(TimestampRtt, FromEchoAndRejectsBadEchoes) {  // RFC 7323 §4
    uint32_t rtt = 0;
    EXPECT_TRUE(ts_rtt_us(1'050, 1'000, 1'000, rtt));
    EXPECT_EQ(rtt, 50'000u);
    EXPECT_TRUE(ts_rtt_us(3, 0xfffffffeu, 1'000, rtt));  // TSval clock wrapped
    EXPECT_EQ(rtt, 5'000u);
    EXPECT_FALSE(ts_rtt_us(1'000, 0, 1'000, rtt));      // no echo
    EXPECT_FALSE(ts_rtt_us(1'000, 1'001, 1'000, rtt));   // echo from the future
}

}  // namespace
