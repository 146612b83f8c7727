// Loss recovery bookkeeping: PRR's sending pace (RFC 6937 §3: ssthresh/RecoverFS of the delivery rate while pipe
// is above ssthresh, then PRR-SSRB), and duplicate-ACK recovery: limited transmit (RFC 3042), fast retransmit on
// the 3rd duplicate, NewReno's recover with partial and full ACKs (RFC 6582).
#include <gtest/gtest.h>

#include "tcp/recovery.hpp"

using namespace synack::tcp;

namespace {

constexpr uint32_t kMss = 1000;

TEST(Prr, HalfTheDeliveryRateWhilePipeAboveSsthresh) {  // RFC 6937 §3
    // cwnd 20 segments, one loss: ssthresh 10, RecoverFS 20. Each ACK delivers one segment and the sender sends
    // what sndcnt allows: one segment per two ACKs, so pipe comes down to ssthresh over one round.
    Prr p;
    p.start(20 * kMss);
    uint32_t pipe = 19 * kMss;  // 20 out, 1 lost
    uint32_t sent = 0;
    for (int ack = 1; ack <= 10; ++ack) {
        pipe -= kMss;  // delivered
        const uint32_t sndcnt = p.on_ack(kMss, pipe, 10 * kMss, kMss);
        // CEIL(ack * 10 / 20) segments in total by now.
        EXPECT_EQ(sent + sndcnt, (static_cast<uint32_t>(ack) + 1) / 2 * kMss) << "ack " << ack;
        p.on_sent(sndcnt);
        sent += sndcnt;
        pipe += sndcnt;
    }
    EXPECT_EQ(sent, 5 * kMss);
    EXPECT_EQ(p.prr_delivered(), 10u * kMss);
    EXPECT_EQ(p.prr_out(), 5u * kMss);
}

TEST(Prr, FirstAckMayCarryTheRetransmission) {
    // The ceiling: the first ACK of recovery (1 segment delivered) already allows CEIL(1 * 10 / 20) = 1 segment,
    // the fast retransmission itself.
    Prr p;
    p.start(20 * kMss);
    EXPECT_EQ(p.on_ack(kMss, 18 * kMss, 10 * kMss, kMss), kMss);
    p.on_sent(kMss);
    EXPECT_EQ(p.on_ack(kMss, 17 * kMss, 10 * kMss, kMss), 0u);
}

TEST(Prr, SlowStartReductionBoundWhenPipeFallsBelowSsthresh) {  // RFC 6937 §3 PRR-SSRB
    Prr p;
    p.start(20 * kMss);
    // Heavy losses: pipe is already below ssthresh. Send at most what was delivered (or owed) plus one MSS, and no
    // more than ssthresh - pipe.
    EXPECT_EQ(p.on_ack(2 * kMss, 4 * kMss, 10 * kMss, kMss), 3 * kMss);  // max(2 - 0, 2) + 1
    p.on_sent(3 * kMss);
    EXPECT_EQ(p.on_ack(kMss, 6 * kMss, 10 * kMss, kMss), 2 * kMss);       // max(3 - 3, 1) + 1
    p.on_sent(2 * kMss);
    EXPECT_EQ(p.on_ack(5 * kMss, 7 * kMss, 10 * kMss, kMss), 3 * kMss);  // capped by ssthresh - pipe
    EXPECT_EQ(p.on_ack(0, 10 * kMss, 10 * kMss, kMss), 0u);               // at ssthresh: nothing
}

TEST(Prr, NeverNegative) {
    Prr p;
    p.start(10 * kMss);
    p.on_sent(5 * kMss);  // sent ahead (e.g. the retransmission before any ACK)
    EXPECT_EQ(p.on_ack(kMss, 9 * kMss, 5 * kMss, kMss), 0u);
}

using A = FastRecovery::Action;

TEST(FastRecovery, LimitedTransmitThenFastRetransmitOnThirdDuplicate) {  // RFC 3042, RFC 5681 §3.2
    FastRecovery r;
    r.reset(Seq(1000));
    EXPECT_EQ(r.on_new_ack(Seq(5001)), A::none);
    EXPECT_EQ(r.on_dupack(Seq(5001), Seq(20001)), A::limited_transmit);
    EXPECT_EQ(r.on_dupack(Seq(5001), Seq(21001)), A::limited_transmit);
    EXPECT_EQ(r.on_dupack(Seq(5001), Seq(22001)), A::fast_retransmit);
    EXPECT_TRUE(r.in_recovery());
    EXPECT_EQ(r.recover(), Seq(22001));
    EXPECT_EQ(r.on_dupack(Seq(5001), Seq(22001)), A::none) << "more duplicates: PRR paces recovery";
}

TEST(FastRecovery, PartialThenFullAck) {  // RFC 6582 §3.2 steps 3 and 5
    FastRecovery r;
    r.reset(Seq(0));
    for (int i = 0; i < 3; ++i) r.on_dupack(Seq(1001), Seq(10001));
    ASSERT_TRUE(r.in_recovery());
    EXPECT_EQ(r.on_new_ack(Seq(4001)), A::partial_ack);
    EXPECT_TRUE(r.in_recovery());
    EXPECT_EQ(r.on_new_ack(Seq(10000)), A::partial_ack) << "one short of recover";
    EXPECT_EQ(r.on_new_ack(Seq(10001)), A::full_ack);
    EXPECT_FALSE(r.in_recovery());
    EXPECT_EQ(r.dupacks(), 0);
}

TEST(FastRecovery, NoSecondRecoveryForDuplicatesBelowRecover) {  // RFC 6582 §3.2 step 2
    FastRecovery r;
    r.reset(Seq(0));
    for (int i = 0; i < 3; ++i) r.on_dupack(Seq(1001), Seq(10001));
    r.on_rto(Seq(12001));  // a timeout: recover = highest sent, recovery over
    EXPECT_FALSE(r.in_recovery());
    r.on_new_ack(Seq(3001));
    // Duplicates caused by the go-back-N after the timeout: ACK below recover, no new fast retransmit.
    for (int i = 0; i < 2; ++i) EXPECT_EQ(r.on_dupack(Seq(3001), Seq(12001)), A::limited_transmit);
    EXPECT_EQ(r.on_dupack(Seq(3001), Seq(12001)), A::none);
    EXPECT_FALSE(r.in_recovery());
    // Past recover, a new loss is a new recovery.
    r.on_new_ack(Seq(12001));
    for (int i = 0; i < 2; ++i) r.on_dupack(Seq(12001), Seq(20001));
    EXPECT_EQ(r.on_dupack(Seq(12001), Seq(20001)), A::fast_retransmit);
}

TEST(FastRecovery, WrapAndRackEntry) {
    FastRecovery r;
    r.reset(Seq(0xfffff000u));
    for (int i = 0; i < 2; ++i) r.on_dupack(Seq(0xfffffc19u), Seq(0x2000));
    EXPECT_EQ(r.on_dupack(Seq(0xfffffc19u), Seq(0x2000)), A::fast_retransmit);
    EXPECT_EQ(r.on_new_ack(Seq(0x1000)), A::partial_ack);
    EXPECT_EQ(r.on_new_ack(Seq(0x2000)), A::full_ack);
    r.enter(Seq(0x5000));
    EXPECT_TRUE(r.in_recovery());
    EXPECT_EQ(r.on_new_ack(Seq(0x5000)), A::full_ack);
}

}  // namespace
