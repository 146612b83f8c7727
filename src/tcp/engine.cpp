// Engine construction, TCB lifetime, events, and the user calls of RFC 9293 §3.10.1-5.
#include "tcp/engine.hpp"

#include <rte_prefetch.h>
#include <rte_random.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace synack::tcp {
namespace {

constexpr uint32_t kTxRing = 16384;

TcpConfig checked(const TcpConfig& c) {
    if (c.max_connections == 0 || c.max_connections > ConnTable::kMaxCapacity)
        throw std::invalid_argument("TcpConfig: max_connections must be in 1..2^30");
    if (c.max_connections6 != 0 && c.mss < 64 + 20)
        throw std::invalid_argument("TcpConfig: mss must leave 64 bytes over IPv6 (mss >= 84)");
    if (c.mss < 64 || c.rcv_buf == 0 || c.snd_buf == 0)
        throw std::invalid_argument("TcpConfig: mss >= 64, rcv_buf and snd_buf > 0 required");
    if (c.rto_min_ms == 0 || c.rto_min_ms > c.rto_max_ms || c.rto_initial_ms == 0)
        throw std::invalid_argument("TcpConfig: need 0 < rto_min_ms <= rto_max_ms and rto_initial_ms > 0");
    if (c.delayed_ack_ms >= 500) throw std::invalid_argument("TcpConfig: delayed_ack_ms must be below 500 (MUST-40)");
    if (c.max_listeners == 0 || c.max_listeners > 65535) throw std::invalid_argument("TcpConfig: max_listeners 1..65535");
    if (c.syn_cookies > 2) throw std::invalid_argument("TcpConfig: syn_cookies must be 0, 1 or 2");
    if (c.ephemeral_low == 0 || c.ephemeral_low > c.ephemeral_high)
        throw std::invalid_argument("TcpConfig: need 0 < ephemeral_low <= ephemeral_high");
    if (c.mem_pressure_pct < 20 || c.mem_pressure_pct > 100)
        throw std::invalid_argument("TcpConfig: mem_pressure_pct must be in 20..100");
    TcpConfig out = c;
    out.max_connections6 = std::min(c.max_connections6, c.max_connections);  // they share the TCB pool
    return out;
}

}  // namespace

}  // namespace synack::tcp

namespace synack {

const char* to_string(State s) noexcept {
    static constexpr const char* names[] = {"CLOSED",     "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                            "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                            "CLOSING",    "LAST-ACK",   "TIME-WAIT"};
    return names[static_cast<unsigned>(s)];
}

const char* to_string(EventType t) noexcept {
    static constexpr const char* names[] = {"connected", "accepted", "readable", "writable",
                                            "peer_closed", "closed", "reset", "timed_out",
                                            "persist_timed_out", "user_timed_out", "memory_aborted",
                                            "keepalive_timed_out"};
    return names[static_cast<unsigned>(t)];
}

}  // namespace synack

namespace synack::tcp {

Engine::Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles)
    : Engine(cfg, pool, tsc_hz, now_cycles, IsnGenerator{}, syn_cookie::random_key()) {}

Engine::Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles,
               const std::array<uint8_t, 16>& isn_key)
    : Engine(cfg, pool, tsc_hz, now_cycles, IsnGenerator{isn_key}, syn_cookie::derive_key(isn_key)) {}

