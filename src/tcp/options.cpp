// Options negotiated on the handshake and what they do afterwards: window scaling (RFC 7323 §2), timestamps with
// PAWS and RTT samples (RFC 7323 §3-5, RFC 6191 TIME-WAIT reuse), SACK blocks and D-SACK on our ACKs (RFC 2018,
// RFC 2883). Each is on for a connection only when both SYNs carried it; a peer that offers none gets a plain
// RFC 9293 connection.
#include <algorithm>

#include "tcp/engine.hpp"
#include "tcp/rtt.hpp"
#include "tcp/siphash.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

using wire::kAck;
using wire::kRst;
using wire::kSyn;

namespace {
constexpr uint8_t kMaxWscale = 14;        ///< RFC 7323 §2.3
constexpr uint32_t kTsOptionBytes = 12;   ///< NOP NOP TS(10), as every stack lays it out
constexpr uint32_t kSackHeaderBytes = 4;  ///< NOP NOP kind len
constexpr uint32_t kSackBlockBytes = 8;
}  // namespace

// Our shift: the smallest that lets a 16-bit window cover the receive buffer (RFC 7323 §2.3: at most 14).
uint8_t Engine::our_wscale() const noexcept {
    uint8_t s = 0;
    while (s < kMaxWscale && (uint64_t{65535} << s) < cfg_.rcv_buf) ++s;
    return s;
}

// RFC 7323 §4: a clock of 1 ms ticks (within §5.4's 1 ms .. 1 s), plus an offset that is a keyed hash of the
// address pair (RFC 7323 §7.1, as Linux does): the uptime does not leak and peers cannot line up our connections
// to other hosts, while TSval still grows across successive connections between the same two hosts, which is what
// lets a TIME-WAIT of the peer be reopened by our next SYN (RFC 6191).
uint32_t Engine::tsval(const FourTuple& t) const noexcept {
    const uint32_t msg[3] = {0x54537631u /* "TSv1": not a cookie's input */, t.local_ip, t.remote_ip};
    const auto off = static_cast<uint32_t>(siphash24(cookie_key_, msg, sizeof msg));
    return static_cast<uint32_t>(now_ / std::max<uint64_t>(1, tsc_hz_ / 1000)) + off;
}

// The peer's SYN (passive open) or SYN-ACK (active open): each option is on when the peer carries it and we
// offer it (on an active open we offered what cfg_ allows, RFC 7323 §2.2 / §3.2, RFC 2018 §2).
void Engine::negotiate_options(Tcb& tcb, const wire::Segment& syn) noexcept {
    tcb.ws_ok = cfg_.window_scaling && syn.opt.has_wscale;
    tcb.snd_wscale = tcb.ws_ok ? std::min(syn.opt.wscale, kMaxWscale) : 0;  // §2.3: a larger shift is taken as 14
    tcb.rcv_wscale = tcb.ws_ok ? our_wscale() : 0;
    tcb.sack_ok = cfg_.sack && syn.opt.sack_permitted;
    tcb.ts_ok = cfg_.timestamps && syn.opt.has_timestamps;
    if (tcb.ts_ok) {
        // §4.3 (1): TS.Recent starts from the SYN's TSval. Every segment will carry 12 option bytes, which come
        // out of the segment's data (RFC 9293 §3.7.1: the MSS counts data only, RFC 6691).
        tcb.ts_recent = TsRecent{syn.opt.ts_val, now_us(), true};
        tcb.snd_mss = static_cast<uint16_t>(std::max<uint32_t>(64, tcb.snd_mss - kTsOptionBytes));
        tcb.rcv_mss = tcb.snd_mss;
    }
}

// The windows the peer sends after the handshake are shifted (RFC 7323 §2.3); a SYN's never is (§2.2).
uint32_t Engine::peer_window(const Tcb& tcb, const wire::Segment& seg) const noexcept {
    return seg.has(kSyn) ? seg.wnd : uint32_t{seg.wnd} << tcb.snd_wscale;
}

