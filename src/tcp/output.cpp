// Segment output: what may be sent now (RFC 9293 §3.8.6 windows, RFC 5681 cwnd), segments built as a header mbuf
// followed by references to the send buffer's mbufs (no copy), pure ACKs, SYNs and RSTs.
#include <algorithm>
#include <cstring>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"
#include "wire/segment6.hpp"

namespace synack::tcp {

using wire::kAck;
using wire::kFin;
using wire::kPsh;
using wire::kRst;
using wire::kSyn;

void Engine::output(Tcb& tcb) noexcept {
    if (!tcb.in(State::established | State::close_wait | State::fin_wait_1 | State::last_ack | State::closing)) return;
    idle_restart(tcb);
    for (;;) {
        // RFC 5681 §3: the smaller of the peer's window and cwnd (plus RFC 3042's allowance on duplicate ACKs).
        const uint32_t wnd = std::min(tcb.snd_wnd, tcb.cwnd() + tcb.cwnd_extra);
        const Seq limit = tcb.snd_una + wnd;
        const Seq end = tcb.snd_buf_end();
        const uint32_t unsent = tcb.snd_nxt < end ? end - tcb.snd_nxt : 0;
        const bool fin_due = tcb.fin_queued && tcb.in(State::fin_wait_1 | State::last_ack | State::closing) &&
                             (!tcb.fin_sent || tcb.snd_nxt == tcb.fin_seq);
        if (unsent > 0) {
            const uint32_t room = limit > tcb.snd_nxt ? limit - tcb.snd_nxt : 0;
            uint32_t len = fit_mbuf_limit(tcb, std::min({unsent, max_segment(tcb), room}));
            // A TSO segment is whole MSS pieces (only the end of the data may be shorter): else the port would cut
            // a runt off every segment.
            if (len > tcb.snd_mss && len < unsent) len = len / tcb.snd_mss * tcb.snd_mss;
            if (len == 0) {
                // RFC 9293 §3.8.6.1 MUST-36: a zero window with nothing in flight is probed by the persist timer.
                if (tcb.snd_wnd == 0 && tcb.snd_una == tcb.snd_max && tcb.timer_mode != TimerMode::persist) {
                    tcb.persist_since = now_;
                    arm_timer(tcb, TimerMode::persist, tcb.rto_us);
                }
                break;
            }
            // RFC 9293 §3.8.6.2.1 sender SWS avoidance: hold a runt while data is in flight unless it is all we have.
            if (len < tcb.snd_mss && len < unsent && tcb.snd_nxt != tcb.snd_una && len < tcb.max_snd_wnd / 2) break;
            if (len < unsent && stash_len_ == 0) fill_stash();  // more segments follow this one
            start_user_timeout(tcb);
            uint8_t flags = kAck;
            if (len == unsent) flags |= kPsh;
            const bool with_fin = len == unsent && fin_due;
            if (with_fin) flags |= kFin;
            if (!send_segment(tcb, tcb.snd_nxt, len, flags)) break;
            rack_sent(tcb, tcb.snd_nxt, len + (with_fin ? 1 : 0), tcb.snd_nxt < tcb.snd_max);
            if (!tcb.rtt_timing && tcb.snd_nxt == tcb.snd_max) {
                tcb.rtt_timing = true;
                tcb.rtt_seq = tcb.snd_nxt;
                tcb.rtt_start = now_;
            }
            tcb.snd_nxt += len;
            tcb.last_send = now_;
            if (with_fin) {
                tcb.fin_seq = tcb.snd_nxt;
                tcb.fin_sent = true;
                tcb.snd_nxt += 1;
            }
            if (tcb.snd_nxt > tcb.snd_max) tcb.snd_max = tcb.snd_nxt;
            if (with_fin) break;
            continue;
        }
        if (fin_due) {
            start_user_timeout(tcb);
            if (!send_segment(tcb, tcb.snd_nxt, 0, kFin | kAck)) break;
            rack_sent(tcb, tcb.snd_nxt, 1, tcb.snd_nxt < tcb.snd_max);
            tcb.fin_seq = tcb.snd_nxt;
            tcb.fin_sent = true;
            tcb.snd_nxt += 1;
            if (tcb.snd_nxt > tcb.snd_max) tcb.snd_max = tcb.snd_nxt;
        }
        break;
    }
    // RFC 6298 §5.1: run the retransmission timer whenever data (or a FIN) is outstanding.
    if (tcb.snd_una != tcb.snd_max && tcb.timer_mode != TimerMode::retransmit && tcb.timer_mode != TimerMode::time_wait &&
        tcb.timer_mode != TimerMode::persist && tcb.timer_mode != TimerMode::loss_probe &&
        tcb.timer_mode != TimerMode::reorder)
        arm_rto_or_probe(tcb);
}

// RFC 5482 §2 / RFC 9293 §3.10.8: the user timeout bounds how long sent data stays unacknowledged, so it counts
// from when the oldest unacknowledged octet was sent: data or a FIN alone (§3.6: a FIN is retransmitted until
// acknowledged like data). With nothing outstanding before this segment, that is now; otherwise a connection idle
// (or a receiver only) for longer than the timeout would give up on its FIN's first RTO without resending it.
void Engine::start_user_timeout(Tcb& tcb) noexcept {
    if (tcb.snd_una == tcb.snd_max) tcb.snd_progress_at = stamp();
}

// With TSO the port cuts segments of up to tso_max bytes (whole MSS multiples) into SND.MSS pieces. Not for a
// peer's tiny MSS: 64 KB in 64-byte pieces is a thousand packets from one descriptor, and NICs have a floor
// (i40e: 256) that only rte_eth_tx_prepare() would enforce.
uint32_t Engine::max_segment(const Tcb& tcb) const noexcept {
    const uint32_t mss = tcb.snd_mss;
    if (!cfg_.tx_checksum_offload || !cfg_.tx_multi_seg || cfg_.tso_max <= mss || mss < kTsoMinMss) return mss;
    return cfg_.tso_max / mss * mss;
}

// A TSO packet may not span more mbufs than the port takes (one header mbuf plus a reference per buffer mbuf).
uint32_t Engine::fit_mbuf_limit(const Tcb& tcb, uint32_t len) const noexcept {
    if (cfg_.tso_max_segs == 0 || len <= tcb.snd_mss) return len;
    uint32_t in_seg = 0;
    const rte_mbuf* m = tcb.snd_buf.find(tcb.snd_nxt - tcb.snd_buf_seq, in_seg);
    uint32_t fits = 0;
    for (uint32_t segs = 1; m != nullptr && fits < len && segs < cfg_.tso_max_segs; ++segs, m = m->next) {
        fits += m->data_len - in_seg;
        in_seg = 0;
    }
    if (fits >= len) return len;
    return std::max<uint32_t>(fits / tcb.snd_mss * tcb.snd_mss, std::min<uint32_t>(len, tcb.snd_mss));
}

bool Engine::attach_payload(rte_mbuf* hdr, const Tcb& tcb, Seq seq, uint32_t len) noexcept {
    uint32_t in_seg = 0;
    rte_mbuf* src = tcb.snd_buf.find(seq - tcb.snd_buf_seq, in_seg);
    rte_mbuf* last = hdr;
    while (len > 0 && src != nullptr) {
        rte_mbuf* ref = alloc_mbuf();
        if (ref == nullptr) return false;
        rte_pktmbuf_attach(ref, src);  // shares the buffer: retransmission keeps the data without copying it
        const uint32_t take = std::min<uint32_t>(len, src->data_len - in_seg);
        ref->data_off = static_cast<uint16_t>(ref->data_off + in_seg);
        ref->data_len = static_cast<uint16_t>(take);
        ref->pkt_len = take;
        last->next = ref;
        last = ref;
        ++hdr->nb_segs;
        hdr->pkt_len += take;
        len -= take;
        in_seg = 0;
        src = src->next;
    }
    return len == 0;
}

// For a port without multi-segment TX. net_af_xdp (DPDK 22.11) is one: it copies pkt_len bytes from the first
// mbuf's data whatever the chain holds, so a header mbuf with references behind it left with the header mbuf's
// stale bytes as payload under a checksum summed over the real one.
bool Engine::copy_payload(rte_mbuf* hdr, const Tcb& tcb, Seq seq, uint32_t len) noexcept {
    if (len > rte_pktmbuf_tailroom(hdr)) return false;
    auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(hdr, static_cast<uint16_t>(len)));
    uint32_t in_seg = 0;
    const rte_mbuf* src = tcb.snd_buf.find(seq - tcb.snd_buf_seq, in_seg);
    for (; len > 0 && src != nullptr; src = src->next, in_seg = 0) {
        const uint32_t take = std::min<uint32_t>(len, src->data_len - in_seg);
        std::memcpy(dst, rte_pktmbuf_mtod_offset(src, const uint8_t*, in_seg), take);
        dst += take;
        len -= take;
    }
    return len == 0;
}