Engine::Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles, IsnGenerator isn,
               const syn_cookie::Key& cookie_key)
    : cfg_(checked(cfg)),
      pool_(pool),
      tsc_hz_(tsc_hz),
      now_(now_cycles),
      isn_(isn),
      cookie_key_(cookie_key),
      wheel_(now_cycles, std::max<uint64_t>(1, tsc_hz / 1000)),
      table_(cfg_.max_connections),
      table6_(cfg_.max_connections6) {
    if (pool == nullptr) throw std::invalid_argument("Engine: no mbuf pool");
    if (tsc_hz < 1000) throw std::invalid_argument("Engine: tsc_hz must be at least 1000");
    init_memory();
    tcbs_ = std::make_unique<Tcb[]>(cfg_.max_connections);
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) tcbs_[i].next_free = i + 1 < cfg_.max_connections ? i + 1 : UINT32_MAX;
    free_head_ = 0;
    if (cfg_.max_connections6 != 0) addr6_ = std::make_unique<wire::Ip6Pair[]>(cfg_.max_connections);
    const uint32_t blocks = std::max<uint32_t>(64, cfg_.max_connections / 16);
    ooo_blocks_ = std::make_unique<ReassemblyBlock[]>(blocks);
    for (uint32_t i = 0; i < blocks; ++i) ooo_blocks_[i].next_free = i + 1 < blocks ? &ooo_blocks_[i + 1] : nullptr;
    ooo_free_ = &ooo_blocks_[0];
    // Scoreboards only for connections with SACKed data outstanding: a sixteenth of the table, 64 to 4096.
    sack_states_count_ = std::clamp<uint32_t>(cfg_.max_connections / 16, 64, 4096);
    sack_states_ = std::make_unique<SackState[]>(sack_states_count_);
    for (uint32_t i = 0; i < sack_states_count_; ++i)
        sack_states_[i].next_free = i + 1 < sack_states_count_ ? &sack_states_[i + 1] : nullptr;
    sack_free_ = &sack_states_[0];
    listeners_.resize(cfg_.max_listeners);
    listener_by_port_ = std::make_unique<uint16_t[]>(65536);
    tx_cap_ = kTxRing;
    tx_ring_ = std::make_unique<rte_mbuf*[]>(tx_cap_);
    events_.reserve(4096);
    ack_list_cap_ = std::min<uint32_t>(cfg_.max_connections, 65536);
    ack_list_ = std::make_unique<uint32_t[]>(ack_list_cap_);
    next_ephemeral_ = static_cast<uint16_t>(cfg_.ephemeral_low + rte_rand() % ephemeral_count());
}

Engine::~Engine() {
    return_stash();
    for (uint32_t i = 0; i < cfg_.max_connections; ++i)
        if (tcbs_[i].in_use) free_tcb(tcbs_[i]);
    while (tx_count_ > 0) {
        rte_pktmbuf_free(tx_ring_[tx_head_]);
        tx_head_ = (tx_head_ + 1) % tx_cap_;
        --tx_count_;
    }
}

// ---- TCB lifetime ----

// The table hash: the NIC's RSS hash when the port computes one for us (mixed: its low bits chose the queue),
// else our own hash of the tuple.
uint32_t Engine::table_hash(const FourTuple& t, const rte_mbuf* m) const noexcept {
    if (flow_hash_ == nullptr) return ConnTable::hash(t);
    if (m != nullptr && (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) != 0) return ConnTable::mix(m->hash.rss);
    return ConnTable::mix(flow_hash_(t));
}

Tcb* Engine::alloc_tcb(const FourTuple& t, uint32_t h) noexcept {
    if (free_head_ == UINT32_MAX || !table_.insert(t, h, free_head_)) return nullptr;
    return claim_tcb(t, h);
}

Tcb* Engine::alloc_tcb6(const wire::Ip6Pair& a6, const FourTuple& t) noexcept {
    const FourTuple6 t6{a6.src, a6.dst, t.local_port, t.remote_port};
    const uint32_t h = ConnTable6::hash(t6);
    if (free_head_ == UINT32_MAX || addr6_ == nullptr || !table6_.insert(t6, h, free_head_)) return nullptr;
    addr6_[free_head_] = a6;
    Tcb* tcb = claim_tcb(t, h);
    tcb->v6 = true;
    return tcb;
}

