// The per-core connection table: FourTuple (or FourTuple6) -> connection index (e.g. a TCB slot).
//
// Open addressing with linear probing over 64-byte buckets of three entries, so a lookup
// normally touches a single cache line (the one prefetch() pulls in). Deletion shifts later
// entries back (Knuth 6.4, Algorithm R), so there are no tombstones and probe lengths never
// degrade with churn. A per-bucket count of entries that overflowed past it ends most misses at
// the home bucket even when it is full. Everything is allocated at construction; nothing after.
//
// Owned by one core: no locks, no atomics. Not safe to share between cores.
// One template for both families: ConnTable (IPv4, three 12-byte keys per bucket) and ConnTable6 (IPv6, one
// 36-byte key per bucket), each bucket one cache line; both are instantiated in conn_table.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <rte_prefetch.h>

#include "tcp/four_tuple.hpp"

namespace synack::tcp {

/// Default hash of a tuple, for when the NIC gave no RSS hash. Unkeyed: a peer choosing many tuples could aim them
/// at one run (slower, never wrong); an RSS hash under a random Toeplitz key, through mix(), does not have that
/// weakness.
inline uint32_t tuple_hash(const FourTuple& t) noexcept {
    // Both words go through a 64-bit finaliser so that every input bit reaches the low bits that pick the bucket.
    uint64_t a = (static_cast<uint64_t>(t.local_ip) << 32) | t.remote_ip;
    uint64_t b = (static_cast<uint64_t>(t.local_port) << 16) | t.remote_port;
    uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return static_cast<uint32_t>(x);
}

/// The same for an IPv6 tuple: the addresses' 64-bit halves folded in one after the other.
inline uint32_t tuple_hash(const FourTuple6& t) noexcept {
    uint64_t w[4];
    std::memcpy(w, t.local.b, 16);
    std::memcpy(w + 2, t.remote.b, 16);
    uint64_t x = (static_cast<uint64_t>(t.local_port) << 16 | t.remote_port) * 0x9e3779b97f4a7c15ULL;
    for (uint64_t v : w) {
        x ^= v;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
    }
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return static_cast<uint32_t>(x);
}

template <class Key>
class BasicConnTable {
public:
    static constexpr uint32_t kNotFound = UINT32_MAX;
    /// Largest capacity accepted by the constructor.
    static constexpr uint32_t kMaxCapacity = 1u << 30;

    /// Room for `capacity` entries (at most kMaxCapacity) at a load factor <= 0.7, in memory on the
    /// calling lcore's NUMA socket: construct it on the core that will use it.
    /// Cold path: throws std::invalid_argument if capacity is too large, std::bad_alloc if the
    /// DPDK heap has no room.
    explicit BasicConnTable(uint32_t capacity);
    ~BasicConnTable();
    BasicConnTable(const BasicConnTable&) = delete;
    BasicConnTable& operator=(const BasicConnTable&) = delete;
    BasicConnTable(BasicConnTable&& o) noexcept;
    BasicConnTable& operator=(BasicConnTable&& o) noexcept;

    /// Default hash of a tuple (tuple_hash()).
    static uint32_t hash(const Key& t) noexcept { return tuple_hash(t); }

    /// Spread an external hash such as the NIC's RSS hash: its low bits pick the RX queue, so on
    /// one core they are nearly constant and must not pick the bucket directly.
    /// MurmurHash3's fmix32: a bijection, so it adds no collisions.
    static uint32_t mix(uint32_t rss) noexcept {
        rss ^= rss >> 16;
        rss *= 0x85ebca6bU;
        rss ^= rss >> 13;
        rss *= 0xc2b2ae35U;
        rss ^= rss >> 16;
        return rss;
    }

    /// The value stored for `t`, or kNotFound. `hash` must be the one `t` was inserted with.
    uint32_t lookup(const Key& t, uint32_t hash) const noexcept {
        uint32_t b = hash & bucket_mask_;
        for (;;) {
            const Bucket& bk = buckets_[b];
            for (uint32_t lane = 0; lane < bk.count; ++lane)
                if (bk.hash[lane] == hash && bk.key[lane] == t) return bk.value[lane];
            // No entry from this bucket or before lives further on: `t` is absent. Stops most
            // misses at the home bucket even when it is full.
            if (bk.passing == 0) return kNotFound;
            b = (b + 1) & bucket_mask_;
        }
    }

    /// Adds t -> value. False if the table is full, `t` is already present, or value == kNotFound.
    bool insert(const Key& t, uint32_t hash, uint32_t value) noexcept;

    /// Removes `t`. False if absent.
    bool erase(const Key& t, uint32_t hash) noexcept;

    /// Pull in the cache line a lookup of `hash` starts on; call for a whole burst first.
    void prefetch(uint32_t hash) const noexcept { rte_prefetch0(&buckets_[hash & bucket_mask_]); }

    /// Checks every internal invariant by brute force, O(table size). For tests, not for the data path.
    bool invariants_hold() const;

    uint32_t size() const noexcept { return size_; }
    uint32_t capacity() const noexcept { return capacity_; }
    size_t memory_bytes() const noexcept { return sizeof(Bucket) * (static_cast<size_t>(bucket_mask_) + 1); }

private:
    // As many entries as one cache line holds beside the counts: 3 IPv4 tuples, 1 IPv6 tuple.
    static constexpr uint32_t kLanes = (64 - 4) / (8 + sizeof(Key));
    static_assert(kLanes >= 1);

    // One cache line. Occupied lanes are always a prefix [0, count): an entry's probe sequence
    // starts at lane 0 of its home bucket, and linear probing leaves no gap before an entry.
    // `passing` counts the entries whose home is this bucket or an earlier one in their run but
    // which sit in a later bucket (folly F14's overflow count); nonzero only if the bucket is full.
    struct alignas(64) Bucket {
        uint32_t hash[kLanes];
        uint32_t value[kLanes];
        Key key[kLanes];
        uint32_t count : 2;
        uint32_t passing : 30;
    };
    static_assert(sizeof(Bucket) == 64);

    // Slots numbered flat: slot s is lane s % 3 of bucket s / 3; probing walks s upwards, wrapping.
    uint32_t next_slot(uint32_t s) const noexcept { return s + 1 == num_slots_ ? 0 : s + 1; }
    uint32_t distance(uint32_t from, uint32_t to) const noexcept {
        return to >= from ? to - from : to + num_slots_ - from;
    }
    // One less entry passes buckets [first, end): it was erased or moved back to bucket `first`.
    void unpass(uint32_t first, uint32_t end) noexcept {
        for (uint32_t b = first; b != end; b = (b + 1) & bucket_mask_) --buckets_[b].passing;
    }

    Bucket* buckets_ = nullptr;
    uint32_t bucket_mask_ = 0;
    uint32_t num_slots_ = 0;
    uint32_t size_ = 0;
    uint32_t capacity_ = 0;
};

using ConnTable = BasicConnTable<FourTuple>;
using ConnTable6 = BasicConnTable<FourTuple6>;
extern template class BasicConnTable<FourTuple>;
extern template class BasicConnTable<FourTuple6>;

}  // namespace synack::tcp
