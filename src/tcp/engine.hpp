// One TCP engine per core: shared nothing, no locks, no allocation after construction (TCBs, reassembly blocks,
// the connection table and the TX ring are sized up front; data lives in mbufs).
//
// The engine sees IP packets: input() takes an mbuf whose data starts at the IPv4 header, input6() one at the IPv6
// header; drain_tx() hands out IPv4 and IPv6 packets with at least 14 bytes of headroom for the Ethernet header.
// IPv6 connections (TcpConfig::max_connections6) share the TCB pool but have a table of their own keyed by
// FourTuple6, and their addresses beside the TCBs (addr6_): the IPv4 path neither reads nor grows for them.
// Time is whatever the caller passes (the TSC in production, an injected clock in tests); advance() runs the timers.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_mbuf.h>

#include "synack/config.hpp"
#include "tcp/conn_table.hpp"
#include "tcp/counters.hpp"
#include "tcp/events.hpp"
#include "tcp/isn.hpp"
#include "tcp/sack_state.hpp"
#include "tcp/syn_cookie.hpp"
#include "tcp/tcb.hpp"
#include "net/icmp_error.hpp"
#include "net/mbuf_ptr.hpp"
#include "timer/wheel.hpp"
#include "wire/segment.hpp"

namespace synack::tcp {

/// SEG.SEQ and SEG.ACK in sequence space: the wire layer keeps the raw numbers, the engine compares only Seq.
inline Seq seg_seq(const wire::Segment& s) noexcept { return Seq{s.seq}; }
inline Seq seg_ack(const wire::Segment& s) noexcept { return Seq{s.ack}; }

/// Error codes returned (negated) by the user calls, errno-style.
enum : int {
    kErrInvalid = 22,     // EINVAL: bad handle or argument
    kErrNoMem = 12,       // ENOMEM: TCB pool, table or mbufs exhausted
    kErrInUse = 98,       // EADDRINUSE
    kErrNotConn = 107,    // ENOTCONN
    kErrClosing = 32,     // EPIPE: the connection is closing
    kErrAgain = 11,       // EAGAIN
};

class Engine {
public:
    /// `pool` supplies every mbuf the engine creates (headers, copies of sent data, clones for retransmission).
    Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles);
    /// As above with a fixed ISN key (tests, reproducible runs).
    Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles,
           const std::array<uint8_t, 16>& isn_key);
    ~Engine();
    /// Large writes copy into mbufs from `p` (optional, big data room): fewer mbufs, allocations and references
    /// per byte sent than MSS-sized ones. Small writes, and any write when `p` runs dry, use the main pool.
    void set_bulk_pool(rte_mempool* p) noexcept { bulk_pool_ = p; }
    rte_mempool* bulk_pool() const noexcept { return bulk_pool_; }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // ---- driving the engine (the run-to-completion loop) ----
    /// Processes one received IPv4 packet; the engine owns `m` afterwards.
    void input(rte_mbuf* m, uint64_t now_cycles) noexcept;
    /// Processes a burst (the engine owns the mbufs afterwards); lookups and TCB loads are prefetched together.
    void input_burst(rte_mbuf** m, uint16_t n, uint64_t now_cycles) noexcept;
    /// Processes one received IPv6 packet (data at the IPv6 header, as net::Interface hands TCP over IPv6 on);
    /// the engine owns `m` afterwards. Counted and dropped when max_connections6 is 0.
    void input6(rte_mbuf* m, uint64_t now_cycles) noexcept;
    /// Fires due timers (retransmission, delayed ACK, persist, TIME-WAIT).
    void advance(uint64_t now_cycles) noexcept;
    /// An ICMP error quoting a segment we sent (net::Interface parsed it): fragmentation needed lowers that
    /// connection's SND.MSS and resends (RFC 1191), the rest is recorded as a soft error (RFC 1122 §4.2.3.9);
    /// ignored unless the quoted sequence number is in SND.UNA..SND.MAX (RFC 5927). Returns whether the 4-tuple
    /// is a connection of this engine.
    bool icmp_error(const net::IcmpError& e, uint64_t now_cycles) noexcept;
    /// An ICMPv6 Packet Too Big quoting a segment we sent: lowers that IPv6 connection's SND.MSS to the MTU less
    /// 60 and resends (RFC 8201 §4), under the same RFC 5927 sequence check. Returns whether it is a connection
    /// of this engine.
    bool packet_too_big(const net::PacketTooBig& p, uint64_t now_cycles) noexcept;
    /// Moves up to `n` packets to transmit into `out`, oldest first; the caller owns them.
    uint16_t drain_tx(rte_mbuf** out, uint16_t n) noexcept;
    uint32_t tx_pending() const noexcept { return tx_count_ + ack_list_len_; }
    /// Calls handler(const Event&) for every queued event, including ones queued by the handler's own calls.
    template <class Handler> size_t dispatch(Handler&& handler);

    // ---- user calls (RFC 9293 §3.10.1-5) ----
    /// Passive OPEN on `ip` and `port`: ip 0 takes SYNs to any of our addresses, IPv4 and IPv6 alike; an address
    /// takes IPv4 to that address only. Returns the listener id (>= 0) or a negative error.
    int listen(uint32_t ip, uint16_t port, uint32_t backlog = 0) noexcept;
    /// Passive OPEN for IPv6 only: to `ip`, or to any of our IPv6 addresses when it is unspecified.
    int listen6(const wire::Ip6Addr& ip, uint16_t port, uint32_t backlog = 0) noexcept;
    /// Closes a listener; half-open connections it owns are dropped.
    int close_listener(int listener) noexcept;
    /// Active OPEN. local_port 0 picks an ephemeral port. Returns 0 and the handle, or a negative error.
    int connect(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip, uint16_t remote_port, uint64_t user,
                ConnId& out) noexcept;
    /// Active OPEN over IPv6 (needs max_connections6 > 0); as connect() otherwise.
    int connect6(const wire::Ip6Addr& local_ip, uint16_t local_port, const wire::Ip6Addr& remote_ip,
                 uint16_t remote_port, uint64_t user, ConnId& out) noexcept;
    /// SEND: copies up to `len` bytes into the send buffer. Returns bytes taken or a negative error. When the call
    /// was cut short or filled the buffer, a `writable` event follows once a quarter of the buffer is free.
    int32_t send(ConnId c, const void* data, uint32_t len) noexcept;
    /// SEND without copying: the engine takes the whole chain `m` (it owns it from then on) when it fits in the
    /// send buffer; otherwise nothing is taken and -kErrAgain is returned (a `writable` event follows).
    /// Its segments are referenced by the segments sent, so they must not be written to afterwards.
    int32_t send_chain(ConnId c, rte_mbuf* m) noexcept;
    /// RECEIVE: copies up to `len` in-order bytes out. Returns bytes, 0 when none are waiting, or a negative error.
    int32_t recv(ConnId c, void* buf, uint32_t len) noexcept;
    /// RECEIVE without copying: every waiting byte as one mbuf chain the caller then owns (nullptr if none).
    rte_mbuf* recv_chain(ConnId c) noexcept;
    /// CLOSE: FIN after the queued data (RST instead when received data was left unread, RFC 9293 SHLD-3).
    int close(ConnId c) noexcept;
    /// ABORT: RST where RFC 9293 §3.10.5 says so; the handle is invalid afterwards.
    int abort(ConnId c) noexcept;
    int set_user(ConnId c, uint64_t user) noexcept;

    /// Keepalive for one connection (RFC 1122 §4.2.3.6): a probe after `idle_s` seconds without hearing from the
    /// peer, then every `intvl_s`; `cnt` unanswered probes end it (event keepalive_timed_out). idle_s 0 turns it
    /// off. cnt must be at least 2 (MUST-29: one lost probe never kills).
    int set_keepalive(ConnId c, uint32_t idle_s, uint32_t intvl_s, uint32_t cnt) noexcept;
    /// When `on`, the ACK of the peer's FIN that ends ESTABLISHED waits for the delayed-ACK timer instead of going
    /// out at once, so that a close() within that time sends one FIN+ACK (Linux's interactive mode does the same):
    /// for applications that answer a FIN from another thread, a loop iteration or more later.
    int set_delayed_fin_ack(ConnId c, bool on) noexcept;

    // ---- introspection ----
    State state(ConnId c) const noexcept;
    /// The TCB of a 4-tuple (our side's view), or nullptr. For tests and diagnostics.
    const Tcb* find(const FourTuple& t) const noexcept;
    /// The same for an IPv6 connection.
    const Tcb* find6(const FourTuple6& t) const noexcept;
    /// An IPv6 connection's addresses, ours as `src` (its tuple holds the ports); only for a TCB with v6 set.
    const wire::Ip6Pair& addr6(const Tcb& tcb) const noexcept { return addr6_[&tcb - tcbs_.get()]; }
    const Tcb* tcb(ConnId c) const noexcept;
    uint32_t connections() const noexcept { return table_.size() + table6_.size(); }
    /// Connections lingering in TIME-WAIT.
    uint32_t time_wait_count() const noexcept { return time_wait_; }
    /// Bytes SEND would take now: the send buffer's free space, less when memory is short (budgets, pool
    /// reserve). 0 arms a `writable` event for when space frees.
    uint32_t send_space(ConnId c) noexcept;
    const EngineCounters& counters() const noexcept { return ctr_; }
    /// Memory held in the connections' queues, true size (whole mbufs), against the engine's budget.
    struct MemStats {
        uint64_t used, limit, high, low;
        uint32_t conn_rcv_limit, conn_snd_limit, rx_reserve;
        bool pressure;
    };
    MemStats mem_stats() const noexcept {
        return {mem_used_, mem_limit_, mem_high_, mem_low_, conn_rcv_limit_, conn_snd_limit_, rx_reserve_, pressure_};
    }
    const TcpConfig& config() const noexcept { return cfg_; }
    uint64_t now() const noexcept { return now_; }
    uint64_t ms_to_cycles(uint64_t ms) const noexcept { return ms * tsc_hz_ / 1000; }
    /// Our RFC 7323 timestamp clock now for connection `t` (1 ms ticks, offset per address pair): the TSval of
    /// a segment sent now.
    uint32_t tsval(const FourTuple& t) const noexcept;

    /// Pins ISNs (tests): fn(ctx, tuple) replaces the RFC 6528 generator while set.
    using IsnHook = uint32_t (*)(void* ctx, const FourTuple& t);
    void set_isn_hook(IsnHook fn, void* ctx) noexcept {
        isn_hook_ = fn;
        isn_ctx_ = ctx;
    }
    /// Keys the connection table by the NIC's RSS hash: `fn(tuple)` must compute, in software, the hash the NIC
    /// gives packets arriving for `tuple` (our side's view); segments carrying RTE_MBUF_F_RX_RSS_HASH use
    /// mbuf->hash.rss instead of hashing the tuple again. Set before the first connection.
    using FlowHash = uint32_t (*)(const FourTuple& t);
    void set_flow_hash(FlowHash fn) noexcept { flow_hash_ = fn; }
    /// Restricts ephemeral ports (e.g. to ones whose RSS hash returns to this core): fn(ctx, tuple) -> acceptable.
    using PortFilter = bool (*)(void* ctx, const FourTuple& t);
    void set_port_filter(PortFilter fn, void* ctx) noexcept {
        port_filter_ = fn;
        port_filter_ctx_ = ctx;
    }
    /// The same for IPv6 active opens.
    using PortFilter6 = bool (*)(void* ctx, const FourTuple6& t);
    void set_port_filter6(PortFilter6 fn, void* ctx) noexcept {
        port_filter6_ = fn;
        port_filter6_ctx_ = ctx;
    }

    /// Segments that find neither a connection nor a listener go to fn(ctx, m) (the kernel's exception path)
    /// instead of drawing a RST: synack answers only for the ports it serves. fn owns m (data at the IP header,
    /// IPv4 or IPv6; the Ethernet header still in front of it).
    using StrayHandler = void (*)(void* ctx, rte_mbuf* m);
    void set_stray_handler(StrayHandler fn, void* ctx) noexcept {
        stray_ = fn;
        stray_ctx_ = ctx;
    }