// Takes the head of the free list (already entered in a table) and sets it up as a fresh connection.
Tcb* Engine::claim_tcb(const FourTuple& t, uint32_t h) noexcept {
    const uint32_t idx = free_head_;
    Tcb& tcb = tcbs_[idx];
    free_head_ = tcb.next_free;
    const uint32_t gen = tcb.gen;
    tcb = Tcb{};
    tcb.gen = gen;
    tcb.tuple = t;
    tcb.hash = h;
    tcb.in_use = true;
    tcb.rtt = RttEstimator(RttConfig{cfg_.rto_initial_ms * 1000, cfg_.rto_min_ms * 1000, cfg_.rto_max_ms * 1000,
                                     1000, 3'000'000});
    tcb.rto_us = tcb.rtt.rto_us();
    tcb.rcv_wnd = std::min<uint32_t>(cfg_.rcv_buf, 65535);
    tcb.snd_mss = 536;
    tcb.progress_at = tcb.snd_progress_at = tcb.last_rx = stamp();
    if (cfg_.keepalive) {  // RFC 1122 §4.2.3.6: off unless asked for (MUST-25)
        tcb.ka_idle_ms = cfg_.keepalive_idle_s * 1000;
        tcb.ka_intvl_ms = cfg_.keepalive_intvl_s * 1000;
        tcb.ka_cnt = static_cast<uint8_t>(std::min<uint32_t>(cfg_.keepalive_cnt, 255));
    }
    return &tcb;
}

void Engine::half_open_add(Listener& L, Tcb& tcb) noexcept {
    const auto idx = static_cast<uint32_t>(&tcb - tcbs_.get());
    ++L.half_open;
    ++half_open_total_;
    tcb.half_prev = L.half_tail;
    tcb.half_next = kNoTcb;
    if (L.half_tail != kNoTcb) tcbs_[L.half_tail].half_next = idx;
    else L.half_head = idx;
    L.half_tail = idx;
}

void Engine::half_open_remove(Tcb& tcb) noexcept {
    Listener& L = listeners_[tcb.listener - 1];
    --L.half_open;
    --half_open_total_;
    if (tcb.half_prev != kNoTcb) tcbs_[tcb.half_prev].half_next = tcb.half_next;
    else L.half_head = tcb.half_next;
    if (tcb.half_next != kNoTcb) tcbs_[tcb.half_next].half_prev = tcb.half_prev;
    else L.half_tail = tcb.half_prev;
    tcb.half_prev = tcb.half_next = kNoTcb;
}

void Engine::free_tcb(Tcb& tcb) noexcept {
    wheel_.cancel(tcb.rto_timer);
    wheel_.cancel(tcb.ka_timer);
    wheel_.cancel(tcb.delack_timer);
    tcb.snd_buf.clear();
    tcb.rcv_buf.clear();
    free_ooo(tcb);
    sack_release(tcb);
    recharge(tcb);
    if (tcb.state == State::syn_received && tcb.passive && tcb.listener != 0) half_open_remove(tcb);
    if (tcb.state == State::time_wait) --time_wait_;
    if (tcb.v6) [[unlikely]]
        table6_.erase(tuple6(tcb), tcb.hash);
    else
        table_.erase(tcb.tuple, tcb.hash);
    tcb.in_use = false;
    tcb.ack_listed = false;
    tcb.user_attached = false;
    set_state(tcb, State::closed);
    ++tcb.gen;
    const auto idx = static_cast<uint32_t>(&tcb - tcbs_.get());
    tcb.next_free = free_head_;
    free_head_ = idx;
}

void Engine::terminate(Tcb& tcb, EventType why) noexcept {
    if (why == EventType::reset) ++ctr_.conn_reset;
    else if (why == EventType::closed) ++ctr_.conn_closed;
    emit(tcb, why);
    free_tcb(tcb);
}

void Engine::emit(Tcb& tcb, EventType type) noexcept {
    if (!tcb.user_attached) return;
    Event ev{type, static_cast<uint16_t>(tcb.listener ? tcb.listener - 1 : 0), id_of(tcb), tcb.user};
    events_.push_back(ev);
}

void Engine::detach_user(Tcb& tcb) noexcept {
    tcb.user_attached = false;
    tcb.rcv_buf.clear();
    recharge(tcb);
    ++tcb.gen;
}

