// Keepalive (RFC 1122 §4.2.3.6): off unless configured (MUST-25); after the connection has been idle for the
// interval (2 hours by default, MUST-28) an ACK carrying SND.UNA - 1 draws the peer's ACK; only several unanswered
// probes in a row end the connection (MUST-29: one lost probe never kills). A timer of its own, armed lazily:
// every segment from the peer only stores the time (Tcb::last_rx); the timer, when it fires early, re-arms.
#include <algorithm>

#include "tcp/engine.hpp"

namespace synack::tcp {

int Engine::set_keepalive(ConnId c, uint32_t idle_s, uint32_t intvl_s, uint32_t cnt) noexcept {
    Tcb* tcb = lookup(c);
    if (tcb == nullptr) return -kErrInvalid;
    if (idle_s != 0 && (intvl_s == 0 || cnt < 2 || cnt > 255 || idle_s > 1u << 22 || intvl_s > 1u << 22))
        return -kErrInvalid;
    tcb->ka_idle_ms = idle_s * 1000;
    tcb->ka_intvl_ms = intvl_s * 1000;
    tcb->ka_cnt = static_cast<uint8_t>(cnt);
    tcb->ka_probes = 0;
    wheel_.cancel(tcb->ka_timer);
    if (tcb->in(State::established | State::close_wait | State::fin_wait_2)) keepalive_arm(*tcb);
    return 0;
}

void Engine::keepalive_arm(Tcb& tcb) noexcept {
    if (tcb.ka_idle_ms == 0) return;
    wheel_.schedule(tcb.ka_timer, now_ + ms_to_cycles(tcb.ka_probes > 0 ? tcb.ka_intvl_ms : tcb.ka_idle_ms));
}

void Engine::on_keepalive(Tcb& tcb) noexcept {
    // Probing makes sense only while the peer owes us nothing and we await nothing but its word.
    if (tcb.ka_idle_ms == 0 || !tcb.in(State::established | State::close_wait | State::fin_wait_2)) return;
    const uint32_t idle = stamp() - tcb.last_rx;
    const uint32_t idle_limit = ms_to_stamps(tcb.ka_idle_ms);
    if (tcb.ka_probes == 0 && idle < idle_limit) {  // heard from since: wait out the rest of the idle time
        const uint64_t left_ms = std::max<uint64_t>(1, uint64_t{tcb.ka_idle_ms} * (idle_limit - idle) / idle_limit);
        wheel_.schedule(tcb.ka_timer, now_ + ms_to_cycles(left_ms));
        return;
    }
    // Data in flight or a zero window being probed: the retransmission and persist timers watch the peer.
    if (tcb.snd_una != tcb.snd_max || tcb.timer_mode == TimerMode::persist) {
        tcb.ka_probes = 0;
        wheel_.schedule(tcb.ka_timer, now_ + ms_to_cycles(tcb.ka_idle_ms));
        return;
    }
    if (tcb.ka_probes >= tcb.ka_cnt) {
        ++ctr_.conn_keepalive_timed_out;
        give_up(tcb, EventType::keepalive_timed_out, false);
        return;
    }
    ++tcb.ka_probes;
    ++ctr_.keepalive_probes;
    send_segment(tcb, tcb.snd_una - 1, 0, wire::kAck);  // <SEQ=SND.NXT-1><ACK=RCV.NXT>: outside the peer's window
    wheel_.schedule(tcb.ka_timer, now_ + ms_to_cycles(tcb.ka_intvl_ms));
}

}  // namespace synack::tcp
