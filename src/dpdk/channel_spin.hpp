// How long Channel::wait polls its queues before it parks on the futex, and whether it may poll at all.
// - Never on a CPU a polling lcore may run on: the poller holds that CPU, so a spinning thread only takes turns
//   away from the work it waits for (the thread's affinity against the lcores' CPUs, not a count of CPUs).
// - Adaptive, as KVM's halt polling and the guest's cpuidle-haltpoll adapt their window: a wait that parked and
//   whose event came within the largest budget says a longer spin would have caught it (grow); a wait whose event
//   came after it says spinning is wasted here (shrink). A spin that ends in an event leaves the budget alone.
// - Between polls the spin gives the CPU away (sched_yield) only while somebody else wants it: a yield costs
//   about 0.5 us of system call on this VM even when nothing else is runnable, twice a cross-core hand-off, so a
//   thread alone on its CPU polls with a pause instead and yields only now and then to find out (YieldPacer).
// All times are TSC cycles. Used by the application thread only: no atomics.
#pragma once
#include <sched.h>

#include <algorithm>
#include <cstdint>

namespace synack::dpdk {

/// True when a thread allowed on `thread_cpus` never runs where a polling lcore does (`poller_cpus`).
inline bool may_spin(const cpu_set_t& thread_cpus, const cpu_set_t& poller_cpus) noexcept {
    cpu_set_t both;
    CPU_AND(&both, &thread_cpus, &poller_cpus);
    return CPU_COUNT(&thread_cpus) > 0 && CPU_COUNT(&both) == 0;
}

class SpinBudget {
public:
    /// `max`: the largest budget (0: never spin); `start`: the first budget after a shrink to nothing.
    SpinBudget(uint64_t max, uint64_t start) noexcept : max_(max), start_(std::min(start, max)), cur_(max) {}

    uint64_t budget() const noexcept { return cur_; }
    uint64_t max() const noexcept { return max_; }

    /// A wait that parked, and got its event (or gave up) `waited` cycles after it began.
    void parked(uint64_t waited) noexcept {
        if (waited <= max_) {  // a longer spin would have caught it
            cur_ = cur_ == 0 ? start_ : std::min(max_, cur_ * 2);
        } else {  // it came after the longest spin: the spin was time taken from others
            cur_ /= 2;
            if (cur_ < start_) cur_ = 0;
        }
    }

private:
    uint64_t max_;
    uint64_t start_;
    uint64_t cur_;
};

/// When Channel::spin yields between polls. A yield that returns later than a bare system call would means another
/// thread ran on this CPU (a client sharing it, say): from then on it yields at every poll, so that thread runs at
/// once. Yields that return at once say the CPU is ours: the gap between yields doubles up to `max_gap`.
class YieldPacer {
public:
    /// `contended`: a yield longer than this gave the CPU to another thread; `max_gap`: the longest time between
    /// yields while nobody else wants the CPU.
    YieldPacer(uint64_t contended, uint64_t max_gap) noexcept : contended_(contended), max_gap_(max_gap) {}

    /// True when a poll at `now` should be followed by a yield.
    bool due(uint64_t now) const noexcept { return now - last_ >= gap_; }
    /// A yield that began at `start` and returned at `end`.
    void yielded(uint64_t start, uint64_t end) noexcept {
        last_ = end;
        if (end - start > contended_)
            gap_ = 0;
        else
            gap_ = gap_ == 0 ? kFirstGap : std::min(max_gap_, gap_ * 2);
    }
    uint64_t gap() const noexcept { return gap_; }

private:
    static constexpr uint64_t kFirstGap = 1024;  // cycles: doubles from here
    uint64_t contended_;
    uint64_t max_gap_;
    uint64_t gap_ = 0;  // 0: yield at every poll (until the CPU proves to be ours)
    uint64_t last_ = 0;
};

}  // namespace synack::dpdk
