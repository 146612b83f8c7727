// SYN flood defence at a listener: SYN cookies (RFC 4987 §3.6) when the backlog or the connection table is full,
// and, when the table is full, the oldest half-open connection gives way to a new SYN.
#include <algorithm>
#include <utility>

#include "tcp/engine.hpp"
#include "wire/segment6.hpp"

namespace synack::tcp {

using wire::kAck;
using wire::kRst;
using wire::kSyn;

bool Engine::table_full(bool v6) const noexcept {
    return free_head_ == UINT32_MAX || (v6 ? table6_.size() >= table6_.capacity() : table_.size() >= table_.capacity());
}

// RFC 4987 §3.6: cookies only when state would otherwise be refused or evicted (mode 1), as Linux's
// tcp_syncookies=1; a full table with half-open connections evicts one instead (listen_arrives).
bool Engine::syn_cookie_instead(const Listener& L, bool v6) const noexcept {
    if (cfg_.syn_cookies == 2) return true;
    if (cfg_.syn_cookies == 0) return false;
    return L.half_open >= L.backlog || (half_open_total_ == 0 && table_full(v6));
}

// The table is full: the oldest passive SYN-RECEIVED connection of any listener is dropped (each listener's
// list is oldest first, so only the heads are compared). Returns false when there is none.
bool Engine::evict_oldest_half_open() noexcept {
    if (half_open_total_ == 0) return false;  // a table full of established connections: no scan
    Tcb* oldest = nullptr;
    for (const Listener& L : listeners_) {
        if (!L.in_use || L.half_head == kNoTcb) continue;
        Tcb& head = tcbs_[L.half_head];
        if (oldest == nullptr || head.syn_at < oldest->syn_at) oldest = &head;
    }
    if (oldest == nullptr) return false;
    ++ctr_.syn_table_full_evicted;
    free_tcb(*oldest);
    return true;
}

// A cookie was issued within a cookie's lifetime: the listener is (or just was) under a flood.
bool Engine::cookies_recent() const noexcept {
    const uint64_t window = (syn_cookie::kMaxAge + 1) * syn_cookie::kPeriodSeconds * tsc_hz_;
    return cookie_sent_ && now_ - cookie_sent_at_ <= window;
}

uint32_t Engine::mint_cookie(const wire::Segment& syn, const FourTuple& t, const wire::Ip6Pair* a6) noexcept {
    // RFC 9293 MUST-15: no MSS option means 536; never more than our own.
    const uint16_t peer_mss = syn.opt.has_mss && syn.opt.mss > 0 ? syn.opt.mss : 536;
    cookie_sent_at_ = now_;
    cookie_sent_ = true;
    const uint32_t clock = syn_cookie::clock(now_, tsc_hz_);
    const uint8_t mss = syn_cookie::mss_index(std::min(peer_mss, our_mss(a6 != nullptr)));
    if (a6 != nullptr)  // the hash covers the full IPv6 addresses
        return syn_cookie::encode(cookie_key_, FourTuple6{a6->src, a6->dst, t.local_port, t.remote_port}, syn.seq,
                                  clock, mss);
    return syn_cookie::encode(cookie_key_, t, syn.seq, clock, mss);
}

// <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> with our MSS and the window a fresh TCB would advertise, and no TCB.
void Engine::send_cookie_syn_ack(const wire::Segment& syn, const FourTuple& t, const wire::Ip6Pair* a6) noexcept {
    rte_mbuf* m = alloc_mbuf();
    if (m == nullptr) {
        ++ctr_.tx_dropped_no_mbuf;
        return;
    }
    wire::TcpOptions opts;
    opts.has_mss = true;  // RFC 9293 MUST-14
    opts.mss = our_mss(a6 != nullptr);
    cookie_syn_ack_options(syn, t, opts);  // WS / SACK / TS in TSval when the peer offers timestamps (options.cpp)
    const auto wnd = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_buf, 65535));
    const wire::SegmentHeader h{t.local_ip, t.remote_ip, t.local_port, t.remote_port, mint_cookie(syn, t, a6),
                                syn.seq + 1, static_cast<uint8_t>(kSyn | kAck), wnd, ip_id_++, &opts};
    if (!(a6 != nullptr ? wire::prepend_headers6(m, h, *a6, cfg_.tx_checksum_offload)
                        : wire::prepend_headers(m, h, cfg_.tx_checksum_offload))) {
        rte_pktmbuf_free(m);
        ++ctr_.tx_dropped_no_mbuf;
        return;
    }
    ++ctr_.syn_cookies_sent;
    ++ctr_.tx_segments;
    enqueue_tx(m);
}

