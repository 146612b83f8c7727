// tcp::Seq: wrapping arithmetic, wrap-aware order, and the conversions that must not compile.
#include <cstdint>
#include <type_traits>

#include <gtest/gtest.h>

#include "tcp/seq_number.hpp"

using synack::tcp::Seq;
using namespace synack::tcp;

namespace {

// What must not compile: a raw number and a Seq mixed without saying which is meant.
template <class A, class B>
concept LessComparable = requires(A a, B b) { a < b; };
template <class A, class B>
concept Addable = requires(A a, B b) { a + b; };

static_assert(!std::is_convertible_v<uint32_t, Seq>);
static_assert(!std::is_convertible_v<Seq, uint32_t>);
static_assert(!LessComparable<Seq, uint32_t>);
static_assert(!LessComparable<uint32_t, Seq>);
static_assert(LessComparable<Seq, Seq>);
static_assert(!Addable<Seq, Seq>);
static_assert(Addable<Seq, uint32_t>);
static_assert(std::is_same_v<decltype(Seq{} - Seq{}), uint32_t>);
static_assert(std::is_same_v<decltype(Seq{} - 1u), Seq>);
static_assert(sizeof(Seq) == 4 && std::is_trivially_copyable_v<Seq>);

TEST(Seq, ArithmeticWraps) {
    Seq s(0xffffff00u);
    EXPECT_EQ((s + 0x100).raw(), 0u);
    EXPECT_EQ((s + 0x180).raw(), 0x80u);
    EXPECT_EQ((Seq(5) - 10).raw(), 0xfffffffbu);
    EXPECT_EQ(Seq(0x80) - s, 0x180u);       // forward distance across the wrap
    EXPECT_EQ(s - Seq(0x80), 0xfffffe80u);  // the other way round is the complement
    s += 0x200;
    EXPECT_EQ(s.raw(), 0x100u);
    s -= 0x101;
    EXPECT_EQ(s.raw(), 0xffffffffu);
    EXPECT_EQ(seq_diff(Seq(3), Seq(0xfffffffeu)), 5);
    EXPECT_EQ(seq_diff(Seq(0xfffffffeu), Seq(3)), -5);
}

TEST(Seq, OrderIsWrapAware) {
    const Seq lo(0xfffffff0u), hi(0x10u);
    EXPECT_TRUE(lo < hi);
    EXPECT_FALSE(hi < lo);
    EXPECT_TRUE(hi > lo);
    EXPECT_TRUE(lo <= hi && lo <= lo && lo >= lo);
    EXPECT_FALSE(lo >= hi);
    EXPECT_FALSE(lo < lo);
    EXPECT_TRUE(lo == Seq(0xfffffff0u));
    EXPECT_TRUE(lo != hi);
    // Exactly half the space apart: int32 says the far one is "before" (the classic ambiguity).
    EXPECT_TRUE(Seq(0x80000000u) < Seq(0));
    EXPECT_EQ(max(lo, hi), hi);
    EXPECT_EQ(min(lo, hi), lo);
    EXPECT_EQ(max(hi, lo), hi);
}

TEST(Seq, RangesAcrossTheWrap) {
    const Seq lo(0xfffffff0u), hi(0x10u);
    EXPECT_TRUE(in_range(lo, lo, hi));
    EXPECT_TRUE(in_range(Seq(0), lo, hi));
    EXPECT_TRUE(in_range(Seq(0xf), lo, hi));
    EXPECT_FALSE(in_range(hi, lo, hi));
    EXPECT_TRUE(in_closed_range(hi, lo, hi));
    EXPECT_FALSE(in_range(Seq(0xffffffefu), lo, hi));
    EXPECT_FALSE(in_closed_range(Seq(0x11), lo, hi));
    EXPECT_FALSE(in_range(lo, lo, lo));  // empty range
    EXPECT_TRUE(in_closed_range(lo, lo, lo));
}

TEST(Seq, OrderMatchesTheUnwrappedNumbers) {
    // Two numbers less than 2^31 apart compare as the integers they stand for: b = a + d, -2^31 < d < 2^31, at
    // every magnitude of d and anywhere on the circle (across the wrap too).
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 100000; ++i) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        const uint32_t a = static_cast<uint32_t>(x >> 32);
        const int32_t d = static_cast<int32_t>(x) >> (x >> 59);
        if (d == INT32_MIN) continue;
        const uint32_t b = a + static_cast<uint32_t>(d);
        EXPECT_EQ(Seq(a) < Seq(b), d > 0);
        EXPECT_EQ(Seq(a) <= Seq(b), d >= 0);
        EXPECT_EQ(Seq(a) > Seq(b), d < 0);
        EXPECT_EQ(Seq(a) >= Seq(b), d <= 0);
        EXPECT_EQ(Seq(a) == Seq(b), d == 0);
        EXPECT_EQ(max(Seq(a), Seq(b)).raw(), d > 0 ? b : a);
        EXPECT_EQ(min(Seq(a), Seq(b)).raw(), d > 0 ? a : b);
        EXPECT_EQ(seq_diff(Seq(b), Seq(a)), d);
        EXPECT_EQ(in_range(Seq(b), Seq(a), Seq(a) + 1000), d >= 0 && d < 1000);
        if (HasFailure()) break;
    }
}

TEST(Seq, HalfTheSpaceApart) {
    // Exactly 2^31 apart each is "before" the other, so neither is <= the other: no comparison TCP makes spans
    // that much (a window is at most 2^30), and a peer's number that far out fails every acceptability check.
    const Seq a(0), b(0x80000000u);
    EXPECT_TRUE(a < b && b < a);
    EXPECT_TRUE(a > b && b > a);
    EXPECT_FALSE(a <= b || b <= a || a >= b || b >= a);
}

TEST(Seq, ConstexprUsable) {
    constexpr Seq iss(0xfffffffeu);
    constexpr Seq nxt = iss + 5;
    static_assert(nxt.raw() == 3u && iss < nxt && nxt - iss == 5u);
    EXPECT_EQ(nxt.raw(), 3u);
}

}  // namespace
