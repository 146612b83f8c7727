// A byte queue of mbuf segments linked through rte_mbuf::next, without copying (send and receive buffers).
// Each linked element is a single-segment mbuf; the head does not carry the chain's totals, this struct does.
#pragma once
#include <cstdint>

#include <rte_mbuf.h>

namespace synack::tcp {

/// What an mbuf pins, whatever it carries (as Linux's skb truesize): its whole buffer and its header. A one-byte
/// segment costs as much as a full one; memory budgets count this, not payload bytes. A reference (indirect mbuf,
/// as an in-process link delivers a sender's buffers) shares a buffer its owner already pays for, often a 16 KB bulk
/// buffer sliced into a dozen segments: it costs one standard mbuf, as the same segment from a NIC would, or one
/// 1448-byte segment would count 16 KB and a 64 KB window would not fit its own budget. Both values are fixed for
/// the mbuf's life in a queue, so what is added is what is taken away.
inline uint32_t mbuf_truesize(const rte_mbuf* m) noexcept {
    return RTE_MBUF_DIRECT(m) ? uint32_t{m->buf_len} + sizeof(rte_mbuf) : RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(rte_mbuf);
}

struct MbufQueue {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint32_t bytes = 0;
    uint32_t truesize = 0;  ///< sum of mbuf_truesize() over the segments held (fits the padding: still 24 bytes)

    /// Pieces up to this size are copied into the tail mbuf when it has room (see append_range).
    static constexpr uint32_t kCoalesceMax = 512;

    bool empty() const noexcept { return head == nullptr; }
    /// The tail is ours alone and has `n` bytes of room after its data.
    bool can_grow_tail(uint32_t n) const noexcept {
        return tail != nullptr && RTE_MBUF_DIRECT(tail) && rte_mbuf_refcnt_read(tail) == 1 &&
               rte_pktmbuf_tailroom(tail) >= n;
    }

    /// Appends every segment of the chain `m` (ownership moves to the queue); empty segments are freed.
    void append_chain(rte_mbuf* m) noexcept;
    /// Appends bytes [off, off + len) of the chain `m`, which the queue takes over; the rest of `m` is freed.
    void append_range(rte_mbuf* m, uint32_t off, uint32_t len) noexcept;
    /// Moves all of `other` to the end of this queue.
    void splice(MbufQueue& other) noexcept {
        if (other.head == nullptr) return;
        if (tail != nullptr)
            tail->next = other.head;
        else
            head = other.head;
        tail = other.tail;
        bytes += other.bytes;
        truesize += other.truesize;
        other = MbufQueue{};
    }
    /// Drops `n` bytes from the front (n <= bytes), freeing whole segments.
    void drop_front(uint32_t n) noexcept;
    /// Copies up to `len` bytes from the front into `dst` and drops them. Returns bytes copied.
    uint32_t read(void* dst, uint32_t len) noexcept;
    /// Detaches everything as one well-formed mbuf chain (pkt_len and nb_segs set); nullptr when empty.
    rte_mbuf* take_chain() noexcept;
    /// Appends one empty single-segment mbuf (the caller then writes into it).
    void push_back_seg(rte_mbuf* m) noexcept {
        m->next = nullptr;
        if (tail != nullptr) tail->next = m; else head = m;
        tail = m;
        truesize += mbuf_truesize(m);
    }
    /// Frees everything.
    void clear() noexcept;
    /// Copies the bytes into as few fresh mbufs from `pool` as they fit (Linux's collapse), when that saves at
    /// least `min_saved` mbufs; stops where `pool` runs dry, keeping the rest as it was. Returns mbufs saved.
    uint32_t collapse(rte_mempool* pool, uint32_t min_saved) noexcept;
    /// The segment holding byte `offset` from the front, and the offset inside it; nullptr past the end.
    rte_mbuf* find(uint32_t offset, uint32_t& in_seg) const noexcept;
};

/// The send buffer: find() walks on from where the previous call stopped when `offset` is not behind it. The
/// sender asks for rising offsets, and a walk from the front each time would cost O(bytes in flight) per segment.
/// (Only here: the receive side never searches, and 16 bytes more per queue add up over 1M connections.)
struct SendQueue : MbufQueue {
    rte_mbuf* find(uint32_t offset, uint32_t& in_seg) const noexcept;
    void drop_front(uint32_t n) noexcept;
    void clear() noexcept {
        MbufQueue::clear();
        hint_ = nullptr;
    }
    uint32_t collapse(rte_mempool*, uint32_t) noexcept = delete;  // sent data is referenced by segments in flight
    // These would drop bytes behind the hint's back.
    uint32_t read(void* dst, uint32_t len) noexcept = delete;
    rte_mbuf* take_chain() noexcept = delete;

private:
    mutable rte_mbuf* hint_ = nullptr;  ///< a segment still in the queue (or nullptr)...
    mutable uint32_t hint_off_ = 0;     ///< ...and the offset of its first byte from the front
};

}  // namespace synack::tcp
