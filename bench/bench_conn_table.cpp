// Connection table: lookups (hit, miss, prefetched burst) and insert+erase churn at 1K, 100K and 1M
// entries, the table filled to its capacity (load factor <= 0.7), keys visited in random order.
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "tcp/conn_table.hpp"

using namespace synack::tcp;

namespace {

struct Keyed {
    FourTuple t;
    uint32_t hash;
};

FourTuple tuple_for(uint32_t i, uint32_t salt) {
    // Distinct for distinct (i, salt): server 10.0.0.1:80, clients spread over IPs and ports.
    return FourTuple{0x0a000001, 0xc0000000u ^ (salt << 24) ^ (i >> 12), 80, static_cast<uint16_t>(1024 + (i & 0xfff))};
}

// Built once per size and kept: filling 1M entries takes longer than a benchmark run.
struct Fixture {
    std::unique_ptr<ConnTable> table;
    std::vector<Keyed> present;  // inserted, in random order
    std::vector<Keyed> absent;   // never inserted, in random order
};

Fixture& fixture(uint32_t n) {
    static std::map<uint32_t, Fixture> all;
    auto [it, fresh] = all.try_emplace(n);
    Fixture& f = it->second;
    if (!fresh) return f;
    f.table = std::make_unique<ConnTable>(n);
    std::mt19937 rng(n);
    for (uint32_t i = 0; i < n; ++i) {
        FourTuple t = tuple_for(i, 0);
        f.present.push_back({t, ConnTable::hash(t)});
        t = tuple_for(i, 1);
        f.absent.push_back({t, ConnTable::hash(t)});
    }
    std::shuffle(f.present.begin(), f.present.end(), rng);
    std::shuffle(f.absent.begin(), f.absent.end(), rng);
    for (uint32_t i = 0; i < n; ++i) f.table->insert(f.present[i].t, f.present[i].hash, i);
    return f;
}

void BM_ConnLookupHit(benchmark::State& state) {
    Fixture& f = fixture(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        const Keyed& k = f.present[i];
        benchmark::DoNotOptimize(f.table->lookup(k.t, k.hash));
        if (++i == f.present.size()) i = 0;
    }
}

void BM_ConnLookupMiss(benchmark::State& state) {
    Fixture& f = fixture(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        const Keyed& k = f.absent[i];
        benchmark::DoNotOptimize(f.table->lookup(k.t, k.hash));
        if (++i == f.absent.size()) i = 0;
    }
}

// What the RX path does: prefetch the whole burst of 32, then look each up. Time is per lookup.
void BM_ConnLookupHitBurst32(benchmark::State& state) {
    Fixture& f = fixture(static_cast<uint32_t>(state.range(0)));
    constexpr size_t kBurst = 32;
    const size_t bursts = f.present.size() / kBurst;
    size_t i = 0;
    for (auto _ : state) {
        const Keyed* k = &f.present[i * kBurst];
        for (size_t j = 0; j < kBurst; ++j) f.table->prefetch(k[j].hash);
        for (size_t j = 0; j < kBurst; ++j) benchmark::DoNotOptimize(f.table->lookup(k[j].t, k[j].hash));
        if (++i == bursts) i = 0;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}

// Connection churn at a full table: one connection closes, another opens.
void BM_ConnInsertErase(benchmark::State& state) {
    Fixture& f = fixture(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        const Keyed& gone = f.present[i];
        const Keyed& in = f.absent[i];
        f.table->erase(gone.t, gone.hash);
        f.table->insert(in.t, in.hash, static_cast<uint32_t>(i));
        f.table->erase(in.t, in.hash);
        f.table->insert(gone.t, gone.hash, static_cast<uint32_t>(i));
        if (++i == f.present.size()) i = 0;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));  // 2 insert+erase pairs
}

void BM_ConnHash(benchmark::State& state) {
    FourTuple t{0x0a000001, 0xc0a80001, 80, 1024};
    for (auto _ : state) {
        benchmark::DoNotOptimize(ConnTable::hash(t));
        ++t.remote_port;
    }
}

}  // namespace

BENCHMARK(BM_ConnLookupHit)->Arg(1 << 10)->Arg(100000)->Arg(1 << 20);
BENCHMARK(BM_ConnLookupMiss)->Arg(1 << 10)->Arg(100000)->Arg(1 << 20);
BENCHMARK(BM_ConnLookupHitBurst32)->Arg(1 << 10)->Arg(100000)->Arg(1 << 20);
BENCHMARK(BM_ConnInsertErase)->Arg(1 << 10)->Arg(100000)->Arg(1 << 20);
BENCHMARK(BM_ConnHash);
