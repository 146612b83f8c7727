// The sender's reaction to ACKs and timeouts: congestion control through cc::CongestionControl, duplicate-ACK
// loss recovery (fast retransmit RFC 5681 §3.2, limited transmit RFC 3042, NewReno partial ACKs RFC 6582) paced by
// proportional rate reduction (RFC 6937), restart after idle (RFC 5681 §4.1) and the window after a timeout.
#include <algorithm>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

using wire::kAck;
using wire::kFin;
using wire::kSyn;

// RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: data outstanding, no data, neither SYN nor FIN, SEG.ACK = SND.UNA and the
// advertised window unchanged (compared unscaled, as it came: the same bits mean the same window).
bool Engine::is_dup_ack(const Tcb& tcb, const wire::Segment& seg) const noexcept {
    return tcb.snd_una != tcb.snd_max && seg.payload_len == 0 && !(seg.flags & (kSyn | kFin)) &&
           seg_ack(seg) == tcb.snd_una && seg.wnd == tcb.last_wnd_raw && !tcb.probe_sent;
}

void Engine::dup_ack_arrives(Tcb& tcb) noexcept {
    const uint32_t mss = tcb.snd_mss;
    if (tcb.recovery.in_recovery()) {
        // RFC 6937: each duplicate stands for one segment that left the network.
        tcb.dup_bytes = std::min(tcb.dup_bytes + mss, tcb.flight_size());
        recovery_send(tcb, mss, false);
        return;
    }
    switch (tcb.recovery.on_dupack(tcb.snd_una, tcb.snd_max)) {
    case FastRecovery::Action::limited_transmit:
        // RFC 3042: one new segment on each of the first two duplicates, if the peer's window allows; cwnd
        // itself is not changed.
        tcb.dup_bytes = std::min(tcb.dup_bytes + mss, tcb.flight_size());
        tcb.cwnd_extra = uint32_t{tcb.recovery.dupacks()} * mss;
        output(tcb);
        break;
    case FastRecovery::Action::fast_retransmit: {
        // RFC 5681 §3.2 steps 2-4 with RFC 6937 in place of the window inflation: ssthresh from the flight,
        // the lost segment resent at once, and from here on PRR decides what each ACK lets out.
        ++ctr_.fast_retransmits;
        tcb.dup_bytes = std::min(tcb.dup_bytes + mss, tcb.flight_size());
        tcb.cwnd_extra = 0;
        const uint32_t flight = tcb.flight_size();
        tcb.cc.on_congestion_event(flight);
        tcb.prr.start(flight);
        tcb.undo_retrans = 0;
        tcb.undo_ok = true;
        recovery_send(tcb, mss, true);
        break;
    }
    default:
        break;
    }
}

