// SACK at both ends: the sender's scoreboard (RFC 6675 IsLost/SetPipe/NextSeg, RFC 2883 D-SACK detection, block
// validation) and the receiver's choice of blocks (RFC 2018 §4 and §5's examples, RFC 2883 §4's examples).
#include <algorithm>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/sack.hpp"

using namespace synack::tcp;
using synack::wire::SackBlock;

namespace synack::wire {
// For comparing vectors of blocks (found by ADL).
static bool operator==(const SackBlock& a, const SackBlock& b) { return a.left == b.left && a.right == b.right; }
static void PrintTo(const SackBlock& b, std::ostream* os) { *os << "[" << b.left << "," << b.right << ")"; }
}  // namespace synack::wire

namespace {

constexpr uint32_t kMss = 1000;
using Kind = SackScoreboard::Next::Kind;

std::vector<SeqRange> ranges(const SackScoreboard& sb) {
    std::vector<SeqRange> v;
    for (uint32_t i = 0; i < sb.range_count(); ++i) v.push_back(sb.range(i));
    return v;
}
SeqRange R(uint32_t l, uint32_t r) { return {Seq(l), Seq(r)}; }

SackScoreboard::AckResult ack(SackScoreboard& sb, uint32_t a, std::vector<SackBlock> b, uint32_t snd_max) {
    return sb.on_ack(Seq(a), b.data(), static_cast<uint32_t>(b.size()), Seq(snd_max));
}

TEST(SackScoreboard, MergesAndCountsNewBytes) {
    SackScoreboard sb;
    sb.reset(Seq(1000), kMss);
    auto r = ack(sb, 1000, {{3000, 4000}}, 11000);
    EXPECT_EQ(r.newly_sacked, 1000u);
    r = ack(sb, 1000, {{5000, 6000}, {3000, 4000}}, 11000);
    EXPECT_EQ(r.newly_sacked, 1000u);
    EXPECT_EQ(r.used_blocks, 2);
    r = ack(sb, 1000, {{4000, 5000}}, 11000);  // fills the gap: one range
    EXPECT_EQ(r.newly_sacked, 1000u);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(3000, 6000)}));
    r = ack(sb, 1000, {{2500, 7000}}, 11000);  // overlaps on both sides
    EXPECT_EQ(r.newly_sacked, 1500u);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(2500, 7000)}));
    EXPECT_EQ(sb.sacked_bytes(), 4500u);
    EXPECT_TRUE(sb.is_sacked(Seq(2500)));
    EXPECT_FALSE(sb.is_sacked(Seq(7000)));
    // The cumulative ACK eats into a range and drops what it covers.
    r = ack(sb, 4000, {}, 11000);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(4000, 7000)}));
    EXPECT_EQ(sb.high_ack(), Seq(4000));
}

TEST(SackScoreboard, IgnoresInvalidAndOldBlocks) {
    SackScoreboard sb;
    sb.reset(Seq(1000), kMss);
    auto r = ack(sb, 2000, {{5000, 4000}, {9000, 12000}, {500, 900}}, 11000);
    EXPECT_EQ(r.ignored_blocks, 3);  // reversed, beyond SND.MAX (the first here is not a D-SACK: it is malformed)
    EXPECT_EQ(r.newly_sacked, 0u);
    EXPECT_EQ(sb.range_count(), 0u);
    r = ack(sb, 2000, {{6000, 7000}, {1500, 1800}}, 11000);  // second wholly below SND.UNA: old
    EXPECT_EQ(r.ignored_blocks, 1);
    EXPECT_EQ(r.used_blocks, 1);
    r = ack(sb, 2000, {{6000, 7000}, {1500, 2500}}, 11000);  // straddles SND.UNA: the part above counts
    EXPECT_EQ(r.newly_sacked, 500u);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(2000, 2500), R(6000, 7000)}));
}

