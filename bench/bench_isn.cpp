// ISN generation (RFC 6528): SipHash-2-4 of the 4-tuple plus the 4 µs clock, once per active open.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include "tcp/isn.hpp"
#include "tcp/siphash.hpp"

using namespace synack::tcp;

// The ISN alone: the caller already holds the burst's TSC reading.
static void BM_IsnGenerate(benchmark::State& state) {
    const IsnGenerator gen;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t now = rte_rdtsc();
    FourTuple t{0x0a000001, 0x0a000002, 80, 40000};
    for (auto _ : state) {
        benchmark::DoNotOptimize(gen.isn(t, now, hz));
        ++t.remote_port;
        now += 977;
    }
}
BENCHMARK(BM_IsnGenerate);

// With a TSC read per call, as an active open outside a burst would do.
static void BM_IsnGenerateWithRdtsc(benchmark::State& state) {
    const IsnGenerator gen;
    const uint64_t hz = rte_get_tsc_hz();
    FourTuple t{0x0a000001, 0x0a000002, 80, 40000};
    for (auto _ : state) {
        benchmark::DoNotOptimize(gen.isn(t, rte_rdtsc(), hz));
        ++t.remote_port;
    }
}
BENCHMARK(BM_IsnGenerateWithRdtsc);

static void BM_IsnSipHash12(benchmark::State& state) {
    const std::array<uint8_t, 16> key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t msg[12] = {};
    for (auto _ : state) {
        benchmark::DoNotOptimize(siphash24(key, msg, sizeof msg));
        ++msg[11];
    }
}
BENCHMARK(BM_IsnSipHash12);
