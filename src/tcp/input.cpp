// SEGMENT ARRIVES, in the order of RFC 9293 §3.10.7: CLOSED, LISTEN, SYN-SENT, then for the other states the
// sequence check, RST, SYN, ACK, text and FIN, each in a function named for its step.
#include <algorithm>
#include <new>
#include <type_traits>
#include <utility>

#include <rte_prefetch.h>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"
#include "wire/segment6.hpp"

namespace synack::tcp {

using wire::kAck;
using wire::kFin;
using wire::kPsh;
using wire::kRst;
using wire::kSyn;

void Engine::input(rte_mbuf* m, uint64_t now_cycles) noexcept { input_burst(&m, 1, now_cycles); }

// A burst in three passes so that memory latency overlaps: parse and prefetch the table buckets, look up and
// prefetch the TCBs, then run each segment through RFC 9293 §3.10.7. A lookup made in the second pass is only a
// hint: an earlier segment of the same burst may have created or freed that connection.
void Engine::input_burst(rte_mbuf** pkts, uint16_t n, uint64_t now_cycles) noexcept {
    now_ = now_cycles;
    constexpr uint16_t kChunk = 32;
    struct Item {
        rte_mbuf* m;
        FourTuple t;
        uint32_t hash;
        uint32_t hint;
        wire::Segment seg;
    };
    // Storage only: an Item is built when a packet fills it. Constructing all 32 up front (wire::Segment zeroes
    // its fields and options) cost more than the rest of a one-packet burst.
    union Slot {
        Item item;
        Slot() {}
    };
    static_assert(std::is_trivially_destructible_v<Item>);
    Slot slots[kChunk];
    for (uint16_t base = 0; base < n; base = static_cast<uint16_t>(base + kChunk)) {
        const uint16_t end = static_cast<uint16_t>(std::min<uint32_t>(n, base + kChunk));
        uint16_t k = 0;
        for (uint16_t i = base; i < end; ++i) {
            ++ctr_.rx_segments;
            Item& it = *new (&slots[k].item) Item{};
            const wire::ParseStatus st = wire::parse_segment(pkts[i], it.seg);
            if (st != wire::ParseStatus::ok) {
                ++ctr_.rx_parse_errors[static_cast<int>(st)];
                rte_pktmbuf_free(pkts[i]);
                continue;
            }
            it.m = pkts[i];
            it.t = FourTuple{it.seg.dst_ip, it.seg.src_ip, it.seg.dst_port, it.seg.src_port};
            it.hash = table_hash(it.t, it.m);
            table_.prefetch(it.hash);
            ++k;
        }
        for (uint16_t j = 0; j < k; ++j) {
            Item& it = slots[j].item;
            it.hint = table_.lookup(it.t, it.hash);
            if (it.hint != ConnTable::kNotFound) {
                const char* p = reinterpret_cast<const char*>(&tcbs_[it.hint]);
                rte_prefetch0(p);
                rte_prefetch0(p + 64);
                rte_prefetch0(p + 128);
            }
        }
        for (uint16_t j = 0; j < k; ++j) {
            const Item& it = slots[j].item;
            segment_arrives(net::MbufPtr{it.m}, it.seg, it.t, it.hash, it.hint);
        }
    }
}

// TCP over IPv6: parsed into the same Segment, its addresses beside it; looked up in the IPv6 table, then the same
// RFC 9293 §3.10.7 steps as IPv4 (the TCB's family decides the headers of what we send). One packet at a time: the
// IPv4 burst path stays as it was.
void Engine::input6(rte_mbuf* m, uint64_t now_cycles) noexcept {
    now_ = now_cycles;
    ++ctr_.rx_segments;
    if (addr6_ == nullptr) [[unlikely]] {
        ++ctr_.rx_ipv6_off;
        rte_pktmbuf_free(m);
        return;
    }
    wire::Segment seg;
    wire::Ip6Pair in;
    const wire::ParseStatus st = wire::parse_segment6(m, seg, in);
    if (st != wire::ParseStatus::ok) {
        ++ctr_.rx_parse_errors[static_cast<int>(st)];
        rte_pktmbuf_free(m);
        return;
    }
    const wire::Ip6Pair a6{in.dst, in.src};  // as our reply carries them
    seg.dst_ip = fold(in.dst);
    seg.src_ip = fold(in.src);
    const FourTuple6 t6{in.dst, in.src, seg.dst_port, seg.src_port};
    const uint32_t idx = table6_.lookup(t6, ConnTable6::hash(t6));
    if (idx != ConnTable6::kNotFound) {
        Tcb& tcb = tcbs_[idx];
        if (tcb.state == State::syn_sent)
            syn_sent_arrives(tcb, net::MbufPtr{m}, seg);
        else
            synchronized_arrives(tcb, net::MbufPtr{m}, seg);
        return;
    }
    no_tcb_arrives(net::MbufPtr{m}, seg, &a6);
}

void Engine::segment_arrives(net::MbufPtr m, const wire::Segment& in, const FourTuple& t, uint32_t hash,
                             uint32_t hint) noexcept {
    uint32_t idx = hint;
    if (idx == ConnTable::kNotFound || !tcbs_[idx].in_use || !(tcbs_[idx].tuple == t)) idx = table_.lookup(t, hash);
    if (idx != ConnTable::kNotFound) {
        Tcb& tcb = tcbs_[idx];
        wire::Segment seg = in;
        if (tcb.state == State::syn_sent)
            syn_sent_arrives(tcb, std::move(m), seg);
        else
            synchronized_arrives(tcb, std::move(m), seg);
        return;
    }
    no_tcb_arrives(std::move(m), in, nullptr);
}

// No connection: a listener's (LISTEN, or the third segment of a cookie handshake), the exception path's, or
// CLOSED's.
void Engine::no_tcb_arrives(net::MbufPtr m, const wire::Segment& in, const wire::Ip6Pair* a6) noexcept {
    const int l = a6 != nullptr ? find_listener6(a6->src, in.dst_port) : find_listener(in.dst_ip, in.dst_port);
    if (l >= 0 && cookie_ack_arrives(m, in, static_cast<uint16_t>(l), a6)) return;  // RFC 4987 §3.6 (syn_flood.cpp)
    if (l < 0 && stray_ != nullptr) {  // a port we do not serve: the exception path's (the kernel's) business
        stray_(stray_ctx_, m.release());
        return;
    }
    if (l >= 0)
        listen_arrives(m.get(), in, static_cast<uint16_t>(l), a6);
    else
        closed_arrives(in, a6);
}

// RFC 9293 §3.10.7.1: no TCB. Never answer a RST; otherwise reset with the sequence numbers the peer will accept.
void Engine::closed_arrives(const wire::Segment& seg, const wire::Ip6Pair* a6) noexcept {
    if (seg.has(kRst)) {
        ++ctr_.rx_rst_no_connection;
        return;
    }
    ++ctr_.rx_no_connection;
    if (!seg.has(kAck))
        send_reset(seg.dst_ip, seg.src_ip, seg.dst_port, seg.src_port, 0, seg.seq + seg.seg_len(), true, a6);
    else
        send_reset(seg.dst_ip, seg.src_ip, seg.dst_port, seg.src_port, seg.ack, 0, false, a6);
}

// RFC 9293 §3.10.7.2: LISTEN.
void Engine::listen_arrives(const rte_mbuf* m, const wire::Segment& seg, uint16_t l, const wire::Ip6Pair* a6) noexcept {
    if (seg.has(kRst)) {  // first: an incoming RST is ignored
        ++ctr_.rx_listen_dropped;
        return;
    }
    if (seg.has(kAck)) {  // second: any ACK is bad here (once not a valid SYN cookie): <SEQ=SEG.ACK><CTL=RST>
        ++ctr_.rx_no_connection;
        send_reset(seg.dst_ip, seg.src_ip, seg.dst_port, seg.src_port, seg.ack, 0, false, a6);
        return;
    }
    if (!seg.has(kSyn)) {  // fourth: anything else is dropped
        ++ctr_.rx_listen_dropped;
        return;
    }
    // third: SYN. Text or FIN riding on the SYN is not queued: the peer sends it again once we ACK only the SYN.
    Listener& L = listeners_[l];
    const FourTuple t{seg.dst_ip, seg.src_ip, seg.dst_port, seg.src_port};
    if (syn_cookie_instead(L, a6 != nullptr)) {  // RFC 4987 §3.6: no room (or always): the state goes in the ISN
        send_cookie_syn_ack(seg, t, a6);
        return;
    }
    if (L.half_open >= L.backlog) {
        // Backlog full (cookies off; with them on the SYN got a cookie above): the oldest half-open connection
        // makes room, as BSD's syncache does, instead of the SYN being refused. Spoofed SYNs then cost a real
        // client its handshake only if it takes longer than a backlog's worth of them to arrive, rather than
        // locking the listener for the whole SYN-RECEIVED lifetime (about 3 minutes of SYN,ACK retransmissions).
        ++ctr_.syn_backlog_evicted;
        free_tcb(tcbs_[L.half_head]);
    }
    // Table full: the oldest half-open connection of any listener makes room. With cookies on, under such
    // pressure (or while cookies are being issued) the new one's ISS is a cookie, so that its handshake survives
    // being evicted in turn by a later SYN.
    const bool evicted = table_full(a6 != nullptr) && evict_oldest_half_open();
    Tcb* tcb = a6 != nullptr ? alloc_tcb6(*a6, t) : alloc_tcb(t, table_hash(t, m));
    if (tcb == nullptr) {
        ++ctr_.rx_no_tcb;
        return;
    }
    ++ctr_.conn_opened_passive;
    tcb->passive = true;
    tcb->listener = static_cast<uint16_t>(l + 1);
    half_open_add(L, *tcb);
    tcb->user = l;  // an accepted connection's cookie starts as its listener id (events may precede set_user)
    tcb->irs = seg_seq(seg);
    tcb->rcv_nxt = seg_seq(seg) + 1;
    tcb->rcv_adv = tcb->rcv_nxt;  // nothing advertised yet: the first segment we send sets the right edge
    take_peer_options(*tcb, seg);
    const bool cookie = cfg_.syn_cookies != 0 && (evicted || cookies_recent());
    tcb->iss = Seq{cookie ? mint_cookie(seg, t, a6) : new_isn(*tcb)};
    tcb->syn_at = now_;
    tcb->snd_una = tcb->iss;
    tcb->snd_nxt = tcb->iss + 1;
    tcb->snd_max = tcb->snd_nxt;
    tcb->snd_buf_seq = tcb->iss + 1;
    tcb->snd_wnd = seg.wnd;  // RFC 9293: the SYN's window is not scaled
    tcb->max_snd_wnd = seg.wnd;
    tcb->snd_wl1 = seg_seq(seg);
    set_state(*tcb, State::syn_received);
    send_syn(*tcb);
    arm_rto(*tcb);
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void Engine::syn_sent_arrives(Tcb& tcb, net::MbufPtr m, const wire::Segment& seg) noexcept {
    // first: the ACK must cover our SYN and nothing beyond it
    if (seg.has(kAck) && (seg_ack(seg) <= tcb.iss || seg_ack(seg) > tcb.snd_max)) {
        ++ctr_.rx_syn_sent_dropped;
        if (!seg.has(kRst))
            reset_peer(tcb, seg_ack(seg));
        return;
    }
    // second: RST with an acceptable ACK resets ("connection refused"); without ACK it is dropped
    if (seg.has(kRst)) {
        if (seg.has(kAck)) {
            ++ctr_.rx_rst_accepted;
            terminate(tcb, EventType::reset);
        } else {
            ++ctr_.rx_syn_sent_dropped;
        }
        return;
    }
    // fifth: neither SYN nor RST: drop
    if (!seg.has(kSyn)) {
        ++ctr_.rx_syn_sent_dropped;
        return;
    }
    // fourth: SYN
    tcb.irs = seg_seq(seg);
    tcb.rcv_nxt = seg_seq(seg) + 1;
    tcb.rcv_adv = tcb.rcv_nxt;
    take_peer_options(tcb, seg);
    tcb.snd_wnd = seg.wnd;
    tcb.last_wnd_raw = seg.wnd;
    tcb.max_snd_wnd = std::max(tcb.max_snd_wnd, tcb.snd_wnd);
    tcb.snd_wl1 = seg_seq(seg);
    tcb.snd_wl2 = seg_ack(seg);
    if (seg.has(kAck)) {
        process_ack_of_data(tcb, seg_ack(seg));
        if (tcb.snd_una > tcb.iss) {
            // Our SYN is acknowledged: ESTABLISHED, and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            enter_established(tcb);
            wire::Segment rest = seg;
            rest.flags = static_cast<uint8_t>(rest.flags & ~kSyn);
            rest.seq = seg.seq + 1;
            tcb.ack_now = true;
            if (rest.payload_len > 0 || rest.has(kFin))
                text_arrives(tcb, std::move(m), rest);  // sixth step onwards: data or FIN carried on the SYN-ACK
            if (!tcb.in_use) return;
            output(tcb);
            if (tcb.ack_now) defer_ack(tcb);
            return;
        }
    }
    // Simultaneous open (RFC 9293 MUST-10): SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    set_state(tcb, State::syn_received);
    tcb.passive = false;
    send_syn(tcb);
    arm_rto(tcb);
}

// RFC 9293 §3.10.7.4, Table 6: is any of the segment inside the receive window?
bool Engine::acceptable(const Tcb& tcb, const wire::Segment& seg) const noexcept {
    const uint32_t wnd = tcb.rcv_adv > tcb.rcv_nxt ? tcb.rcv_adv - tcb.rcv_nxt : 0;
    const uint32_t len = seg.seg_len();
    const Seq seq = seg_seq(seg), right = tcb.rcv_nxt + wnd;
    // RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (first or, with text, last octet: RCV.NXT =< SEG.SEQ+SEG.LEN-1 < ...)
    if (len == 0) return wnd == 0 ? seq == tcb.rcv_nxt : in_range(seq, tcb.rcv_nxt, right);
    // Zero window: RFC 9293 still wants the ACK of a segment at RCV.NXT processed; its text is trimmed away later.
    if (wnd == 0) return seq == tcb.rcv_nxt;
    return in_range(seq, tcb.rcv_nxt, right) || in_range(seq + len - 1, tcb.rcv_nxt, right);
}

// RFC 9293 §3.6.1 / MAY-2 and RFC 6191: a SYN whose sequence number is above what TIME-WAIT last saw may reopen
// the 4-tuple for a listener. Returns true when it did.
bool Engine::time_wait_syn(Tcb& tcb, const rte_mbuf* m, const wire::Segment& seg) noexcept {
    if (!time_wait_reopens(tcb, seg)) return false;  // RFC 6191 with timestamps (options.cpp)
    const bool v6 = tcb.v6;
    const wire::Ip6Pair a6 = v6 ? addr6(tcb) : wire::Ip6Pair{};  // a copy: the TCB goes first
    const int l = v6 ? find_listener6(a6.src, seg.dst_port) : find_listener(seg.dst_ip, seg.dst_port);
    if (l < 0) return false;
    ++ctr_.rx_time_wait_reopen;
    free_tcb(tcb);
    listen_arrives(m, seg, static_cast<uint16_t>(l), v6 ? &a6 : nullptr);
    return true;
}

void Engine::synchronized_arrives(Tcb& tcb, net::MbufPtr m, wire::Segment& seg) noexcept {
    if (tcb.state == State::time_wait && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst) &&
        time_wait_syn(tcb, m.get(), seg))
        return;
    if (tcb.ts_ok && paws_drop(tcb, seg)) return;  // RFC 7323 §5.3 R1, before the sequence check

    // first: sequence number check
    if (!acceptable(tcb, seg)) {
        if (seg.has(kRst)) {
            ++ctr_.rx_rst_out_of_window;
            return;
        }
        ++ctr_.rx_unacceptable;
        // A retransmitted FIN in TIME-WAIT is ACKed and restarts the 2 MSL wait (RFC 9293 §3.10.7.4, eighth).
        if (tcb.state == State::time_wait && seg.has(kFin)) arm_timer(tcb, TimerMode::time_wait, 2000ull * cfg_.msl_ms);
        sack_duplicate(tcb, seg);  // RFC 2883: an old duplicate is reported
        send_ack(tcb);  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        return;
    }
    // second: RST, judged on the segment's own SEG.SEQ (RFC 5961 §3.2): trimming first would let a RST carrying
    // data that straddles RCV.NXT pass as exact.
    if (seg.has(kRst)) {
        rst_arrives(tcb, seg);
        return;
    }
    segment_accepted(tcb, seg);  // RFC 7323 §4.3 TS.Recent, keepalive (options.cpp)
    // Trim to the window: bytes below RCV.NXT were seen already, bytes beyond the right edge are not ours yet.
    if (seg_seq(seg) < tcb.rcv_nxt) {
        sack_duplicate(tcb, seg);
        uint32_t dup = tcb.rcv_nxt - seg_seq(seg);
        if (seg.has(kSyn)) {
            seg.flags = static_cast<uint8_t>(seg.flags & ~kSyn);
            --dup;
        }
        dup = std::min<uint32_t>(dup, seg.payload_len);
        seg.payload_off = static_cast<uint16_t>(seg.payload_off + dup);
        seg.payload_len = static_cast<uint16_t>(seg.payload_len - dup);
        seg.seq = tcb.rcv_nxt.raw();
        ++ctr_.rx_duplicate_data;
        tcb.ack_now = true;
    }
    const Seq right = tcb.rcv_adv > tcb.rcv_nxt ? tcb.rcv_adv : tcb.rcv_nxt;
    if (seg_seq(seg) + seg.payload_len > right) {
        seg.payload_len = static_cast<uint16_t>(right - seg_seq(seg));
        seg.flags = static_cast<uint8_t>(seg.flags & ~kFin);
        tcb.ack_now = true;
    }
    if (seg_seq(seg) + seg.payload_len + (seg.has(kFin) ? 1 : 0) > right && seg.has(kFin)) {
        seg.flags = static_cast<uint8_t>(seg.flags & ~kFin);
        tcb.ack_now = true;
    }

    if (tcb.state == State::fin_wait_2)  // the FIN-WAIT-2 limit counts idle time
        arm_timer(tcb, TimerMode::fin_wait_2, 1000ull * cfg_.fin_wait_2_timeout_ms);
    // fourth: SYN in a synchronized state (the third step, security, has no compartments here)
    if (seg.has(kSyn)) {
        if (tcb.state == State::syn_received && tcb.passive) {
            free_tcb(tcb);  // RFC 9293: a passive open goes back to LISTEN
            return;
        }
        ++ctr_.rx_syn_challenged;  // RFC 5961 §4.2: challenge ACK
        challenge_ack(tcb);
        return;
    }
    // fifth: ACK
    if (!seg.has(kAck)) {
        ++ctr_.rx_no_ack_flag;
        return;
    }
    if (!ack_arrives(tcb, seg)) return;
    // sixth (URG) is not supported: RFC 6093 advises against its use; the urgent pointer is ignored.
    // seventh and eighth: text and FIN
    if (seg.payload_len > 0 || seg.has(kFin)) {
        if (tcb.in(kReceivesText)) {
            text_arrives(tcb, std::move(m), seg);
        } else if (seg.payload_len > 0) {
            ++ctr_.rx_text_ignored;  // CLOSE-WAIT and later: the peer already sent its FIN
        }
        // A FIN in CLOSE-WAIT, CLOSING or LAST-ACK cannot be new (RCV.NXT is past it), and was trimmed as a duplicate.
    }
    if (!tcb.in_use) return;
    output(tcb);
    if (tcb.ack_now) defer_ack(tcb);
}

// RFC 9293 §3.10.7.4, second step, with RFC 5961 §3.2: only a RST exactly at RCV.NXT resets.
bool Engine::rst_arrives(Tcb& tcb, const wire::Segment& seg) noexcept {
    if (tcb.state == State::time_wait) {  // RFC 1337: TIME-WAIT assassination is refused
        ++ctr_.rx_rst_time_wait;
        return false;
    }
    if (seg_seq(seg) != tcb.rcv_nxt) {
        ++ctr_.rx_rst_challenged;
        challenge_ack(tcb);
        return false;
    }
    ++ctr_.rx_rst_accepted;
    if (tcb.state == State::syn_received && tcb.passive) {
        free_tcb(tcb);  // MUST-11: a passive open returns to LISTEN
        return true;
    }
    // SYN-RECEIVED (active): connection refused; ESTABLISHED .. CLOSE-WAIT: connection reset;
    // CLOSING, LAST-ACK: the RFC just deletes the TCB. Every case ends in CLOSED.
    terminate(tcb, EventType::reset);
    return true;
}

// RFC 5961 §7: challenge ACKs are throttled per connection (a global limit leaked state: CVE-2016-5696).
void Engine::challenge_ack(Tcb& tcb) noexcept {
    if (now_ - tcb.challenge_window >= tsc_hz_) {
        tcb.challenge_window = now_;
        tcb.challenge_count = 0;
    }
    if (tcb.challenge_count >= cfg_.challenge_acks_per_s) {
        ++ctr_.challenge_acks_throttled;
        return;
    }
    ++tcb.challenge_count;
    ++ctr_.tx_challenge_acks;
    send_ack(tcb);
}

// RFC 9293 §3.10.7.4, fifth step. Returns false when the segment is finished with (dropped or TCB gone).
bool Engine::ack_arrives(Tcb& tcb, const wire::Segment& seg) noexcept {
    if (tcb.state == State::syn_received) {
        if (!(tcb.snd_una < seg_ack(seg) && seg_ack(seg) <= tcb.snd_max)) {
            ++ctr_.rx_bad_ack_syn_received;  // <SEQ=SEG.ACK><CTL=RST>
            reset_peer(tcb, seg_ack(seg));
            return false;
        }
        tcb.snd_wnd = peer_window(tcb, seg);
        tcb.max_snd_wnd = std::max(tcb.max_snd_wnd, tcb.snd_wnd);
        tcb.snd_wl1 = seg_seq(seg);
        tcb.snd_wl2 = seg_ack(seg);
        enter_established(tcb);
    }
    // The peer took our zero-window probe octet: it now counts as sent.
    if (tcb.probe_sent && seg_ack(seg) == tcb.snd_max + 1 && tcb.snd_nxt == tcb.snd_max) {
        tcb.snd_nxt = tcb.snd_max = seg_ack(seg);
        tcb.probe_sent = false;
    }
    // RFC 5961 §5.2: acceptable only if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT; otherwise drop and ACK.
    if (seg_ack(seg) > tcb.snd_max) {
        ++ctr_.rx_ack_too_new;
        send_ack(tcb);
        return false;
    }
    if (seg_ack(seg) < tcb.snd_una - tcb.max_snd_wnd) {
        ++ctr_.rx_ack_too_old;
        send_ack(tcb);
        return false;
    }
    if (tcb.timer_mode == TimerMode::persist) tcb.retransmits = 0;  // the peer answers our probes
    const bool dup = is_dup_ack(tcb, seg);  // before the window update below changes what it compares
    uint32_t ts_rtt_us = 0;  // RFC 7323 §4.1 (options.cpp)
    if (tcb.ts_ok && tcb.snd_una < seg_ack(seg)) ts_rtt_us = ts_rtt_sample(tcb, seg);
    if (tcb.eifel_armed && tcb.snd_una < seg_ack(seg)) eifel_check(tcb, seg);  // RFC 3522 (loss.cpp)
    const bool was_in_recovery = tcb.recovery.in_recovery();
    const Seq una_before = tcb.snd_una;
    if (tcb.snd_una < seg_ack(seg)) process_ack_of_data(tcb, seg_ack(seg), ts_rtt_us);
    if (tcb.snd_una <= seg_ack(seg)) {
        tcb.last_wnd_raw = seg.wnd;
        update_send_window(tcb, seg);
    }
    const bool sending = tcb.in(State::established | State::close_wait | State::fin_wait_1 | State::closing | State::last_ack);
    // RFC 6675: a SACK connection recovers by its scoreboard from the first ACK that SACKs data above SND.UNA
    // (not in the middle of a NewReno recovery, nor while a timeout's go-back-N resends: RFC 6675 §5.1).
    if (tcb.sack == nullptr && tcb.sack_ok && sending && seg.opt.sack_count > 0 && !tcb.recovery.in_recovery() &&
        tcb.snd_nxt == tcb.snd_max && sack_reports_new_data(tcb, seg))
        sack_attach(tcb);
    if (tcb.sack != nullptr && sending) {
        const uint32_t acked = tcb.snd_una - una_before;
        sack_ack_arrives(tcb, seg, acked, was_in_recovery && !tcb.recovery.in_recovery());
    } else if (dup && sending) {
        dup_ack_arrives(tcb);
    }
    if (tcb.undo_ok && tcb.sack_ok && seg.opt.sack_count > 0) dsack_arrives(tcb, seg);
    // The scoreboard goes back to the pool once SND.UNA has passed the last SACKed byte and recovery is over.
    if (tcb.sack != nullptr && !tcb.recovery.in_recovery() && tcb.sack->board.range_count() == 0) {
        sack_release(tcb);
        if (tcb.timer_mode == TimerMode::reorder) arm_rto_or_probe(tcb);  // RACK's timer goes with RACK's state
    }

    const bool fin_acked = tcb.fin_sent && tcb.snd_una > tcb.fin_seq;
    switch (tcb.state) {
    case State::fin_wait_1:
        if (fin_acked) {
            set_state(tcb, State::fin_wait_2);
            // Not in the RFC, as in Linux: a FIN-WAIT-2 peer that goes silent must not pin the TCB forever.
            arm_timer(tcb, TimerMode::fin_wait_2, 1000ull * cfg_.fin_wait_2_timeout_ms);
        }
        break;
    case State::closing:
        if (fin_acked) enter_time_wait(tcb);
        break;
    case State::last_ack:
        if (fin_acked) {
            terminate(tcb, EventType::closed);
            return false;
        }
        break;
    default:
        break;
    }
    return true;
}

// `ts_rtt_us`: the round trip this ACK's timestamp echo measured (0: none), for the congestion controller's
// per-ACK sample when Karn's timer gives none.
void Engine::process_ack_of_data(Tcb& tcb, Seq ack, uint32_t ts_rtt_us) noexcept {
    const uint32_t prior_flight = tcb.flight_size();
    const uint32_t acked = ack - tcb.snd_una - (tcb.snd_una == tcb.iss ? 1u : 0u);  // the SYN is no data
    // RFC 6298 §3 with Karn's rule: time only segments sent once.
    uint32_t rtt_us = ts_rtt_us;
    if (tcb.rtt_timing && ack > tcb.rtt_seq) {
        rtt_us = rtt_sample(tcb, now_ - tcb.rtt_start);
        tcb.rtt_timing = false;
    } else if (tcb.rtt.backoff() != 0 && tcb.in(kSynchronized)) {
        // New data acknowledged, no sample (Karn): the path works again, so the doubling goes (as Linux does);
        // otherwise under steady loss, with every timed segment lost, the backed-off RTO would stay for good.
        tcb.rtt.reset_backoff();
        tcb.rto_us = tcb.rtt.rto_us();
    }
    tcb.snd_una = ack;
    if (tcb.snd_nxt < ack) tcb.snd_nxt = ack;
    // Free the acknowledged bytes (SYN and FIN occupy sequence space but no buffer).
    const Seq data_end = ack < tcb.snd_buf_end() ? ack : tcb.snd_buf_end();
    if (data_end > tcb.snd_buf_seq) {
        tcb.snd_buf.drop_front(data_end - tcb.snd_buf_seq);
        tcb.snd_buf_seq = data_end;
        recharge(tcb);
    }
    tcb.retransmits = 0;
    tcb.progress_at = tcb.snd_progress_at = stamp();
    if (tcb.in(kSynchronized)) congestion_on_ack(tcb, ack, acked, prior_flight, rtt_us);
    // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
    if (tcb.timer_mode == TimerMode::retransmit || tcb.timer_mode == TimerMode::loss_probe ||
        tcb.timer_mode == TimerMode::reorder) {
        if (tcb.snd_una == tcb.snd_max)
            stop_timer(tcb);
        else
            arm_rto_or_probe(tcb);
    }
    // Low watermark: wake the writer once a quarter of the buffer is free, not on every ACK.
    if (tcb.want_writable && tcb.snd_buf.bytes <= cfg_.snd_buf - cfg_.snd_buf / 4) {
        tcb.want_writable = false;
        emit(tcb, EventType::writable);
    }
}

// RFC 9293 §3.10.7.4: update the send window only from segments newer than the last update (SND.WL1/WL2).
void Engine::update_send_window(Tcb& tcb, const wire::Segment& seg) noexcept {
    if (tcb.snd_wl1 < seg_seq(seg) || (tcb.snd_wl1 == seg_seq(seg) && tcb.snd_wl2 <= seg_ack(seg))) {
        tcb.snd_wnd = peer_window(tcb, seg);  // RFC 7323 §2.3
        tcb.snd_wl1 = seg_seq(seg);
        tcb.snd_wl2 = seg_ack(seg);
        tcb.max_snd_wnd = std::max(tcb.max_snd_wnd, tcb.snd_wnd);
        if (tcb.snd_wnd > 0 && tcb.timer_mode == TimerMode::persist) {
            stop_timer(tcb);
            tcb.persist_backoff = 0;
        }
    }
}

// Seventh step: in-order text goes to the receive buffer (and pulls held segments after it); out-of-order text is
// held for reassembly and answered with an immediate duplicate ACK (RFC 5681 §4.2). Eighth: an in-order FIN.
void Engine::text_arrives(Tcb& tcb, net::MbufPtr m, const wire::Segment& seg) noexcept {
    const uint32_t len = seg.payload_len;
    bool fin = seg.has(kFin);
    // What holding this segment would cost: its whole mbufs, whatever their payload (a small piece may yet be
    // copied into the tail's room, so this errs on the safe side).
    const uint32_t ts = len > 0 ? mbuf_truesize(m.get()) * m.get()->nb_segs : 0;
    if (seg_seq(seg) != tcb.rcv_nxt) {
        ++ctr_.rx_out_of_order;
        tcb.ack_now = true;
        sack_duplicate(tcb, seg);  // wholly held already: a D-SACK (RFC 2883)
        if (!ooo_admit(tcb, seg_seq(seg), ts)) {
            ++ctr_.rx_mem_dropped;
            return;
        }
        if (tcb.ooo == nullptr) tcb.ooo = alloc_ooo(tcb);
        if (tcb.ooo == nullptr ||
            !tcb.ooo->insert(seg_seq(seg), m.release(), seg.payload_off, len, fin, std::min(cfg_.reassembly_segments, ReassemblyBlock::kSlots)))
            ++ctr_.rx_ooo_dropped;
        sack_out_of_order(tcb, seg_seq(seg));  // RFC 2018 §4: its block goes first
        if (tcb.ooo != nullptr && tcb.ooo->count == 0) free_ooo(tcb);
        recharge(tcb);
        return;
    }
    if (tcb.mem_rcv + ts > conn_rcv_limit_ || mem_used_ + ts > mem_high_) [[unlikely]] {
        if (!rx_admit(tcb, ts)) {
            ++ctr_.rx_mem_dropped;
            tcb.ack_now = true;  // tell the peer where we stand; it sends the data again
            return;
        }
    }
    uint32_t delivered = len;
    if (len > 0) {
        tcb.rcv_buf.append_range(m.release(), seg.payload_off, len);
        ++ctr_.rx_data_segments;
    }
    tcb.rcv_nxt += len;
    if (tcb.ooo != nullptr) {
        bool held_fin = false;
        const uint32_t moved = tcb.ooo->pull(tcb.rcv_nxt, tcb.rcv_buf, held_fin);
        if (moved > 0 || held_fin) tcb.ack_now = true;  // a filled hole is acknowledged at once
        tcb.rcv_nxt += moved;
        delivered += moved;
        fin = fin || held_fin;
        if (tcb.ooo->count == 0) free_ooo(tcb);
    }
    recharge(tcb);
    ctr_.rx_data_bytes += delivered;
    if (delivered > 0) {
        tcb.progress_at = stamp();
        if (!tcb.readable_signalled) {
            tcb.readable_signalled = true;
            emit(tcb, EventType::readable);
        }
        schedule_ack(tcb, len);
    }
    if (fin) fin_arrives(tcb);
}

// Eighth step: the peer's FIN, in order.
void Engine::fin_arrives(Tcb& tcb) noexcept {
    tcb.rcv_nxt += 1;
    // "send an acknowledgment for the FIN" (§3.10.7.4, eighth step); RFC 1122 §4.2.3.2 lets an ACK wait (MUST-40:
    // under 0.5 s). A connection that asked for it (set_delayed_fin_ack) lets the ACK of a FIN that ends
    // ESTABLISHED wait for the delayed-ACK timer, so that the application's close() rides on it as one FIN+ACK.
    if (tcb.delay_fin_ack && tcb.state == State::established)
        schedule_ack(tcb, 0);  // at once all the same when more than a full segment is unacknowledged
    else
        tcb.ack_now = true;
    emit(tcb, EventType::peer_closed);
    switch (tcb.state) {
    case State::syn_received:
    case State::established:
        set_state(tcb, State::close_wait);
        break;
    case State::fin_wait_1:
        // Our FIN acknowledged too: TIME-WAIT; otherwise a simultaneous close: CLOSING.
        if (tcb.fin_sent && tcb.snd_una > tcb.fin_seq)
            enter_time_wait(tcb);
        else
            set_state(tcb, State::closing);
        break;
    case State::fin_wait_2:
        enter_time_wait(tcb);
        break;
    default:
        break;  // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: remain
    }
}

void Engine::take_peer_options(Tcb& tcb, const wire::Segment& seg) noexcept {
    // RFC 9293 §3.7.1 MUST-15: without the option assume 536; never exceed our own.
    uint16_t mss = seg.opt.has_mss && seg.opt.mss > 0 ? seg.opt.mss : 536;
    tcb.snd_mss = std::max<uint16_t>(64, std::min(mss, our_mss(tcb.v6)));
    tcb.rcv_mss = tcb.snd_mss;  // a symmetric path's guess until the peer's segments say more
    negotiate_options(tcb, seg);   // RFC 7323, RFC 2018 (options.cpp); may take timestamp room off SND.MSS
    cc_start(tcb);                 // RFC 6928 IW10 for this MSS
}

void Engine::enter_established(Tcb& tcb) noexcept {
    const bool was_passive_half_open = tcb.state == State::syn_received && tcb.passive;
    if (was_passive_half_open && tcb.listener != 0) half_open_remove(tcb);
    set_state(tcb, State::established);
    tcb.recovery.reset(tcb.iss);  // RFC 6582 §3.2 step 1: recover = ISS
    keepalive_arm(tcb);
    // RFC 6298 §5.7: after a SYN timeout, with no RTT sample, data starts from a 3 s RTO.
    if (tcb.syn_timed_out && !tcb.rtt.has_sample()) {
        tcb.rtt.on_syn_timeout();
        tcb.rtt.reset_backoff();
        tcb.rto_us = tcb.rtt.rto_us();
    }
    if (tcb.passive) {
        tcb.user_attached = true;
        emit(tcb, EventType::accepted);
    } else {
        emit(tcb, EventType::connected);
    }
    // CLOSE in SYN-RECEIVED was queued until now (RFC 9293 §3.10.4).
    if (tcb.fin_queued) set_state(tcb, State::fin_wait_1);
}

void Engine::enter_time_wait(Tcb& tcb) noexcept {
    set_state(tcb, State::time_wait);
    ++time_wait_;
    wheel_.cancel(tcb.delack_timer);
    wheel_.cancel(tcb.ka_timer);
    tcb.snd_buf.clear();
    free_ooo(tcb);
    sack_release(tcb);
    recharge(tcb);
    arm_timer(tcb, TimerMode::time_wait, 2000ull * cfg_.msl_ms);  // MUST-13: 2 MSL
    ++ctr_.conn_closed;
    emit(tcb, EventType::closed);
}

}  // namespace synack::tcp
