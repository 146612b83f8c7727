#include "dpdk/worker.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include <atomic>
#include <cstdio>
#include <new>
#include <stdexcept>
#include <string>

#include "dpdk/counter_names.hpp"
#include "dpdk/exception_path.hpp"
#include "dpdk/flow_hash.hpp"

namespace synack::dpdk {

Worker::Worker(Shared& s, unsigned idx, RxMode m, rte_mempool* p, const TcpConfig& tcp,
               const net::NetConfig& net, uint16_t port, uint16_t q)
    : shared(s), index(idx), mode(m), port_id(port), queue(q), pool(p), engine(tcp, p, s.hz, rte_rdtsc()),
      iface(net, p, s.hz) {
    live_cap_ = tcp.max_connections;
    live_pos_.reset(static_cast<uint32_t*>(std::calloc(live_cap_, sizeof(uint32_t))));
    if (live_pos_ == nullptr) throw std::bad_alloc();
    live_.reserve(live_cap_);
    if (s.workers > 1 && !s.options->loopback) {
        engine.set_port_filter(&Worker::port_filter, this);
        engine.set_port_filter6(&Worker::port_filter6, this);
    }
    // ICMP errors about our segments (PMTU, unreachables) go to this core's engine. With several cores an error may
    // arrive on another core than its connection's (ICMP hashes by address only): it is then counted, not used.
    iface.set_icmp_error_handler(
        [](void* ctx, const net::IcmpError& e) { return static_cast<tcp::Engine*>(ctx)->icmp_error(e, rte_rdtsc()); },
        &engine);
    iface.set_packet_too_big_hook(  // ICMPv6 Packet Too Big (RFC 8201), likewise
        [](void* ctx, const net::PacketTooBig& p) { static_cast<tcp::Engine*>(ctx)->packet_too_big(p, rte_rdtsc()); },
        &engine);
    if (s.exception != nullptr) {  // what we do not terminate goes to the kernel instead of being dropped
        engine.set_stray_handler(&ExceptionPath::from_engine, s.exception->context(idx));
        iface.set_stray_handler(&ExceptionPath::from_interface, s.exception->context(idx));
    }
    if (m == RxMode::own_port_forward) {
        const std::string name = "synack_fwd_" + std::to_string(idx);
        forward = rte_ring_create(name.c_str(), 4096, rte_socket_id(), RING_F_SC_DEQ);
        if (forward == nullptr) throw std::runtime_error("cannot create " + name + ": " + rte_strerror(rte_errno));
    }
    // With hardware RSS the NIC already hashed every packet: the connection table reuses that hash.
    if (s.port.hw_rss)
        engine.set_flow_hash([](const tcp::FourTuple& t) {
            return flow_hash(t.remote_ip, t.local_ip, t.remote_port, t.local_port);
        });
}

Worker::~Worker() {
    rte_mbuf* m = nullptr;
    while (inbox.pop(m)) rte_pktmbuf_free(m);
    if (forward != nullptr) {
        while (rte_ring_sc_dequeue(forward, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
        rte_ring_free(forward);
    }
}

// To worker w's queue of packets from other cores: the SPSC inbox when worker 0 is the only dispatcher, the
// multi-producer forward ring when every worker forwards.
bool Worker::hand_to(unsigned w, rte_mbuf* m) noexcept {
    Worker* t = shared.all[w];
    return t->forward != nullptr ? rte_ring_mp_enqueue(t->forward, m) == 0 : t->inbox.push(m);
}

// Active opens use only local ports whose reply hashes back to this core.
bool Worker::port_filter(void* ctx, const tcp::FourTuple& t) {
    auto* w = static_cast<Worker*>(ctx);
    return core_of(flow_hash(t.remote_ip, t.local_ip, t.remote_port, t.local_port), w->shared.workers,
                   w->shared.port.reta_size) == w->index;
}

bool Worker::port_filter6(void* ctx, const tcp::FourTuple6& t) {
    auto* w = static_cast<Worker*>(ctx);
    return core_of(flow_hash6(t.remote.b, t.local.b, t.remote_port, t.local_port), w->shared.workers,
                   w->shared.port.reta_size) == w->index;
}

// L2/L3 first, one frame at a time; the TCP segments it yields go to the engine as one burst (deliver_end), but
// for TCP over IPv6, which goes to the engine's IPv6 entry at once.
void Worker::deliver(rte_mbuf* m, uint64_t now) noexcept {
    if (rte_mbuf* ip = iface.input(m, now)) {
        if ((*rte_pktmbuf_mtod(ip, const uint8_t*) >> 4) == 6) [[unlikely]] {  // version nibble: TCP over IPv6
            engine.input6(ip, now);
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

// The core a frame's flow belongs to under software RSS: TCP (over IPv4 or IPv6, extension headers walked) by
// the symmetric Toeplitz hash; `to_all` for what every core's neighbour cache needs (ARP, neighbour discovery);
// the receiving core for the rest.
unsigned Worker::core_of_frame(const rte_mbuf* m, bool& to_all) const noexcept {
    to_all = false;
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ether_hdr)) return index;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
        len >= sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)) {
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
        const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
        if (ip->next_proto_id == IPPROTO_TCP && ihl >= 20 && len >= sizeof(rte_ether_hdr) + ihl + 4) {
            const auto* ports = reinterpret_cast<const rte_be16_t*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
            return core_of(flow_hash(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr),
                                     rte_be_to_cpu_16(ports[0]), rte_be_to_cpu_16(ports[1])),
                           shared.workers, shared.port.reta_size);
        }
        return index;
    }
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
        to_all = true;
        return index;
    }
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
        const auto* ip = reinterpret_cast<const uint8_t*>(eth + 1);
        wire::Ip6Walk w;
        if (wire::ipv6_walk(ip, len - sizeof(rte_ether_hdr), rte_pktmbuf_pkt_len(m) - sizeof(rte_ether_hdr), w) !=
            wire::Ip6Status::ok)
            return index;  // the receiving core's interface counts why
        if (w.proto == IPPROTO_TCP && len >= sizeof(rte_ether_hdr) + w.l4_off + 4u) {
            const auto* hdr = reinterpret_cast<const rte_ipv6_hdr*>(ip);
            const auto* ports = reinterpret_cast<const rte_be16_t*>(ip + w.l4_off);
            return core_of(flow_hash6(hdr->src_addr, hdr->dst_addr, rte_be_to_cpu_16(ports[0]),
                                      rte_be_to_cpu_16(ports[1])),
                           shared.workers, shared.port.reta_size);
        }
        // RFC 4861 router and neighbour messages (types 133..137): every core keeps its own neighbour cache.
        if (w.proto == wire::kIpProtoIcmp6 && len > sizeof(rte_ether_hdr) + w.l4_off) {
            const uint8_t type = ip[w.l4_off];
            to_all = type >= 133 && type <= 137;
        }
    }
    return index;
}