bool Engine::send_segment(Tcb& tcb, Seq seq, uint32_t len, uint8_t flags) noexcept {
    // Data waits while the pool is down to the receive reserve (the retransmission or persist timer sends it
    // later); ACKs, SYNs and RSTs still go: they are what lets peers free our memory.
    if (len > 0 && pool_low_) [[unlikely]] {
        ++ctr_.tx_deferred_reserve;
        return false;
    }
    rte_mbuf* m = alloc_mbuf();
    if (m == nullptr) {
        ++ctr_.tx_dropped_no_mbuf;
        return false;
    }
    if (len > 0 && !(cfg_.tx_multi_seg ? attach_payload(m, tcb, seq, len) : copy_payload(m, tcb, seq, len))) {
        rte_pktmbuf_free(m);
        ++ctr_.tx_dropped_no_mbuf;
        return false;
    }
    wire::TcpOptions opts;  // RFC 9293 MUST-14 MSS on SYNs, RFC 7323 / 2018 options (options.cpp)
    const wire::TcpOptions* o = segment_options(tcb, flags, len, opts);
    const wire::SegmentHeader h{tcb.tuple.local_ip, tcb.tuple.remote_ip, tcb.tuple.local_port, tcb.tuple.remote_port,
                                seq.raw(), (flags & kAck) ? tcb.rcv_nxt.raw() : 0u, flags, receive_window(tcb, flags & kSyn),
                                ip_id_++, o, len > tcb.snd_mss ? tcb.snd_mss : uint16_t{0}};
    if (!prepend_for(m, tcb, h)) {
        rte_pktmbuf_free(m);
        ++ctr_.tx_dropped_no_mbuf;
        return false;
    }
    ++ctr_.tx_segments;
    ctr_.tx_data_bytes += len;
    if ((len > 0 || (flags & kFin)) && seq < tcb.snd_max) {
        ++ctr_.tx_retransmits;
        if (o != nullptr && o->has_timestamps) tcb.ts_last_rtx = o->ts_val;  // see ts_rtt_sample()
    }
    if (len > 0 && seq == tcb.snd_max) tcb.probe_sent = false;
    if (flags & kAck) {  // every ACK we send answers whatever was pending
        tcb.ack_now = false;
        tcb.rcv_unacked = 0;
        wheel_.cancel(tcb.delack_timer);
    }
    enqueue_tx(m);
    return true;
}