// An ACK that moved SND.UNA by `acked` bytes (SYN excluded). `prior_flight`: the flight before it; `rtt_us`: the
// sample it gave (0: none).
void Engine::congestion_on_ack(Tcb& tcb, Seq ack, uint32_t acked, uint32_t prior_flight,
                               uint32_t rtt_us) noexcept {
    const uint32_t was_dup = tcb.dup_bytes;
    const bool tlp_repaired = tlp_on_ack(tcb, ack, true, prior_flight);
    tcb.dup_bytes = 0;
    tcb.cwnd_extra = 0;
    switch (tcb.recovery.on_new_ack(Seq{ack})) {
    case FastRecovery::Action::partial_ack:
        if (tcb.sack != nullptr) return;  // SACK recovery: the scoreboard picks what to resend (sack_ack_arrives)
        // RFC 6582 §3.2 step 5: the next hole starts at the new SND.UNA: resend it and stay in recovery. What the
        // duplicates already counted as delivered is not counted again (RFC 6937 DeliveredData).
        ++ctr_.partial_acks;
        recovery_send(tcb, acked > was_dup ? acked - was_dup : 0, true);
        return;
    case FastRecovery::Action::full_ack:
        if (tcb.sack != nullptr) {
            // RFC 6937 §3: a SACK recovery, paced by PRR, ends with cwnd = ssthresh. RFC 6582's FlightSize + SMSS
            // below cut the window to two segments when this ACK left little in flight; one of them lost, the
            // other drew a delayed ACK (Linux: 40 ms): at 5% drop that idled the sender 2.5 s out of 4.
            tcb.cc.set_cwnd(std::max(tcb.ssthresh(), uint32_t{tcb.snd_mss}));
            return;
        }
        // RFC 6582 §3.2 step 3: recovery is over; cwnd = min(ssthresh, FlightSize + SMSS), no burst.
        tcb.cc.on_recovery_exit(tcb.flight_size());
        return;
    default:
        break;
    }
    if (tlp_repaired) return;  // this ACK reduced the window: no growth from it
    cc::AckEvent ev;
    ev.acked_bytes = acked;
    ev.rtt_us = rtt_us;
    ev.srtt_us = tcb.rtt.has_sample() ? tcb.rtt.srtt_us() : 0;
    ev.now_us = now_us();
    ev.ack = ack;
    ev.snd_nxt = tcb.snd_nxt;
    // RFC 7661: only a flow that used its window grows it (in slow start: half of it, as Linux's
    // tcp_is_cwnd_limited, since the window doubles in a round).
    const uint32_t cwnd = tcb.cwnd();
    ev.cwnd_limited = tcb.cc.in_slow_start() ? prior_flight * 2 > cwnd : prior_flight + tcb.snd_mss >= cwnd;
    tcb.cc.on_ack(ev);
}

// RFC 6937 §3 on an ACK in recovery: sndcnt from PRR, then the window that lets exactly that much out. Without
// SACK, pipe is the flight less the segments the duplicates reported (RFC 6675's pipe with a dup ACK as one
// SACKed segment). `retransmit`: the segment at SND.UNA goes first (fast retransmit, partial ACK), sent even when
// sndcnt is 0 (RFC 6937 §3: the retransmission is what recovery needs).
void Engine::recovery_send(Tcb& tcb, uint32_t delivered, bool retransmit) noexcept {
    const uint32_t flight = tcb.flight_size();
    const uint32_t pipe = flight > tcb.dup_bytes ? flight - tcb.dup_bytes : 0;
    uint32_t sndcnt = tcb.prr.on_ack(delivered, pipe, tcb.ssthresh(), tcb.snd_mss);
    if (retransmit) {
        const uint32_t sent = retransmit_una(tcb);
        tcb.prr.on_sent(sent);
        sndcnt = sndcnt > sent ? sndcnt - sent : 0;
    }
    // output() sends while SND.NXT - SND.UNA < cwnd: the window for this ACK is the flight plus sndcnt.
    tcb.cc.set_cwnd(flight + sndcnt);
    const Seq before = tcb.snd_nxt;
    output(tcb);
    tcb.prr.on_sent(tcb.snd_nxt - before);
}

// Resends the first unacknowledged segment (at most one SMSS, with the FIN if it is what is left). Returns the
// sequence space sent.
uint32_t Engine::retransmit_una(Tcb& tcb) noexcept { return retransmit_range(tcb, tcb.snd_una, tcb.snd_mss); }

// Resends [seq, seq + len) (len at most one SMSS) as one segment: the data the send queue still holds there, and
// the FIN when the range covers its sequence number. Returns the sequence space sent (0: nothing went).
uint32_t Engine::retransmit_range(Tcb& tcb, Seq seq, uint32_t len) noexcept {
    const Seq end = tcb.snd_buf_end();
    const uint32_t dlen = seq < end ? std::min<uint32_t>(end - seq, len) : 0;
    const bool fin = tcb.fin_sent && seq + dlen == tcb.fin_seq && tcb.fin_seq < seq + len;
    if (dlen == 0 && !fin) return 0;
    tcb.rtt_timing = false;  // Karn: whatever is being timed may be what we resend
    if (!send_segment(tcb, seq, dlen, static_cast<uint8_t>(kAck | (fin ? kFin : 0)))) return 0;
    if (tcb.undo_retrans < UINT16_MAX) ++tcb.undo_retrans;
    rack_sent(tcb, seq, dlen + (fin ? 1 : 0), true);
    arm_rto(tcb);  // RFC 6298 §5.3 after a retransmission: the timer restarts
    return dlen + (fin ? 1 : 0);
}

