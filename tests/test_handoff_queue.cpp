// util::HandoffQueue, the Channel's command and event queues: FIFO order, full and empty at the exact capacity,
// slots reused lap after lap, and a producer and a consumer on two threads that never see a value torn or out of
// order.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>

#include "util/handoff_queue.hpp"

using synack::util::HandoffQueue;

namespace {

TEST(HandoffQueue, CapacityIsAPowerOfTwo) {
    EXPECT_EQ(HandoffQueue<int>(5).capacity(), 8u);
    EXPECT_EQ(HandoffQueue<int>(8).capacity(), 8u);
    EXPECT_EQ(HandoffQueue<int>(0).capacity(), 2u);
    EXPECT_THROW(HandoffQueue<int>(HandoffQueue<int>::kMaxCapacity + 1), std::invalid_argument);
}

TEST(HandoffQueue, FullAndEmptyAtTheCapacity) {
    HandoffQueue<int> q(4);
    int v = -1;
    EXPECT_FALSE(q.pop(v));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.push(i)) << i;
    EXPECT_FALSE(q.push(4));  // full: refused, not overwritten
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(q.pop(v));
        EXPECT_EQ(v, i);
    }
    EXPECT_FALSE(q.pop(v));
    EXPECT_TRUE(q.push(7));  // the slots freed by the pops take values again
    ASSERT_TRUE(q.pop(v));
    EXPECT_EQ(v, 7);
}

TEST(HandoffQueue, SlotsAreReusedLapAfterLap) {
    HandoffQueue<uint64_t> q(4);
    uint64_t next_in = 0, next_out = 0, v = 0;
    for (int round = 0; round < 100; ++round) {  // 1, 2 or 3 in, as many out: 199 values, about 50 laps
        const int n = 1 + round % 3;
        for (int i = 0; i < n; ++i) ASSERT_TRUE(q.push(next_in++));
        for (int i = 0; i < n; ++i) {
            ASSERT_TRUE(q.pop(v));
            ASSERT_EQ(v, next_out++);
        }
        ASSERT_FALSE(q.pop(v)) << "an older lap's value read as new in round " << round;
    }
}

struct Wide {  // a value the consumer would see torn if it read the slot before the producer finished it
    uint64_t n;
    uint64_t check[5];
};

TEST(HandoffQueue, TwoThreadsSeeEveryValueInOrderAndWhole) {
    constexpr uint64_t kCount = 500'000;
    HandoffQueue<Wide> q(64);  // small: the producer finds it full often and must look at the consumer's position
    // Both sides give up at a deadline rather than hang when a broken queue loses or invents values.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::thread producer([&] {
        for (uint64_t n = 0; n < kCount; ++n) {
            Wide w{n, {}};
            for (uint64_t& c : w.check) c = ~n;
            while (!q.push(w))
                if (std::chrono::steady_clock::now() > deadline) return;
                else std::this_thread::yield();
        }
    });
    uint64_t expected = 0, bad = 0;
    Wide w{};
    while (expected < kCount && std::chrono::steady_clock::now() < deadline) {
        if (!q.pop(w)) {  // the two threads may share a CPU (EAL pins the main thread): let the producer run
            std::this_thread::yield();
            continue;
        }
        if (w.n != expected) ++bad;
        for (uint64_t c : w.check)
            if (c != ~w.n) ++bad;
        ++expected;
    }
    producer.join();
    EXPECT_EQ(expected, kCount);
    EXPECT_EQ(bad, 0u);
    EXPECT_FALSE(q.pop(w));
}

}  // namespace
