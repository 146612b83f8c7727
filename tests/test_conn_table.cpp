// The per-core connection table against a std::unordered_map model, including adversarial
// same-hash collisions, wrap-around at the end of the bucket array, and 1M entries.
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/conn_table.hpp"

using namespace synack::tcp;

namespace {

FourTuple tuple(uint32_t i) { return FourTuple{0x0a000001, 0xc0a80000u + (i >> 16), 80, static_cast<uint16_t>(i)}; }

struct TupleHash {
    size_t operator()(const FourTuple& t) const noexcept { return ConnTable::hash(t); }
};

// Runs `ops` random inserts/erases/lookups over `keys` distinct tuples, checking every answer and,
// every so often, every key. `hash_of` chooses the hash each key is always used with.
template <typename HashOf>
void model_test(uint32_t capacity, uint32_t keys, int ops, uint64_t seed, HashOf hash_of) {
    ConnTable table(capacity);
    std::unordered_map<FourTuple, uint32_t, TupleHash> model;
    std::mt19937_64 rng(seed);
    for (int op = 0; op < ops; ++op) {
        const uint32_t k = static_cast<uint32_t>(rng() % keys);
        const FourTuple t = tuple(k);
        const uint32_t h = hash_of(k);
        const auto it = model.find(t);
        switch (rng() % 3) {
        case 0: {  // insert: refused if present or full
            const auto value = static_cast<uint32_t>(rng() % ConnTable::kNotFound);
            const bool expect = it == model.end() && model.size() < capacity;
            ASSERT_EQ(table.insert(t, h, value), expect) << "op " << op;
            if (expect) model.emplace(t, value);
            break;
        }
        case 1:  // erase
            ASSERT_EQ(table.erase(t, h), it != model.end()) << "op " << op;
            if (it != model.end()) model.erase(it);
            break;
        default:  // lookup
            ASSERT_EQ(table.lookup(t, h), it == model.end() ? ConnTable::kNotFound : it->second) << "op " << op;
        }
        ASSERT_EQ(table.size(), model.size());
        if (op % 5000 == 4999) {
            ASSERT_TRUE(table.invariants_hold()) << "after op " << op;
            for (uint32_t j = 0; j < keys; ++j) {
                const auto m = model.find(tuple(j));
                ASSERT_EQ(table.lookup(tuple(j), hash_of(j)), m == model.end() ? ConnTable::kNotFound : m->second)
                    << "key " << j << " after op " << op;
            }
        }
    }
}

}  // namespace

TEST(ConnTable, InsertLookupErase) {
    ConnTable table(16);
    const FourTuple a{0x0a000001, 0x0a000002, 80, 40000}, b{0x0a000001, 0x0a000002, 80, 40001};
    const uint32_t ha = ConnTable::hash(a), hb = ConnTable::hash(b);
    EXPECT_EQ(table.lookup(a, ha), ConnTable::kNotFound);
    EXPECT_TRUE(table.insert(a, ha, 7));
    EXPECT_TRUE(table.insert(b, hb, 8));
    EXPECT_EQ(table.size(), 2u);
    EXPECT_EQ(table.lookup(a, ha), 7u);
    EXPECT_EQ(table.lookup(b, hb), 8u);
    EXPECT_TRUE(table.erase(a, ha));
    EXPECT_FALSE(table.erase(a, ha));
    EXPECT_EQ(table.lookup(a, ha), ConnTable::kNotFound);
    EXPECT_EQ(table.lookup(b, hb), 8u);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.capacity(), 16u);
}

TEST(ConnTable, DuplicateRefused) {
    ConnTable table(4);
    const FourTuple a{1, 2, 3, 4};
    const uint32_t h = ConnTable::hash(a);
    EXPECT_TRUE(table.insert(a, h, 1));
    EXPECT_FALSE(table.insert(a, h, 2));
    EXPECT_EQ(table.lookup(a, h), 1u);
    EXPECT_EQ(table.size(), 1u);
}

TEST(ConnTable, KNotFoundIsNotAValue) {
    ConnTable table(4);
    const FourTuple a{1, 2, 3, 4};
    EXPECT_FALSE(table.insert(a, ConnTable::hash(a), ConnTable::kNotFound));
    EXPECT_EQ(table.size(), 0u);
}

