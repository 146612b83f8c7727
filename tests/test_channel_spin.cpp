// Channel::wait's spin policy (dpdk/channel_spin.hpp): never on a CPU a poller may use, and a budget that grows
// when parked waits ended within the largest spin and shrinks to nothing when events come slower than that.
#include <gtest/gtest.h>

#include "dpdk/channel_spin.hpp"

using synack::dpdk::may_spin;
using synack::dpdk::SpinBudget;
using synack::dpdk::YieldPacer;

namespace {

cpu_set_t cpus(std::initializer_list<int> list) {
    cpu_set_t s;
    CPU_ZERO(&s);
    for (int c : list) CPU_SET(c, &s);
    return s;
}

TEST(ChannelSpin, OnlyOnCpusNoPollerUses) {
    EXPECT_TRUE(may_spin(cpus({1}), cpus({0})));             // net_tap bench: lcore 0, application CPU 1
    EXPECT_TRUE(may_spin(cpus({2, 3}), cpus({0, 1})));
    EXPECT_FALSE(may_spin(cpus({0, 1}), cpus({0, 1})));      // --loopback on 2 CPUs: shared with both pollers
    EXPECT_FALSE(may_spin(cpus({0, 1}), cpus({0})));         // the scheduler may put us on the poller's CPU
    EXPECT_FALSE(may_spin(cpus({0}), cpus({0})));            // a thread that inherited the main lcore's pinning
    EXPECT_FALSE(may_spin(cpus({}), cpus({0})));             // no affinity read: do not guess
    EXPECT_TRUE(may_spin(cpus({5}), cpus({})));              // no pollers at all (nothing to take turns from)
}

TEST(ChannelSpin, StartsAtTheLargestBudget) {
    const SpinBudget b(100, 10);
    EXPECT_EQ(b.budget(), 100u);
    EXPECT_EQ(b.max(), 100u);
}

TEST(ChannelSpin, SlowEventsShrinkTheBudgetToNothing) {
    SpinBudget b(100, 10);
    const uint64_t want[] = {50, 25, 12, 0, 0};  // halved; below the restart value (10) it stops spinning
    for (uint64_t w : want) {
        b.parked(101);  // the event came after the longest spin
        EXPECT_EQ(b.budget(), w);
    }
}

TEST(ChannelSpin, EventsWithinTheLargestSpinGrowItBack) {
    SpinBudget b(100, 10);
    for (int i = 0; i < 4; ++i) b.parked(1000);
    ASSERT_EQ(b.budget(), 0u);
    const uint64_t want[] = {10, 20, 40, 80, 100, 100};  // restart, then doubled up to the largest
    for (uint64_t w : want) {
        b.parked(60);  // a spin of 60 would have caught it
        EXPECT_EQ(b.budget(), w);
    }
    b.parked(100);  // exactly the largest spin still counts as catchable
    EXPECT_EQ(b.budget(), 100u);
}

TEST(ChannelSpin, ZeroLargestBudgetNeverSpins) {
    SpinBudget b(0, 10);
    EXPECT_EQ(b.budget(), 0u);
    b.parked(0);
    EXPECT_EQ(b.budget(), 0u);
    b.parked(50);
    EXPECT_EQ(b.budget(), 0u);
}

// Yields that return at once (about a system call: nobody else wanted the CPU) space the next ones out, doubling
// up to the largest gap; a yield that took longer than `contended` (another thread ran) brings back a yield at
// every poll.
TEST(YieldPacer, YieldsAtEveryPollUntilTheCpuProvesToBeOurs) {
    YieldPacer p(1000, 8192);
    EXPECT_EQ(p.gap(), 0u);
    EXPECT_TRUE(p.due(0));
    EXPECT_TRUE(p.due(1));
    p.yielded(10, 500);  // alone: 490 cycles
    EXPECT_EQ(p.gap(), 1024u);
    EXPECT_FALSE(p.due(500 + 1023));
    EXPECT_TRUE(p.due(500 + 1024));
    p.yielded(2000, 2400);
    EXPECT_EQ(p.gap(), 2048u);
    p.yielded(5000, 5400);
    EXPECT_EQ(p.gap(), 4096u);
    p.yielded(10000, 10400);
    p.yielded(20000, 20400);
    EXPECT_EQ(p.gap(), 8192u);  // capped
    EXPECT_FALSE(p.due(20400 + 8191));
}

TEST(YieldPacer, AYieldThatGaveTheCpuAwayYieldsAtEveryPollAgain) {
    YieldPacer p(1000, 8192);
    for (uint64_t t = 0; t < 5; ++t) p.yielded(t * 10000, t * 10000 + 300);
    EXPECT_EQ(p.gap(), 8192u);
    p.yielded(100000, 100000 + 1001);  // another thread ran meanwhile
    EXPECT_EQ(p.gap(), 0u);
    EXPECT_TRUE(p.due(101001));
    p.yielded(101001, 101001 + 1000);  // exactly the threshold still counts as alone
    EXPECT_EQ(p.gap(), 1024u);
}

}  // namespace