TEST(SackScoreboard, DsackDetection) {  // RFC 2883 §4
    SackScoreboard sb;
    sb.reset(Seq(3000), kMss);
    // §4.1.1 example: ACK 4000 lost, 3000-3499 retransmitted: ACK 4000 with SACK 3000-3500.
    auto r = ack(sb, 4000, {{3000, 3500}}, 4000);
    EXPECT_TRUE(r.dsack);
    EXPECT_EQ(r.dsack_range, R(3000, 3500));
    EXPECT_EQ(r.ignored_blocks, 0);
    EXPECT_EQ(sb.range_count(), 0u);
    // A duplicate above the cumulative ACK: first block inside the second.
    r = ack(sb, 4000, {{5000, 5500}, {4500, 6000}}, 8000);
    EXPECT_TRUE(r.dsack);
    EXPECT_EQ(r.dsack_range, R(5000, 5500));
    EXPECT_EQ(r.newly_sacked, 1500u);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(4500, 6000)}));
    // A plain first block above the ACK, not inside the second: no D-SACK.
    r = ack(sb, 4000, {{7000, 7500}, {4500, 6000}}, 8000);
    EXPECT_FALSE(r.dsack);
    EXPECT_EQ(r.newly_sacked, 500u);
    // Only the first block may be a D-SACK.
    r = ack(sb, 4000, {{7000, 7500}, {3000, 3500}}, 8000);
    EXPECT_FALSE(r.dsack);
    EXPECT_EQ(r.ignored_blocks, 1);
}

TEST(SackScoreboard, SequenceWrap) {
    SackScoreboard sb;
    const uint32_t una = 0xfffff000u;
    sb.reset(Seq(una), kMss);
    auto r = ack(sb, una, {{una + 0x1800, una + 0x2000}, {una + 0x800, una + 0xc00}}, una + 0x4000);
    EXPECT_EQ(r.newly_sacked, 0x800u + 0x400u);
    EXPECT_EQ(ranges(sb), (std::vector<SeqRange>{R(una + 0x800, una + 0xc00), R(una + 0x1800, una + 0x2000)}));
    EXPECT_EQ(sb.highest_sacked(), Seq(0x1000));
}

TEST(SackScoreboard, FullArrayForgetsTheLowestRange) {
    SackScoreboard sb;
    sb.reset(Seq(0), kMss);
    for (uint32_t i = 0; i < SackScoreboard::kMaxRanges; ++i) ack(sb, 0, {{2000 * i + 1000, 2000 * i + 2000}}, 1'000'000);
    EXPECT_EQ(sb.range_count(), SackScoreboard::kMaxRanges);
    auto r = ack(sb, 0, {{900'000, 901'000}}, 1'000'000);
    EXPECT_EQ(r.lost_ranges, 1);
    EXPECT_EQ(r.newly_sacked, 1000u);
    EXPECT_EQ(sb.range(0), R(3000, 4000));
    EXPECT_EQ(sb.range(SackScoreboard::kMaxRanges - 1), R(900'000, 901'000));
    r = ack(sb, 0, {{100, 200}}, 1'000'000);  // lower than everything: itself forgotten
    EXPECT_EQ(r.lost_ranges, 1);
    EXPECT_EQ(r.newly_sacked, 0u);
    EXPECT_EQ(sb.range(0), R(3000, 4000));
    r = ack(sb, 0, {{4000, 5000}}, 1'000'000);  // touching both neighbours: all three merge, nothing lost
    EXPECT_EQ(r.lost_ranges, 0);
    EXPECT_EQ(r.newly_sacked, 1000u);
    EXPECT_EQ(sb.range(0), R(3000, 6000));
    EXPECT_EQ(sb.range_count(), SackScoreboard::kMaxRanges - 1);
}

// Ten segments 0..9 of 1000 bytes from 10000; segment k is [10000 + 1000 k, 10000 + 1000 (k + 1)).
constexpr uint32_t kBase = 10'000;
SackBlock seg(uint32_t from, uint32_t to_incl) { return {kBase + from * kMss, kBase + (to_incl + 1) * kMss}; }
Seq S(uint32_t k) { return Seq(kBase + k * kMss); }

