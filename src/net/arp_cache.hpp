/// @file
/// The ARP translation table of one Interface (RFC 826), owned by one core. Fixed size, allocated at construction:
/// an entry array, an open-addressing index over it (linear probing, backward-shift deletion) and, per entry, a
/// small ring of packets held while the address is being resolved (RFC 1122 §2.3.2.2). No allocation afterwards.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include <rte_ether.h>
#include <rte_mbuf.h>

namespace synack::net {

enum class ArpState : uint8_t {
    free,        ///< slot unused
    incomplete,  ///< request sent, no answer yet; packets may be held
    reachable,   ///< mac known until deadline
};

struct ArpEntry {
    uint32_t ip = 0;                      ///< host byte order
    ArpState state = ArpState::free;
    bool referenced = false;              ///< used since the eviction hand last passed (second chance)
    rte_ether_addr mac{};
    uint32_t requests = 0;                ///< requests sent while incomplete
    uint64_t deadline = 0;                ///< incomplete: next retry or failure; reachable: expiry (TSC cycles)
    uint32_t held_head = 0;               ///< first held packet, index into this entry's ring
    uint32_t held_count = 0;
};

class ArpCache {
public:
    /// Cold: allocates capacity entries and capacity * held_max packet slots.
    ArpCache(uint32_t capacity, uint32_t held_max);
    ~ArpCache();  // frees held packets
    ArpCache(const ArpCache&) = delete;
    ArpCache& operator=(const ArpCache&) = delete;

    ArpEntry* find(uint32_t ip) noexcept;
    const ArpEntry* find(uint32_t ip) const noexcept;

    /// A new entry for ip (which must not be present), state free, to be filled in by the caller. When the table is
    /// full a reachable entry is evicted (second-chance clock; *evicted set); nullptr when every entry is
    /// incomplete.
    ArpEntry* insert(uint32_t ip, bool* evicted) noexcept;

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
    uint32_t home(uint32_t ip) const noexcept;
    uint32_t slot_of(uint32_t ip) const noexcept;  // index_ slot holding ip, or index_mask_ + 1
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

}  // namespace synack::net
