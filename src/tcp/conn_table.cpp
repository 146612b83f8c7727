#include "tcp/conn_table.hpp"

#include <cassert>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <rte_lcore.h>
#include <rte_malloc.h>

namespace synack::tcp {

template <class Key>
BasicConnTable<Key>::BasicConnTable(uint32_t capacity) : capacity_(capacity) {
    if (capacity > kMaxCapacity)
        throw std::invalid_argument("connection table: capacity " + std::to_string(capacity) + " exceeds " +
                                    std::to_string(kMaxCapacity));
    // Smallest power of two of buckets keeping the load factor <= 0.7 at full capacity:
    // 3 * buckets * 0.7 >= capacity. Capacity < slots always, so every probe finds a free lane.
    uint64_t buckets = 1;
    while (buckets * kLanes * 7 < static_cast<uint64_t>(capacity) * 10) buckets <<= 1;
    bucket_mask_ = static_cast<uint32_t>(buckets - 1);
    num_slots_ = static_cast<uint32_t>(buckets * kLanes);

    // DPDK heap: hugepage-backed in production (fewer TLB misses on random lookups) and on the
    // caller's socket. Zeroed memory is an empty table (count == 0 everywhere).
    buckets_ = static_cast<Bucket*>(
        rte_zmalloc_socket("synack_conn_table", memory_bytes(), alignof(Bucket), static_cast<int>(rte_socket_id())));
    if (buckets_ == nullptr) throw std::bad_alloc();
}

template <class Key>
BasicConnTable<Key>::~BasicConnTable() { rte_free(buckets_); }

template <class Key>
BasicConnTable<Key>::BasicConnTable(BasicConnTable&& o) noexcept
    : buckets_(std::exchange(o.buckets_, nullptr)),
      bucket_mask_(o.bucket_mask_),
      num_slots_(o.num_slots_),
      size_(std::exchange(o.size_, 0)),
      capacity_(std::exchange(o.capacity_, 0)) {}

template <class Key>
BasicConnTable<Key>& BasicConnTable<Key>::operator=(BasicConnTable&& o) noexcept {
    if (this != &o) {
        rte_free(buckets_);
        buckets_ = std::exchange(o.buckets_, nullptr);
        bucket_mask_ = o.bucket_mask_;
        num_slots_ = o.num_slots_;
        size_ = std::exchange(o.size_, 0);
        capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
}

template <class Key>
bool BasicConnTable<Key>::insert(const Key& t, uint32_t hash, uint32_t value) noexcept {
    if (size_ == capacity_ || value == kNotFound) return false;
    const uint32_t home = hash & bucket_mask_;
    if (lookup(t, hash) != kNotFound) return false;
    // The first free lane on the probe sequence: lookups reach it through the full buckets before
    // it, each of which now has one more entry passing.
    uint32_t b = home;
    while (buckets_[b].count == kLanes) {
        ++buckets_[b].passing;
        b = (b + 1) & bucket_mask_;
    }
    Bucket& bk = buckets_[b];
    const uint32_t lane = bk.count;
    bk.hash[lane] = hash;
    bk.value[lane] = value;
    bk.key[lane] = t;
    bk.count = lane + 1;
    ++size_;
    return true;
}

template <class Key>
bool BasicConnTable<Key>::erase(const Key& t, uint32_t hash) noexcept {
    const uint32_t home = hash & bucket_mask_;
    uint32_t b = home;
    uint32_t hole = 0;
    for (;;) {
        const Bucket& bk = buckets_[b];
        uint32_t lane = 0;
        while (lane < bk.count && !(bk.hash[lane] == hash && bk.key[lane] == t)) ++lane;
        if (lane < bk.count) {
            hole = b * kLanes + lane;
            break;
        }
        if (bk.passing == 0) return false;
        b = (b + 1) & bucket_mask_;
    }
    unpass(home, b);

    // Backward-shift deletion (Knuth Vol. 3, 6.4 Algorithm R): walk the run after the hole; an
    // entry whose home slot is not in (hole, s] may move into the hole, which then moves to s.
    // The run ends at the first free slot, so the walk is bounded by the cluster length.
    for (uint32_t s = next_slot(hole);; s = next_slot(s)) {
        Bucket& from = buckets_[s / kLanes];
        const uint32_t from_lane = s % kLanes;
        if (from_lane >= from.count) break;
        const uint32_t from_home = (from.hash[from_lane] & bucket_mask_) * kLanes;
        if (distance(from_home, s) >= distance(hole, s)) {
            Bucket& to = buckets_[hole / kLanes];
            const uint32_t to_lane = hole % kLanes;
            to.hash[to_lane] = from.hash[from_lane];
            to.value[to_lane] = from.value[from_lane];
            to.key[to_lane] = from.key[from_lane];
            unpass(hole / kLanes, s / kLanes);
            hole = s;
        }
    }
    // The final hole is always the last occupied lane of its bucket (no gaps, see Bucket).
    Bucket& last = buckets_[hole / kLanes];
    assert(hole % kLanes == last.count - 1u);
    last.count = last.count - 1;
    --size_;
    return true;
}

template <class Key>
bool BasicConnTable<Key>::invariants_hold() const {
    const uint32_t buckets = bucket_mask_ + 1;
    std::vector<uint32_t> passing(buckets, 0);
    uint32_t entries = 0;
    for (uint32_t b = 0; b < buckets; ++b) {
        const Bucket& bk = buckets_[b];
        entries += bk.count;
        for (uint32_t lane = 0; lane < bk.count; ++lane) {
            const uint32_t s = b * kLanes + lane;
            const uint32_t home = bk.hash[lane] & bucket_mask_;
            // Linear probing: every slot from the home slot up to the entry is occupied.
            for (uint32_t p = home * kLanes; p != s; p = next_slot(p))
                if (p % kLanes >= buckets_[p / kLanes].count) return false;
            for (uint32_t p = home; p != b; p = (p + 1) & bucket_mask_) ++passing[p];
        }
    }
    if (entries != size_ || size_ > capacity_) return false;
    for (uint32_t b = 0; b < buckets; ++b) {
        if (buckets_[b].passing != passing[b]) return false;
        if (passing[b] != 0 && buckets_[b].count != kLanes) return false;
    }
    return true;
}

template class BasicConnTable<FourTuple>;
template class BasicConnTable<FourTuple6>;

}  // namespace synack::tcp