// Software RSS: each frame to its flow's core (core_of_frame); ARP and neighbour discovery to every core too.
void Worker::dispatch(rte_mbuf* m, uint64_t now) noexcept {
    bool to_all = false;
    const unsigned target = core_of_frame(m, to_all);
    if (to_all) {
        for (unsigned w = 0; w < shared.workers; ++w) {
            if (w == index) continue;
            rte_mbuf* copy = rte_pktmbuf_copy(m, shared.all[w]->pool, 0, UINT32_MAX);
            if (copy == nullptr || !hand_to(w, copy)) {
                if (copy) rte_pktmbuf_free(copy);
                ++rx_dispatch_dropped;
            }
        }
    }
    if (target == index) {
        deliver(m, now);
        return;
    }
    if (forward != nullptr) {
        // A port's RX mbufs stay on the core that polls it. net_af_xdp's mbufs are frames of its UMEM (4096 per
        // queue): freed on another core they collect in that core's mempool cache, out of reach of the fill ring,
        // which runs dry; the PMD then sleeps in poll() up to 1 s per empty burst (seen: a stall after a bulk run).
        rte_mbuf* copy = rte_pktmbuf_copy(m, shared.all[target]->pool, 0, UINT32_MAX);
        rte_pktmbuf_free(m);
        if (copy == nullptr) {
            ++rx_dispatch_dropped;
            return;
        }
        m = copy;
    }
    if (hand_to(target, m)) {
        ++rx_dispatched;
    } else {
        ++rx_dispatch_dropped;
        rte_pktmbuf_free(m);
    }
}

