// Shared by the wire, engine and scale benchmarks: mbuf pools, crafted segments ("from the peer"), a batch timer
// that reports wall time and TSC cycles per item, and a cheap deterministic RNG.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "wire/segment.hpp"

namespace synack::bench {

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

/// An mbuf pool of its own for one fixture (cold path: throws with DPDK's reason when it cannot be made).
inline rte_mempool* make_pool(const char* name, uint32_t n, uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE) {
    rte_mempool* p = rte_pktmbuf_pool_create(name, n, 256, 0, data_room, SOCKET_ID_ANY);
    if (p == nullptr) throw std::runtime_error(std::string("mbuf pool ") + name + ": " + rte_strerror(rte_errno));
    return p;
}

/// Marks an mbuf as if the NIC had verified both checksums (RTE_MBUF_F_RX_*_CKSUM_GOOD).
inline void mark_rx_cksum_good(rte_mbuf* m) {
    m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

/// A segment from the peer: `payload_len` bytes (left as the buffer holds them) behind IPv4 + TCP headers with
/// valid software checksums. Aborts if the pool is empty: a benchmark leaking mbufs must not limp on.
inline rte_mbuf* craft(rte_mempool* pool, const wire::SegmentHeader& h, uint16_t payload_len = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr || (payload_len > 0 && rte_pktmbuf_append(m, payload_len) == nullptr) ||
        !wire::prepend_headers(m, h, false)) {
        std::fprintf(stderr, "bench: cannot craft a segment (mbuf pool %s exhausted?)\n", pool->name);
        std::abort();
    }
    return m;
}

/// Frees everything an engine-like source has queued for transmission; returns how many.
template <class Engine>
inline uint32_t drop_tx(Engine& e) {
    rte_mbuf* b[64];
    uint32_t total = 0;
    uint16_t n;
    while ((n = e.drain_tx(b, 64)) > 0) {
        rte_pktmbuf_free_bulk(b, n);
        total += n;
    }
    return total;
}

/// A passive open driven by crafted segments (no second engine): the peer's SYN (seq `peer_isn`, MSS 1460), then
/// its ACK of our SYN-ACK, whose ISS the caller has pinned to `our_iss` with an ISN hook. The SYN-ACK stays in
/// the engine's TX queue for the caller to drop.
template <class Engine>
inline void open_from_peer(Engine& e, rte_mempool* pool, uint32_t peer_ip, uint16_t peer_port, uint32_t our_ip,
                           uint16_t our_port, uint32_t peer_isn, uint32_t our_iss, uint64_t now) {
    wire::TcpOptions mss;
    mss.has_mss = true;
    mss.mss = 1460;
    e.input(craft(pool, {peer_ip, our_ip, peer_port, our_port, peer_isn, 0, wire::kSyn, 65535, 0, &mss}), now);
    e.input(craft(pool, {peer_ip, our_ip, peer_port, our_port, peer_isn + 1, our_iss + 1, wire::kAck, 65535, 0, nullptr}),
            now);
}

/// Accumulates the timed part of each iteration in ns and TSC cycles, for per-item counters. Also keeps each
/// iteration's cycles: on a shared machine a preemption inflates the mean, the median of the batches resists it.
struct BatchClock {
    std::chrono::steady_clock::time_point t0;
    uint64_t c0 = 0;
    double ns = 0;
    uint64_t cycles = 0;
    std::vector<uint64_t> batch_cycles;

    void start() {
        t0 = std::chrono::steady_clock::now();
        c0 = rte_rdtsc();
    }
    /// Ends the timed part; returns its seconds (for SetIterationTime under UseManualTime).
    double stop() {
        const uint64_t c1 = rte_rdtsc();
        const auto t1 = std::chrono::steady_clock::now();
        cycles += c1 - c0;
        batch_cycles.push_back(c1 - c0);
        const double d = std::chrono::duration<double, std::nano>(t1 - t0).count();
        ns += d;
        return d * 1e-9;
    }
    /// Counters "ns/<what>" and "cycles/<what>" (means over `items`), and "cycles/<what>_p50" and "ns/<what>_p50"
    /// (the median iteration, divided by `per_iteration` items).
    void report(benchmark::State& state, const char* what, double items, double per_iteration) {
        if (items <= 0 || batch_cycles.empty()) return;
        const std::string w(what);
        state.counters["ns/" + w] = ns / items;
        state.counters["cycles/" + w] = static_cast<double>(cycles) / items;
        auto mid = batch_cycles.begin() + static_cast<std::ptrdiff_t>(batch_cycles.size() / 2);
        std::nth_element(batch_cycles.begin(), mid, batch_cycles.end());
        const double p50 = static_cast<double>(*mid) / per_iteration;
        state.counters["cycles/" + w + "_p50"] = p50;
        state.counters["ns/" + w + "_p50"] = p50 * 1e9 / static_cast<double>(rte_get_tsc_hz());
    }
};

/// splitmix64: deterministic and cheap.
struct Rng {
    uint64_t s;
    uint64_t operator()() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
};

}  // namespace synack::bench
