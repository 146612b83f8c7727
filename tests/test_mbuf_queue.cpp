// MbufQueue against a byte-string model: random appends, front drops and finds at rising and falling offsets
// (find resumes from its last answer, so every way that hint can go stale is exercised).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <type_traits>

#include "tcp/mbuf_queue.hpp"
#include "test_support.hpp"

using synack::tcp::MbufQueue;
using synack::tcp::SendQueue;

namespace {

rte_mbuf* make(const std::string& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(synack::test::pool());
    EXPECT_NE(m, nullptr);
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
    EXPECT_NE(p, nullptr);
    std::copy(bytes.begin(), bytes.end(), p);
    return m;
}

// The byte at `offset` as find() reports it.
template <class Q>
int byte_at(const Q& q, uint32_t offset) {
    uint32_t in_seg = 0;
    const rte_mbuf* m = q.find(offset, in_seg);
    if (m == nullptr) return -1;
    EXPECT_LT(in_seg, m->data_len);
    return *rte_pktmbuf_mtod_offset(m, const unsigned char*, in_seg);
}

template <class Q>
void model_run(unsigned seed) {
    const unsigned before = rte_mempool_avail_count(synack::test::pool());
    std::mt19937 rng(seed);
    Q q;
    std::string model;
    unsigned char next = 0;
    for (int step = 0; step < 20000; ++step) {
        const unsigned op = rng() % 10;
        if (op < 3) {  // append a piece (small ones may be coalesced into the tail)
            std::string piece(1 + rng() % 1500, '\0');
            for (char& c : piece) c = static_cast<char>(next++);
            q.append_range(make(piece), 0, static_cast<uint32_t>(piece.size()));
            model += piece;
        } else if (op == 3 && !model.empty()) {  // drop part of the front, often splitting the head segment
            const uint32_t n = static_cast<uint32_t>(rng() % (model.size() + 1));
            q.drop_front(n);
            model.erase(0, n);
        } else if (op == 4 && !model.empty()) {  // read through the copy path (the receive side only)
            if constexpr (std::is_same_v<Q, MbufQueue>) {
                std::string out(rng() % 3000, '\0');
                const uint32_t n = q.read(out.data(), static_cast<uint32_t>(out.size()));
                ASSERT_EQ(out.substr(0, n), model.substr(0, n));
                model.erase(0, n);
            }
        } else if (op == 5 && !model.empty()) {  // collapse (the receive side only): same bytes, fewer mbufs
            if constexpr (std::is_same_v<Q, MbufQueue>) q.collapse(synack::test::pool(), 1);
        } else {  // find: mostly rising offsets as the sender asks, sometimes behind the last one
            for (int k = 0; k < 4; ++k) {
                const uint32_t off = static_cast<uint32_t>(rng() % (model.size() + 2));
                const int want = off < model.size() ? static_cast<unsigned char>(model[off]) : -1;
                ASSERT_EQ(byte_at(q, off), want) << "step " << step << " offset " << off;
            }
        }
        ASSERT_EQ(q.bytes, model.size());
        ASSERT_EQ(q.empty(), model.empty());
        uint32_t true_sum = 0;  // the true size follows every operation
        for (const rte_mbuf* m = q.head; m != nullptr; m = m->next) true_sum += synack::tcp::mbuf_truesize(m);
        ASSERT_EQ(q.truesize, true_sum) << "step " << step;
    }
    q.clear();
    EXPECT_EQ(rte_mempool_avail_count(synack::test::pool()), before);
}

}  // namespace

TEST(MbufQueue, FindMatchesModelThroughAppendsDropsAndReads) { model_run<MbufQueue>(7); }
TEST(SendQueue, FindMatchesModelThroughAppendsDropsAndReads) {
    for (unsigned seed : {7u, 8u, 9u}) model_run<SendQueue>(seed);
}

TEST(SendQueue, FindAfterTheHintedSegmentIsFreedStartsFromTheFront) {
    SendQueue q;
    q.append_chain(make(std::string(1000, 'a')));
    q.append_chain(make(std::string(1000, 'b')));
    q.append_chain(make(std::string(1000, 'c')));
    EXPECT_EQ(byte_at(q, 1500), 'b');  // hint: the second segment
    q.drop_front(2500);                // frees the first two, cuts into the third
    EXPECT_EQ(byte_at(q, 0), 'c');
    EXPECT_EQ(byte_at(q, 499), 'c');
    EXPECT_EQ(byte_at(q, 500), -1);
    q.append_chain(make(std::string(10, 'd')));
    EXPECT_EQ(byte_at(q, 505), 'd');
    q.clear();
    EXPECT_EQ(byte_at(q, 0), -1);
}