void Engine::after_event(const Event& ev) noexcept {
    if (!is_terminal(ev.type) || ev.conn.index >= cfg_.max_connections) return;
    Tcb& tcb = tcbs_[ev.conn.index];
    if (tcb.in_use && tcb.gen == ev.conn.gen) detach_user(tcb);  // still lingering (TIME-WAIT): the user lets go
}

Tcb* Engine::lookup(ConnId c) noexcept {
    if (c.index >= cfg_.max_connections) return nullptr;
    Tcb& tcb = tcbs_[c.index];
    return tcb.in_use && tcb.user_attached && tcb.gen == c.gen ? &tcb : nullptr;
}

const Tcb* Engine::lookup(ConnId c) const noexcept { return const_cast<Engine*>(this)->lookup(c); }

ConnId Engine::id_of(const Tcb& tcb) const noexcept {
    return ConnId{static_cast<uint32_t>(&tcb - tcbs_.get()), tcb.gen};
}

const Tcb* Engine::find(const FourTuple& t) const noexcept {
    uint32_t idx = table_.lookup(t, table_hash(t, nullptr));
    return idx == ConnTable::kNotFound ? nullptr : &tcbs_[idx];
}

const Tcb* Engine::find6(const FourTuple6& t) const noexcept {
    uint32_t idx = table6_.lookup(t, ConnTable6::hash(t));
    return idx == ConnTable6::kNotFound ? nullptr : &tcbs_[idx];
}

const Tcb* Engine::tcb(ConnId c) const noexcept { return lookup(c); }

// RFC 6528 over the connection's own 4-tuple: the IPv6 one in full (the hook, for tests, sees the IPv4-sized tuple).
uint32_t Engine::new_isn(const Tcb& tcb) const noexcept {
    if (isn_hook_ != nullptr) return isn_hook_(isn_ctx_, tcb.tuple);
    return tcb.v6 ? isn_.isn(tuple6(tcb), now_, tsc_hz_) : isn_.isn(tcb.tuple, now_, tsc_hz_);
}

ReassemblyBlock* Engine::alloc_ooo(const Tcb& owner) noexcept {
    ReassemblyBlock* b = ooo_free_;
    if (b != nullptr) {
        ooo_free_ = b->next_free;
        b->next_free = nullptr;
        b->count = 0;
        b->owner = static_cast<uint32_t>(&owner - tcbs_.get());
        ++ooo_in_use_;
    }
    return b;
}

void Engine::free_ooo(Tcb& tcb) noexcept {
    if (tcb.ooo == nullptr) return;
    tcb.ooo->clear();
    tcb.ooo->next_free = ooo_free_;
    ooo_free_ = tcb.ooo;
    tcb.ooo = nullptr;
    --ooo_in_use_;
}

int Engine::find_listener(uint32_t ip, uint16_t port) const noexcept {
    const uint16_t l = listener_by_port_[port];
    if (l == 0) return -1;
    const Listener& L = listeners_[l - 1];
    return L.family != 6 && (L.ip == 0 || L.ip == ip) ? l - 1 : -1;
}

int Engine::find_listener6(const wire::Ip6Addr& ip, uint16_t port) const noexcept {
    const uint16_t l = listener_by_port_[port];
    if (l == 0) return -1;
    const Listener& L = listeners_[l - 1];
    return L.family != 4 && (L.ip6.is_unspecified() || L.ip6 == ip) ? l - 1 : -1;
}