// The largest window we may offer: the receive buffer, as far as 16 bits shifted by our scale reach.
uint32_t Engine::rcv_window_cap(const Tcb& tcb) const noexcept {
    return std::min<uint32_t>(cfg_.rcv_buf, uint32_t{65535} << tcb.rcv_wscale);
}

// The window field for an advertised window `wnd`: a SYN's unscaled (§2.2); otherwise shifted, rounded up so that
// the right edge we record (rcv_adv) is exactly the one the peer computes and never moves left.
uint16_t Engine::window_field(Tcb& tcb, uint32_t wnd, bool syn) noexcept {
    if (syn || tcb.rcv_wscale == 0) {
        wnd = std::min<uint32_t>(wnd, 65535);
        tcb.rcv_adv = tcb.rcv_nxt + wnd;
        return static_cast<uint16_t>(wnd);
    }
    const uint32_t field = std::min<uint32_t>((wnd + (1u << tcb.rcv_wscale) - 1) >> tcb.rcv_wscale, 65535);
    tcb.rcv_adv = tcb.rcv_nxt + (field << tcb.rcv_wscale);
    return static_cast<uint16_t>(field);
}

// The options of a segment we send (nullptr: none). SYNs: MSS always (MUST-14); on an active open the offers
// cfg_ allows, on a SYN-ACK only what the peer offered (RFC 7323 §1.3, RFC 2018 §2). After the handshake:
// timestamps on every segment (our RSTs carry none: RFC 7323 §3.2 leaves it open, and send_reset() answers
// segments of no connection too), SACK blocks on ACKs while the reassembly queue holds data.
const wire::TcpOptions* Engine::segment_options(Tcb& tcb, uint8_t flags, uint32_t len,
                                                wire::TcpOptions& o) noexcept {
    if (flags & kAck) tcb.last_ack_sent = tcb.rcv_nxt;  // RFC 7323 §4.3 Last.ACK.sent
    if (flags & kRst) return nullptr;
    if (flags & kSyn) {
        o.has_mss = true;
        o.mss = our_mss(tcb.v6);
        const bool offer = tcb.state == State::syn_sent;
        if (offer) tcb.rcv_wscale = cfg_.window_scaling ? our_wscale() : 0;  // taken back if the SYN-ACK has none
        if (offer ? cfg_.window_scaling : tcb.ws_ok) {
            o.has_wscale = true;
            o.wscale = tcb.rcv_wscale;
        }
        o.sack_permitted = offer ? cfg_.sack : tcb.sack_ok;
        if (offer ? cfg_.timestamps : tcb.ts_ok) {
            o.has_timestamps = true;
            o.ts_val = tsval(tcb.tuple);
            o.ts_ecr = offer ? 0 : tcb.ts_recent.value;  // §3.2: TSecr of a SYN is 0
        }
        return &o;
    }
    uint32_t room = len > tcb.snd_mss ? 0 : tcb.snd_mss - len;  // option bytes a data segment can still take
    if (tcb.ts_ok) {
        o.has_timestamps = true;
        o.ts_val = tsval(tcb.tuple);
        o.ts_ecr = tcb.ts_recent.value;  // §4.3 (3)
    }
    if (tcb.sack_ok && (flags & kAck) && tcb.sack_rep.pending() > 0) {
        tcb.sack_rep.on_rcv_nxt(tcb.rcv_nxt);
        // RFC 2018 §3: 4 blocks fit in 40 option bytes, 3 beside timestamps; a data segment only what its room takes.
        uint32_t max = tcb.ts_ok ? 3 : 4;
        if (len > 0) max = std::min(max, room >= kSackHeaderBytes ? (room - kSackHeaderBytes) / kSackBlockBytes : 0);
        const bool dsack = tcb.sack_rep.has_dsack();
        if (max > 0 && tcb.sack_rep.pending() > 0) {
            o.sack_count = static_cast<uint8_t>(tcb.sack_rep.fill(o.sack, max));
            ctr_.tx_sack_blocks += o.sack_count;
            if (dsack && o.sack_count > 0) ++ctr_.tx_dsacks;
        }
    }
    return o.has_timestamps || o.sack_count > 0 ? &o : nullptr;
}

