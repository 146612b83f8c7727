// SYN cookies (RFC 4987 §3.6) as pure functions: the MSS survives the round trip, and a cookie with one bit
// changed, past its time window, or checked against another 4-tuple, peer ISN or secret does not validate.
#include <cstdint>

#include <gtest/gtest.h>

#include "tcp/syn_cookie.hpp"

using namespace synack::tcp;
namespace sc = synack::tcp::syn_cookie;

namespace {

const sc::Key kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const FourTuple kTuple{0x0a000001, 0x0a000002, 80, 40000};
constexpr uint32_t kPeerIsn = 0x12345678;
constexpr uint64_t kHz = 1000000;  // injected clock: 1 cycle = 1 µs

TEST(SynCookie, ClockCountsInPeriods) {
    EXPECT_EQ(sc::clock(0, kHz), 0u);
    EXPECT_EQ(sc::clock(sc::kPeriodSeconds * kHz - 1, kHz), 0u);
    EXPECT_EQ(sc::clock(sc::kPeriodSeconds * kHz, kHz), 1u);
    EXPECT_EQ(sc::clock(10 * sc::kPeriodSeconds * kHz + 5, kHz), 10u);
}

TEST(SynCookie, MssIndexIsTheLargestEntryNotAboveThePeers) {
    EXPECT_EQ(sc::kMssTable[sc::mss_index(1460)], 1460);
    EXPECT_EQ(sc::kMssTable[sc::mss_index(9000)], 1460);
    EXPECT_EQ(sc::kMssTable[sc::mss_index(1459)], 1440);
    EXPECT_EQ(sc::kMssTable[sc::mss_index(536)], 536);
    EXPECT_EQ(sc::kMssTable[sc::mss_index(535)], 256);
    EXPECT_EQ(sc::kMssTable[sc::mss_index(64)], 64);
    EXPECT_EQ(sc::mss_index(1), 0);  // below every entry: the smallest
}

TEST(SynCookie, RoundTripForEveryMssIndex) {
    for (uint8_t i = 0; i < sc::kMssTable.size(); ++i) {
        SCOPED_TRACE(testing::Message() << "index " << int(i));
        for (uint32_t clock : {0u, 7u, 31u, 32u, 1000u}) {
            const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, clock, i);
            EXPECT_EQ(sc::decode_mss(c), sc::kMssTable[i]);
            EXPECT_EQ(c >> 27, clock % 32) << "the top bits are the time";
            for (uint32_t age = 0; age <= sc::kMaxAge; ++age) {
                const sc::Check k = sc::validate(kKey, kTuple, kPeerIsn, c, clock + age);
                EXPECT_EQ(k.verdict, sc::Verdict::valid) << "clock " << clock << " age " << age;
                EXPECT_EQ(k.mss, sc::kMssTable[i]);
            }
        }
    }
}

TEST(SynCookie, EveryOneBitChangeIsRejected) {
    const uint32_t clock = 100;
    const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, clock, 5);
    for (int bit = 0; bit < 32; ++bit) {
        const sc::Check k = sc::validate(kKey, kTuple, kPeerIsn, c ^ (1u << bit), clock);
        EXPECT_NE(k.verdict, sc::Verdict::valid) << "bit " << bit;
        EXPECT_EQ(k.mss, 0);
        // Hash and MSS bits keep the time valid: only the hash can catch them.
        if (bit < 27) {
            EXPECT_EQ(k.verdict, sc::Verdict::forged) << "bit " << bit;
        }
    }
}

TEST(SynCookie, StaleOncePastTheTimeWindowAndNotFromTheFuture) {
    const uint32_t clock = 40;
    const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, clock, 7);
    const uint64_t minted_at = clock * sc::kPeriodSeconds * kHz + 3 * kHz;
    // Still valid up to the end of the kMaxAge-th period after its own...
    const uint64_t last_valid = (clock + sc::kMaxAge + 1) * sc::kPeriodSeconds * kHz - 1;
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, sc::clock(minted_at, kHz)).verdict, sc::Verdict::valid);
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, sc::clock(last_valid, kHz)).verdict, sc::Verdict::valid);
    // ...and stale from the next tick on, through a whole cycle of the 5 time bits.
    for (uint32_t later = clock + sc::kMaxAge + 1; later < clock + 32; ++later)
        EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, later).verdict, sc::Verdict::stale) << "clock " << later;
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, clock - 1).verdict, sc::Verdict::stale) << "from the future";
    // 32 periods later the time bits match again, but the full count is hashed: forged, not valid.
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, clock + 32).verdict, sc::Verdict::forged);
}

TEST(SynCookie, WrongFourTupleIsRejected) {
    const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, 3, 6);
    FourTuple t = kTuple;
    t.local_ip ^= 1;
    EXPECT_EQ(sc::validate(kKey, t, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    t = kTuple;
    t.remote_ip ^= 0x100;
    EXPECT_EQ(sc::validate(kKey, t, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    t = kTuple;
    t.local_port = 81;
    EXPECT_EQ(sc::validate(kKey, t, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    t = kTuple;
    t.remote_port = 40001;
    EXPECT_EQ(sc::validate(kKey, t, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    // Ports swapped: the same numbers in the hash input, in other places.
    t = FourTuple{kTuple.local_ip, kTuple.remote_ip, kTuple.remote_port, kTuple.local_port};
    EXPECT_EQ(sc::validate(kKey, t, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn, c, 3).verdict, sc::Verdict::valid);
}

TEST(SynCookie, WrongPeerIsnIsRejected) {
    const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, 3, 6);
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn + 1, c, 3).verdict, sc::Verdict::forged);
    EXPECT_EQ(sc::validate(kKey, kTuple, kPeerIsn ^ 0x80000000u, c, 3).verdict, sc::Verdict::forged);
}

TEST(SynCookie, AnotherSecretDoesNotValidate) {
    const uint32_t c = sc::encode(kKey, kTuple, kPeerIsn, 3, 6);
    sc::Key other = kKey;
    other[15] ^= 1;
    EXPECT_EQ(sc::validate(other, kTuple, kPeerIsn, c, 3).verdict, sc::Verdict::forged);
    EXPECT_NE(sc::encode(other, kTuple, kPeerIsn, 3, 6), c);
}

TEST(SynCookie, SecretsAreNeitherFixedNorTheBaseKey) {
    EXPECT_NE(sc::random_key(), sc::random_key());
    EXPECT_NE(sc::derive_key(kKey), kKey);
    EXPECT_EQ(sc::derive_key(kKey), sc::derive_key(kKey));
    EXPECT_NE(sc::derive_key(kKey), sc::derive_key(sc::Key{}));
}

// The hash covers the MSS index: claiming a larger MSS by changing those bits fails (covered bit by bit above);
// and cookies for neighbouring peer ISNs differ in their hash bits (the ISN is an input, not ignored).
TEST(SynCookie, HashDependsOnEveryInput) {
    const uint32_t base = sc::encode(kKey, kTuple, kPeerIsn, 3, 6) & 0xffffff;
    EXPECT_NE(sc::encode(kKey, kTuple, kPeerIsn + 1, 3, 6) & 0xffffff, base);
    EXPECT_NE(sc::encode(kKey, kTuple, kPeerIsn, 4, 6) & 0xffffff, base);
    EXPECT_NE(sc::encode(kKey, kTuple, kPeerIsn, 3, 7) & 0xffffff, base);
}

}  // namespace