uint16_t Engine::pick_ephemeral_port(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port) noexcept {
    for (uint32_t tries = 0; tries < ephemeral_count(); ++tries) {
        uint16_t p = next_ephemeral_;
        next_ephemeral_ = static_cast<uint16_t>(p >= cfg_.ephemeral_high ? cfg_.ephemeral_low : p + 1);
        FourTuple t{local_ip, remote_ip, p, remote_port};
        if (listener_by_port_[p] != 0 || table_.lookup(t, table_hash(t, nullptr)) != ConnTable::kNotFound) continue;
        if (port_filter_ != nullptr && !port_filter_(port_filter_ctx_, t)) continue;
        // A client usually opens its next connection to the same peer: have that port's bucket on its way
        // (when the next port is ours to use: with a port filter it likely belongs to another core).
        if (port_filter_ == nullptr) {
            const FourTuple next{local_ip, remote_ip, next_ephemeral_, remote_port};
            table_.prefetch(table_hash(next, nullptr));
        }
        return p;
    }
    return 0;
}

uint16_t Engine::pick_ephemeral_port6(const wire::Ip6Addr& local_ip, const wire::Ip6Addr& remote_ip,
                                      uint16_t remote_port) noexcept {
    for (uint32_t tries = 0; tries < ephemeral_count(); ++tries) {
        uint16_t p = next_ephemeral_;
        next_ephemeral_ = static_cast<uint16_t>(p >= cfg_.ephemeral_high ? cfg_.ephemeral_low : p + 1);
        const FourTuple6 t{local_ip, remote_ip, p, remote_port};
        if (listener_by_port_[p] != 0 || table6_.lookup(t, ConnTable6::hash(t)) != ConnTable6::kNotFound) continue;
        if (port_filter6_ != nullptr && !port_filter6_(port_filter6_ctx_, t)) continue;
        return p;
    }
    return 0;
}

// ---- user calls ----

int Engine::listen(uint32_t ip, uint16_t port, uint32_t backlog) noexcept {
    if (port == 0) return -kErrInvalid;
    if (listener_by_port_[port] != 0) return -kErrInUse;
    for (uint32_t i = 0; i < listeners_.size(); ++i) {
        Listener& L = listeners_[i];
        if (L.in_use) continue;
        // At least 1: a full backlog evicts its oldest entry, so there must be one (listen_arrives).
        L = Listener{};
        L.ip = ip;
        L.family = ip == 0 ? 0 : 4;
        L.port = port;
        L.in_use = true;
        L.backlog = std::max<uint32_t>(1, backlog != 0 ? backlog : cfg_.syn_backlog);
        listener_by_port_[port] = static_cast<uint16_t>(i + 1);
        return static_cast<int>(i);
    }
    return -kErrNoMem;
}

int Engine::listen6(const wire::Ip6Addr& ip, uint16_t port, uint32_t backlog) noexcept {
    if (addr6_ == nullptr) return -kErrInvalid;
    const int l = listen(0, port, backlog);
    if (l >= 0) {
        listeners_[l].family = 6;
        listeners_[l].ip6 = ip;
    }
    return l;
}

int Engine::close_listener(int listener) noexcept {
    if (listener < 0 || static_cast<uint32_t>(listener) >= listeners_.size() || !listeners_[listener].in_use)
        return -kErrInvalid;
    // Half-open connections die with their listener (cold path: a scan is fine).
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) {
        Tcb& t = tcbs_[i];
        if (t.in_use && t.state == State::syn_received && t.passive && t.listener == listener + 1) free_tcb(t);
    }
    listener_by_port_[listeners_[listener].port] = 0;
    listeners_[listener] = Listener{};
    return 0;
}

int Engine::connect(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip, uint16_t remote_port, uint64_t user,
                    ConnId& out) noexcept {
    if (remote_ip == 0 || remote_port == 0 || local_ip == 0) return -kErrInvalid;
    if (local_port == 0) {
        local_port = pick_ephemeral_port(local_ip, remote_ip, remote_port);
        if (local_port == 0) return -kErrInUse;
    }
    FourTuple t{local_ip, remote_ip, local_port, remote_port};
    if (find(t) != nullptr) return -kErrInUse;
    return open_active(alloc_tcb(t, table_hash(t, nullptr)), user, out);
}

