// The --impair link (src/dpdk/impair.cpp): the option's spelling, and each impairment with an injected clock
// (1 cycle = 1 µs): delay, rate and its buffer, loss share and determinism, duplication, reordering, corruption,
// the burst limit, and every mbuf back in the pool.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpdk/impair.hpp"
#include "synack/stack.hpp"
#include "test_support.hpp"

using synack::LinkImpairment;
using synack::parse_impairment;
using synack::dpdk::ImpairLink;

namespace {

constexpr uint64_t kHz = 1'000'000;

/// A frame of `len` bytes whose bytes 14..17 hold `id`.
rte_mbuf* frame(uint32_t id, uint16_t len = 1000) {
    rte_mbuf* m = rte_pktmbuf_alloc(synack::test::pool());
    EXPECT_NE(m, nullptr);
    char* p = rte_pktmbuf_append(m, len);
    std::memset(p, 0xab, len);
    std::memcpy(p + 14, &id, sizeof id);
    return m;
}
uint32_t id_of(const rte_mbuf* m) {
    uint32_t id;
    std::memcpy(&id, rte_pktmbuf_mtod_offset(m, const char*, 14), sizeof id);
    return id;
}

/// Pushes `frames` (at `now`) and collects what is due, freeing it; returns the ids in delivery order.
std::vector<uint32_t> step(ImpairLink& l, std::vector<rte_mbuf*> frames, uint64_t now, uint16_t max = 32) {
    std::vector<uint32_t> out;
    std::vector<rte_mbuf*> buf(std::max<size_t>(frames.size(), max));
    std::copy(frames.begin(), frames.end(), buf.begin());
    uint16_t n = l.process(buf.data(), static_cast<uint16_t>(frames.size()), max, now);
    for (;;) {
        for (uint16_t i = 0; i < n; ++i) {
            out.push_back(id_of(buf[i]));
            rte_pktmbuf_free(buf[i]);
        }
        if (n < max) break;
        n = l.process(buf.data(), 0, max, now);
    }
    return out;
}

struct PoolCheck {  // every mbuf taken from the pool during a test is back at its end
    unsigned before = rte_mempool_avail_count(synack::test::pool());
    ~PoolCheck() { EXPECT_EQ(rte_mempool_avail_count(synack::test::pool()), before); }
};

TEST(ImpairSpec, ParsesEveryItem) {
    const LinkImpairment li =
        parse_impairment("loss=1%,reorder=0.5%,dup=0.001,corrupt=0.01%,delay=10ms,reorder-delay=250us,rate=1gbit,"
                         "queue=500,seed=42");
    EXPECT_DOUBLE_EQ(li.loss, 0.01);
    EXPECT_DOUBLE_EQ(li.reorder, 0.005);
    EXPECT_DOUBLE_EQ(li.duplicate, 0.001);
    EXPECT_DOUBLE_EQ(li.corrupt, 0.0001);
    EXPECT_EQ(li.delay_us, 10'000u);
    EXPECT_EQ(li.reorder_us, 250u);
    EXPECT_EQ(li.rate_bps, 1'000'000'000u);
    EXPECT_EQ(li.queue, 500u);
    EXPECT_EQ(li.seed, 42u);
    EXPECT_TRUE(li.enabled());
    EXPECT_EQ(parse_impairment("rate=100Mbit").rate_bps, 100'000'000u);
    EXPECT_EQ(parse_impairment("delay=1s").delay_us, 1'000'000u);
    EXPECT_FALSE(parse_impairment("seed=3").enabled());
}

TEST(ImpairSpec, RejectsBadItemsWithTheirName) {
    for (const char* bad : {"loss=2", "loss=abc", "loss=", "delay=10", "delay=5min", "rate=1tbit", "rate=10bit",
                            "foo=1", "loss", "loss=60%,dup=50%", "queue=0", "loss=1%,,dup=1%", "delay=61s"}) {
        try {
            parse_impairment(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("--impair"), std::string::npos) << e.what();
        }
    }
}

TEST(ImpairSpec, NeedsLoopback) {
    char a0[] = "--ip", a1[] = "10.97.0.1/24", a2[] = "--impair", a3[] = "loss=1%", a4[] = "--loopback";
    char* without[] = {a0, a1, a2, a3};
    EXPECT_THROW(synack::parse_options(4, without), std::invalid_argument);
    char* with[] = {a0, a1, a2, a3, a4};
    EXPECT_DOUBLE_EQ(synack::parse_options(5, with).impair.loss, 0.01);
}

TEST(ImpairLink, CleanLinkPassesInOrderAtOnce) {
    PoolCheck pc;
    ImpairLink l(LinkImpairment{}, synack::test::pool(), kHz);
    EXPECT_EQ(step(l, {frame(1), frame(2), frame(3)}, 5), (std::vector<uint32_t>{1, 2, 3}));
    EXPECT_EQ(l.held(), 0u);
}

TEST(ImpairLink, DelayHoldsEachFrameExactly) {
    PoolCheck pc;
    LinkImpairment li;
    li.delay_us = 10'000;
    ImpairLink l(li, synack::test::pool(), kHz);
    EXPECT_TRUE(step(l, {frame(1), frame(2)}, 0).empty());
    EXPECT_TRUE(step(l, {frame(3)}, 5'000).empty());
    EXPECT_TRUE(step(l, {}, 9'999).empty());
    EXPECT_EQ(step(l, {}, 10'000), (std::vector<uint32_t>{1, 2}));
    EXPECT_TRUE(step(l, {}, 14'999).empty());
    EXPECT_EQ(step(l, {}, 15'000), (std::vector<uint32_t>{3}));
}

TEST(ImpairLink, RateSerialisesAndTheBufferTailDrops) {
    PoolCheck pc;
    LinkImpairment li;
    li.rate_bps = 1'000'000;  // 1 bit per µs: a 1000-byte frame takes 8 ms
    li.queue = 2;             // 2 full frames of backlog: 2 * 1514 * 8 = 24224 µs
    ImpairLink l(li, synack::test::pool(), kHz);
    std::vector<rte_mbuf*> burst;
    for (uint32_t i = 0; i < 10; ++i) burst.push_back(frame(i));
    // Starts at 0, 8, 16, 24 ms are within the buffer; the 5th would wait 32 ms > 24.2 ms: dropped, as the rest.
    EXPECT_TRUE(step(l, burst, 0).empty());
    EXPECT_EQ(l.stats().queue_dropped, 6u);
    EXPECT_TRUE(step(l, {}, 7'999).empty());
    EXPECT_EQ(step(l, {}, 8'000), (std::vector<uint32_t>{0}));
    EXPECT_EQ(step(l, {}, 16'000), (std::vector<uint32_t>{1}));
    EXPECT_EQ(step(l, {}, 40'000), (std::vector<uint32_t>{2, 3}));
    // The link is idle again: a new frame goes straight through the bottleneck.
    EXPECT_TRUE(step(l, {frame(20)}, 100'000).empty());
    EXPECT_EQ(step(l, {}, 108'000), (std::vector<uint32_t>{20}));
}

std::vector<uint32_t> survivors(uint64_t seed, double loss) {
    LinkImpairment li;
    li.loss = loss;
    li.seed = seed;
    ImpairLink l(li, synack::test::pool(), kHz);
    std::vector<uint32_t> all;
    for (uint32_t i = 0; i < 10'000; i += 100) {
        std::vector<rte_mbuf*> b;
        for (uint32_t k = i; k < i + 100; ++k) b.push_back(frame(k, 64));
        const auto got = step(l, b, i);
        all.insert(all.end(), got.begin(), got.end());
    }
    EXPECT_EQ(l.stats().lost + all.size(), 10'000u);
    return all;
}

TEST(ImpairLink, LossShareIsSeededAndDeterministic) {
    PoolCheck pc;
    const auto a = survivors(7, 0.1), b = survivors(7, 0.1), c = survivors(8, 0.1);
    EXPECT_EQ(a, b) << "same seed, same losses";
    EXPECT_NE(a, c);
    EXPECT_GT(a.size(), 8'800u);  // 10% of 10000 = 1000 lost, 3 sigma = 90
    EXPECT_LT(a.size(), 9'200u);
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
}

TEST(ImpairLink, DuplicatesAreSeparateCopies) {
    PoolCheck pc;
    LinkImpairment li;
    li.duplicate = 1.0;
    ImpairLink l(li, synack::test::pool(), kHz);
    rte_mbuf* buf[8] = {frame(1), frame(2)};
    const uint16_t n = l.process(buf, 2, 8, 0);
    ASSERT_EQ(n, 4);
    EXPECT_EQ(id_of(buf[0]), 1u);
    EXPECT_EQ(id_of(buf[1]), 1u);
    EXPECT_EQ(id_of(buf[2]), 2u);
    EXPECT_NE(buf[0], buf[1]);
    EXPECT_EQ(rte_pktmbuf_pkt_len(buf[1]), 1000u);
    for (uint16_t i = 0; i < n; ++i) rte_pktmbuf_free(buf[i]);
    EXPECT_EQ(l.stats().duplicated, 2u);
}

TEST(ImpairLink, ReorderLetsLaterFramesOvertake) {
    PoolCheck pc;
    LinkImpairment li;
    li.reorder = 0.3;
    li.reorder_us = 1'000;
    li.seed = 3;
    ImpairLink l(li, synack::test::pool(), kHz);
    std::vector<uint32_t> got;
    for (uint32_t t = 0; t < 3'000; ++t) {
        std::vector<rte_mbuf*> b;
        if (t < 200) b.push_back(frame(t, 64));
        const auto out = step(l, b, t);
        got.insert(got.end(), out.begin(), out.end());
    }
    ASSERT_EQ(got.size(), 200u);
    EXPECT_FALSE(std::is_sorted(got.begin(), got.end()));
    std::vector<uint32_t> sorted = got;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t i = 0; i < 200; ++i) ASSERT_EQ(sorted[i], i) << "each frame exactly once";
    EXPECT_GT(l.stats().reordered, 30u);
    EXPECT_LT(l.stats().reordered, 90u);
}

TEST(ImpairLink, CorruptionFlipsOneByteOfACopy) {
    PoolCheck pc;
    LinkImpairment li;
    li.corrupt = 1.0;
    ImpairLink l(li, synack::test::pool(), kHz);
    for (uint32_t i = 0; i < 50; ++i) {
        rte_mbuf* orig = frame(i, 200);
        rte_mbuf* keep = rte_pktmbuf_clone(orig, synack::test::pool());  // shares the data: must stay intact
        ASSERT_NE(keep, nullptr);
        rte_mbuf* buf[1] = {orig};
        ASSERT_EQ(l.process(buf, 1, 1, i), 1);
        ASSERT_NE(buf[0], keep);
        const auto* a = rte_pktmbuf_mtod(keep, const uint8_t*);
        const auto* b = rte_pktmbuf_mtod(buf[0], const uint8_t*);
        ASSERT_EQ(rte_pktmbuf_pkt_len(buf[0]), 200u);
        int diffs = 0, where = -1;
        for (int k = 0; k < 200; ++k)
            if (a[k] != b[k]) ++diffs, where = k;
        EXPECT_EQ(diffs, 1);
        EXPECT_GE(where, 14) << "past the Ethernet header";
        EXPECT_EQ(a[20], 0xab) << "the sender's data untouched";
        rte_pktmbuf_free(buf[0]);
        rte_pktmbuf_free(keep);
    }
    EXPECT_EQ(l.stats().corrupted, 50u);
}

TEST(ImpairLink, HandsBackAtMostMaxAndFreesWhatItHolds) {
    PoolCheck pc;
    {
        LinkImpairment li;
        li.delay_us = 100;
        ImpairLink l(li, synack::test::pool(), kHz);
        std::vector<rte_mbuf*> b;
        for (uint32_t i = 0; i < 100; ++i) b.push_back(frame(i, 64));
        rte_mbuf* buf[100];
        std::copy(b.begin(), b.end(), buf);
        EXPECT_EQ(l.process(buf, 100, 32, 0), 0);
        EXPECT_EQ(l.process(buf, 0, 32, 100), 32);
        EXPECT_EQ(id_of(buf[0]), 0u);
        EXPECT_EQ(id_of(buf[31]), 31u);
        for (int i = 0; i < 32; ++i) rte_pktmbuf_free(buf[i]);
        EXPECT_EQ(l.held(), 68u);
    }  // the destructor frees the 68 still held (PoolCheck)
}

}  // namespace
