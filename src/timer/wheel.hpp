// Hierarchical timing wheel (Varghese & Lauck 1987, scheme 7) with intrusive nodes: one wheel per core, no locks.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "util/compiler.hpp"

namespace synack::timer {

/// Intrusive timer link, embedded in its owner (e.g. a TCB); the owner finds itself back with offsetof.
/// Owned by one Wheel while armed; must not be destroyed or moved while armed.
struct TimerNode {
    TimerNode* next = nullptr;
    TimerNode* prev = nullptr;  // nullptr <=> not armed
    uint64_t expires = 0;       // deadline in wheel ticks
    bool armed() const noexcept { return prev != nullptr; }
};

/**
 * Per-core hierarchical timing wheel.
 *
 * Time is kept in ticks of cycles_per_tick cycles counted from the construction time. Six levels of 64 slots
 * cover 2^36 ticks (795 days at 1 ms); a deadline further out is parked in the top level and re-filed each time
 * its slot comes round, so it still never fires early. Level L holds the timers whose deadline first differs
 * from the current tick in bits [6L, 6L+6); when the wheel reaches a slot of level L > 0 its timers are
 * re-filed into lower levels (cascade). One 64-bit occupancy word per level lets advance() jump straight to the
 * next occupied slot, so a long gap costs one step per occupied slot, not one per tick.
 *
 * Costs: schedule and cancel O(1); a timer is re-filed at most once per level on its way down (plus once
 * per 2^36 ticks if parked beyond the range). Pushing an armed timer's deadline later (the usual RTO restart
 * on every ACK) only stores the new deadline: its current slot comes round no later than the old deadline and
 * re-files it then (lazy re-arm, as Linux does).
 *
 * Not thread-safe by design: a wheel belongs to one lcore, like the connections whose timers it holds.
 * No allocation after construction, no virtual calls, no exceptions after the constructor.
 */
class Wheel {
public:
    static constexpr unsigned kLevelBits = 6;
    static constexpr unsigned kSlots = 1u << kLevelBits;  // one 64-bit occupancy word per level
    static constexpr unsigned kLevels = 6;
    static constexpr uint64_t kRangeTicks = uint64_t{1} << (kLevelBits * kLevels);

    /**
     * @param now_cycles current TSC (or injected clock) value; tick 0 starts here.
     * @param cycles_per_tick resolution, e.g. rte_get_tsc_hz() / 1000 for 1 ms ticks. Must be > 0.
     * @throws std::invalid_argument if cycles_per_tick is 0 (cold path).
     */
    Wheel(uint64_t now_cycles, uint64_t cycles_per_tick);
    Wheel(const Wheel&) = delete;
    Wheel& operator=(const Wheel&) = delete;

    /**
     * Arms @p t to fire at the first advance() whose now_cycles >= deadline_cycles rounded up to a whole tick,
     * or re-arms it if already armed. A deadline already reached fires at the next advance(). O(1).
     */
    void schedule(TimerNode& t, uint64_t deadline_cycles) noexcept;

    /// Disarms @p t; no-op if not armed. O(1).
    void cancel(TimerNode& t) noexcept;

    /**
     * Fires every armed timer whose deadline <= now_cycles, in non-decreasing deadline order (timers scheduled
     * with a deadline already reached come first, in scheduling order). on_expire(TimerNode&) is called with
     * the node already disarmed; it may schedule or cancel any timer, including the one being fired, but must
     * not call advance() and must not throw. A timer it arms with a deadline still ahead of the wheel's
     * position fires in this same call if that deadline <= now_cycles; one with a deadline already reached
     * waits for the next advance(), so a re-arm loop cannot spin. now_cycles is expected not to go backwards;
     * if it does, nothing fires until it catches up. @return the number of timers fired.
     */
    template <class F>
    size_t advance(uint64_t now_cycles, F&& on_expire) noexcept;

    uint64_t cycles_per_tick() const noexcept { return cycles_per_tick_; }
    size_t armed_count() const noexcept { return armed_; }

    /**
     * The earliest now_cycles at which advance() may fire a timer, or UINT64_MAX if none is armed.
     * Exact when that timer sits in level 0 or is already due; otherwise a lower bound (the start of its
     * slot), never later than the real expiry, so sleeping until it cannot oversleep. O(levels).
     */
    uint64_t earliest_deadline() const noexcept;

private:
    static constexpr uint64_t kSlotMask = kSlots - 1;
    static_assert(kLevelBits * kLevels < 64, "the top level's span must fit in a shift");