uint16_t Worker::receive(uint64_t now) noexcept {
    rte_mbuf* pkts[kBurst];
    uint16_t taken = 0;
    if (shared.port.rx_kick != nullptr) shared.port.rx_kick(shared.port.rx_kick_signal);  // PortInfo::rx_kick
    switch (mode) {
    case RxMode::own_queue: {
        const uint16_t n = rte_eth_rx_burst(port_id, queue, pkts, kBurst);
        rx_packets += n;
        if (capture != nullptr && n > 0) capture->copy(pkts, n, port_id, queue, now, RTE_PCAPNG_DIRECTION_IN);
        // Headers written by another core (or the NIC): start every miss of the burst at once.
        for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
        if (shared.port.virtual_link)  // see PortInfo::virtual_link
            for (uint16_t i = 0; i < n; ++i)
                pkts[i]->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        for (uint16_t i = 0; i < n; ++i) deliver(pkts[i], now);
        deliver_end(now);
        taken = n;
        break;
    }
    case RxMode::dispatcher:
        for (uint16_t q = 0; q < shared.port.rx_queues; ++q) {
            const uint16_t n = rte_eth_rx_burst(port_id, q, pkts, kBurst);
            rx_packets += n;
            if (capture != nullptr && n > 0) capture->copy(pkts, n, port_id, q, now, RTE_PCAPNG_DIRECTION_IN);
            for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
            for (uint16_t i = 0; i < n; ++i) dispatch(pkts[i], now);
            deliver_end(now);
            taken = static_cast<uint16_t>(taken + n);
        }
        break;
    case RxMode::own_port_forward: {
        uint16_t n = rte_eth_rx_burst(port_id, queue, pkts, kBurst);
        rx_packets += n;
        for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
        for (uint16_t i = 0; i < n; ++i) dispatch(pkts[i], now);
        n = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(forward, reinterpret_cast<void**>(pkts), kBurst, nullptr));
        for (uint16_t i = 0; i < n; ++i) deliver(pkts[i], now);
        deliver_end(now);
        break;
    }
    case RxMode::inbox: {
        const auto n = static_cast<uint16_t>(inbox.pop(pkts, kBurst));
        for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], const void*));
        for (uint16_t i = 0; i < n; ++i) deliver(pkts[i], now);
        deliver_end(now);
        taken = n;
        break;
    }
    }
    return taken;
}

