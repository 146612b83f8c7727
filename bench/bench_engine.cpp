// The engine's per-segment and per-connection costs, on an injected clock (1 cycle = 1 µs: the engine's notion
// of time only; the "cycles/..." counters are real TSC cycles of this CPU).
//
// BM_EngineDataIn: the ESTABLISHED input path for in-order 1460-byte segments, with the ACK that every second
//   full segment sends (RFC 9293 SHLD-19). Segments are crafted in bursts of 32 outside the timed part; only the
//   32 input() calls are timed (UseManualTime). Between bursts, untimed, the ACKs are drained and freed and the
//   application takes the data (recv_chain) so the window stays open and the mbuf pool never runs dry.
// BM_EngineConnection: whole connections through two engines wired back to back: 3-way handshake, 4-way close
//   (client closes first), TIME-WAIT expiry (2 MSL on the injected clock), 32 connections per iteration.
//
// Arg 0: software checksums (the engine verifies and fills them); 1: offload (TX leaves checksums to the "NIC",
// RX mbufs carry the "checksum good" flags).
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.hpp"
#include "tcp/engine.hpp"

namespace {

using namespace synack;
using namespace synack::bench;
using tcp::ConnId;
using tcp::Engine;
using tcp::Event;
using tcp::EventType;

constexpr uint64_t kHz = 1000000;  // injected clock: 1 cycle = 1 µs
constexpr uint32_t kServer = ip4(10, 0, 0, 1);
constexpr uint32_t kClient = ip4(10, 0, 0, 2);
constexpr uint16_t kServerPort = 80;
constexpr uint16_t kClientPort = 40000;
constexpr uint32_t kBurst = 32;
constexpr uint16_t kMss = 1460;

const std::array<uint8_t, 16> kKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// ---- (a) established-state input ----

// One engine holding one ESTABLISHED connection, opened by crafted segments; the benchmark plays the peer.
struct DataPath {
    static constexpr uint32_t kIss = 1000;
    static constexpr uint32_t kPeerIsn = 5000;

    rte_mempool* pool;
    std::unique_ptr<Engine> engine;
    ConnId conn;
    uint32_t peer_seq = kPeerIsn + 1;  // next byte the peer sends
    uint64_t now = 0;
    bool offload;

    explicit DataPath(bool offload_) : offload(offload_) {
        pool = make_pool(offload ? "bench_data_ol" : "bench_data_sw", 1023);
        TcpConfig cfg;
        cfg.max_connections = 64;
        cfg.tx_checksum_offload = offload;
        engine = std::make_unique<Engine>(cfg, pool, kHz, now, kKey);
        static uint32_t iss = kIss;
        engine->set_isn_hook([](void* c, const tcp::FourTuple&) { return *static_cast<uint32_t*>(c); }, &iss);
        engine->listen(0, kServerPort);
        open_from_peer(*engine, pool, kClient, kClientPort, kServer, kServerPort, kPeerIsn, kIss, now);
        drop_tx(*engine);
        engine->dispatch([&](const Event& e) {
            if (e.type == EventType::accepted) conn = e.conn;
        });
    }
};

void BM_EngineDataIn(benchmark::State& state) {
    const bool offload = state.range(0) != 0;
    // Built once and kept for the whole run; never destroyed, as tearing engines down at exit would only cost time.
    static DataPath& sw = *new DataPath(false);
    static DataPath& ol = *new DataPath(true);
    DataPath& d = offload ? ol : sw;
    if (d.engine->state(d.conn) != State::established) {
        state.SkipWithError("fixture connection is not ESTABLISHED");
        return;
    }
    const tcp::EngineCounters before = d.engine->counters();
    BatchClock clock;
    uint64_t acks = 0;
    rte_mbuf* burst[kBurst];
    for (auto _ : state) {
        for (uint32_t i = 0; i < kBurst; ++i) {
            burst[i] = craft(d.pool,
                             {kClient, kServer, kClientPort, kServerPort, d.peer_seq + i * kMss, DataPath::kIss + 1,
                              wire::kAck, 65535, 0, nullptr},
                             kMss);
            if (offload) mark_rx_cksum_good(burst[i]);
        }
        clock.start();
        for (uint32_t i = 0; i < kBurst; ++i) d.engine->input(burst[i], d.now);
        state.SetIterationTime(clock.stop());
        d.peer_seq += kBurst * kMss;
        acks += drop_tx(*d.engine);
        rte_pktmbuf_free(d.engine->recv_chain(d.conn));
        d.engine->dispatch([](const Event&) {});
        d.now += kBurst;  // 1 µs per segment: ~12 Gbit/s
        d.engine->advance(d.now);
    }
    const tcp::EngineCounters& after = d.engine->counters();
    const uint64_t segs = state.iterations() * kBurst;
    if (after.rx_data_segments - before.rx_data_segments != segs || after.rx_unacceptable != before.rx_unacceptable ||
        after.rx_duplicate_data != before.rx_duplicate_data)
        state.SkipWithError("not every segment was taken in order");
    state.SetItemsProcessed(static_cast<int64_t>(segs));
    state.SetBytesProcessed(static_cast<int64_t>(segs * kMss));
    clock.report(state, "seg", static_cast<double>(segs), kBurst);
    state.counters["acks/seg"] = static_cast<double>(acks) / static_cast<double>(segs);
    state.SetLabel(offload ? "checksum offload" : "software checksums");
}
BENCHMARK(BM_EngineDataIn)->ArgName("offload")->Arg(0)->Arg(1)->UseManualTime();

// ---- (b) whole connections, two engines back to back ----

struct Pair {
    static constexpr uint32_t kPerIteration = 32;
    static constexpr uint32_t kMslMs = 30000;  // the default: TIME-WAIT lasts 60 s of injected time

