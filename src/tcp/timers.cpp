// Connection timers on the engine's wheel: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), delayed ACK
// (§3.8.6.3), TIME-WAIT (§3.6.1) and the FIN-WAIT-2 guard.
#include <algorithm>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

void Engine::advance(uint64_t now_cycles) noexcept {
    now_ = now_cycles;
    wheel_.advance(now_cycles, [this](timer::TimerNode& n) { on_timer(n); });
    if (now_cycles >= next_pool_check_) [[unlikely]]
        mem_check();
}

void Engine::on_timer(timer::TimerNode& node) noexcept {
    // Timer nodes live inside TCBs of one array: the index comes from the address, the kind from the member.
    const auto off = static_cast<size_t>(reinterpret_cast<char*>(&node) - reinterpret_cast<char*>(tcbs_.get()));
    Tcb& tcb = tcbs_[off / sizeof(Tcb)];
    if (!tcb.in_use) return;
    if (&node == &tcb.delack_timer) {  // armed only while an ACK is owed; any ACK sent cancels it
        ++ctr_.delayed_acks;
        send_ack(tcb);
        return;
    }
    if (&node == &tcb.ka_timer) return on_keepalive(tcb);  // keepalive.cpp
    const TimerMode mode = tcb.timer_mode;
    tcb.timer_mode = TimerMode::none;
    switch (mode) {
    case TimerMode::retransmit: on_rto(tcb); break;
    case TimerMode::loss_probe: on_loss_probe(tcb); break;
    case TimerMode::reorder: on_reorder_timer(tcb); break;  // sack_recovery.cpp
    case TimerMode::persist: on_persist(tcb); break;
    case TimerMode::time_wait: free_tcb(tcb); break;  // 2 MSL are over: CLOSED
    case TimerMode::fin_wait_2:
        ++ctr_.fin_wait_2_timed_out;
        terminate(tcb, EventType::closed);
        break;
    case TimerMode::none: break;
    }
}

void Engine::on_rto(Tcb& tcb) noexcept {
    ++ctr_.rto_expired;
    const bool handshake = tcb.in(State::syn_sent | State::syn_received);
    const uint32_t limit = handshake ? cfg_.syn_retransmits : cfg_.max_retransmits;
    if (++tcb.retransmits > limit) {
        // RFC 9293 §3.8.3 R2: give up and tell the user. A half-open passive connection just disappears.
        if (tcb.state == State::syn_received && tcb.passive) {
            ++ctr_.half_open_timed_out;
            free_tcb(tcb);
            return;
        }
        ++ctr_.conn_timed_out;
        terminate(tcb, EventType::timed_out);
        return;
    }
    // RFC 5482 user timeout: data unacknowledged this long ends the connection, however the backoff stands.
    if (!handshake && cfg_.user_timeout_ms != 0 && stamp() - tcb.snd_progress_at >= ms_to_stamps(cfg_.user_timeout_ms)) {
        ++ctr_.conn_user_timed_out;
        terminate(tcb, EventType::user_timed_out);
        return;
    }
    tcb.rtt.on_timeout();  // RFC 6298 §5.5: back off
    tcb.rto_us = tcb.rtt.rto_us();
    pmtu_on_rto(tcb);  // full-sized data timing out again may be a PMTU black hole (RFC 4821 §7.3)
    tcb.rtt_timing = false;                                          // Karn: no sample from a retransmission
    if (handshake) {
        tcb.syn_timed_out = true;
        send_syn(tcb);
        arm_rto(tcb);
        return;
    }
    // RFC 5681 §3.1: after a timeout, ssthresh = max(FlightSize / 2, 2 SMSS) and cwnd = one segment.
    loss_on_rto(tcb);
    tcb.snd_nxt = tcb.snd_una;  // go back: resend from the oldest unacknowledged byte
    const uint64_t resent_before = ctr_.tx_retransmits;
    output(tcb);
    // RFC 3522 §3.2 (2): with timestamps, remember the TSval of the first retransmission of this timeout episode
    // (the one whose undo state cc.on_rto saved) for the Eifel check on the first ACK after it.
    if (tcb.retransmits == 1) {
        tcb.eifel_armed = tcb.ts_ok && ctr_.tx_retransmits != resent_before;
        tcb.eifel_rtx_ts = tcb.ts_last_rtx;
    }
    if (tcb.snd_nxt == tcb.snd_una && tcb.snd_wnd == 0 && tcb.snd_buf_end() != tcb.snd_una) {
        // The window closed with data in flight: the timeout still sends something, the first octet, which
        // doubles as a zero-window probe (RFC 6298 §5.4, RFC 9293 §3.8.6.1).
        ++ctr_.zero_window_probes;
        send_segment(tcb, tcb.snd_una, 1, wire::kAck);
    }
    if (tcb.timer_mode != TimerMode::retransmit && tcb.snd_una != tcb.snd_max) arm_rto(tcb);
}