TEST(ConnTable, FullTableRefuses) {
    ConnTable table(100);
    for (uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(table.insert(tuple(i), ConnTable::hash(tuple(i)), i));
    EXPECT_FALSE(table.insert(tuple(100), ConnTable::hash(tuple(100)), 100));
    EXPECT_EQ(table.size(), 100u);
    EXPECT_TRUE(table.erase(tuple(5), ConnTable::hash(tuple(5))));
    EXPECT_TRUE(table.insert(tuple(100), ConnTable::hash(tuple(100)), 100));
    for (uint32_t i = 0; i <= 100; ++i)
        EXPECT_EQ(table.lookup(tuple(i), ConnTable::hash(tuple(i))), i == 5 ? ConnTable::kNotFound : i);
}

TEST(ConnTable, ZeroCapacity) {
    ConnTable table(0);
    EXPECT_FALSE(table.insert(tuple(1), 1, 1));
    EXPECT_EQ(table.lookup(tuple(1), 1), ConnTable::kNotFound);
}

TEST(ConnTable, SameKeyDifferentHashesAreDifferentEntries) {
    // The caller owns the hash; a mismatch is a caller bug, but must not corrupt the table.
    ConnTable table(8);
    const FourTuple a{1, 2, 3, 4};
    EXPECT_TRUE(table.insert(a, 1, 10));
    EXPECT_EQ(table.lookup(a, 2), ConnTable::kNotFound);
    EXPECT_FALSE(table.erase(a, 2));
    EXPECT_EQ(table.lookup(a, 1), 10u);
}

TEST(ConnTable, MixSpreadsRssHashes) {
    // RSS hashes seen by one queue share their low bits; after mix() the bucket bits must vary.
    std::vector<uint32_t> seen(1024, 0);
    for (uint32_t i = 0; i < 65536; ++i) ++seen[ConnTable::mix((i << 7) | 5) & 1023];
    for (uint32_t c : seen) EXPECT_GT(c, 0u);
    EXPECT_EQ(ConnTable::mix(0), 0u);  // fmix32 fixes 0; harmless, it is one value among 2^32
}

TEST(ConnTable, ModelRandomHashes) {
    model_test(4096, 6000, 200000, 11, [](uint32_t k) { return ConnTable::hash(tuple(k)); });
}

TEST(ConnTable, ModelRssHashes) {
    model_test(3000, 4000, 100000, 12, [](uint32_t k) { return ConnTable::mix(ConnTable::hash(tuple(k)) << 7 | 3); });
}

TEST(ConnTable, ModelAdversarialSameHash) {
    // Keys share a handful of full 32-bit hashes: long clusters of equal hashes, told apart by key only.
    model_test(512, 700, 100000, 13, [](uint32_t k) { return 0x5eed0000u + k % 5; });
}

TEST(ConnTable, ModelAdversarialWrapAround) {
    // Every home is one of the last buckets, so clusters wrap past the end of the array, where
    // backward shifting must compare distances modulo the table size.
    ConnTable probe(300);
    const uint32_t buckets = static_cast<uint32_t>(probe.memory_bytes() / 64);
    model_test(300, 420, 100000, 14, [buckets](uint32_t k) { return (k * 0x10000u) | (buckets - 1 - k % 3); });
}

TEST(ConnTable, ModelNearlyFull) {
    // Key space just above capacity keeps the table at its maximum load most of the time.
    model_test(1000, 1100, 150000, 15, [](uint32_t k) { return ConnTable::hash(tuple(k)); });
}

TEST(ConnTable, OneMillionEntries) {
    constexpr uint32_t kN = 1u << 20;
    ConnTable table(kN);
    for (uint32_t i = 0; i < kN; ++i) ASSERT_TRUE(table.insert(tuple(i), ConnTable::hash(tuple(i)), i)) << i;
    EXPECT_EQ(table.size(), kN);
    EXPECT_TRUE(table.invariants_hold());
    EXPECT_FALSE(table.insert(tuple(kN), ConnTable::hash(tuple(kN)), kN));
    for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(table.lookup(tuple(i), ConnTable::hash(tuple(i))), i) << i;
    for (uint32_t i = kN; i < kN + 100000; ++i)
        ASSERT_EQ(table.lookup(tuple(i), ConnTable::hash(tuple(i))), ConnTable::kNotFound) << i;
    // Erase in a different order from insertion.
    for (uint32_t i = 0; i < kN; ++i) {
        const uint32_t k = (i * 2654435761u) & (kN - 1);  // odd multiplier: a permutation of [0, kN)
        ASSERT_TRUE(table.erase(tuple(k), ConnTable::hash(tuple(k)))) << k;
    }
    EXPECT_EQ(table.size(), 0u);
    EXPECT_TRUE(table.invariants_hold());  // all counts and passing counts back to zero
    for (uint32_t i = 0; i < kN; i += 97) EXPECT_EQ(table.lookup(tuple(i), ConnTable::hash(tuple(i))), ConnTable::kNotFound);
}

TEST(ConnTable, MemoryIsBounded) {
    for (uint32_t cap : {1000u, 100000u, 1u << 20, (1u << 20) + 12345u, 1'100'000u}) {
        const ConnTable table(cap);
        EXPECT_LT(table.memory_bytes(), size_t{64} * cap) << cap;
        // Load factor at full capacity stays <= 0.7 (3 entries per 64-byte bucket).
        EXPECT_LE(double(cap) / double(table.memory_bytes() / 64 * 3), 0.7) << cap;
    }
}

TEST(ConnTable, PrefetchIsHarmless) {
    ConnTable table(64);
    for (uint32_t h : {0u, 1u, 0xffffffffu}) table.prefetch(h);
    SUCCEED();
}

TEST(ConnTable, MoveKeepsEntries) {
    ConnTable a(32);
    ASSERT_TRUE(a.insert(tuple(1), ConnTable::hash(tuple(1)), 1));
    ConnTable b(std::move(a));
    EXPECT_EQ(b.lookup(tuple(1), ConnTable::hash(tuple(1))), 1u);
    ConnTable c(8);
    c = std::move(b);
    EXPECT_EQ(c.lookup(tuple(1), ConnTable::hash(tuple(1))), 1u);
    EXPECT_EQ(c.size(), 1u);
}