// RFC 9293 §3.10.7.2 calls any ACK at a listener bad; RFC 4987 §3.6 first reads it as the third segment of a
// handshake whose SYN got a cookie. Valid (SEG.ACK - 1 decodes, the hash matches, the time is recent): the
// connection is built as SYN-RECEIVED would have been and the ACK then processed by the usual path, which makes
// it ESTABLISHED, emits `accepted` and takes any data on it. Returns false when the segment is not a valid
// cookie ACK (the caller answers it as the RFC says; `m` is left alone) and true when it took `m`.
bool Engine::cookie_ack_arrives(net::MbufPtr& m, const wire::Segment& seg, uint16_t l,
                                const wire::Ip6Pair* a6) noexcept {
    if (seg.has(kSyn) || seg.has(kRst) || !seg.has(kAck) || cfg_.syn_cookies == 0) return false;
    // Like Linux, an ACK is only read as a cookie while cookies are being issued: an attacker guessing 24-bit
    // hashes at an idle listener gets plain RSTs.
    if (cfg_.syn_cookies != 2 && !cookies_recent()) return false;
    const FourTuple t{seg.dst_ip, seg.src_ip, seg.dst_port, seg.src_port};
    const uint32_t peer_isn = seg.seq - 1;
    const uint32_t clock = syn_cookie::clock(now_, tsc_hz_);
    const syn_cookie::Check c =
        a6 != nullptr ? syn_cookie::validate(cookie_key_, FourTuple6{a6->src, a6->dst, t.local_port, t.remote_port},
                                             peer_isn, seg.ack - 1, clock)
                      : syn_cookie::validate(cookie_key_, t, peer_isn, seg.ack - 1, clock);
    if (c.verdict != syn_cookie::Verdict::valid) {
        ++(c.verdict == syn_cookie::Verdict::stale ? ctr_.syn_cookies_stale : ctr_.syn_cookies_forged);
        return false;
    }
    syn_cookie::TsOptions ts_opts;
    const bool with_ts = cfg_.timestamps && seg.opt.has_timestamps;
    if (with_ts && !syn_cookie::decode_ts(seg.opt.ts_ecr, tsval(t), cookie_ts_max_age(), ts_opts)) {
        ++ctr_.syn_cookies_forged;  // a TSecr we cannot have sent
        return false;
    }
    const uint32_t hash = a6 != nullptr ? 0 : table_hash(t, m.get());
    auto alloc = [&] { return a6 != nullptr ? alloc_tcb6(*a6, t) : alloc_tcb(t, hash); };
    Tcb* tcb = alloc();
    if (tcb == nullptr && evict_oldest_half_open()) tcb = alloc();  // a finished handshake goes first
    if (tcb == nullptr) {
        // No room even so: drop; the peer retransmits its data (or ACK) and the cookie is tried again.
        ++ctr_.rx_no_tcb;
        m.reset();
        return true;
    }
    ++ctr_.syn_cookies_validated;
    ++ctr_.conn_opened_passive;
    Listener& L = listeners_[l];
    tcb->passive = true;
    tcb->listener = static_cast<uint16_t>(l + 1);
    half_open_add(L, *tcb);  // left again at once, by enter_established
    tcb->user = l;
    tcb->syn_at = now_;
    tcb->irs = Seq{peer_isn};
    tcb->rcv_nxt = seg_seq(seg);
    tcb->rcv_adv = seg_seq(seg) + std::min<uint32_t>(cfg_.rcv_buf, 65535);  // what the cookie SYN-ACK advertised
    tcb->snd_mss = std::max<uint16_t>(64, std::min(c.mss, our_mss(tcb->v6)));
    tcb->rcv_mss = tcb->snd_mss;
    tcb->iss = seg_ack(seg) - 1;
    tcb->snd_una = tcb->iss;
    tcb->snd_nxt = tcb->snd_max = seg_ack(seg);
    tcb->snd_buf_seq = seg_ack(seg);
    tcb->snd_wnd = tcb->max_snd_wnd = seg.wnd;
    tcb->snd_wl1 = Seq{peer_isn};
    if (with_ts) cookie_take_options(*tcb, seg, ts_opts);  // options.cpp
    cc_start(*tcb);  // RFC 6928 IW10, for the MSS left after the options
    set_state(*tcb, State::syn_received);
    wire::Segment rest = seg;
    synchronized_arrives(*tcb, std::move(m), rest);
    return true;
}

}  // namespace synack::tcp