// The retransmission timer expired with data outstanding (RFC 5681 §3.1 (4), RFC 6582 §3.2 step 4): recovery
// ends, cwnd falls to the loss window, and the duplicates counted so far mean nothing any more.
void Engine::loss_on_rto(Tcb& tcb) noexcept {
    tcb.cc.on_rto(tcb.flight_size(), tcb.retransmits == 1);
    tcb.recovery.on_rto(tcb.snd_max);
    // RFC 6675 §5.1, RFC 2018 §8: SACK information is discarded (the receiver may have reneged; the send queue
    // still holds every byte not cumulatively acknowledged), and go-back-N resends from SND.UNA.
    sack_release(tcb);
    tcb.tlp.clear();
    tcb.undo_ok = false;  // go-back-N resends too much to account for by D-SACK: no undo after a timeout
    tcb.dup_bytes = 0;
    tcb.cwnd_extra = 0;
}

// RFC 3522 §3.2 (4)-(5), on the first ACK of new data after a timeout: an echo older than the retransmission's
// TSval was sent for the original transmission, so the timeout was spurious (a delay, not a loss). The response is
// RFC 4015 §3's where cheap: SND.NXT <- SND.MAX (no go-back-N of a flight that arrived), and the congestion state
// from before the timeout, with cwnd at most FlightSize + min(bytes_acked, IW) so that the restore does not burst.
// The backed-off RTO goes when process_ack_of_data() sees the new data acknowledged.
void Engine::eifel_check(Tcb& tcb, const wire::Segment& seg) noexcept {
    tcb.eifel_armed = false;
    if (!seg.opt.has_timestamps || !ts_before(seg.opt.ts_ecr, tcb.eifel_rtx_ts)) return;  // a genuine loss
    if (!tcb.cc.undo()) return;
    ++ctr_.spurious_rto_undone;
    tcb.snd_nxt = tcb.snd_max;
    const Seq ack = seg_ack(seg);
    const uint32_t flight_after = tcb.snd_max - ack;
    const uint32_t acked = ack - tcb.snd_una;
    const uint32_t limit = flight_after + std::min(acked, cc::initial_window(tcb.snd_mss));
    if (tcb.cwnd() > limit) tcb.cc.set_cwnd(limit);
    // The timeout's RFC 6582 §4.1 recovery point and cleared scoreboard stay: conservative, and harmless.
}

// RFC 5681 §4.1: a connection that sent nothing for more than an RTO restarts from min(IW, cwnd) (CUBIC also
// shifts its epoch, RFC 9438 §5.8).
void Engine::idle_restart(Tcb& tcb) noexcept {
    if (tcb.snd_una != tcb.snd_max) return;
    const uint64_t idle_us = (now_ - tcb.last_send) * 1000000 / tsc_hz_;
    if (idle_us > tcb.rto_us) tcb.cc.on_idle_restart(idle_us, tcb.rto_us);
}

// RFC 2883 §4: a first SACK block below SEG.ACK, or inside the second block, reports a duplicate: a segment we
// resent had arrived already. When every segment resent since the fast retransmit comes back that way, the
// retransmission was spurious (reordering, not loss): the window from before it is restored (RFC 2883 §5 via
// cc.undo(), as RFC 3522 does for Eifel) and the recovery ends.
void Engine::dsack_arrives(Tcb& tcb, const wire::Segment& seg) noexcept {
    const SeqRange b{Seq{seg.opt.sack[0].left}, Seq{seg.opt.sack[0].right}};
    const bool below_ack = b.right <= seg_ack(seg);
    const bool inside_second = seg.opt.sack_count > 1 && Seq{seg.opt.sack[1].left} <= b.left &&
                               b.right <= Seq{seg.opt.sack[1].right};
    if (!(b.left < b.right) || !(below_ack || inside_second)) return;
    const uint32_t segs = std::max<uint32_t>(1, (b.right - b.left + tcb.snd_mss - 1) / tcb.snd_mss);
    if (tcb.undo_retrans == 0) return;
    tcb.undo_retrans = static_cast<uint16_t>(segs >= tcb.undo_retrans ? 0 : tcb.undo_retrans - segs);
    if (tcb.undo_retrans != 0) return;
    tcb.undo_ok = false;
    if (!tcb.cc.undo()) return;
    ++ctr_.spurious_retransmits_undone;
    if (tcb.recovery.in_recovery()) tcb.recovery.on_rto(tcb.snd_max);  // ends it; recover = SND.MAX
    tcb.dup_bytes = 0;
    output(tcb);
}

