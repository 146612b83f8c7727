// A single-producer/single-consumer queue between two threads on different CPUs, built so that a hand-off moves
// one cache line: the slot itself. Boost.Lockfree's spsc_queue (and rte_ring) publish through head and tail
// indices that both sides read on every operation, so each push or pop also misses on the other side's index:
// three cache-line transfers per hand-off, each about 50 ns between this VM's two CPUs, and the Channel path pays
// one hand-off per event and per command (bench/results/channel.md). Here:
// - each slot carries its own sequence number, written last: the consumer polls the slot it will read next, and
//   finds the payload on the same line;
// - the producer reads the consumer's published position only when its cached copy says the queue is full, so a
//   push never waits for a line the consumer holds.
// T must be trivially copyable. Capacity is rounded up to a power of two. One thread pushes, one thread pops.
#pragma once
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace synack::util {

template <class T>
class HandoffQueue {
    static_assert(std::is_trivially_copyable_v<T>, "slots are copied without constructors");

public:
    static constexpr uint32_t kMaxCapacity = 1u << 24;  // 1 GiB of slots

    /// Throws std::invalid_argument above kMaxCapacity.
    explicit HandoffQueue(uint32_t capacity)
        : slots_(new Slot[rounded(capacity)]), mask_(rounded(capacity) - 1) {}

    /// The producer's side. False when full (the value is not queued).
    bool push(const T& v) noexcept {
        const uint64_t n = head_;
        if (n - tail_seen_ > mask_) {  // full as far as we knew: look at how far the consumer really is
            tail_seen_ = tail_pub_.load(std::memory_order_acquire);
            if (n - tail_seen_ > mask_) return false;
        }
        Slot& s = slots_[n & mask_];
        s.value = v;
        s.seq.store(n + 1, std::memory_order_release);  // after the value: the consumer's acquire sees both
        head_ = n + 1;
        return true;
    }

    /// The consumer's side. False when empty.
    bool pop(T& out) noexcept {
        const uint64_t n = tail_;
        Slot& s = slots_[n & mask_];
        if (s.seq.load(std::memory_order_acquire) != n + 1) return false;  // not written yet (or an older lap)
        out = s.value;
        tail_ = n + 1;
        tail_pub_.store(n + 1, std::memory_order_release);  // lets the producer reuse the slot
        return true;
    }

    uint32_t capacity() const noexcept { return static_cast<uint32_t>(mask_ + 1); }

private:
    static uint32_t rounded(uint32_t capacity) {
        if (capacity > kMaxCapacity) throw std::invalid_argument("queue capacity above 2^24 slots");
        return std::bit_ceil(capacity < 2 ? 2u : capacity);
    }

    struct alignas(64) Slot {
        std::atomic<uint64_t> seq{0};  // n + 1 once the n-th value is in (0: never written)
        T value{};
    };

    // The producer's line, the consumer's line, the consumer's published position, then what neither writes.
    alignas(64) uint64_t head_ = 0;    // values pushed
    uint64_t tail_seen_ = 0;           // the consumer's position when the producer last looked
    alignas(64) uint64_t tail_ = 0;    // values popped
    alignas(64) std::atomic<uint64_t> tail_pub_{0};
    alignas(64) std::unique_ptr<Slot[]> slots_;
    uint64_t mask_;
};

}  // namespace synack::util
