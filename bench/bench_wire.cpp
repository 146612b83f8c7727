// wire/: software checksums (IPv4 header; TCP over one segment and over a chain split at an odd offset), what
// prepend_headers() costs with checksum offload (pseudo-header sum only) and without (both sums in software), and
// parse_segment() of a data segment with and without options, with software checksum verification and with the
// NIC's "checksum good" flags. Everything stays in L1: these are the instruction costs, not memory costs.
#include <string>

#include <benchmark/benchmark.h>
#include <rte_ip.h>

#include "bench_util.hpp"
#include "wire/checksum.hpp"
#include "wire/segment.hpp"

namespace {

using namespace synack;
using namespace synack::bench;

constexpr uint32_t kUs = ip4(10, 0, 0, 1);
constexpr uint32_t kThem = ip4(10, 0, 0, 2);
constexpr uint32_t kHdrs = wire::kIpv4HeaderLen + wire::kTcpHeaderLen;

rte_mempool* pool() {
    static rte_mempool* p = make_pool("bench_wire", 511);
    return p;
}

wire::SegmentHeader header(const wire::TcpOptions* opt = nullptr) {
    return wire::SegmentHeader{kThem, kUs, 40000, 80, 123456789, 987654321, wire::kAck, 65535, 1, opt};
}

// Arbitrary but fixed payload bytes, so every run sums the same data.
void fill(rte_mbuf* m) {
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    for (uint32_t i = 0; i < m->data_len; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
}

// A single-segment IPv4/TCP packet with `payload` bytes and valid checksums.
rte_mbuf* packet(uint16_t payload, const wire::TcpOptions* opt = nullptr) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    if (payload > 0) {
        rte_pktmbuf_append(m, payload);
        fill(m);
    }
    wire::prepend_headers(m, header(opt), false);
    return m;
}

// ---- checksums ----

void BM_CksumIpv4Header(benchmark::State& state) {
    rte_mbuf* m = packet(0);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    uint16_t id = 0;
    for (auto _ : state) {
        ip->packet_id = id++;  // a new header each time: nothing to hoist
        benchmark::DoNotOptimize(rte_ipv4_cksum(ip));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire::kIpv4HeaderLen));
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_CksumIpv4Header);

// The TCP checksum (pseudo-header + header + payload) of a single-segment packet; Arg: payload bytes.
void BM_CksumTcp(benchmark::State& state) {
    const auto payload = static_cast<uint16_t>(state.range(0));
    rte_mbuf* m = packet(payload);
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const uint32_t l4 = wire::kTcpHeaderLen + payload;
    for (auto _ : state) {
        benchmark::DoNotOptimize(m);
        benchmark::DoNotOptimize(wire::ipv4_l4_cksum(m, ip, wire::kIpv4HeaderLen, l4));
    }
    if (wire::ipv4_l4_cksum(m, ip, wire::kIpv4HeaderLen, l4) != 0) state.SkipWithError("checksum does not verify");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * l4));
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_CksumTcp)->Arg(64)->Arg(1460);

// The same over a 3-segment chain: headers (40 B), then 1460 payload bytes split Arg / 1460 - Arg. An odd Arg
// takes mbuf_raw_cksum()'s byte-swap path for the third segment; 730 is the even split for comparison.
void BM_CksumTcpChain3(benchmark::State& state) {
    const auto first = static_cast<uint16_t>(state.range(0));
    rte_mbuf* a = rte_pktmbuf_alloc(pool());
    rte_mbuf* b = rte_pktmbuf_alloc(pool());
    rte_mbuf* c = rte_pktmbuf_alloc(pool());
    rte_pktmbuf_append(b, first);
    rte_pktmbuf_append(c, static_cast<uint16_t>(1460 - first));
    fill(b);
    fill(c);
    rte_pktmbuf_chain(b, c);
    rte_pktmbuf_chain(a, b);
    wire::prepend_headers(a, header(), false);
    const auto* ip = rte_pktmbuf_mtod(a, const rte_ipv4_hdr*);
    const uint32_t l4 = wire::kTcpHeaderLen + 1460;
    for (auto _ : state) {
        benchmark::DoNotOptimize(a);
        benchmark::DoNotOptimize(wire::ipv4_l4_cksum(a, ip, wire::kIpv4HeaderLen, l4));
    }
    if (a->nb_segs != 3 || wire::ipv4_l4_cksum(a, ip, wire::kIpv4HeaderLen, l4) != 0)
        state.SkipWithError("chain checksum does not verify");
    state.SetLabel(first % 2 ? "odd split" : "even split");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * l4));
    rte_pktmbuf_free(a);
}
BENCHMARK(BM_CksumTcpChain3)->Arg(731)->Arg(730);

