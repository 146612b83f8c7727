// How long Channel::wait polls its queues before it parks on the futex, and whether it may poll at all.
// - Never on a CPU a polling lcore may run on: the poller holds that CPU, so a spinning thread only takes turns
//   away from the work it waits for (the thread's affinity against the lcores' CPUs, not a count of CPUs).
// - Adaptive, as KVM's halt polling and the guest's cpuidle-haltpoll adapt their window: a wait that parked and
//   whose event came within the largest budget says a longer spin would have caught it (grow); a wait whose event
//   came after it says spinning is wasted here (shrink). A spin that ends in an event leaves the budget alone.
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

}  // namespace synack::dpdk