    struct Slot {
        unsigned level;
        unsigned index;
        uint64_t tick;  // when the wheel reaches this slot
    };

    static void init_list(TimerNode& head) noexcept { head.next = head.prev = &head; }
    static bool list_empty(const TimerNode& head) noexcept { return head.next == &head; }
    static void push_back(TimerNode& head, TimerNode& t) noexcept {
        t.next = &head;
        t.prev = head.prev;
        head.prev->next = &t;
        head.prev = &t;
    }
    // Moves every node of `from` onto the empty list `to`.
    static void splice(TimerNode& from, TimerNode& to) noexcept {
        if (list_empty(from)) return;
        to.next = from.next;
        to.prev = from.prev;
        to.next->prev = &to;
        to.prev->next = &to;
        init_list(from);
    }

    uint64_t deadline_tick(uint64_t deadline_cycles) const noexcept {
        // Rounded up: a timer never fires before its deadline.
        return deadline_cycles <= origin_ ? 0 : (deadline_cycles - origin_ - 1) / cycles_per_tick_ + 1;
    }
    // Start of `tick` in cycles; UINT64_MAX - 1 if not representable (UINT64_MAX means "none").
    uint64_t tick_start_cycles(uint64_t tick) const noexcept {
        uint64_t c;
        if (__builtin_mul_overflow(tick, cycles_per_tick_, &c) || __builtin_add_overflow(c, origin_, &c) ||
            c == std::numeric_limits<uint64_t>::max())
            return std::numeric_limits<uint64_t>::max() - 1;
        return c;
    }

    void unlink(TimerNode& t) noexcept {
        TimerNode* p = t.prev;
        TimerNode* n = t.next;
        p->next = n;
        n->prev = p;
        if (p == n) on_list_emptied(p);  // only the head is left
    }
    // Keeps the occupancy bitmap exact: finds the slot from the head's address, so nodes need no slot field.
    void on_list_emptied(const TimerNode* head) noexcept {
        const uintptr_t off = reinterpret_cast<uintptr_t>(head) - reinterpret_cast<uintptr_t>(&slots_[0][0]);
        if (off < sizeof(slots_)) {  // not the due list nor advance()'s local batch
            const size_t i = off / sizeof(TimerNode);
            occupied_[i / kSlots] &= ~(uint64_t{1} << (i % kSlots));
        }
    }

    void insert(TimerNode& t) noexcept;
    bool next_slot(Slot& s) const noexcept;
    template <class F>
    size_t drain(TimerNode& batch, F& on_expire) noexcept;
    void set_next_tick_cycles() noexcept { next_tick_cycles_ = tick_start_cycles(now_tick_ + 1); }