// RFC 7323 §5.3 R1 (PAWS), before the acceptability test: a segment whose TSval is older than TS.Recent is an old
// duplicate: ACK and drop. RSTs are exempt (§5.3), as is a connection idle past §5.5's 24 days.
bool Engine::paws_drop(Tcb& tcb, const wire::Segment& seg) noexcept {
    if (!paws_rejects(seg.opt.has_timestamps, seg.opt.ts_val, seg.has(kRst), tcb.ts_recent, now_us())) return false;
    ++ctr_.rx_paws_dropped;
    send_ack(tcb);
    return true;
}

// An acceptable segment (not a RST): §4.3 (2) updates TS.Recent when it reaches Last.ACK.sent; keepalive learns
// the peer is alive.
void Engine::segment_accepted(Tcb& tcb, const wire::Segment& seg) noexcept {
    tcb.last_rx = stamp();
    tcb.ka_probes = 0;
    if (!tcb.ts_ok) return;
    if (!seg.opt.has_timestamps) {
        ++ctr_.rx_ts_missing;  // §3.2 says SHOULD drop; Linux takes it, and so do we
        return;
    }
    update_ts_recent(tcb.ts_recent, seg.opt.ts_val, seg_seq(seg), tcb.last_ack_sent, now_us());
}

// RFC 7323 §4.1: an ACK of new data times the round trip from the TSval it echoes. Returns that sample in µs (0:
// none) for the congestion controller, which takes one per ACK (RFC 9406 §4.2 wants N_RTT_SAMPLE of them a round;
// its per-round minimum filters the noise). Karn's timed segment measures finer than the 1 ms tick, so the
// estimator takes the echo only while none is being timed (after a retransmission, where Karn gives nothing: §4.2
// makes the echo unambiguous), and never a round trip under one tick.
uint32_t Engine::ts_rtt_sample(Tcb& tcb, const wire::Segment& seg) noexcept {
    uint32_t r_us = 0;
    if (!seg.opt.has_timestamps || !ts_rtt_us(tsval(tcb.tuple), seg.opt.ts_ecr, 1000, r_us) || r_us == 0) return 0;
    // An echo older than our latest retransmission times the repair, not the path: after a loss, §4.3 has the
    // peer echo the TSval from before the hole, so the sample would hold the RTO or recovery wait; under steady
    // loss those samples pushed SRTT (and the RTO) to its 60 s ceiling. Karn's timer and later echoes take over.
    if (tcb.ts_last_rtx != 0 && ts_before(seg.opt.ts_ecr, tcb.ts_last_rtx)) return 0;
    if (tcb.rtt_timing) return r_us;
    ++ctr_.ts_rtt_samples;
    rtt_sample(tcb, us_to_cycles(r_us));
    return r_us;
}

// RFC 6191 §2 (RFC 9293 SHLD-4): with timestamps on both incarnations a new SYN reopens TIME-WAIT when its TSval
// is above TS.Recent, whatever its sequence number; without them the ISN must be above RCV.NXT (MAY-2).
bool Engine::time_wait_reopens(Tcb& tcb, const wire::Segment& syn) noexcept {
    if (tcb.ts_ok && syn.opt.has_timestamps) {
        if (ts_before(tcb.ts_recent.value, syn.opt.ts_val)) return true;
        ++ctr_.time_wait_ts_refused;
        return false;
    }
    return seg_seq(syn) > tcb.rcv_nxt;
}

// Duplicate data (already below RCV.NXT, or wholly held out of order) is reported once as a D-SACK (RFC 2883 §4).
void Engine::sack_duplicate(Tcb& tcb, const wire::Segment& seg) noexcept {
    if (!tcb.sack_ok || seg.payload_len == 0) return;
    const Seq end = seg_seq(seg) + seg.payload_len;
    if (seg_seq(seg) < tcb.rcv_nxt) {
        tcb.sack_rep.on_duplicate(seg_seq(seg), end < tcb.rcv_nxt ? end : tcb.rcv_nxt);
        return;
    }
    if (tcb.ooo == nullptr) return;
    for (uint32_t i = 0; i < tcb.ooo->count; ++i) {
        const OooSegment& s = tcb.ooo->seg[i];
        if (s.seq <= seg_seq(seg) && end <= s.end()) {
            tcb.sack_rep.on_duplicate(seg_seq(seg), end);
            return;
        }
    }
}

