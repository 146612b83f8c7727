#include "dpdk/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include <cstdio>

#include "dpdk/flow_hash.hpp"

namespace synack::dpdk {

Worker::Worker(Shared& s, unsigned idx, RxMode m, rte_mempool* p, const TcpConfig& tcp,
               const net::NetConfig& net, uint16_t port, uint16_t q)
    : shared(s), index(idx), mode(m), port_id(port), queue(q), pool(p), engine(tcp, p, s.hz, rte_rdtsc()),
      iface(net, p, s.hz) {
    if (s.workers > 1 && !s.options->loopback) engine.set_port_filter(&Worker::port_filter, this);
    // With hardware RSS the NIC already hashed every packet: the connection table reuses that hash.
    if (s.port.hw_rss)
        engine.set_flow_hash([](const tcp::FourTuple& t) {
            return flow_hash(t.remote_ip, t.local_ip, t.remote_port, t.local_port);
        });
}

Worker::~Worker() {
    rte_mbuf* m = nullptr;
    while (inbox.pop(m)) rte_pktmbuf_free(m);
}

// Active opens use only local ports whose reply hashes back to this core.
bool Worker::port_filter(void* ctx, const tcp::FourTuple& t) {
    auto* w = static_cast<Worker*>(ctx);
    return core_of(flow_hash(t.remote_ip, t.local_ip, t.remote_port, t.local_port), w->shared.workers,
                   w->shared.port.reta_size) == w->index;
}

// L2/L3 first, one frame at a time; the TCP segments it yields go to the engine as one burst (deliver_end).
void Worker::deliver(rte_mbuf* m, uint64_t now) noexcept {
    if (rte_mbuf* ip = iface.input(m, now)) {
        if ((*rte_pktmbuf_mtod(ip, const uint8_t*) >> 4) == 6) [[unlikely]] {  // version nibble: TCP over IPv6
            ++rx_tcp6_no_engine;
            rte_pktmbuf_free(ip);
            return;
        }
        tcp_burst_[tcp_burst_len_++] = ip;
        if (tcp_burst_len_ == kBurst) deliver_end(now);
    }
}

void Worker::deliver_end(uint64_t now) noexcept {
    if (tcp_burst_len_ > 0) engine.input_burst(tcp_burst_, tcp_burst_len_, now);
    tcp_burst_len_ = 0;
}

// Software RSS: the flow's core by the symmetric Toeplitz hash; ARP goes to every core (each keeps a cache).
void Worker::dispatch(rte_mbuf* m, uint64_t now) noexcept {
    unsigned target = 0;
    const uint32_t len = rte_pktmbuf_data_len(m);
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (len >= sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)) {
        if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
            const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
            const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
            if (ip->next_proto_id == IPPROTO_TCP && ihl >= 20 && len >= sizeof(rte_ether_hdr) + ihl + 4) {
                const auto* ports = reinterpret_cast<const rte_be16_t*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
                target = core_of(flow_hash(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr),
                                           rte_be_to_cpu_16(ports[0]), rte_be_to_cpu_16(ports[1])),
                                 shared.workers, shared.port.reta_size);
            }
        }
    }
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) && len >= sizeof(rte_ether_hdr)) {
        for (unsigned w = 1; w < shared.workers; ++w) {
            rte_mbuf* copy = rte_pktmbuf_copy(m, shared.all[w]->pool, 0, UINT32_MAX);
            if (copy == nullptr || !shared.all[w]->inbox.push(copy)) {
                if (copy) rte_pktmbuf_free(copy);
                ++rx_dispatch_dropped;
            }
        }
    }
    if (target == index) {
        deliver(m, now);
        return;
    }
    if (shared.all[target]->inbox.push(m)) {
        ++rx_dispatched;
    } else {
        ++rx_dispatch_dropped;
        rte_pktmbuf_free(m);
    }
}

void Worker::receive(uint64_t now) noexcept {
    rte_mbuf* pkts[kBurst];
    switch (mode) {
    case RxMode::own_queue: {
        const uint16_t n = rte_eth_rx_burst(port_id, queue, pkts, kBurst);
        rx_packets += n;
        // Headers written by another core (or the NIC): start every miss of the burst at once.
        for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
        if (shared.port.virtual_link)  // see PortInfo::virtual_link
            for (uint16_t i = 0; i < n; ++i)
                pkts[i]->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        for (uint16_t i = 0; i < n; ++i) deliver(pkts[i], now);
        deliver_end(now);
        break;
    }
    case RxMode::dispatcher:
        for (uint16_t q = 0; q < shared.port.rx_queues; ++q) {
            const uint16_t n = rte_eth_rx_burst(port_id, q, pkts, kBurst);
            rx_packets += n;
            for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
            for (uint16_t i = 0; i < n; ++i) dispatch(pkts[i], now);
            deliver_end(now);
        }
        break;
    case RxMode::inbox: {
        const auto n = static_cast<uint16_t>(inbox.pop(pkts, kBurst));
        for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
        for (uint16_t i = 0; i < n; ++i) deliver(pkts[i], now);
        deliver_end(now);
        break;
    }
    }
}

