// Out-of-order segments held until the hole before them fills (RFC 9293 §3.10.7.4, seventh: "queue for later").
// A block of slots is borrowed from the engine's pool only while a connection has a hole, so idle connections
// pay one pointer.
#pragma once
#include <cstdint>

#include "tcp/mbuf_queue.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

struct OooSegment {
    Seq seq;            ///< sequence number of the first byte held
    bool fin = false;   ///< the peer's FIN follows the last byte
    MbufQueue data;
    Seq end() const noexcept { return seq + data.bytes; }
};

struct ReassemblyBlock {
    static constexpr uint32_t kSlots = 16;
    uint32_t count = 0;             ///< slots in use, sorted by seq, never overlapping
    OooSegment seg[kSlots];
    ReassemblyBlock* next_free = nullptr;

    /// Holds bytes [seq, seq + len) of `m` (payload at `off`) plus a FIN flag; parts already held are trimmed away
    /// and neighbours merged. Returns false (and frees `m`) when all slots are taken by other ranges.
    bool insert(Seq seq, rte_mbuf* m, uint32_t off, uint32_t len, bool fin, uint32_t limit) noexcept;
    /// Moves what is now in order at `rcv_nxt` into `out`, dropping bytes below it. Returns bytes moved and
    /// whether a FIN was reached.
    uint32_t pull(Seq rcv_nxt, MbufQueue& out, bool& fin) noexcept;
    uint32_t bytes() const noexcept;
    /// Sum of the held mbufs' true sizes (what the memory budgets count).
    uint32_t truesize() const noexcept;
    /// Drops the held range farthest from RCV.NXT, the last in sequence order (memory pruning takes the newest
    /// data first: it is the least likely to be useful soon). Returns the true size freed, 0 when none is held.
    uint32_t drop_last() noexcept;
    void clear() noexcept;
    uint32_t owner = 0;  ///< index of the TCB using this block (for pruning across connections)
};

}  // namespace synack::tcp
