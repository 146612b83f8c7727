// The impairment link for --loopback --impair: one direction of the in-process wire that loses, corrupts,
// duplicates, reorders, delays and rate-limits frames, deterministically from a seed. It sits on the receiving
// port as a DPDK RX callback, so the worker loop is unchanged: each rx_burst hands it what the ring delivered and
// takes back what is due. It runs on the receiving lcore only; its storage is allocated once at start.
#pragma once
#include <cstdint>
#include <vector>

#include <rte_mbuf.h>

#include "synack/stack.hpp"

namespace synack::dpdk {

class ImpairLink {
public:
    /// Every frame taken in is delivered, dropped with a count, or freed by the destructor.
    struct Stats {
        uint64_t frames_in = 0;
        uint64_t delivered = 0;
        uint64_t lost = 0;            ///< dropped by the loss share
        uint64_t queue_dropped = 0;   ///< tail drop at the rate limit's full buffer
        uint64_t overflow_dropped = 0;  ///< the link's own storage was full (raise it if this counts)
        uint64_t duplicated = 0;
        uint64_t corrupted = 0;
        uint64_t reordered = 0;
        uint64_t no_mbuf = 0;         ///< a copy for duplication or corruption failed: the frame went on unimpaired
    };

    static constexpr uint32_t kDefaultCapacity = 1u << 16;  ///< frames in flight on the link (delay x rate)
    static constexpr uint32_t kLateCapacity = 1024;         ///< frames held back for reordering

    ImpairLink(const LinkImpairment& cfg, rte_mempool* pool, uint64_t hz, uint32_t capacity = kDefaultCapacity);
    ~ImpairLink();
    ImpairLink(const ImpairLink&) = delete;
    ImpairLink& operator=(const ImpairLink&) = delete;

    /// Takes ownership of pkts[0, n), then writes the frames due at `now` (cycles) into pkts, at most `max`, and
    /// returns how many.
    uint16_t process(rte_mbuf** pkts, uint16_t n, uint16_t max, uint64_t now) noexcept;

    /// rte_rx_callback_fn: `self` is the ImpairLink.
    static uint16_t rx_callback(uint16_t port, uint16_t queue, rte_mbuf* pkts[], uint16_t n, uint16_t max,
                                void* self) noexcept;

    const Stats& stats() const noexcept { return st_; }
    uint32_t held() const noexcept { return count_ + late_count_; }

private:
    struct Held {
        uint64_t due;
        rte_mbuf* m;
    };
    uint64_t next_random() noexcept;
    double uniform() noexcept { return static_cast<double>(next_random() >> 11) * 0x1.0p-53; }
    void admit(rte_mbuf* m, uint64_t now) noexcept;
    static constexpr uint64_t kDropped = UINT64_MAX;
    /// The bottleneck: when the frame leaves the link, or kDropped if its buffer is full.
    uint64_t schedule(const rte_mbuf* m, uint64_t now) noexcept;
    void hold(rte_mbuf* m, uint64_t due) noexcept;
    rte_mbuf* corrupted_copy(rte_mbuf* m) noexcept;

    LinkImpairment cfg_;
    rte_mempool* pool_;
    uint64_t rng_;
    uint64_t delay_cycles_;
    uint64_t reorder_cycles_;
    double cycles_per_bit_;       ///< 0: no rate limit
    uint64_t max_backlog_cycles_; ///< the buffer, as the time to drain it
    uint64_t link_free_ = 0;      ///< when the bottleneck finishes the last frame scheduled
    std::vector<Held> fifo_;      ///< in due order (constant delay after a FIFO bottleneck keeps it so)
    uint32_t head_ = 0, count_ = 0;
    Held late_[kLateCapacity];
    uint32_t late_count_ = 0;
    Stats st_;
};

}  // namespace synack::dpdk