// A pure ACK carries SND.MAX, not SND.NXT: after a timeout sends SND.NXT back, a lower number could fall left of
// the peer's window, be refused unread, and draw an ACK that we refuse in turn (4.4BSD does the same).
void Engine::send_ack(Tcb& tcb) noexcept { send_segment(tcb, tcb.snd_max, 0, kAck); }

void Engine::send_syn(Tcb& tcb) noexcept {
    send_segment(tcb, tcb.iss, 0, tcb.state == State::syn_received ? (kSyn | kAck) : kSyn);
}

// The TCB's family: IPv6 connections are the exception, one predictable branch on a line already read.
bool Engine::prepend_for(rte_mbuf* m, const Tcb& tcb, const wire::SegmentHeader& h) noexcept {
    if (tcb.v6) [[unlikely]]
        return wire::prepend_headers6(m, h, addr6(tcb), cfg_.tx_checksum_offload);
    return wire::prepend_headers(m, h, cfg_.tx_checksum_offload);
}

void Engine::reset_peer(const Tcb& tcb, Seq seq) noexcept {
    send_reset(tcb.tuple.local_ip, tcb.tuple.remote_ip, tcb.tuple.local_port, tcb.tuple.remote_port, seq.raw(), 0, false,
               tcb.v6 ? &addr6(tcb) : nullptr);
}