TEST(SackScoreboard, IsLostByThreeRangesOrMoreThanTwoSmss) {  // RFC 6675 §4 IsLost
    SackScoreboard sb;
    sb.reset(S(0), kMss);
    ack(sb, kBase, {seg(1, 1)}, kBase + 10 * kMss);
    EXPECT_FALSE(sb.is_lost(S(0)));
    ack(sb, kBase, {seg(3, 3)}, kBase + 10 * kMss);
    EXPECT_FALSE(sb.is_lost(S(0)));  // 2 ranges, 2000 bytes (not more than 2 SMSS)
    ack(sb, kBase, {seg(5, 5)}, kBase + 10 * kMss);
    EXPECT_TRUE(sb.is_lost(S(0)));   // 3 discontiguous SACKed ranges above
    EXPECT_FALSE(sb.is_lost(S(2)));  // 2 above it
    EXPECT_FALSE(sb.is_lost(S(1)));  // SACKed itself
    SackScoreboard b;
    b.reset(S(0), kMss);
    ack(b, kBase, {seg(2, 3)}, kBase + 10 * kMss);
    EXPECT_FALSE(b.is_lost(S(0)));
    ack(b, kBase, {{kBase + 2 * kMss, kBase + 4 * kMss + 1}}, kBase + 10 * kMss);  // 2001 bytes above
    EXPECT_TRUE(b.is_lost(S(0)));
    EXPECT_TRUE(b.is_lost(S(1)));
    EXPECT_FALSE(b.is_lost(Seq(kBase + 4 * kMss + 1)));
}

TEST(SackScoreboard, PipeCountsFlightLostAndRetransmitted) {  // RFC 6675 §4 SetPipe
    SackScoreboard sb;
    sb.reset(S(0), kMss);
    const Seq high_data = S(10);
    EXPECT_EQ(sb.pipe(high_data), 10 * kMss);
    // Segments 0 and 2 missing, 1 and 3..6 SACKed; 7..9 in flight.
    ack(sb, kBase, {seg(3, 6), seg(1, 1)}, kBase + 10 * kMss);
    // Lost: un-SACKed below the boundary (segment 3: 4000 bytes above 2's start) = segments 0 and 2.
    EXPECT_TRUE(sb.is_lost(S(0)));
    EXPECT_TRUE(sb.is_lost(S(2)));
    EXPECT_FALSE(sb.is_lost(S(7)));
    EXPECT_EQ(sb.pipe(high_data), 3 * kMss);  // 7, 8, 9
    sb.enter_recovery();
    auto n = sb.next_seg(high_data, true, high_data);
    EXPECT_EQ(n.kind, Kind::retransmit);
    EXPECT_EQ(n.seq, S(0));
    EXPECT_EQ(n.len, kMss);
    sb.on_retransmit(n.seq, n.len);
    EXPECT_EQ(sb.pipe(high_data), 4 * kMss);  // the retransmission of 0 is in flight again
    n = sb.next_seg(high_data, true, high_data);
    EXPECT_EQ(n.kind, Kind::retransmit);
    EXPECT_EQ(n.seq, S(2));
    sb.on_retransmit(n.seq, n.len);
    EXPECT_EQ(sb.pipe(high_data), 5 * kMss);
    EXPECT_EQ(sb.high_rxt(), S(3));
    n = sb.next_seg(high_data, true, high_data);  // nothing lost left: rule 2, new data
    EXPECT_EQ(n.kind, Kind::new_data);
    EXPECT_EQ(n.seq, high_data);
}