void Worker::flush(uint64_t now) noexcept {
    rte_mbuf* b[64];
    uint16_t n;
    while ((n = engine.drain_tx(b, 64)) > 0)
        for (uint16_t i = 0; i < n; ++i) iface.output(b[i], now);
    while ((n = iface.drain_tx(b, 64)) > 0) {
        uint16_t sent = 0;
        for (int tries = 0; tries < 4 && sent < n; ++tries)
            sent = static_cast<uint16_t>(
                sent + rte_eth_tx_burst(port_id, queue, b + sent, n - sent));
        tx_packets += sent;
        if (sent < n) {
            tx_dropped += n - sent;
            rte_pktmbuf_free_bulk(b + sent, n - sent);
        }
    }
}

void Worker::run(const App& app) {
    Core core(this);
    uint64_t now = loop_now = rte_rdtsc();
    const uint64_t start = now;
    const Options& o = *shared.options;
    const uint64_t end = o.duration_s ? start + o.duration_s * shared.hz : UINT64_MAX;
    uint64_t next_stats = o.stats_ms ? start + o.stats_ms * shared.hz / 1000 : UINT64_MAX;
    engine.advance(now);
    if (index == 0) iface.announce(now);
    if (app.on_start) app.on_start(core, app.ctx);
    flush(now);
    auto on_event = [&](const Event& ev) {
        if (app.on_event) app.on_event(core, ev, app.ctx);
    };
    while (!shared.stop.load(std::memory_order_relaxed)) {
        now = loop_now = rte_rdtsc();
        receive(now);
        engine.advance(now);
        iface.poll(now);
        engine.dispatch(on_event);
        if (app.on_poll) app.on_poll(core, app.ctx);
        engine.dispatch(on_event);
        flush(now);
        if (index == 0) {
            if (now >= end) shared.stop.store(true, std::memory_order_relaxed);
            if (now >= next_stats) {
                next_stats += o.stats_ms * shared.hz / 1000;
                CoreStats t{};
                uint32_t conns = 0, time_wait = 0;
                for (unsigned w = 0; w < shared.workers; ++w) {
                    CoreStats s = shared.all[w]->stats();
                    t.rx_packets += s.rx_packets;
                    t.tx_packets += s.tx_packets;
                    t.connections_opened += s.connections_opened;
                    conns += shared.all[w]->engine.connections();  // racy reads of plain counters: a report only
                    time_wait += shared.all[w]->engine.time_wait_count();
                }
                std::printf("[synack] t=%.1fs rx=%lu tx=%lu opened=%lu conns=%u time_wait=%u\n",
                            static_cast<double>(now - start) / static_cast<double>(shared.hz), t.rx_packets,
                            t.tx_packets, t.connections_opened, conns, time_wait);
                std::fflush(stdout);
            }
        }
    }
}

void Worker::add_counters(tcp::EngineCounters& t, net::NetCounters& n) const noexcept {
    const auto* src = reinterpret_cast<const uint64_t*>(&engine.counters());
    auto* dst = reinterpret_cast<uint64_t*>(&t);
    for (size_t i = 0; i < sizeof(t) / sizeof(uint64_t); ++i) dst[i] += src[i];
    const auto* nsrc = reinterpret_cast<const uint64_t*>(&iface.counters());
    auto* ndst = reinterpret_cast<uint64_t*>(&n);
    for (size_t i = 0; i < sizeof(n) / sizeof(uint64_t); ++i) ndst[i] += nsrc[i];
}

CoreStats Worker::stats() const noexcept {
    const tcp::EngineCounters& c = engine.counters();
    CoreStats s;
    s.rx_packets = rx_packets;
    s.tx_packets = tx_packets;
    s.tx_dropped = tx_dropped;
    s.rx_dispatched = rx_dispatched;
    s.rx_dispatch_dropped = rx_dispatch_dropped;
    s.connections_opened = c.conn_opened_active + c.conn_opened_passive;
    s.connections_closed = c.conn_closed;
    s.connections_reset = c.conn_reset;
    s.connections_timed_out = c.conn_timed_out;
    s.retransmits = c.tx_retransmits;
    for (uint64_t e : c.rx_parse_errors) s.tcp_rx_dropped += e;
    s.tcp_rx_dropped += c.rx_no_connection + c.rx_rst_no_connection + c.rx_listen_dropped +
                        c.rx_no_tcb + c.rx_unacceptable + c.rx_ooo_dropped;
    return s;
}

}  // namespace synack::dpdk
