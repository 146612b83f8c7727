// Many ESTABLISHED connections on one engine: what each costs in memory, and what finding one costs when a pure
// ACK arrives for a random one (the connection-table lookup plus the TCB's cache misses, inside input()).
//
// Connections are opened by crafted segments (the peer's SYN, then its ACK of our SYN-ACK; no second engine) from
// a small mbuf pool that is recycled. Each engine is built once per size and kept: 1K and 100K always; 1M
// (2^20) only when SYNACK_BENCH_SCALE=1, since its setup takes seconds (the CI smoke runs every registered
// benchmark).
//
// BM_ScaleMemory/N reports, per connection: bytes_per_conn = (sizeof(Engine) + sizeof(Tcb) * N + connection
// table + reassembly blocks + SACK scoreboard pool + fixed per-engine arrays) / N as computed from the types, and rss_per_conn, the
// growth of the resident set (/proc/self/statm) from before the engine was built to after N connections were
// open (rss_build_per_conn: construction alone). setup_us_per_conn: opening cost, two crafted segments each.
// BM_ScaleAckInput/N: input() of a pure ACK (nothing new acknowledged, no reply) to a connection picked at
// random, 32 per timed burst; crafting them is not timed.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.hpp"
#include "tcp/engine.hpp"

namespace {

using namespace synack;
using namespace synack::bench;
using tcp::Engine;
using tcp::Event;

constexpr uint64_t kHz = 1000000;  // injected clock: 1 cycle = 1 µs
constexpr uint32_t kServer = ip4(10, 0, 0, 1);
constexpr uint16_t kServerPort = 80;
constexpr uint32_t kIss = 1000;      // our ISS for every connection (pinned)
constexpr uint32_t kPeerIsn = 5000;  // every peer's ISN
constexpr uint32_t kBurst = 32;

// Connection i's peer: 4096 ports on each of 11.0.0.0 + i / 4096.
uint32_t peer_ip(uint32_t i) { return ip4(11, 0, 0, 0) + (i >> 12); }
uint16_t peer_port(uint32_t i) { return static_cast<uint16_t>(1024 + (i & 0xfff)); }

size_t rss_bytes() {
    unsigned long size = 0, resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    std::fclose(f);
    return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct World {
    uint32_t n;
    rte_mempool* pool = nullptr;  // crafted segments and the engine's SYN-ACKs, recycled
    std::unique_ptr<Engine> engine;
    size_t rss_before = 0, rss_built = 0, rss_filled = 0;
    size_t table_bytes = 0, ooo_bytes = 0, sack_bytes = 0, fixed_bytes = 0, computed_bytes = 0;
    double setup_s = 0;
    bool ok = false;

    explicit World(uint32_t n_) : n(n_) {
        pool = make_pool(("bench_scale_" + std::to_string(n)).c_str(), 1023, RTE_PKTMBUF_HEADROOM + 128);
        TcpConfig cfg;
        cfg.max_connections = n;  // sized to fit exactly
        const auto t0 = std::chrono::steady_clock::now();
        rss_before = rss_bytes();
        engine = std::make_unique<Engine>(cfg, pool, kHz, 0, std::array<uint8_t, 16>{7});
        rss_built = rss_bytes();
        static uint32_t iss = kIss;
        engine->set_isn_hook([](void* c, const tcp::FourTuple&) { return *static_cast<uint32_t*>(c); }, &iss);
        engine->listen(kServer, kServerPort);
        for (uint32_t i = 0; i < n; ++i) {
            open_from_peer(*engine, pool, peer_ip(i), peer_port(i), kServer, kServerPort, kPeerIsn, kIss, 0);
            if ((i & 255) == 255) {  // SYN-ACKs out, accepted events taken: pool and event queue stay small
                drop_tx(*engine);
                engine->dispatch([](const Event&) {});
            }
        }
        drop_tx(*engine);
        engine->dispatch([](const Event&) {});
        rss_filled = rss_bytes();
        setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ok = engine->connections() == n;
        for (uint32_t i = 0; ok && i < n; i += 997) {
            const tcp::Tcb* t = engine->find({kServer, peer_ip(i), kServerPort, peer_port(i)});
            ok = t != nullptr && t->state == State::established;
        }
        // Sizes from the types. The table is measured on a twin built after the RSS readings: freed DPDK heap
        // memory stays resident and a later allocation reusing it would hide from the RSS delta.
        table_bytes = tcp::ConnTable(n).memory_bytes();
        const size_t blocks = std::max<uint32_t>(64, n / 16);  // as Engine's constructor sizes its pool
        ooo_bytes = blocks * sizeof(tcp::ReassemblyBlock);
        sack_bytes = std::clamp<uint32_t>(n / 16, 64, 4096) * sizeof(tcp::SackState);  // the engine's scoreboard pool
        fixed_bytes = sizeof(Engine) + 65536 * sizeof(uint16_t) /* listener by port */ +
                      16384 * sizeof(rte_mbuf*) /* TX ring */ + 4096 * sizeof(Event) /* event queue */ +
                      cfg.max_listeners * 16 /* listeners */;
        computed_bytes = sizeof(tcp::Tcb) * size_t{n} + table_bytes + ooo_bytes + sack_bytes + fixed_bytes;
    }
};

World& world(uint32_t n) {
    // Built once per size and kept for the whole run; never destroyed (at 1M, teardown would only cost time at exit).
    static std::map<uint32_t, World*> all;
    World*& w = all[n];
    if (w == nullptr) w = new World(n);
    return *w;
}

void BM_ScaleMemory(benchmark::State& state) {
    World& w = world(static_cast<uint32_t>(state.range(0)));
    if (!w.ok) {
        state.SkipWithError("not every connection reached ESTABLISHED");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(w.engine->connections());
    const double n = w.n;
    state.counters["connections"] = n;
    state.counters["bytes_per_conn"] = static_cast<double>(w.computed_bytes) / n;
    state.counters["tcb_bytes"] = sizeof(tcp::Tcb);
    state.counters["table_per_conn"] = static_cast<double>(w.table_bytes) / n;
    state.counters["ooo_per_conn"] = static_cast<double>(w.ooo_bytes) / n;
    state.counters["sack_per_conn"] = static_cast<double>(w.sack_bytes) / n;
    state.counters["fixed_per_conn"] = static_cast<double>(w.fixed_bytes) / n;
    state.counters["rss_per_conn"] = static_cast<double>(w.rss_filled - w.rss_before) / n;
    state.counters["rss_build_per_conn"] = static_cast<double>(w.rss_built - w.rss_before) / n;
    state.counters["rss_MiB"] = static_cast<double>(w.rss_filled) / (1 << 20);
    state.counters["setup_s"] = w.setup_s;
    state.counters["setup_us_per_conn"] = w.setup_s * 1e6 / n;
}

void BM_ScaleAckInput(benchmark::State& state) {
    World& w = world(static_cast<uint32_t>(state.range(0)));
    if (!w.ok) {
        state.SkipWithError("not every connection reached ESTABLISHED");
        return;
    }
    const tcp::EngineCounters before = w.engine->counters();
    Rng rng{w.n};
    BatchClock clock;
    rte_mbuf* burst[kBurst];
    for (auto _ : state) {
        for (uint32_t k = 0; k < kBurst; ++k) {
            const auto i = static_cast<uint32_t>(rng() % w.n);
            burst[k] = craft(w.pool, {peer_ip(i), kServer, peer_port(i), kServerPort, kPeerIsn + 1, kIss + 1,
                                      wire::kAck, 65535, 0, nullptr});
        }
        clock.start();
        for (uint32_t k = 0; k < kBurst; ++k) w.engine->input(burst[k], 0);
        state.SetIterationTime(clock.stop());
    }
    const tcp::EngineCounters& after = w.engine->counters();
    const uint64_t segs = state.iterations() * kBurst;
    // A pure ACK of nothing new is absorbed silently: any reply or drop means it missed its connection.
    if (w.engine->tx_pending() != 0 || after.rx_segments - before.rx_segments != segs ||
        after.rx_no_connection != before.rx_no_connection || after.rx_unacceptable != before.rx_unacceptable ||
        after.rx_ack_too_new != before.rx_ack_too_new || after.rx_ack_too_old != before.rx_ack_too_old)
        state.SkipWithError("an ACK was not absorbed by its connection");
    drop_tx(*w.engine);
    state.SetItemsProcessed(static_cast<int64_t>(segs));
    clock.report(state, "seg", static_cast<double>(segs), kBurst);
    state.counters["connections"] = w.n;
}

// SYNACK_BENCH_SCALE=1 adds 1M connections; =16 adds 16M as well (about 5 GiB and a minute of setup): how far
// one core goes on a 24 GiB machine.
int scale_env() {
    const char* v = std::getenv("SYNACK_BENCH_SCALE");
    return v == nullptr ? 0 : std::atoi(v);
}

// Registered here rather than with BENCHMARK(): the 1M case exists only when asked for.
[[maybe_unused]] const bool registered = [] {
    auto* mem = benchmark::RegisterBenchmark("BM_ScaleMemory", BM_ScaleMemory)->Arg(100000);
    auto* ack = benchmark::RegisterBenchmark("BM_ScaleAckInput", BM_ScaleAckInput)->Arg(1024)->Arg(100000);
    if (scale_env() >= 1) {
        mem->Arg(1 << 20);
        ack->Arg(1 << 20);
    }
    if (scale_env() >= 16) mem->Arg(1 << 24);
    ack->UseManualTime();
    return true;
}();

}  // namespace