    uint64_t origin_;
    uint64_t cycles_per_tick_;
    uint64_t now_tick_ = 0;          // every timer with expires <= now_tick_ has fired or waits in due_
    uint64_t next_tick_cycles_ = 0;  // advance() before this with due_ empty has nothing to do
    size_t armed_ = 0;
    uint64_t occupied_[kLevels] = {};
    TimerNode due_;  // armed with a deadline already reached; fire at the next advance()
    TimerNode slots_[kLevels][kSlots];
};

inline Wheel::Wheel(uint64_t now_cycles, uint64_t cycles_per_tick)
    : origin_(now_cycles), cycles_per_tick_(cycles_per_tick) {
    if (cycles_per_tick == 0) throw std::invalid_argument("synack::timer::Wheel: cycles_per_tick must be > 0");
    init_list(due_);
    for (auto& level : slots_)
        for (auto& head : level) init_list(head);
    set_next_tick_cycles();
}

inline void Wheel::insert(TimerNode& t) noexcept {
    const uint64_t e = t.expires;
    if (e <= now_tick_) {
        push_back(due_, t);
        return;
    }
    uint64_t diff = (now_tick_ ^ e) | kSlotMask;
    if (SYNACK_UNLIKELY(diff >= kRangeTicks)) diff = kRangeTicks - 1;  // beyond range: park in the top level
    const unsigned level = static_cast<unsigned>(63 - std::countl_zero(diff)) / kLevelBits;
    const unsigned index = static_cast<unsigned>(e >> (level * kLevelBits)) & kSlotMask;
    push_back(slots_[level][index], t);
    occupied_[level] |= uint64_t{1} << index;
}

inline void Wheel::schedule(TimerNode& t, uint64_t deadline_cycles) noexcept {
    const uint64_t e = deadline_tick(deadline_cycles);
    if (t.armed()) {
        // Later deadline: whichever list holds t is visited no later than the old deadline and re-files it.
        if (e >= t.expires) {
            t.expires = e;
            return;
        }
        unlink(t);
    } else {
        ++armed_;
    }
    t.expires = e;
    insert(t);
}

inline void Wheel::cancel(TimerNode& t) noexcept {
    if (!t.armed()) return;
    unlink(t);
    t.next = t.prev = nullptr;
    --armed_;
}

// The first occupied slot the wheel will reach. Lower levels always come first: everything in level L lies
// inside the current slot of level L+1, and level L's occupied slots lie after it. Only the top level can hold
// slots at or behind the current position (timers parked beyond the range); those come round on the next turn.
inline bool Wheel::next_slot(Slot& s) const noexcept {
    for (unsigned level = 0; level < kLevels; ++level) {
        const uint64_t occ = occupied_[level];
        if (occ == 0) continue;
        const unsigned shift = level * kLevelBits;
        const unsigned pos = static_cast<unsigned>(now_tick_ >> shift) & kSlotMask;
        const uint64_t span = uint64_t{1} << (shift + kLevelBits);
        const uint64_t turn = now_tick_ & ~(span - 1);
        const uint64_t ahead = occ & (~uint64_t{1} << pos);  // slots after pos, reached in this turn
        unsigned index;
        uint64_t tick;
        if (SYNACK_LIKELY(ahead != 0)) {
            index = static_cast<unsigned>(std::countr_zero(ahead));
            tick = turn + (uint64_t{index} << shift);
        } else {  // top level only: parked timers, reached in the next turn
            index = static_cast<unsigned>(std::countr_zero(occ));
            tick = turn + span + (uint64_t{index} << shift);
            if (SYNACK_UNLIKELY(tick < turn)) tick = std::numeric_limits<uint64_t>::max();
        }
        s = {level, index, tick};
        return true;
    }
    return false;
}

inline uint64_t Wheel::earliest_deadline() const noexcept {
    if (!list_empty(due_)) return tick_start_cycles(now_tick_);
    Slot s;
    if (!next_slot(s)) return std::numeric_limits<uint64_t>::max();
    return tick_start_cycles(s.tick);
}

// Fires the due nodes of `batch` and re-files the rest (cascade, or a deadline pushed later meanwhile).
// Pops one node at a time so on_expire may cancel or re-arm nodes still in the batch.
template <class F>
size_t Wheel::drain(TimerNode& batch, F& on_expire) noexcept {
    size_t fired = 0;
    while (!list_empty(batch)) {
        TimerNode& t = *batch.next;
        batch.next = t.next;
        t.next->prev = &batch;
        if (t.expires <= now_tick_) {
            t.next = t.prev = nullptr;
            --armed_;
            ++fired;
            on_expire(t);
        } else {
            insert(t);
        }
    }
    return fired;
}

template <class F>
size_t Wheel::advance(uint64_t now_cycles, F&& on_expire) noexcept {
    // Same tick as last time: only timers armed in the past can be due.
    if (now_cycles < next_tick_cycles_ && list_empty(due_)) return 0;
    if (now_cycles < origin_) return 0;
    const uint64_t target = (now_cycles - origin_) / cycles_per_tick_;
    if (target < now_tick_) return 0;  // clock went backwards: firing now could be early

    TimerNode batch;
    init_list(batch);
    // Taken as a whole first: what on_expire arms in the past waits for the next call.
    splice(due_, batch);
    size_t fired = drain(batch, on_expire);

    Slot s;
    while (next_slot(s) && s.tick <= target) {
        now_tick_ = s.tick;
        splice(slots_[s.level][s.index], batch);
        occupied_[s.level] &= ~(uint64_t{1} << s.index);
        fired += drain(batch, on_expire);
    }
    now_tick_ = target;
    set_next_tick_cycles();
    return fired;
}

}  // namespace synack::timer