// RFC 8985 §7.2: with SACK, an RTT sample and no recovery running, the timer first waits for a probe timeout
// (about 2 SRTT) rather than the RTO: a lost tail then costs a probe and fast recovery, not a timeout. RACK-TLP
// needs SACK (§2), so other connections arm the RTO as before.
void Engine::arm_rto_or_probe(Tcb& tcb) noexcept {
    if (tcb.sack_ok && tcb.rtt.has_sample() && !tcb.recovery.in_recovery() && !tcb.tlp.in_progress() &&
        tcb.in(State::established | State::close_wait)) {
        const bool one_segment = tcb.flight_size() <= tcb.snd_mss;
        arm_timer(tcb, TimerMode::loss_probe, Tlp::pto_us(tcb.rtt.srtt_us(), one_segment, tcb.rto_us));
        return;
    }
    arm_rto(tcb);
}

// RFC 8985 §7.3: the probe is one new segment if the windows allow, else the last segment sent, again. The RTO
// is armed before anything goes out, so that output() does not arm another probe.
void Engine::on_loss_probe(Tcb& tcb) noexcept {
    ++ctr_.tlp_probes;
    arm_rto(tcb);
    const Seq before = tcb.snd_nxt;
    if (tcb.snd_nxt == tcb.snd_max && tcb.snd_nxt < tcb.snd_buf_end()) {
        tcb.cwnd_extra = tcb.snd_mss;  // one segment past cwnd, as the probe may be (§7.3)
        const uint32_t cwnd = tcb.cwnd();
        tcb.cc.set_cwnd(std::min(cwnd, tcb.flight_size()));  // exactly one segment: flight + cwnd_extra
        output(tcb);
        tcb.cc.set_cwnd(cwnd);
        tcb.cwnd_extra = 0;
    }
    if (tcb.snd_nxt != before) {
        tcb.tlp.on_probe_sent(false, tcb.snd_nxt);
        return;
    }
    const Seq data_end = tcb.fin_sent ? tcb.fin_seq : tcb.snd_max;
    const uint32_t len = std::min<uint32_t>(data_end - tcb.snd_una, tcb.snd_mss);
    if (len == 0 && !tcb.fin_sent) return;
    tcb.rtt_timing = false;  // Karn
    if (send_segment(tcb, data_end - len, len, static_cast<uint8_t>(kAck | (tcb.fin_sent ? kFin : 0)))) {
        rack_sent(tcb, data_end - len, len + (tcb.fin_sent ? 1 : 0), true);
        tcb.tlp.on_probe_sent(true, tcb.snd_max);
    }
}

// RFC 8985 §7.4: a retransmitted probe that repaired a loss is a congestion event (the loss it hid was real).
// Returns true when it reduced the window.
bool Engine::tlp_on_ack(Tcb& tcb, Seq ack, bool advanced, uint32_t prior_flight) noexcept {
    if (!tcb.tlp.in_progress()) return false;
    if (tcb.tlp.on_ack(ack, advanced, false, false, SeqRange{}) != Tlp::Outcome::loss_repaired ||
        tcb.recovery.in_recovery())
        return false;
    ++ctr_.tlp_recoveries;
    tcb.cc.on_congestion_event(prior_flight);
    return true;
}

}  // namespace synack::tcp