int Engine::connect6(const wire::Ip6Addr& local_ip, uint16_t local_port, const wire::Ip6Addr& remote_ip,
                     uint16_t remote_port, uint64_t user, ConnId& out) noexcept {
    if (addr6_ == nullptr) return -kErrInvalid;
    if (remote_ip.is_unspecified() || remote_ip.is_multicast() || remote_ip.is_v4_mapped() || remote_port == 0 ||
        local_ip.is_unspecified() || local_ip.is_multicast() || local_ip.is_v4_mapped())
        return -kErrInvalid;
    if (local_port == 0) {
        local_port = pick_ephemeral_port6(local_ip, remote_ip, remote_port);
        if (local_port == 0) return -kErrInUse;
    }
    if (find6(FourTuple6{local_ip, remote_ip, local_port, remote_port}) != nullptr) return -kErrInUse;
    const FourTuple t{fold(local_ip), fold(remote_ip), local_port, remote_port};
    return open_active(alloc_tcb6(wire::Ip6Pair{local_ip, remote_ip}, t), user, out);
}

int Engine::open_active(Tcb* tcb, uint64_t user, ConnId& out) noexcept {
    if (tcb == nullptr) return -kErrNoMem;
    // RFC 9293 §3.10.1 OPEN, active: select an ISS, send a SYN, enter SYN-SENT.
    tcb->iss = Seq{new_isn(*tcb)};
    tcb->snd_una = tcb->iss;
    tcb->snd_nxt = tcb->iss + 1;
    tcb->snd_max = tcb->snd_nxt;
    tcb->snd_buf_seq = tcb->iss + 1;
    set_state(*tcb, State::syn_sent);
    tcb->user_attached = true;
    tcb->user = user;
    tcb->cc.init(cc_algorithm(), our_mss(tcb->v6));  // RFC 6928 IW10, refined once the MSS is known
    ++ctr_.conn_opened_active;
    send_syn(*tcb);
    arm_rto(*tcb);
    out = id_of(*tcb);
    return 0;
}

uint32_t Engine::send_space(ConnId c) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return 0;
    const uint32_t mss = tcb->in(State::syn_sent | State::syn_received) ? cfg_.mss : tcb->snd_mss;
    const uint32_t space = tcb->snd_buf.bytes >= cfg_.snd_buf ? 0 : cfg_.snd_buf - tcb->snd_buf.bytes;
    const uint32_t n = std::min(space, send_mem_room(*tcb, mss));
    if (n == 0) tcb->want_writable = true;
    return n;
}

int32_t Engine::send(ConnId c, const void* data, uint32_t len) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    // RFC 9293 §3.10.2: SEND is refused once the user has closed (or in states past CLOSE-WAIT).
    if (!tcb->in(kCanSend) || tcb->fin_queued) return -kErrClosing;
    const uint32_t space = tcb->snd_buf.bytes >= cfg_.snd_buf ? 0 : cfg_.snd_buf - tcb->snd_buf.bytes;
    // A main-pool mbuf holds at most one MSS so that a segment usually maps to one mbuf reference; a bulk-pool
    // mbuf is filled up and one reference covers a slice of it.
    const uint32_t mss = tcb->in(State::syn_sent | State::syn_received) ? cfg_.mss : tcb->snd_mss;
    const uint32_t mem_room = send_mem_room(*tcb, mss);
    if (mem_room == 0 && space > 0 && len > 0) [[unlikely]] {
        // Memory, not the buffer, is short: backpressure the application never mistakes for data taken.
        ++ctr_.snd_refused_mem;
        tcb->want_writable = true;
        return -kErrAgain;
    }
    const uint32_t want = std::min({len, space, mem_room});
    const auto* src = static_cast<const uint8_t*>(data);
    auto cap = [&](const rte_mbuf* m) { return m->pool == bulk_pool_ ? uint32_t{m->buf_len} : mss; };
    uint32_t done = 0;
    while (done < want) {
        rte_mbuf* t = tcb->snd_buf.tail;
        uint32_t room = 0;
        if (t != nullptr && RTE_MBUF_DIRECT(t) && rte_mbuf_refcnt_read(t) == 1 && t->data_len < cap(t))
            room = std::min<uint32_t>(cap(t) - t->data_len, rte_pktmbuf_tailroom(t));
        if (room == 0) {
            rte_mbuf* m = nullptr;
            if (bulk_pool_ != nullptr && want - done >= kBulkWrite) m = rte_pktmbuf_alloc(bulk_pool_);
            if (m == nullptr) m = alloc_mbuf();
            if (m == nullptr) break;
            tcb->snd_buf.push_back_seg(m);
            t = m;
            room = std::min<uint32_t>(cap(m), rte_pktmbuf_tailroom(m));
        }
        const uint32_t n = std::min(room, want - done);
        std::memcpy(rte_pktmbuf_mtod_offset(t, uint8_t*, t->data_len), src + done, n);
        t->data_len = static_cast<uint16_t>(t->data_len + n);
        t->pkt_len = t->data_len;
        tcb->snd_buf.bytes += n;
        done += n;
    }
    recharge(*tcb);
    if (done < len || tcb->snd_buf.bytes >= cfg_.snd_buf) tcb->want_writable = true;
    if (done == 0 && want > 0) {  // the pool itself ran dry
        ++ctr_.snd_refused_mem;
        wake_writers_ = true;
        return -kErrAgain;
    }
    output(*tcb);
    return static_cast<int32_t>(done);
}

