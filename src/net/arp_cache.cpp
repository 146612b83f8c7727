// Neighbour tables (ARP, IPv6 ND): entry array + linear-probing index + per-entry held-packet rings.
#include "net/arp_cache.hpp"

#include <bit>
#include <cstring>

namespace synack::net {

namespace {
// Fibonacci hashing: addresses on one subnet differ in their low bits, the multiply spreads them to the top.
uint32_t addr_hash(uint32_t ip) noexcept { return ip * 0x9e3779b1u; }
uint32_t addr_hash(const wire::Ip6Addr& a) noexcept {
    uint64_t hi, lo;
    std::memcpy(&hi, a.b, 8);
    std::memcpy(&lo, a.b + 8, 8);
    const uint64_t x = (hi ^ lo) * 0x9e3779b97f4a7c15ull;
    return static_cast<uint32_t>(x >> 32);
}
}  // namespace

template <class Addr>
NeighborCache<Addr>::NeighborCache(uint32_t capacity, uint32_t held_max)
    : capacity_(capacity),
      held_max_(held_max),
      index_mask_(std::bit_ceil(2 * capacity) - 1),  // load factor <= 1/2 keeps probes short
      hash_shift_(32 - static_cast<uint32_t>(std::countr_zero(index_mask_ + 1))),
      entries_(std::make_unique<ArpEntry[]>(capacity)),
      index_(std::make_unique<uint32_t[]>(index_mask_ + 1)),
      free_(std::make_unique<uint32_t[]>(capacity)),
      free_top_(capacity),
      held_(std::make_unique<rte_mbuf*[]>(static_cast<size_t>(capacity) * held_max)) {
    for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;  // hand out entry 0 first
}

template <class Addr>
NeighborCache<Addr>::~NeighborCache() {
    for (ArpEntry& e : entries())
        while (rte_mbuf* m = take_held(e)) rte_pktmbuf_free(m);
}

template <class Addr>
uint32_t NeighborCache<Addr>::home(const Addr& ip) const noexcept { return addr_hash(ip) >> hash_shift_; }

template <class Addr>
uint32_t NeighborCache<Addr>::slot_of(const Addr& ip) const noexcept {
    for (uint32_t s = home(ip);; s = (s + 1) & index_mask_) {
        const uint32_t v = index_[s];
        if (v == 0) return index_mask_ + 1;
        if (entries_[v - 1].ip == ip) return s;
    }
}

template <class Addr>
auto NeighborCache<Addr>::find(const Addr& ip) noexcept -> ArpEntry* {
    const uint32_t s = slot_of(ip);
    return s > index_mask_ ? nullptr : &entries_[index_[s] - 1];
}

template <class Addr>
auto NeighborCache<Addr>::find(const Addr& ip) const noexcept -> const ArpEntry* {
    const uint32_t s = slot_of(ip);
    return s > index_mask_ ? nullptr : &entries_[index_[s] - 1];
}

template <class Addr>
auto NeighborCache<Addr>::insert(const Addr& ip, bool* evicted) noexcept -> ArpEntry* {
    *evicted = false;
    if (free_top_ == 0) {
        // Second chance: skip (and clear) entries used since the last pass; incomplete ones hold packets.
        // (Evicting a stale/delay/probe IPv6 neighbour is what RFC 4861 §7.3.2 allows for garbage collection.)
        ArpEntry* victim = nullptr;
        for (uint32_t n = 0; n < 2 * capacity_ && victim == nullptr; ++n) {
            ArpEntry& e = entries_[hand_];
            hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
            if (e.state == NeighborState::incomplete) continue;
            if (e.referenced)
                e.referenced = false;
            else
                victim = &e;
        }
        if (victim == nullptr) return nullptr;
        erase(*victim);
        *evicted = true;
    }
    const uint32_t n = free_[--free_top_];
    ArpEntry& e = entries_[n];
    e = ArpEntry{};
    e.ip = ip;
    uint32_t s = home(ip);
    while (index_[s] != 0) s = (s + 1) & index_mask_;
    index_[s] = n + 1;
    ++size_;
    return &e;
}

template <class Addr>
void NeighborCache<Addr>::erase(ArpEntry& e) noexcept {
    uint32_t hole = slot_of(e.ip);
    // Backward-shift deletion: pull later members of the probe run into the hole unless their home lies
    // cyclically in (hole, j], where they would become unreachable.
    for (uint32_t j = (hole + 1) & index_mask_; index_[j] != 0; j = (j + 1) & index_mask_) {
        const uint32_t h = home(entries_[index_[j] - 1].ip);
        const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!stays) {
            index_[hole] = index_[j];
            hole = j;
        }
    }
    index_[hole] = 0;
    const uint32_t n = index_of(e);
    e.state = NeighborState::free;
    e.ip = Addr{};
    free_[free_top_++] = n;
    --size_;
}

template <class Addr>
rte_mbuf* NeighborCache<Addr>::hold(ArpEntry& e, rte_mbuf* m) noexcept {
    rte_mbuf** ring = &held_[static_cast<size_t>(index_of(e)) * held_max_];
    rte_mbuf* pushed_out = nullptr;
    if (e.held_count == held_max_) {
        pushed_out = ring[e.held_head];
        e.held_head = e.held_head + 1 == held_max_ ? 0 : e.held_head + 1;
        --e.held_count;
    }
    uint32_t tail = e.held_head + e.held_count;
    if (tail >= held_max_) tail -= held_max_;
    ring[tail] = m;
    ++e.held_count;
    return pushed_out;
}

template <class Addr>
rte_mbuf* NeighborCache<Addr>::take_held(ArpEntry& e) noexcept {
    if (e.held_count == 0) return nullptr;
    rte_mbuf* m = held_[static_cast<size_t>(index_of(e)) * held_max_ + e.held_head];
    e.held_head = e.held_head + 1 == held_max_ ? 0 : e.held_head + 1;
    --e.held_count;
    return m;
}

template class NeighborCache<uint32_t>;
template class NeighborCache<wire::Ip6Addr>;

}  // namespace synack::net