// ---- building headers ----

// prepend_headers() as output does it: an empty header mbuf, the payload (Arg 0: none, a pure ACK) chained behind
// it. Arg 1: offload (flags + pseudo-header sum) or software (both checksums). Each iteration also strips the
// headers again (rte_pktmbuf_adj, a few pointer updates) so the same mbuf is reused.
void BM_PrependHeaders(benchmark::State& state) {
    const auto payload = static_cast<uint16_t>(state.range(0));
    const bool offload = state.range(1) != 0;
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    if (payload > 0) {
        rte_mbuf* p = rte_pktmbuf_alloc(pool());
        rte_pktmbuf_append(p, payload);
        fill(p);
        rte_pktmbuf_chain(m, p);
    }
    wire::SegmentHeader h = header();
    bool ok = true;
    for (auto _ : state) {
        ++h.seq;
        ok &= wire::prepend_headers(m, h, offload);
        const uint16_t sum = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*)->hdr_checksum;
        benchmark::DoNotOptimize(sum);
        rte_pktmbuf_adj(m, kHdrs);
        m->ol_flags = 0;
    }
    if (!ok) state.SkipWithError("prepend_headers failed");
    state.SetLabel(offload ? "offload" : "software");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_PrependHeaders)->ArgNames({"payload", "offload"})->ArgsProduct({{0, 1460}, {0, 1}});

// ---- parsing ----

// parse_segment() of a 1460-byte data segment. Arg 0: options (0 none; 1 timestamps, 12 B; 2 timestamps + three
// SACK blocks, the full 40 B). Arg 1: 0 verifies both checksums in software, 1 trusts RX "checksum good" flags
// (header parse alone).
void BM_ParseSegment(benchmark::State& state) {
    const auto opts = state.range(0);
    const bool rx_good = state.range(1) != 0;
    wire::TcpOptions o;
    if (opts >= 1) {
        o.has_timestamps = true;
        o.ts_val = 0x01020304;
        o.ts_ecr = 0x05060708;
    }
    if (opts >= 2) {
        o.sack_count = 3;
        for (uint32_t i = 0; i < 3; ++i) o.sack[i] = {1000u + 3000 * i, 2000u + 3000 * i};
    }
    rte_mbuf* m = packet(1460, opts > 0 ? &o : nullptr);
    if (rx_good) mark_rx_cksum_good(m);
    wire::Segment seg;
    bool ok = true;
    for (auto _ : state) {
        benchmark::DoNotOptimize(m);
        ok &= wire::parse_segment(m, seg) == wire::ParseStatus::ok;
        benchmark::DoNotOptimize(seg);
    }
    if (!ok || seg.payload_len != 1460 || (opts >= 1 && !seg.opt.has_timestamps) ||
        (opts >= 2 && seg.opt.sack_count != 3))
        state.SkipWithError("segment did not parse as built");
    static const char* const names[] = {"no options", "timestamps", "timestamps+3 SACK"};
    state.SetLabel(std::string(names[opts]) + (rx_good ? ", rx cksum offload" : ", software cksum"));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    rte_pktmbuf_free(m);
}
BENCHMARK(BM_ParseSegment)->ArgNames({"opts", "rx_good"})->ArgsProduct({{0, 1, 2}, {0, 1}});

}  // namespace