namespace {

std::string contents(const MbufQueue& q) {
    std::string s;
    for (const rte_mbuf* m = q.head; m != nullptr; m = m->next)
        s.append(rte_pktmbuf_mtod(m, const char*), m->data_len);
    return s;
}

uint32_t segments(const MbufQueue& q) {
    uint32_t n = 0;
    for (const rte_mbuf* m = q.head; m != nullptr; m = m->next) ++n;
    return n;
}

}  // namespace

// Collapse: many part-filled mbufs become few full ones, same bytes, true size tracked; full ones left alone.
TEST(MbufQueueCollapse, CopiesSmallSegmentsIntoFullMbufs) {
    const unsigned before = rte_mempool_in_use_count(synack::test::pool());
    const uint32_t ts = rte_pktmbuf_data_room_size(synack::test::pool()) + sizeof(rte_mbuf);
    MbufQueue q;
    std::string model;
    q.append_chain(make(std::string(1800, 'F')));  // at least half full: stays as it is
    model += std::string(1800, 'F');
    for (int i = 0; i < 20; ++i) {  // 600-byte pieces (above the coalescing size): one mbuf each
        const std::string piece(600, static_cast<char>('a' + i));
        q.append_range(make(piece), 0, 600);
        model += piece;
    }
    ASSERT_EQ(segments(q), 21u);
    EXPECT_EQ(q.truesize, 21 * ts);
    const uint32_t saved = q.collapse(synack::test::pool(), 2);
    const uint32_t room = rte_pktmbuf_data_room_size(synack::test::pool()) - RTE_PKTMBUF_HEADROOM;
    EXPECT_EQ(segments(q), 1 + (12000 + room - 1) / room);
    EXPECT_EQ(saved, 21 - segments(q));
    EXPECT_EQ(q.truesize, segments(q) * ts);
    EXPECT_EQ(q.bytes, model.size());
    EXPECT_TRUE(contents(q) == model);
    EXPECT_EQ(q.head->data_len, 1800u) << "the full head mbuf was not copied";
    EXPECT_EQ(q.collapse(synack::test::pool(), 2), 0u) << "nothing more to save";
    q.clear();
    EXPECT_EQ(q.truesize, 0u);
    EXPECT_EQ(rte_mempool_in_use_count(synack::test::pool()), before);
}

// A reference to a large shared buffer (what an in-process link delivers: slices of the sender's 16 KB bulk mbufs)
// costs one standard mbuf, not the whole buffer it points into: else a 64 KB window of 1448-byte segments would
// count 16 KB each and overrun its own receive budget (that made --loopback --no-tso drop its own data).
TEST(MbufTruesize, AReferenceCostsOneStandardMbufWhateverBufferItSlices) {
    rte_mempool* big = rte_pktmbuf_pool_create("sk_truesize_big", 63, 0, 0, 16384 + RTE_PKTMBUF_HEADROOM,
                                               SOCKET_ID_ANY);
    ASSERT_NE(big, nullptr);
    rte_mbuf* direct = rte_pktmbuf_alloc(big);
    rte_mbuf* ref = rte_pktmbuf_alloc(synack::test::pool());
    ASSERT_NE(direct, nullptr);
    ASSERT_NE(ref, nullptr);
    ASSERT_NE(rte_pktmbuf_append(direct, 1448), nullptr);  // a slice of data, as a segment carries
    EXPECT_EQ(synack::tcp::mbuf_truesize(direct), 16384u + RTE_PKTMBUF_HEADROOM + sizeof(rte_mbuf));
    rte_pktmbuf_attach(ref, direct);
    EXPECT_EQ(synack::tcp::mbuf_truesize(ref), uint32_t{RTE_MBUF_DEFAULT_BUF_SIZE} + sizeof(rte_mbuf));
    MbufQueue q;
    q.append_chain(ref);  // the queue counts what mbuf_truesize says, and gives it all back
    EXPECT_EQ(q.truesize, uint32_t{RTE_MBUF_DEFAULT_BUF_SIZE} + sizeof(rte_mbuf));
    q.clear();
    EXPECT_EQ(q.truesize, 0u);
    rte_pktmbuf_free(direct);
    EXPECT_EQ(rte_mempool_in_use_count(big), 0u);
    rte_mempool_free(big);
}
