// Timing wheel cost per timer with 1M timers armed (one busy core's connections). Each node sits in its own
// cache line, as in a TCB, and is picked in random order, so the figures include the cache misses a real
// connection table pays. Deadlines are spread over 2^20 ticks (17 min of 1 ms ticks) unless said otherwise.
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <numeric>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>

#include "timer/wheel.hpp"

namespace {

using synack::timer::TimerNode;
using synack::timer::Wheel;

constexpr size_t kArmed = size_t{1} << 20;
constexpr size_t kBatch = size_t{1} << 14;  // timed operations between two untimed resets
constexpr uint64_t kSpread = uint64_t{1} << 20;

struct alignas(64) FakeTcb {
    TimerNode rto_timer;
};

// splitmix64: deterministic and cheap.
struct Rng {
    uint64_t s;
    uint64_t operator()() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
};

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

// TCBs live in hugepage memory in production (DPDK mempools): ask for transparent hugepages so that page walks
// do not dominate the figures.
std::span<FakeTcb> alloc_tcbs(size_t n, std::unique_ptr<void, FreeDeleter>& owner) {
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t bytes = (n * sizeof(FakeTcb) + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, bytes);
    if (p == nullptr) std::abort();
    madvise(p, bytes, MADV_HUGEPAGE);  // best effort
    owner.reset(p);
    auto* tcbs = static_cast<FakeTcb*>(p);
    for (size_t i = 0; i < n; ++i) new (&tcbs[i]) FakeTcb{};
    return {tcbs, n};
}

// A wheel (1 tick = 1 clock unit, the clock stays at 0) with kArmed timers armed, plus kBatch spare nodes.
struct World {
    std::unique_ptr<Wheel> wheel = std::make_unique<Wheel>(0, 1);
    std::unique_ptr<void, FreeDeleter> memory;
    std::span<FakeTcb> tcbs = alloc_tcbs(kArmed + kBatch, memory);
    std::vector<uint64_t> deadline = std::vector<uint64_t>(kArmed + kBatch);
    std::vector<uint32_t> order = std::vector<uint32_t>(kArmed);  // armed tcbs in random order
    Rng rng{42};

    World() {
        for (auto& d : deadline) d = 1 + rng() % kSpread;
        std::iota(order.begin(), order.end(), 0u);
        for (size_t i = kArmed - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
        for (size_t i = 0; i < kArmed; ++i) wheel->schedule(tcbs[order[i]].rto_timer, deadline[order[i]]);
    }
    TimerNode& spare(size_t i) { return tcbs[kArmed + i].rto_timer; }
};

void BM_TimerSchedule(benchmark::State& state) {
    static World w;
    size_t i = 0;
    for (auto _ : state) {
        w.wheel->schedule(w.spare(i), w.deadline[kArmed + i]);
        if (++i == kBatch) {
            state.PauseTiming();
            for (size_t j = 0; j < kBatch; ++j) w.wheel->cancel(w.spare(j));
            i = 0;
            state.ResumeTiming();
        }
    }
    for (size_t j = 0; j < i; ++j) w.wheel->cancel(w.spare(j));
    if (w.wheel->armed_count() != kArmed) state.SkipWithError("armed count drifted");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerSchedule);

void BM_TimerCancel(benchmark::State& state) {
    static World w;
    size_t i = 0, base = 0;
    for (auto _ : state) {
        w.wheel->cancel(w.tcbs[w.order[base + i]].rto_timer);
        if (++i == kBatch) {
            state.PauseTiming();
            for (size_t j = 0; j < kBatch; ++j) {
                const uint32_t k = w.order[base + j];
                w.wheel->schedule(w.tcbs[k].rto_timer, w.deadline[k]);
            }
            i = 0;
            base = (base + kBatch) % kArmed;
            state.ResumeTiming();
        }
    }
    for (size_t j = 0; j < i; ++j) {
        const uint32_t k = w.order[base + j];
        w.wheel->schedule(w.tcbs[k].rto_timer, w.deadline[k]);
    }
    if (w.wheel->armed_count() != kArmed) state.SkipWithError("armed count drifted");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerCancel);

// Arg 0: a random new deadline (half earlier: relinked, half later: stored only).
// Arg 1: always later, as an RTO restarted by each ACK (stored only, re-filed when its slot comes round).
void BM_TimerReschedule(benchmark::State& state) {
    static World w;
    const bool later = state.range(0) == 1;
    state.SetLabel(later ? "later (RTO restart)" : "random");
    std::vector<uint64_t> fresh(kBatch);
    for (auto& d : fresh) d = 1 + w.rng() % kSpread;
    size_t i = 0;
    for (auto _ : state) {
        const uint32_t k = w.order[i];
        TimerNode& t = w.tcbs[k].rto_timer;
        w.wheel->schedule(t, later ? t.expires + 200 : fresh[i % kBatch]);
        i = (i + 1) % kArmed;
    }
    if (w.wheel->armed_count() != kArmed) state.SkipWithError("armed count drifted");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerReschedule)->Arg(0)->Arg(1);

// One iteration: kArmed timers spread over 2^range(0) ticks all expire, the clock moving one tick per advance()
// (a 1 ms poll loop). /20 (17 min) cascades most timers three times, /8 (256 ms, an RTO) at most once;
// per_timer is the time per fired timer.
void BM_TimerExpire(benchmark::State& state) {
    static World w;
    static uint64_t now = 0;  // the wheel's clock, kept across runs of this function
    const uint64_t spread = uint64_t{1} << state.range(0);
    size_t fired = 0;
    for (auto _ : state) {
        state.PauseTiming();
        if (w.wheel->armed_count() == 0)
            for (size_t i = 0; i < kArmed; ++i) {
                const uint32_t k = w.order[i];
                w.wheel->schedule(w.tcbs[k].rto_timer, now + 1 + w.deadline[k] % spread);
            }
        state.ResumeTiming();
        while (w.wheel->armed_count() > 0)
            fired += w.wheel->advance(++now, [](TimerNode& t) { benchmark::DoNotOptimize(&t); });
    }
    if (fired != kArmed * state.iterations()) state.SkipWithError("not every timer fired");
    state.SetItemsProcessed(static_cast<int64_t>(fired));
    state.counters["per_timer"] =
        benchmark::Counter(static_cast<double>(kArmed), benchmark::Counter::kIsIterationInvariantRate |
                                                            benchmark::Counter::kInvert);
}
BENCHMARK(BM_TimerExpire)->Arg(20)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace
