// RFC 7323 receive-side timestamp rules: PAWS (§5.3, §5.5) and the TS.Recent update (§4.3), including wrap.
#include <gtest/gtest.h>

#include "tcp/timestamps.hpp"

using namespace synack::tcp;

namespace {

TsRecent recent(uint32_t v, uint64_t at = 1'000) { return {v, at, true}; }

TEST(Paws, OlderTimestampRejected) {  // RFC 7323 §5.3 R1
    const TsRecent r = recent(5'000);
    EXPECT_TRUE(paws_rejects(true, 4'999, false, r, 2'000));
    EXPECT_FALSE(paws_rejects(true, 5'000, false, r, 2'000));  // equal is acceptable
    EXPECT_FALSE(paws_rejects(true, 5'001, false, r, 2'000));
}

TEST(Paws, WrapAware) {  // §5.2: compared as 32-bit sequence numbers
    const TsRecent r = recent(0xfffffff0u);
    EXPECT_FALSE(paws_rejects(true, 0x10, false, r, 2'000));  // TSval wrapped past zero: newer
    EXPECT_TRUE(paws_rejects(true, 0xffffffe0u, false, r, 2'000));
    const TsRecent z = recent(0x10);
    EXPECT_TRUE(paws_rejects(true, 0xfffffff0u, false, z, 2'000));  // from before the wrap: older
}

TEST(Paws, ExemptionsAndNoState) {
    const TsRecent r = recent(5'000);
    EXPECT_FALSE(paws_rejects(false, 0, false, r, 2'000)) << "no timestamp option";
    EXPECT_FALSE(paws_rejects(true, 1, true, r, 2'000)) << "RST is acceptable regardless of its timestamp";
    EXPECT_FALSE(paws_rejects(true, 1, false, TsRecent{}, 2'000)) << "TS.Recent not yet valid";
    // §5.5: idle more than 24 days: TS.Recent is stale and does not reject.
    EXPECT_TRUE(paws_rejects(true, 1, false, r, 1'000 + kPawsIdleLimitUs));
    EXPECT_FALSE(paws_rejects(true, 1, false, r, 1'000 + kPawsIdleLimitUs + 1));
}

TEST(TsRecent, UpdateRuleSection4_3) {
    TsRecent r;
    // First timestamp on a segment at the left edge: recorded.
    EXPECT_TRUE(update_ts_recent(r, 100, Seq(1000), Seq(1000), 5));
    EXPECT_EQ(r.value, 100u);
    EXPECT_EQ(r.set_at_us, 5u);
    // A segment beyond Last.ACK.sent (out of order, or later in a stretch): ignored, so the echo stays the one
    // the sender needs for its RTT (§4.3, case of delayed ACKs and holes).
    EXPECT_FALSE(update_ts_recent(r, 200, Seq(2000), Seq(1000), 6));
    EXPECT_EQ(r.value, 100u);
    // At or below the left edge with a newer TSval: recorded.
    EXPECT_TRUE(update_ts_recent(r, 150, Seq(1000), Seq(1000), 7));
    EXPECT_EQ(r.value, 150u);
    EXPECT_TRUE(update_ts_recent(r, 160, Seq(900), Seq(1000), 8));
    // An older TSval never moves TS.Recent back.
    EXPECT_FALSE(update_ts_recent(r, 120, Seq(1000), Seq(1000), 9));
    EXPECT_EQ(r.value, 160u);
    EXPECT_EQ(r.set_at_us, 8u);
    // Equal TSval: taken (>=), refreshing the time.
    EXPECT_TRUE(update_ts_recent(r, 160, Seq(1000), Seq(1000), 10));
    EXPECT_EQ(r.set_at_us, 10u);
    // Sequence wrap: SEG.SEQ just below Last.ACK.sent across zero.
    EXPECT_TRUE(update_ts_recent(r, 170, Seq(0xfffffff0u), Seq(0x10), 11));
    EXPECT_FALSE(update_ts_recent(r, 180, Seq(0x11), Seq(0x10), 12));
}

}  // namespace