// After an out-of-order segment was queued: the contiguous held range around it is the first block of the ACK
// (RFC 2018 §4), sent at once (RFC 5681 §4.2's immediate duplicate ACK): a full-sized data segment that would
// otherwise carry the ACK has no room for the blocks.
void Engine::sack_out_of_order(Tcb& tcb, Seq seq) noexcept {
    if (!tcb.sack_ok || tcb.ooo == nullptr) return;
    const ReassemblyBlock& b = *tcb.ooo;
    uint32_t i = 0;
    while (i < b.count && !(b.seg[i].seq <= seq && seq < b.seg[i].end())) ++i;
    if (i == b.count) return;  // not held (no slot for it)
    uint32_t lo = i, hi = i;
    while (lo > 0 && b.seg[lo - 1].end() == b.seg[lo].seq) --lo;
    while (hi + 1 < b.count && b.seg[hi].end() == b.seg[hi + 1].seq) ++hi;
    tcb.sack_rep.on_out_of_order(Seq{b.seg[lo].seq}, Seq{b.seg[hi].end()});
    send_ack(tcb);
}

// RFC 2018 §8: pruned out-of-order data is no longer reported.
void Engine::sack_forget(Tcb& tcb, Seq left, Seq right) noexcept {
    if (tcb.sack_ok) tcb.sack_rep.forget(left, right);
}

// RFC 4987 §3.6 with Linux's scheme: a cookie SYN-ACK can agree to window scaling and SACK only when the peer
// offered timestamps, whose echo brings them back (see syn_cookie.hpp); otherwise it carries the MSS alone.
void Engine::cookie_syn_ack_options(const wire::Segment& syn, const FourTuple& t, wire::TcpOptions& o) noexcept {
    if (!cfg_.timestamps || !syn.opt.has_timestamps) return;
    syn_cookie::TsOptions c;
    c.wscale_ok = cfg_.window_scaling && syn.opt.has_wscale;
    c.snd_wscale = std::min(syn.opt.wscale, kMaxWscale);
    c.sack_ok = cfg_.sack && syn.opt.sack_permitted;
    o.has_wscale = c.wscale_ok;
    o.wscale = our_wscale();
    o.sack_permitted = c.sack_ok;
    o.has_timestamps = true;
    o.ts_val = syn_cookie::encode_ts(tsval(t), c);
    o.ts_ecr = syn.opt.ts_val;
}

// A cookie's lifetime in timestamp ticks (ms), plus one period of the TSval rounding.
uint32_t Engine::cookie_ts_max_age() const noexcept {
    return (syn_cookie::kMaxAge + 1) * syn_cookie::kPeriodSeconds * 1000 + syn_cookie::kTsOptMask + 1;
}

void Engine::cookie_take_options(Tcb& tcb, const wire::Segment& ack, const syn_cookie::TsOptions& o) noexcept {
    tcb.ws_ok = o.wscale_ok;
    tcb.snd_wscale = o.snd_wscale;
    tcb.rcv_wscale = o.wscale_ok ? our_wscale() : 0;
    tcb.sack_ok = o.sack_ok;
    tcb.ts_ok = true;
    tcb.ts_recent = TsRecent{ack.opt.ts_val, now_us(), true};
    tcb.last_ack_sent = tcb.rcv_nxt;  // what the cookie SYN-ACK acknowledged
    tcb.snd_mss = static_cast<uint16_t>(std::max<uint32_t>(64, tcb.snd_mss - kTsOptionBytes));
    tcb.rcv_mss = tcb.snd_mss;
    tcb.snd_wnd = tcb.max_snd_wnd = peer_window(tcb, ack);
}

}  // namespace synack::tcp