// `a6` (IPv6): the addresses to send from and to; src_ip and dst_ip are then unused.
void Engine::send_reset(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                        uint32_t ack, bool with_ack, const wire::Ip6Pair* a6) noexcept {
    rte_mbuf* m = alloc_mbuf();
    if (m == nullptr) {
        ++ctr_.tx_dropped_no_mbuf;
        return;
    }
    const wire::SegmentHeader h{src_ip, dst_ip, src_port, dst_port, seq, ack,
                                static_cast<uint8_t>(kRst | (with_ack ? kAck : 0)), 0, ip_id_++, nullptr};
    if (!(a6 != nullptr ? wire::prepend_headers6(m, h, *a6, cfg_.tx_checksum_offload)
                        : wire::prepend_headers(m, h, cfg_.tx_checksum_offload))) {
        rte_pktmbuf_free(m);
        ++ctr_.tx_dropped_no_mbuf;
        return;
    }
    ++ctr_.tx_rst;
    ++ctr_.tx_segments;
    enqueue_tx(m);
}

// The window we advertise is the free receive space, but its right edge never moves left (RFC 9293 §3.8.6.2.2)
// and moves right only in steps of min(buffer / 2, MSS): receiver-side silly window avoidance.
// With window scaling the buffer may exceed 64 KB; a SYN's window field is never scaled (RFC 7323 §2.2).
uint16_t Engine::receive_window(Tcb& tcb, bool syn) noexcept {
    const uint32_t cap = syn ? std::min<uint32_t>(cfg_.rcv_buf, 65535) : rcv_window_cap(tcb);
    const uint32_t used = tcb.rcv_buf.bytes;
    uint32_t free_space = used >= cap ? 0 : cap - used;
    const uint32_t cur = tcb.rcv_adv > tcb.rcv_nxt ? tcb.rcv_adv - tcb.rcv_nxt : 0;
    const uint32_t step = std::min<uint32_t>(cap / 2, cfg_.mss);
    // Under memory pressure the right edge stops moving once a few segments' worth is offered: the window
    // shrinks as data arrives instead of inviting more (the edge itself never moves left).
    if (pressure_) [[unlikely]]
        free_space = std::min(free_space, std::max(cur, kPressureWindowSegs * uint32_t{cfg_.mss}));
    uint32_t wnd = cur;
    if (free_space >= cur + step || free_space == cap) wnd = std::max(free_space, cur);
    wnd = std::min(wnd, cap);
    tcb.rcv_wnd = wnd;
    return window_field(tcb, wnd, syn);
}

// After the user reads: tell the peer when the window has opened up: from (nearly) closed, or to twice what it
// was (as Linux's tcp_cleanup_rbuf does); smaller openings wait for the next ACK.
void Engine::window_update_after_read(Tcb& tcb) noexcept {
    if (!tcb.in(kReceivesText)) return;
    const uint32_t cap = rcv_window_cap(tcb);
    const uint32_t cur = tcb.rcv_adv > tcb.rcv_nxt ? tcb.rcv_adv - tcb.rcv_nxt : 0;
    const uint32_t free_space = tcb.rcv_buf.bytes >= cap ? 0 : cap - tcb.rcv_buf.bytes;
    const uint32_t step = std::min<uint32_t>(cap / 2, cfg_.mss);
    if (pressure_) return;  // no window opening while memory is short (the next ACK says what there is)
    if (free_space >= cur + step && (cur < step * 2 || free_space >= cur * 2)) send_ack(tcb);
}

}  // namespace synack::tcp
