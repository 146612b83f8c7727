/// @file
/// Fixed-capacity FIFO of mbufs owned by one core: the frames an Interface has ready for rte_eth_tx_burst.
/// Storage is allocated once at construction; push/pop never allocate. Mbufs still queued are freed on destruction.
#pragma once
#include <bit>
#include <cstdint>
#include <memory>

#include <rte_mbuf.h>

namespace synack::net {

class MbufRing {
public:
    explicit MbufRing(uint32_t capacity)
        : slots_(std::make_unique<rte_mbuf*[]>(std::bit_ceil(capacity))),
          mask_(std::bit_ceil(capacity) - 1),
          capacity_(capacity) {}
    ~MbufRing() {
        while (head_ != tail_) rte_pktmbuf_free(slots_[head_++ & mask_]);
    }
    MbufRing(const MbufRing&) = delete;
    MbufRing& operator=(const MbufRing&) = delete;

    /// Appends m; false (m untouched, still the caller's) when the ring holds capacity() frames.
    bool push(rte_mbuf* m) noexcept {
        if (tail_ - head_ == capacity_) [[unlikely]]
            return false;
        slots_[tail_++ & mask_] = m;
        return true;
    }

    /// Moves up to n frames, oldest first, into out; the caller owns them.
    uint16_t pop_burst(rte_mbuf** out, uint16_t n) noexcept {
        uint32_t k = tail_ - head_;
        if (k > n) k = n;
        for (uint32_t i = 0; i < k; ++i) out[i] = slots_[head_++ & mask_];
        return static_cast<uint16_t>(k);
    }

    uint32_t size() const noexcept { return tail_ - head_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    std::unique_ptr<rte_mbuf*[]> slots_;
    uint32_t mask_;
    uint32_t capacity_;
    uint32_t head_ = 0;  // free-running; index with & mask_
    uint32_t tail_ = 0;
};

}  // namespace synack::net