int32_t Engine::send_chain(ConnId c, rte_mbuf* m) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr || m == nullptr) return -kErrInvalid;
    if (!tcb->in(kCanSend) || tcb->fin_queued) return -kErrClosing;
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (tcb->snd_buf.bytes + len > cfg_.snd_buf) {
        tcb->want_writable = true;
        return -kErrAgain;
    }
    uint32_t ts = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) ts += mbuf_truesize(s);
    if (uint64_t{send_mem_room(*tcb, mbuf_true_)} < ts) {  // room counted in true bytes here
        ++ctr_.snd_refused_mem;
        tcb->want_writable = true;
        return -kErrAgain;
    }
    tcb->snd_buf.append_chain(m);
    recharge(*tcb);
    if (tcb->snd_buf.bytes >= cfg_.snd_buf) tcb->want_writable = true;
    output(*tcb);
    return static_cast<int32_t>(len);
}

int32_t Engine::recv(ConnId c, void* buf, uint32_t len) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    tcb->readable_signalled = false;
    const uint32_t n = tcb->rcv_buf.read(buf, len);
    if (n > 0) {
        recharge(*tcb);
        window_update_after_read(*tcb);
    }
    return static_cast<int32_t>(n);
}

rte_mbuf* Engine::recv_chain(ConnId c) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return nullptr;
    tcb->readable_signalled = false;
    rte_mbuf* m = tcb->rcv_buf.take_chain();
    if (m != nullptr) {
        recharge(*tcb);
        window_update_after_read(*tcb);
    }
    return m;
}

int Engine::close(ConnId c) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    if (tcb->fin_queued) return -kErrClosing;
    switch (tcb->state) {
    case State::syn_sent:
        // RFC 9293 §3.10.4: delete the TCB; no segment is sent.
        detach_user(*tcb);
        free_tcb(*tcb);
        return 0;
    case State::syn_received:
        // Queued until ESTABLISHED, then FIN (RFC 9293 §3.10.4).
        tcb->fin_queued = true;
        return 0;
    case State::established:
    case State::close_wait:
        // RFC 9293 SHLD-3: closing with received data unread resets rather than losing it silently.
        if (tcb->rcv_buf.bytes > 0) return abort(c);
        tcb->fin_queued = true;
        set_state(*tcb, tcb->state == State::established ? State::fin_wait_1 : State::last_ack);
        output(*tcb);
        return 0;
    default:
        return -kErrClosing;
    }
}

