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
        } else {  // find: mostly rising offsets as the sender asks, sometimes behind the last one
            for (int k = 0; k < 4; ++k) {
                const uint32_t off = static_cast<uint32_t>(rng() % (model.size() + 2));
                const int want = off < model.size() ? static_cast<unsigned char>(model[off]) : -1;
                ASSERT_EQ(byte_at(q, off), want) << "step " << step << " offset " << off;
            }
        }
        ASSERT_EQ(q.bytes, model.size());
        ASSERT_EQ(q.empty(), model.empty());
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