// MUST-36: probe a zero window with one byte beyond it, backing off like the RTO; the peer's ACKs keep us going.
void Engine::on_persist(Tcb& tcb) noexcept {
    if (tcb.snd_wnd > 0 || tcb.snd_buf_end() == tcb.snd_nxt) {
        output(tcb);
        return;
    }
    if (++tcb.retransmits > cfg_.max_retransmits) {
        ++ctr_.conn_timed_out;
        terminate(tcb, EventType::timed_out);
        return;
    }
    // A peer that answers every probe but never opens its window would pin the send buffer forever. RFC 9293
    // MUST-37 keeps such a connection open as far as TCP itself goes; RFC 6429 clarifies that the system may still
    // abort it to protect its resources, which is what this configurable bound is (0 turns it off, strictly
    // MUST-37). The peer is alive, so it is told with a RST.
    if (cfg_.persist_timeout_ms != 0 && now_ - tcb.persist_since >= ms_to_cycles(cfg_.persist_timeout_ms)) {
        ++ctr_.conn_persist_timed_out;
        give_up(tcb, EventType::persist_timed_out, true);
        return;
    }
    ++ctr_.zero_window_probes;
    // The probe is the next octet, sent beyond the window without counting it as sent (SND.MAX stays), so our
    // ACKs keep a sequence number the peer accepts; ack_arrives() takes an ACK that covers the probe.
    send_segment(tcb, tcb.snd_nxt, 1, wire::kAck);
    tcb.probe_sent = true;
    const uint32_t shift = std::min<uint32_t>(++tcb.persist_backoff, 16);
    const uint64_t backoff = std::min<uint64_t>(uint64_t{tcb.rto_us} << shift, uint64_t{cfg_.rto_max_ms} * 1000);
    arm_timer(tcb, TimerMode::persist, backoff);
}

void Engine::arm_rto(Tcb& tcb) noexcept { arm_timer(tcb, TimerMode::retransmit, tcb.rto_us); }

void Engine::arm_timer(Tcb& tcb, TimerMode mode, uint64_t us) noexcept {
    tcb.timer_mode = mode;
    wheel_.schedule(tcb.rto_timer, now_ + us_to_cycles(us));
}

void Engine::stop_timer(Tcb& tcb) noexcept {
    tcb.timer_mode = TimerMode::none;
    wheel_.cancel(tcb.rto_timer);
}

// RFC 6298 §2.2-2.4 (RttEstimator), in microseconds; the clock granularity G is the wheel's 1 ms tick. Returns
// the sample in µs (at least 1).
uint32_t Engine::rtt_sample(Tcb& tcb, uint64_t rtt_cycles) noexcept {
    const auto r = static_cast<uint32_t>(std::clamp<uint64_t>(rtt_cycles * 1000000 / tsc_hz_, 1, UINT32_MAX / 8));
    tcb.rtt.sample(r);
    tcb.rto_us = tcb.rtt.rto_us();
    // RFC 8985 §6.2 step 1: min_RTT, in the live RACK state while a scoreboard is lent, else in the TCB's.
    if (tcb.sack != nullptr)
        tcb.sack->rack.on_rtt_sample(r, now_us());
    else
        tcb.rack_path.on_rtt_sample(r, now_us());
    return r;
}

// RFC 9293 §3.8.6.3: ACK at least every second full-sized segment (SHLD-19), otherwise within delayed_ack_ms.
// As Linux does: ACK at once when more than one full-sized segment's worth is unacknowledged, full-sized being the
// largest segment seen from the peer (up to our MSS). So a segment the peer's TSO left whole, or an LRO'd one,
// draws its ACK at once, and a peer sending below our MSS (smaller MTU) still gets one every second segment.
void Engine::schedule_ack(Tcb& tcb, uint32_t len) noexcept {
    if (len > tcb.rcv_mss) tcb.rcv_mss = static_cast<uint16_t>(std::min<uint32_t>(len, cfg_.mss));
    tcb.rcv_unacked += len;
    if (tcb.rcv_unacked > tcb.rcv_mss) {
        tcb.ack_now = true;
        return;
    }
    if (!tcb.delack_timer.armed()) wheel_.schedule(tcb.delack_timer, now_ + ms_to_cycles(cfg_.delayed_ack_ms));
}

}  // namespace synack::tcp