int Engine::abort(ConnId c) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    // RFC 9293 §3.10.5: RST from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT; silence otherwise.
    if (tcb->in(State::syn_received | State::established | State::fin_wait_1 | State::fin_wait_2 | State::close_wait))
        reset_peer(*tcb, tcb->snd_max);
    ++ctr_.conn_reset;
    detach_user(*tcb);
    free_tcb(*tcb);
    return 0;
}

int Engine::set_delayed_fin_ack(ConnId c, bool on) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    tcb->delay_fin_ack = on;
    return 0;
}

int Engine::set_user(ConnId c, uint64_t user) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    tcb->user = user;
    return 0;
}

State Engine::state(ConnId c) const noexcept {
    const Tcb* tcb = lookup(c);
    return tcb == nullptr ? State::closed : tcb->state;
}

void Engine::defer_ack(Tcb& tcb) noexcept {
    if (tcb.ack_listed) return;
    if (ack_list_len_ == ack_list_cap_) {  // list full: no waiting, send it now
        send_ack(tcb);
        return;
    }
    tcb.ack_listed = true;
    ack_list_[ack_list_len_++] = static_cast<uint32_t>(&tcb - tcbs_.get());
}

void Engine::flush_acks() noexcept {
    for (uint32_t i = 0; i < ack_list_len_; ++i) {
        Tcb& tcb = tcbs_[ack_list_[i]];
        if (!tcb.in_use || !tcb.ack_listed) continue;  // freed (and maybe reused) since it was listed
        tcb.ack_listed = false;
        if (tcb.ack_now) send_ack(tcb);  // still owed: nothing sent since carried it
    }
    ack_list_len_ = 0;
}

uint16_t Engine::drain_tx(rte_mbuf** out, uint16_t n) noexcept {
    if (ack_list_len_ > 0) flush_acks();
    uint16_t k = 0;
    while (k < n && tx_count_ > 0) {
        out[k++] = tx_ring_[tx_head_];
        tx_head_ = tx_head_ + 1 == tx_cap_ ? 0 : tx_head_ + 1;
        --tx_count_;
    }
    if (tx_count_ == 0) return_stash();  // an idle engine holds no mbuf it does not use
    return k;
}

// Every mbuf the engine builds (headers, references, copies) comes from here: from the stash when fill_stash()
// stocked it, else straight from the pool.
rte_mbuf* Engine::alloc_mbuf() noexcept {
    if (stash_len_ == 0) return rte_pktmbuf_alloc(pool_);
    rte_mbuf* m = stash_[--stash_len_];
    rte_pktmbuf_reset(m);  // what rte_pktmbuf_alloc() does after taking one from the pool
    return m;
}

// Before a run of segments: the mbufs we get back from the pool were mostly freed by another core (the receiver
// of what we sent), so their headers are not in our cache. Taken a handful at a time and prefetched together,
// those misses overlap instead of stalling one by one. (Not for a lone segment: a handshake or an ACK would pay
// for the bulk get and put and use one mbuf of them.)
void Engine::fill_stash() noexcept {
    if (stash_len_ != 0 || rte_mempool_get_bulk(pool_, reinterpret_cast<void**>(stash_), kStash) != 0) return;
    for (rte_mbuf* m : stash_) {
        rte_prefetch0(m);
        rte_prefetch0(reinterpret_cast<const char*>(m) + RTE_CACHE_LINE_SIZE);
    }
    stash_len_ = kStash;
}

void Engine::return_stash() noexcept {
    if (stash_len_ == 0) return;
    rte_mempool_put_bulk(pool_, reinterpret_cast<void* const*>(stash_), stash_len_);
    stash_len_ = 0;
}

void Engine::enqueue_tx(rte_mbuf* m) noexcept {
    if (tx_count_ == tx_cap_) {
        ++ctr_.tx_dropped_queue_full;
        rte_pktmbuf_free(m);
        return;
    }
    uint32_t pos = tx_head_ + tx_count_;
    if (pos >= tx_cap_) pos -= tx_cap_;
    tx_ring_[pos] = m;
    ++tx_count_;
}

}  // namespace synack::tcp