    rte_mempool* pool;
    std::unique_ptr<Engine> client, server;
    uint64_t now = 0;
    bool offload;

    explicit Pair(bool offload_) : offload(offload_) {
        pool = make_pool(offload ? "bench_pair_ol" : "bench_pair_sw", 1023);
        TcpConfig cfg;
        cfg.max_connections = 256;
        cfg.msl_ms = kMslMs;
        cfg.tx_checksum_offload = offload;
        client = std::make_unique<Engine>(cfg, pool, kHz, now, kKey);
        server = std::make_unique<Engine>(cfg, pool, kHz, now, std::array<uint8_t, 16>{9, 9, 9});
        server->listen(kServer, kServerPort);
    }

    // Moves everything `from` has queued into `to`. Returns the number of segments moved.
    uint32_t wire(Engine& from, Engine& to) {
        rte_mbuf* b[32];
        uint32_t moved = 0;
        uint16_t n;
        while ((n = from.drain_tx(b, 32)) > 0) {
            for (uint16_t i = 0; i < n; ++i) {
                if (offload) mark_rx_cksum_good(b[i]);  // the "NIC" filled and checked the sums
                to.input(b[i], now);
            }
            moved += n;
        }
        return moved;
    }

    // kPerIteration connections from open to CLOSED on both sides. Returns false if any is left over.
    bool run(uint32_t& closed_events) {
        for (uint32_t k = 0; k < kPerIteration; ++k) {
            ConnId c;
            if (client->connect(kClient, 0, kServer, kServerPort, k, c) != 0) return false;
        }
        auto on_client = [&](const Event& e) {
            if (e.type == EventType::connected) client->close(e.conn);  // the client closes first
            if (e.type == EventType::closed) ++closed_events;
        };
        auto on_server = [&](const Event& e) {
            if (e.type == EventType::peer_closed) server->close(e.conn);
            if (e.type == EventType::closed) ++closed_events;
        };
        for (int round = 0; round < 16; ++round) {
            const uint32_t moved = wire(*client, *server) + wire(*server, *client);
            client->dispatch(on_client);
            server->dispatch(on_server);
            if (moved == 0 && client->tx_pending() == 0 && server->tx_pending() == 0) break;
            now += 10;  // 10 µs per loop round
            client->advance(now);
            server->advance(now);
        }
        now += 2000ull * kMslMs + 1000;  // 2 MSL and a tick: every TIME-WAIT expires
        client->advance(now);
        server->advance(now);
        return client->connections() == 0 && server->connections() == 0 && client->tx_pending() == 0;
    }
};

void BM_EngineConnection(benchmark::State& state) {
    const bool offload = state.range(0) != 0;
    static Pair& sw = *new Pair(false);  // never destroyed, as above
    static Pair& ol = *new Pair(true);
    Pair& p = offload ? ol : sw;
    const uint64_t segs_before = p.client->counters().tx_segments + p.server->counters().tx_segments;
    BatchClock clock;
    uint32_t closed = 0;
    bool ok = true;
    for (auto _ : state) {
        clock.start();
        ok &= p.run(closed);
        clock.stop();
    }
    const uint64_t conns = state.iterations() * Pair::kPerIteration;
    const uint64_t segs = p.client->counters().tx_segments + p.server->counters().tx_segments - segs_before;
    if (!ok || closed != 2 * conns) {
        state.SkipWithError(("connections left over: client " + std::to_string(p.client->connections()) +
                             ", server " + std::to_string(p.server->connections()))
                                .c_str());
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(conns));
    clock.report(state, "conn", static_cast<double>(conns), Pair::kPerIteration);
    clock.report(state, "seg", static_cast<double>(segs),
                 static_cast<double>(segs) / static_cast<double>(state.iterations()));
    state.counters["segs/conn"] = static_cast<double>(segs) / static_cast<double>(conns);
    state.SetLabel(offload ? "checksum offload" : "software checksums");
}
BENCHMARK(BM_EngineConnection)->ArgName("offload")->Arg(0)->Arg(1);

}  // namespace