TEST(SackScoreboard, NextSegRule3ThenRescue) {  // RFC 6675 §4 NextSeg rules 3 and 4
    SackScoreboard sb;
    sb.reset(S(0), kMss);
    const Seq high_data = S(6);
    ack(sb, kBase, {seg(1, 1)}, kBase + 6 * kMss);  // 0 missing, 1 SACKed, 2..5 out: 0 not yet lost
    sb.enter_recovery();
    auto n = sb.next_seg(high_data, false, high_data);
    EXPECT_EQ(n.kind, Kind::retransmit) << "rule 3: below a SACK, not lost, no new data";
    EXPECT_EQ(n.seq, S(0));
    sb.on_retransmit(n.seq, n.len);
    n = sb.next_seg(high_data, false, high_data);
    EXPECT_EQ(n.kind, Kind::rescue) << "rule 4: the last segment once";
    EXPECT_EQ(n.seq, S(5));
    EXPECT_EQ(n.len, kMss);
    EXPECT_EQ(sb.high_rxt(), S(1)) << "rescue does not move HighRxt";
    n = sb.next_seg(high_data, false, high_data);
    EXPECT_EQ(n.kind, Kind::none) << "one rescue until HighACK passes RescueRxt";
    // A SACKed tail: the rescue covers the highest un-SACKed byte below it.
    SackScoreboard t;
    t.reset(S(0), kMss);
    ack(t, kBase, {seg(4, 5)}, kBase + 6 * kMss);
    t.enter_recovery();
    t.on_retransmit(S(0), 4 * kMss);
    n = t.next_seg(high_data, false, high_data);
    EXPECT_EQ(n.kind, Kind::rescue);
    EXPECT_EQ(n.seq, S(3));
}

TEST(SackScoreboard, ResetAfterRtoDiscardsEverything) {  // RFC 6675 §5.1
    SackScoreboard sb;
    sb.reset(S(0), kMss);
    ack(sb, kBase, {seg(3, 6), seg(1, 1)}, kBase + 10 * kMss);
    sb.reset(S(0), kMss);
    EXPECT_EQ(sb.range_count(), 0u);
    EXPECT_FALSE(sb.is_lost(S(0)));
    EXPECT_EQ(sb.pipe(S(10)), 10 * kMss);
}

TEST(SackScoreboard, MatchesABytewiseModel) {
    // Random blocks against a per-byte model of RFC 6675's definitions, across the sequence wrap.
    constexpr uint32_t kN = 12'000, kSmss = 500;
    const uint32_t base = 0xffffe000u;
    uint32_t x = 12345;
    auto rnd = [&](uint32_t m) { x = x * 1103515245u + 12345u; return (x >> 8) % m; };
    for (int iter = 0; iter < 300; ++iter) {
        SackScoreboard sb;
        sb.reset(Seq(base), kSmss);
        std::vector<bool> sacked(kN, false);
        uint32_t una = 0;
        for (int a = 0; a < 8; ++a) {
            if (rnd(4) == 0) una = std::min(kN, una + rnd(2000));
            std::vector<SackBlock> b;
            for (uint32_t k = 0, nb = rnd(4); k < nb; ++k) {
                const uint32_t l = rnd(kN), len = 1 + rnd(1500);
                const uint32_t r = std::min(kN, l + len);
                b.push_back({base + l, base + r});
            }
            const auto res = sb.on_ack(Seq(base + una), b.data(), static_cast<uint32_t>(b.size()), Seq(base + kN));
            for (uint32_t k = 0; k < b.size(); ++k) {
                if (k == 0 && res.dsack) continue;
                for (uint32_t i = std::max(b[k].left - base, una); i < b[k].right - base; ++i) sacked[i] = true;
            }
            for (uint32_t i = 0; i < una; ++i) sacked[i] = false;
        }
        const uint32_t rxt = una + rnd(kN - una + 1);
        sb.enter_recovery();
        if (rxt > una) sb.on_retransmit(Seq(base + una), rxt - una);
        // Model: for each un-SACKed byte, SACKed runs starting above it and SACKed bytes above it.
        std::vector<bool> lost(kN, false);
        uint32_t runs = 0, bytes = 0;
        for (uint32_t i = kN; i-- > una;) {
            if (sacked[i]) {
                ++bytes;
                if (i == una || !sacked[i - 1]) ++runs;
            } else {
                lost[i] = runs >= 3 || bytes > 2 * kSmss;
            }
        }
        uint32_t pipe = 0;
        for (uint32_t i = una; i < kN; ++i) {
            if (sacked[i]) continue;
            pipe += (lost[i] ? 0 : 1) + (i < rxt ? 1 : 0);
        }
        for (uint32_t i = una; i < kN; i += 7) {
            ASSERT_EQ(sb.is_sacked(Seq(base + i)), sacked[i]) << "iter " << iter << " byte " << i;
            ASSERT_EQ(sb.is_lost(Seq(base + i)), lost[i]) << "iter " << iter << " byte " << i;
        }
        ASSERT_EQ(sb.pipe(Seq(base + kN)), pipe) << "iter " << iter;
    }
}

