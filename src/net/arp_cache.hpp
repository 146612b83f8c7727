/// @file
/// The neighbour tables of one Interface, owned by one core: ARP's translation table (RFC 826) and IPv6's neighbour
/// cache (RFC 4861 §5.1), one template over the address type. Fixed size, allocated at construction: an entry
/// array, an open-addressing index over it (linear probing, backward-shift deletion) and, per entry, a small ring of
/// packets held while the address is being resolved (RFC 1122 §2.3.2.2, RFC 4861 §7.2.2). No allocation afterwards.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "wire/ipv6.hpp"

namespace synack::net {

/// ARP uses the first three; IPv6 all of RFC 4861 §7.3.2's.
enum class NeighborState : uint8_t {
    free,        ///< slot unused
    incomplete,  ///< request/solicitation sent, no answer yet; packets may be held
    reachable,   ///< mac known until deadline
    stale,       ///< RFC 4861: mac usable, reachability unknown; the next packet starts DELAY
    delay,       ///< RFC 4861: sent to while stale; probe at deadline unless confirmed
    probe,       ///< RFC 4861: unicast solicitations being sent
};
using ArpState = NeighborState;

template <class Addr>
struct NeighborEntry {
    Addr ip{};                            ///< IPv4: host byte order; IPv6: network order bytes
    NeighborState state = NeighborState::free;
    bool referenced = false;              ///< used since the eviction hand last passed (second chance)
    rte_ether_addr mac{};
    uint32_t requests = 0;                ///< requests sent while incomplete
    uint64_t deadline = 0;                ///< incomplete: next retry or failure; reachable: expiry (TSC cycles)
    uint32_t held_head = 0;               ///< first held packet, index into this entry's ring
    uint32_t held_count = 0;
};

template <class Addr>
class NeighborCache {
public:
    using Entry = NeighborEntry<Addr>;
    using ArpEntry = Entry;  // the member functions below were written for ARP first

    /// Cold: allocates capacity entries and capacity * held_max packet slots.
    NeighborCache(uint32_t capacity, uint32_t held_max);
    ~NeighborCache();  // frees held packets
    NeighborCache(const NeighborCache&) = delete;
    NeighborCache& operator=(const NeighborCache&) = delete;

    ArpEntry* find(const Addr& ip) noexcept;
    const ArpEntry* find(const Addr& ip) const noexcept;

    /// A new entry for ip (which must not be present), state free, to be filled in by the caller. When the table is
    /// full an entry that is not incomplete is evicted (second-chance clock; *evicted set); nullptr when every entry
    /// is incomplete.
    ArpEntry* insert(const Addr& ip, bool* evicted) noexcept;

    /// Forgets e; it must hold no packets.
    void erase(ArpEntry& e) noexcept;

    /// Holds m on e. When e already holds held_max packets the oldest is pushed out and returned (RFC 1122
    /// §2.3.2.2 asks to keep the latest); otherwise nullptr.
    rte_mbuf* hold(ArpEntry& e, rte_mbuf* m) noexcept;

    /// The oldest packet held on e, removed; nullptr when none.
    rte_mbuf* take_held(ArpEntry& e) noexcept;

    /// All slots, free ones included, for the timer scan.
    std::span<ArpEntry> entries() noexcept { return {entries_.get(), capacity_}; }

    uint32_t size() const noexcept { return size_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    uint32_t home(const Addr& ip) const noexcept;
    uint32_t slot_of(const Addr& ip) const noexcept;  // index_ slot holding ip, or index_mask_ + 1
    uint32_t index_of(const ArpEntry& e) const noexcept { return static_cast<uint32_t>(&e - entries_.get()); }

    uint32_t capacity_;
    uint32_t held_max_;
    uint32_t size_ = 0;
    uint32_t hand_ = 0;                          // eviction clock
    uint32_t index_mask_;
    uint32_t hash_shift_;
    std::unique_ptr<ArpEntry[]> entries_;
    std::unique_ptr<uint32_t[]> index_;          // entry number + 1; 0 = empty
    std::unique_ptr<uint32_t[]> free_;           // stack of free entry numbers
    uint32_t free_top_;
    std::unique_ptr<rte_mbuf*[]> held_;          // held_max_ slots per entry
};

using ArpEntry = NeighborEntry<uint32_t>;
using ArpCache = NeighborCache<uint32_t>;
using NdEntry = NeighborEntry<wire::Ip6Addr>;
using NdCache = NeighborCache<wire::Ip6Addr>;
extern template class NeighborCache<uint32_t>;
extern template class NeighborCache<wire::Ip6Addr>;

}  // namespace synack::net