void Worker::flush(uint64_t now) noexcept {
    rte_mbuf* b[64];
    uint16_t n;
    while ((n = engine.drain_tx(b, 64)) > 0)
        for (uint16_t i = 0; i < n; ++i) iface.output(b[i], now);
    while ((n = iface.drain_tx(b, 64)) > 0) {
        if (capture != nullptr) capture->copy(b, n, port_id, queue, now, RTE_PCAPNG_DIRECTION_OUT);
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
    Worker* self = this;
    run_shared(&self, 1, app);
}

// Workers that share an lcore (--loopback on one lcore: the client and the server stack) take turns, one loop
// iteration each, so neither waits for the other to stop.
void Worker::run_shared(Worker* const* workers, unsigned n, const App& app) {
    for (unsigned i = 0; i < n; ++i) workers[i]->begin(app);
    Shared& shared = workers[0]->shared;
    while (!shared.stop.load(std::memory_order_relaxed))
        for (unsigned i = 0; i < n; ++i) workers[i]->step();
    for (unsigned i = 0; i < n; ++i) workers[i]->running.store(false, std::memory_order_release);
}

void Worker::begin(const App& app) {
    app_ = &app;
    const uint64_t now = loop_now = rte_rdtsc();
    const Options& o = *shared.options;
    loop_.start = loop_.prev = now;
    loop_.end = o.duration_s ? now + o.duration_s * shared.hz : UINT64_MAX;
    loop_.next_stats = o.stats_ms ? now + o.stats_ms * shared.hz / 1000 : UINT64_MAX;
    loop_.busy = false;
    engine.advance(now);
    if (index == 0) iface.announce(now);
    Core core(this);
    if (app.on_start) app.on_start(core, app.ctx);
    flush(now);
    running.store(true, std::memory_order_release);
}

void Worker::on_event(const Event& ev) {
    track(ev);
    if (app_->on_event) {
        Core core(this);
        app_->on_event(core, ev, app_->ctx);
    }
    if (is_terminal(ev.type)) untrack(ev.conn);
}

void Worker::step() {
    // Busy share: an iteration that took or sent a packet was busy; its cycles are charged when the next one
    // reads the TSC (no extra rdtsc).
    const uint64_t now = loop_now = rte_rdtsc();
    loop_cycles += now - loop_.prev;
    if (loop_.busy) busy_cycles += now - loop_.prev;
    loop_.prev = now;
    const uint64_t sent_before = tx_packets;
    bool busy = receive(now) != 0;
    engine.advance(now);
    if (neighbours != nullptr) neighbours->deliver(iface, now);
    iface.poll(now);
    auto handler = [this](const Event& ev) { on_event(ev); };
    engine.dispatch(handler);
    if (app_->on_poll) {
        Core core(this);
        app_->on_poll(core, app_->ctx);
    }
    engine.dispatch(handler);
    flush(now);
    if (snapshot.requested.load(std::memory_order_relaxed) != snapshot_seen_) [[unlikely]]
        serve_snapshot();
    if (shared.exception != nullptr) shared.exception->service(index, port_id, queue);
    if (!partial_cksum_explained) [[unlikely]]
        explain_partial_checksums();
    loop_.busy = busy || tx_packets != sent_before;
    if (index == 0) {
        if (now >= loop_.end) shared.stop.store(true, std::memory_order_relaxed);
        if (now >= loop_.next_stats) print_stats(now);
    }
}

// --stats-ms: one line for every core (racy reads of the other cores' plain counters: a report only).
void Worker::print_stats(uint64_t now) {
    const Options& o = *shared.options;
    const uint64_t start = loop_.start;
    uint64_t& next_stats = loop_.next_stats;
    next_stats += o.stats_ms * shared.hz / 1000;
    CoreStats t{};
    uint32_t conns = 0, time_wait = 0;
    uint64_t mem_used = 0, mem_limit = 0, in_use = 0;
    unsigned pressured = 0;
    tcp::EngineCounters tc{};
    net::NetCounters nc{};
    const rte_mempool* last_pool = nullptr;
    for (unsigned w = 0; w < shared.workers; ++w) {
        const Worker& wk = *shared.all[w];
        CoreStats s = wk.stats();
        t.rx_packets += s.rx_packets;
        t.tx_packets += s.tx_packets;
        t.connections_opened += s.connections_opened;
        t.tcp_rx_dropped += s.tcp_rx_dropped;
        t.net_rx_dropped += s.net_rx_dropped;
        conns += wk.engine.connections();  // racy reads of plain counters: a report only
        time_wait += wk.engine.time_wait_count();
        const tcp::Engine::MemStats m = wk.engine.mem_stats();
        mem_used += m.used;
        mem_limit += m.limit;
        pressured += m.pressure ? 1 : 0;
        if (wk.pool != last_pool) {  // cores of one socket share its pools, and come in a row
            in_use += rte_mempool_in_use_count(wk.pool);
            if (wk.engine.bulk_pool() != nullptr) in_use += rte_mempool_in_use_count(wk.engine.bulk_pool());
        }
        last_pool = wk.pool;
        wk.add_counters(tc, nc);
    }
    std::printf("[synack] t=%.1fs rx=%lu tx=%lu opened=%lu conns=%u time_wait=%u mbufs_in_use=%lu "
                "mem=%lu/%lu pressure=%u mem_dropped=%lu ooo_pruned=%lu snd_refused=%lu "
                "aborted_mem=%lu persist_to=%lu user_to=%lu collapsed=%lu tx_deferred=%lu "
                "half_open_to=%lu fin_wait_2_to=%lu tcp_rx_dropped=%lu net_rx_dropped=%lu\n",
                static_cast<double>(now - start) / static_cast<double>(shared.hz), t.rx_packets,
                t.tx_packets, t.connections_opened, conns, time_wait, in_use, mem_used, mem_limit,
                pressured, tc.rx_mem_dropped, tc.ooo_pruned, tc.snd_refused_mem, tc.conn_aborted_memory,
                tc.conn_persist_timed_out, tc.conn_user_timed_out, tc.mbufs_collapsed,
                tc.tx_deferred_reserve, tc.half_open_timed_out, tc.fin_wait_2_timed_out, t.tcp_rx_dropped,
                t.net_rx_dropped);
    std::fflush(stdout);
}

void Worker::track(const Event& ev) noexcept {
    if (ev.type != EventType::accepted && ev.type != EventType::connected) return;
    if (ev.conn.index >= live_cap_) return;
    uint32_t& pos = live_pos_.get()[ev.conn.index];
    if (pos != 0) {  // the index was reused after a handle we never saw end (abort): take its place
        live_[pos - 1] = ev.conn;
        return;
    }
    live_.push_back(ev.conn);  // within the reserved capacity: no allocation
    pos = static_cast<uint32_t>(live_.size());
}

void Worker::untrack(ConnId c) noexcept {
    uint32_t* where = live_pos_.get();
    if (c.index >= live_cap_ || where[c.index] == 0) return;
    const uint32_t pos = where[c.index] - 1;
    if (!(live_[pos] == c)) return;
    live_[pos] = live_.back();
    where[live_[pos].index] = pos + 1;
    live_.pop_back();
    where[c.index] = 0;
}

bool Worker::info(ConnId c, ConnInfo& out) const noexcept {
    const tcp::Tcb* t = engine.tcb(c);
    if (t == nullptr) return false;
    if (t->v6) {
        out.local = Address::v6(engine.addr6(*t).src.b);
        out.remote = Address::v6(engine.addr6(*t).dst.b);
    } else {
        out.local_ip = t->tuple.local_ip;
        out.remote_ip = t->tuple.remote_ip;
        out.local = Address::v4(out.local_ip);
        out.remote = Address::v4(out.remote_ip);
    }
    out.local_port = t->tuple.local_port;
    out.remote_port = t->tuple.remote_port;
    out.state = t->state;
    out.snd_mss = t->snd_mss;
    out.cwnd = t->cwnd();
    out.ssthresh = t->ssthresh();
    out.srtt_us = t->rtt.srtt_us();
    out.rttvar_us = t->rtt.rttvar_us();
    out.rto_us = t->rto_us;
    out.snd_wnd = t->snd_wnd;
    out.rcv_wnd = t->rcv_wnd;
    out.bytes_in_flight = t->flight_size();
    out.send_queue = t->snd_buf.bytes;
    out.recv_queue = t->rcv_buf.bytes;
    out.retransmits = t->retransmits;
    out.core = index;
    return true;
}

bool Worker::serve_snapshot() noexcept {
    Snapshot& s = snapshot;
    const uint64_t r = s.requested.load(std::memory_order_acquire);
    snapshot_seen_ = r;
    uint64_t c = s.claimed.load(std::memory_order_relaxed);
    if (c == r || !s.claimed.compare_exchange_strong(c, r, std::memory_order_acq_rel)) return false;
    // Handles that ended without an event (abort) are dropped from the list here, on the owning core.
    for (size_t i = 0; i < live_.size();) {
        if (engine.tcb(live_[i]) == nullptr)
            untrack(live_[i]);
        else
            ++i;
    }
    s.live = static_cast<uint32_t>(live_.size());
    for (uint32_t i = s.offset; i < live_.size() && s.conns.size() < s.limit; ++i) {
        ConnInfo ci;
        if (info(live_[i], ci)) s.conns.push_back(ci);
    }
    s.connections = engine.connections();
    s.time_wait = engine.time_wait_count();
    s.stats = stats();
    s.tcp = {};
    s.net = {};
    add_counters(s.tcp, s.net);
    s.served.store(r, std::memory_order_release);
    return true;
}

// Once per process: frames with only the pseudo-header sum in their TCP checksum come from a sender that left the
// checksum to hardware that is not there (a veth peer with TX offload on). They stay dropped (nothing vouches
// for the bytes); the log says what to change.
void Worker::explain_partial_checksums() noexcept {
    const uint64_t n = engine.counters().rx_parse_errors[static_cast<int>(wire::ParseStatus::partial_tcp_checksum)];
    if (n == 0) return;
    partial_cksum_explained = true;
    static std::atomic<bool> told{false};
    if (told.exchange(true)) return;
    std::fprintf(stderr,
                 "synack: core %u: dropping TCP segments whose checksum holds only the pseudo-header sum "
                 "(tcp.rx_parse.partial_tcp_checksum): the sender left its checksum to an offload that did not run, "
                 "as a veth peer with TX checksum offload does over AF_XDP or AF_PACKET. Turn it off on the peer: "
                 "ethtool -K PEER tx off\n",
                 index);
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
    s.busy_cycles = busy_cycles;
    s.loop_cycles = loop_cycles;
    s.tcp_rx_dropped = tcp_rx_dropped(c);
    s.net_rx_dropped = net_rx_dropped(iface.counters());
    return s;
}

}  // namespace synack::dpdk