// ---- receiver ----

std::vector<SackBlock> blocks(SackReporter& r, uint32_t max = 4) {
    SackBlock b[4];
    const uint32_t n = r.fill(b, max);
    return std::vector<SackBlock>(b, b + n);
}

TEST(SackReporter, Rfc2018Section5Case3) {
    // Eight 500-byte segments from 5000; the 2nd, 4th, 6th and 8th are dropped.
    SackReporter r;
    EXPECT_TRUE(blocks(r).empty());      // 5000 arrives: ACK 5500, no SACK
    r.on_out_of_order(Seq(6000), Seq(6500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{6000, 6500}}));
    r.on_out_of_order(Seq(7000), Seq(7500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{7000, 7500}, {6000, 6500}}));
    r.on_out_of_order(Seq(8000), Seq(8500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{8000, 8500}, {7000, 7500}, {6000, 6500}}));
    // The 4th segment (6500) arrives and joins two blocks: the merged block is first.
    r.on_out_of_order(Seq(6000), Seq(7500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{6000, 7500}, {8000, 8500}}));
    // The 2nd segment (5500) arrives: ACK 7500, one block left.
    r.on_rcv_nxt(Seq(7500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{8000, 8500}}));
}

TEST(SackReporter, AtMostMaxMostRecentFirst) {
    SackReporter r;
    for (uint32_t i = 0; i < 6; ++i) r.on_out_of_order(Seq(1000 * i + 2000), Seq(1000 * i + 2500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{7000, 7500}, {6000, 6500}, {5000, 5500}, {4000, 4500}}));
    EXPECT_EQ(blocks(r, 3), (std::vector<SackBlock>{{7000, 7500}, {6000, 6500}, {5000, 5500}}));  // with timestamps
    r.on_out_of_order(Seq(4000), Seq(4500));  // a segment in an older block: that block moves to the front
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{4000, 4500}, {7000, 7500}, {6000, 6500}, {5000, 5500}}));
    r.on_rcv_nxt(Seq(5200));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{7000, 7500}, {6000, 6500}, {5200, 5500}}));
    r.forget(Seq(6100), Seq(6200));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{7000, 7500}, {5200, 5500}}));
}

TEST(SackReporter, DsackFirstAndOnlyOnce) {  // RFC 2883 §4
    SackReporter r;
    // §4.1.1: a duplicate below RCV.NXT: D-SACK alone.
    r.on_duplicate(Seq(3000), Seq(3500));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{3000, 3500}}));
    EXPECT_TRUE(blocks(r).empty()) << "reported once";
    // A duplicate above RCV.NXT: D-SACK, then the block containing it, then the rest.
    r.on_out_of_order(Seq(5000), Seq(6000));
    r.on_out_of_order(Seq(7000), Seq(8000));
    r.on_duplicate(Seq(5500), Seq(6000));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{5500, 6000}, {5000, 6000}, {7000, 8000}}));
    EXPECT_EQ(blocks(r), (std::vector<SackBlock>{{7000, 8000}, {5000, 6000}}));
    // With room for one block only the D-SACK goes.
    r.on_duplicate(Seq(100), Seq(200));
    EXPECT_EQ(blocks(r, 1), (std::vector<SackBlock>{{100, 200}}));
    // Sender and receiver agree: what the reporter sends, the scoreboard reads as a D-SACK.
    r.on_duplicate(Seq(7000), Seq(7500));
    auto b = blocks(r);
    SackScoreboard sb;
    sb.reset(Seq(4000), kMss);
    auto res = sb.on_ack(Seq(4000), b.data(), static_cast<uint32_t>(b.size()), Seq(9000));
    EXPECT_TRUE(res.dsack);
    EXPECT_EQ(res.dsack_range, R(7000, 7500));
    EXPECT_EQ(res.newly_sacked, 2000u);
}

}  // namespace