private:
    struct Listener {
        uint32_t ip = 0;
        wire::Ip6Addr ip6;             // listen6(): its address (unspecified: any of ours)
        uint8_t family = 0;            // 0: both (listen(0, ..)), 4: IPv4 only, 6: IPv6 only
        uint16_t port = 0;
        bool in_use = false;
        uint32_t backlog = 0;
        uint32_t half_open = 0;        // connections in SYN-RECEIVED it created...
        uint32_t half_head = kNoTcb;   // ...linked oldest first through Tcb::half_prev/half_next
        uint32_t half_tail = kNoTcb;
    };
    void half_open_add(Listener& L, Tcb& tcb) noexcept;
    void half_open_remove(Tcb& tcb) noexcept;

    Engine(const TcpConfig& cfg, rte_mempool* pool, uint64_t tsc_hz, uint64_t now_cycles, IsnGenerator isn,
           const syn_cookie::Key& cookie_key);
    void after_event(const Event& ev) noexcept;

    // input.cpp: RFC 9293 §3.10.7, one function per clause
    // The received packet travels in a net::MbufPtr: whichever path ends with it still held frees it.
    // `a6` is non-null for a segment over IPv6: its addresses as a reply carries them (ours as src); the
    // segment's src_ip/dst_ip then hold their fold().
    void segment_arrives(net::MbufPtr m, const wire::Segment& seg, const FourTuple& t, uint32_t hash,
                         uint32_t hint) noexcept;
    void no_tcb_arrives(net::MbufPtr m, const wire::Segment& seg, const wire::Ip6Pair* a6) noexcept;
    void closed_arrives(const wire::Segment& seg, const wire::Ip6Pair* a6 = nullptr) noexcept;
    void listen_arrives(const rte_mbuf* m, const wire::Segment& seg, uint16_t listener,
                        const wire::Ip6Pair* a6 = nullptr) noexcept;
    void syn_sent_arrives(Tcb& tcb, net::MbufPtr m, const wire::Segment& seg) noexcept;
    void synchronized_arrives(Tcb& tcb, net::MbufPtr m, wire::Segment& seg) noexcept;
    bool time_wait_syn(Tcb& tcb, const rte_mbuf* m, const wire::Segment& seg) noexcept;
    bool acceptable(const Tcb& tcb, const wire::Segment& seg) const noexcept;
    bool rst_arrives(Tcb& tcb, const wire::Segment& seg) noexcept;
    void challenge_ack(Tcb& tcb) noexcept;
    bool ack_arrives(Tcb& tcb, const wire::Segment& seg) noexcept;
    void process_ack_of_data(Tcb& tcb, Seq ack, uint32_t ts_rtt_us = 0) noexcept;
    void update_send_window(Tcb& tcb, const wire::Segment& seg) noexcept;
    void text_arrives(Tcb& tcb, net::MbufPtr m, const wire::Segment& seg) noexcept;
    void fin_arrives(Tcb& tcb) noexcept;
    void take_peer_options(Tcb& tcb, const wire::Segment& seg) noexcept;
    void enter_established(Tcb& tcb) noexcept;
    void enter_time_wait(Tcb& tcb) noexcept;
    int find_listener(uint32_t ip, uint16_t port) const noexcept;
    int find_listener6(const wire::Ip6Addr& ip, uint16_t port) const noexcept;

    // options.cpp: RFC 7323 window scaling and timestamps, RFC 2018 / 2883 SACK
    uint8_t our_wscale() const noexcept;
    uint64_t now_us() const noexcept { return cycles_to_us(now_); }
    uint64_t cycles_to_us(uint64_t c) const noexcept {
        return tsc_hz_ >= 1000000 ? c / (tsc_hz_ / 1000000) : c * (1000000 / tsc_hz_);
    }
    void negotiate_options(Tcb& tcb, const wire::Segment& syn) noexcept;
    uint32_t peer_window(const Tcb& tcb, const wire::Segment& seg) const noexcept;
    uint32_t rcv_window_cap(const Tcb& tcb) const noexcept;
    uint16_t window_field(Tcb& tcb, uint32_t wnd, bool syn) noexcept;
    const wire::TcpOptions* segment_options(Tcb& tcb, uint8_t flags, uint32_t len, wire::TcpOptions& o) noexcept;
    bool paws_drop(Tcb& tcb, const wire::Segment& seg) noexcept;
    void segment_accepted(Tcb& tcb, const wire::Segment& seg) noexcept;
    uint32_t ts_rtt_sample(Tcb& tcb, const wire::Segment& seg) noexcept;
    void eifel_check(Tcb& tcb, const wire::Segment& seg) noexcept;
    bool time_wait_reopens(Tcb& tcb, const wire::Segment& syn) noexcept;
    void sack_duplicate(Tcb& tcb, const wire::Segment& seg) noexcept;
    void sack_out_of_order(Tcb& tcb, Seq seq) noexcept;
    void sack_forget(Tcb& tcb, Seq left, Seq right) noexcept;
    void cookie_syn_ack_options(const wire::Segment& syn, const FourTuple& t, wire::TcpOptions& o) noexcept;
    uint32_t cookie_ts_max_age() const noexcept;
    void cookie_take_options(Tcb& tcb, const wire::Segment& ack, const syn_cookie::TsOptions& o) noexcept;

    // keepalive.cpp: RFC 1122 §4.2.3.6
    void keepalive_arm(Tcb& tcb) noexcept;
    void on_keepalive(Tcb& tcb) noexcept;

    // syn_flood.cpp: SYN cookies (RFC 4987 §3.6) and table-full eviction
    bool table_full(bool v6 = false) const noexcept;
    bool syn_cookie_instead(const Listener& L, bool v6) const noexcept;
    bool evict_oldest_half_open() noexcept;
    bool cookies_recent() const noexcept;
    uint32_t mint_cookie(const wire::Segment& syn, const FourTuple& t, const wire::Ip6Pair* a6) noexcept;
    void send_cookie_syn_ack(const wire::Segment& syn, const FourTuple& t, const wire::Ip6Pair* a6) noexcept;
    bool cookie_ack_arrives(net::MbufPtr& m, const wire::Segment& seg, uint16_t listener,
                            const wire::Ip6Pair* a6) noexcept;

    // output.cpp
    void output(Tcb& tcb) noexcept;
    void start_user_timeout(Tcb& tcb) noexcept;
    bool send_segment(Tcb& tcb, Seq seq, uint32_t len, uint8_t flags) noexcept;
    void send_ack(Tcb& tcb) noexcept;
    void defer_ack(Tcb& tcb) noexcept;
    void flush_acks() noexcept;
    void send_syn(Tcb& tcb) noexcept;
    void send_reset(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                    uint32_t ack, bool with_ack, const wire::Ip6Pair* a6 = nullptr) noexcept;
    /// <SEQ=seq><CTL=RST> to the peer of a connection, over its family.
    void reset_peer(const Tcb& tcb, Seq seq) noexcept;
    /// Prepends the headers of the TCB's family.
    bool prepend_for(rte_mbuf* m, const Tcb& tcb, const wire::SegmentHeader& h) noexcept;
    /// Our MSS for a connection: TcpConfig::mss (MTU - 40) over IPv4, 20 less over IPv6 (MTU - 60).
    uint16_t our_mss(bool v6) const noexcept { return v6 ? static_cast<uint16_t>(cfg_.mss - kIpv6Extra) : cfg_.mss; }
    static constexpr uint16_t kIpv6Extra = 20;  ///< IPv6 header (40) less IPv4's (20): RFC 8200 §8.3
    uint32_t max_segment(const Tcb& tcb) const noexcept;
    uint32_t fit_mbuf_limit(const Tcb& tcb, uint32_t len) const noexcept;
    bool attach_payload(rte_mbuf* hdr, const Tcb& tcb, Seq seq, uint32_t len) noexcept;
    bool copy_payload(rte_mbuf* hdr, const Tcb& tcb, Seq seq, uint32_t len) noexcept;
    void enqueue_tx(rte_mbuf* m) noexcept;
    rte_mbuf* alloc_mbuf() noexcept;
    void fill_stash() noexcept;
    void return_stash() noexcept;
    uint16_t receive_window(Tcb& tcb, bool syn = false) noexcept;
    void window_update_after_read(Tcb& tcb) noexcept;

    // loss.cpp: congestion control and loss recovery on the sender side (RFC 5681, 3042, 6582, 6937)
    cc::Algorithm cc_algorithm() const noexcept {
        return cfg_.cc == CongestionAlgorithm::newreno ? cc::Algorithm::newreno : cc::Algorithm::cubic;
    }
    void cc_start(Tcb& tcb) noexcept { tcb.cc.init(cc_algorithm(), tcb.snd_mss); }
    bool is_dup_ack(const Tcb& tcb, const wire::Segment& seg) const noexcept;
    void dup_ack_arrives(Tcb& tcb) noexcept;
    void congestion_on_ack(Tcb& tcb, Seq ack, uint32_t acked, uint32_t prior_flight, uint32_t rtt_us) noexcept;
    void recovery_send(Tcb& tcb, uint32_t delivered, bool retransmit) noexcept;
    uint32_t retransmit_una(Tcb& tcb) noexcept;
    void loss_on_rto(Tcb& tcb) noexcept;
    void idle_restart(Tcb& tcb) noexcept;
    void arm_rto_or_probe(Tcb& tcb) noexcept;
    void dsack_arrives(Tcb& tcb, const wire::Segment& seg) noexcept;
    void on_loss_probe(Tcb& tcb) noexcept;
    bool tlp_on_ack(Tcb& tcb, Seq ack, bool advanced, uint32_t prior_flight) noexcept;
    uint32_t retransmit_range(Tcb& tcb, Seq seq, uint32_t len) noexcept;

    // sack_recovery.cpp: the sender's SACK recovery (RFC 6675) with RACK loss detection (RFC 8985)
    bool sack_attach(Tcb& tcb) noexcept;
    void sack_release(Tcb& tcb) noexcept;
    bool sack_reports_new_data(const Tcb& tcb, const wire::Segment& seg) const noexcept;
    void sack_ack_arrives(Tcb& tcb, const wire::Segment& seg, uint32_t acked, bool recovery_ended) noexcept;
    bool rack_mark_lost(Tcb& tcb) noexcept;
    void sack_enter_recovery(Tcb& tcb) noexcept;
    void sack_recovery_send(Tcb& tcb, uint32_t delivered, bool entering) noexcept;
    int64_t resend_lost_retransmissions(Tcb& tcb, int64_t budget) noexcept;
    void rack_sent(Tcb& tcb, Seq seq, uint32_t len, bool retransmission) noexcept {
        if (tcb.sack != nullptr && len > 0) tcb.sack->rack.on_send(seq, seq + len, now_us(), retransmission);
    }
    void on_reorder_timer(Tcb& tcb) noexcept;

    // timers.cpp
    void on_timer(timer::TimerNode& node) noexcept;
    void on_rto(Tcb& tcb) noexcept;
    void on_persist(Tcb& tcb) noexcept;
    void arm_rto(Tcb& tcb) noexcept;
    void arm_timer(Tcb& tcb, TimerMode mode, uint64_t us) noexcept;
    void stop_timer(Tcb& tcb) noexcept;
    uint32_t rtt_sample(Tcb& tcb, uint64_t rtt_cycles) noexcept;
    void schedule_ack(Tcb& tcb, uint32_t len) noexcept;

    // pmtu.cpp: path MTU (RFC 1191, RFC 4821 black holes)
    void frag_needed(Tcb& tcb, const net::IcmpError& e) noexcept;
    void lower_mss(Tcb& tcb, uint32_t mss) noexcept;
    void pmtu_on_rto(Tcb& tcb) noexcept;
    static constexpr uint32_t kMinPmtuMss = 536;  ///< RFC 1122 §3.3.3: every host takes 576-byte datagrams

    // engine.cpp: TCB lifetime and events
    /// Every state change goes through here: it keeps the per-state gauge (EngineCounters::conn_in_state).
    void set_state(Tcb& tcb, State s) noexcept {
        if (tcb.state != State::closed) --ctr_.conn_in_state[static_cast<unsigned>(tcb.state)];
        if (s != State::closed) ++ctr_.conn_in_state[static_cast<unsigned>(s)];
        tcb.state = s;
    }
    Tcb* alloc_tcb(const FourTuple& t, uint32_t hash) noexcept;
    /// An IPv6 TCB for addresses a6 (ours as src) and the ports of t (whose addresses are the folds).
    Tcb* alloc_tcb6(const wire::Ip6Pair& a6, const FourTuple& t) noexcept;
    Tcb* claim_tcb(const FourTuple& t, uint32_t hash) noexcept;
    FourTuple6 tuple6(const Tcb& tcb) const noexcept {
        const wire::Ip6Pair& a = addr6(tcb);
        return FourTuple6{a.src, a.dst, tcb.tuple.local_port, tcb.tuple.remote_port};
    }
    uint32_t table_hash(const FourTuple& t, const rte_mbuf* m) const noexcept;
    void free_tcb(Tcb& tcb) noexcept;
    void terminate(Tcb& tcb, EventType why) noexcept;
    void emit(Tcb& tcb, EventType type) noexcept;
    void detach_user(Tcb& tcb) noexcept;
    Tcb* lookup(ConnId c) noexcept;
    const Tcb* lookup(ConnId c) const noexcept;
    ConnId id_of(const Tcb& tcb) const noexcept;
    uint32_t new_isn(const Tcb& tcb) const noexcept;
    ReassemblyBlock* alloc_ooo(const Tcb& owner) noexcept;
    void free_ooo(Tcb& tcb) noexcept;
    uint16_t pick_ephemeral_port(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port) noexcept;
    uint16_t pick_ephemeral_port6(const wire::Ip6Addr& local_ip, const wire::Ip6Addr& remote_ip,
                                  uint16_t remote_port) noexcept;
    int open_active(Tcb* tcb, uint64_t user, ConnId& out) noexcept;
    uint32_t ephemeral_count() const noexcept { return uint32_t{cfg_.ephemeral_high} - cfg_.ephemeral_low + 1; }
    uint64_t us_to_cycles(uint64_t us) const noexcept { return us * tsc_hz_ / 1000000; }
    /// The clock in units of 2^stamp_shift_ cycles (0.5-1 ms), 32 bits: wraps after 24 days or more, and
    /// intervals are compared by unsigned difference.
    uint32_t stamp() const noexcept { return static_cast<uint32_t>(now_ >> stamp_shift_); }
    uint32_t ms_to_stamps(uint64_t ms) const noexcept {
        return static_cast<uint32_t>(std::min<uint64_t>(ms_to_cycles(ms) >> stamp_shift_, UINT32_MAX));
    }

    // memory.cpp: budgets, pruning, pressure
    void init_memory() noexcept;
    /// Brings the connection's and the engine's charge up to date with what its queues hold now.
    void recharge(Tcb& tcb) noexcept {
        const uint32_t rcv = tcb.rcv_buf.truesize + (tcb.ooo != nullptr ? tcb.ooo->truesize() : 0);
        const uint32_t snd = tcb.snd_buf.truesize;
        mem_used_ = mem_used_ + rcv + snd - tcb.mem_rcv - tcb.mem_snd;
        tcb.mem_rcv = rcv;
        tcb.mem_snd = snd;
        if (mem_used_ >= mem_high_ || pressure_) [[unlikely]]
            pressure_update();
    }
    void pressure_update() noexcept;
    bool rx_admit(Tcb& tcb, uint32_t truesize) noexcept;
    bool ooo_admit(Tcb& tcb, Seq seq, uint32_t truesize) noexcept;
    void collapse(Tcb& tcb) noexcept;
    uint32_t prune_last(Tcb& tcb) noexcept;
    void prune_all_ooo(uint64_t target) noexcept;
    uint32_t send_mem_room(const Tcb& tcb, uint32_t mss) noexcept;
    void mem_check() noexcept;
    void abort_worst(uint64_t target, uint32_t min_idle) noexcept;
    void give_up(Tcb& tcb, EventType why, bool with_rst) noexcept;

    TcpConfig cfg_;
    rte_mempool* pool_;
    rte_mempool* bulk_pool_ = nullptr;
    static constexpr uint32_t kBulkWrite = 4096;  ///< writes from this size on go to bulk_pool_ mbufs
    static constexpr uint32_t kTsoMinMss = 536;   ///< below this SND.MSS, no TSO (see max_segment)
    static constexpr uint32_t kPressureWindowSegs = 4;  ///< window offered under memory pressure, in MSS
    uint64_t tsc_hz_;
    uint64_t now_;
    IsnGenerator isn_;
    syn_cookie::Key cookie_key_;      // its own secret, not the ISN's
    uint64_t cookie_sent_at_ = 0;     // cycles: the last cookie we issued (a cookie ACK is only looked at soon after)
    bool cookie_sent_ = false;
    uint32_t half_open_total_ = 0;    // passive SYN-RECEIVED connections across listeners
    IsnHook isn_hook_ = nullptr;
    void* isn_ctx_ = nullptr;
    FlowHash flow_hash_ = nullptr;
    StrayHandler stray_ = nullptr;
    void* stray_ctx_ = nullptr;
    PortFilter port_filter_ = nullptr;
    void* port_filter_ctx_ = nullptr;
    PortFilter6 port_filter6_ = nullptr;
    void* port_filter6_ctx_ = nullptr;
    timer::Wheel wheel_;
    ConnTable table_;
    ConnTable6 table6_;                          // IPv6 connections (capacity max_connections6)
    std::unique_ptr<wire::Ip6Pair[]> addr6_;     // per TCB index, ours as src; null when IPv6 is off
    std::unique_ptr<Tcb[]> tcbs_;
    uint32_t free_head_ = UINT32_MAX;
    std::unique_ptr<ReassemblyBlock[]> ooo_blocks_;
    ReassemblyBlock* ooo_free_ = nullptr;
    std::unique_ptr<SackState[]> sack_states_;  ///< the pool Tcb::sack is lent from (see sack_state.hpp)
    SackState* sack_free_ = nullptr;
    uint32_t sack_states_count_ = 0;
    std::vector<Listener> listeners_;
    std::unique_ptr<uint16_t[]> listener_by_port_;  // port -> listener index + 1
    std::unique_ptr<rte_mbuf*[]> tx_ring_;
    // mbufs taken from pool_ ahead of use (see alloc_mbuf); handed back whenever the TX queue has been drained
    static constexpr uint32_t kStash = 16;
    rte_mbuf* stash_[kStash];
    uint32_t stash_len_ = 0;
    uint32_t tx_cap_ = 0, tx_head_ = 0, tx_count_ = 0;
    std::vector<Event> events_;
    // ACKs owed at the end of input, sent at drain_tx(): whatever the application sends in between (a reply, a
    // FIN) carries the ACK instead of a segment of its own.
    std::unique_ptr<uint32_t[]> ack_list_;
    uint32_t ack_list_len_ = 0, ack_list_cap_ = 0;
    uint16_t ip_id_ = 0;
    uint32_t time_wait_ = 0;
    uint16_t next_ephemeral_ = 0;
    // memory (see memory.cpp)
    uint64_t mem_used_ = 0, mem_limit_ = 0, mem_high_ = 0, mem_low_ = 0;
    uint32_t conn_rcv_limit_ = 0, conn_snd_limit_ = 0;
    uint32_t conn_min_ = 0;        ///< what a connection may still add to its send queue under pressure
    uint32_t rx_reserve_ = 0;      ///< mbufs of pool_ left to the receive path
    uint32_t mbuf_true_ = 0;       ///< true size of one pool_ mbuf
    uint32_t ooo_in_use_ = 0;      ///< reassembly blocks lent out
    uint32_t prune_cursor_ = 0;    ///< where the next engine-wide prune starts (fairness)
    bool pressure_ = false;        ///< above mem_high_, until back below mem_low_
    bool pool_low_ = false;        ///< pool_ had fewer than rx_reserve_ free at the last look
    bool wake_writers_ = false;    ///< a SEND was refused for the engine's sake: wake writers once memory is back
    uint64_t next_pool_check_ = 0, next_mem_check_ = 0;
    uint64_t pressure_since_ = 0;  ///< cycles: when pressure_ last came on
    uint32_t stamp_shift_ = 0;
    EngineCounters ctr_;
};

template <class Handler>
size_t Engine::dispatch(Handler&& handler) {
    size_t n = 0;
    // Index-based: the handler's calls may queue more events, which are delivered in this same pass.
    for (; n < events_.size(); ++n) {
        Event ev = events_[n];
        handler(static_cast<const Event&>(ev));
        after_event(ev);
    }
    events_.clear();
    return n;
}

}  // namespace synack::tcp
