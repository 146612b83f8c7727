// The sender's loss recovery with SACK: the RFC 6675 scoreboard says what the peer holds, RACK (RFC 8985) says by
// time what is lost, and NextSeg() picks what goes out (holes first, then new data, then the rescue), paced by PRR
// (RFC 6937) with SetPipe()'s pipe. The state is lent from the engine's pool (sack_state.hpp) while SACKed data is
// outstanding; without it (no SACK, or the pool empty) loss.cpp's NewReno recovers.
#include <algorithm>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

// Takes a scoreboard from the pool for `tcb`. What is in flight now was sent at unknown times no later than the
// last send: RACK starts from that time for all of it, which can only delay its verdict, never call a delivered
// segment lost. RACK's min_RTT and reordering state are the connection's (RFC 8985 §6.1, RackPath): every RTT
// sample so far, and what earlier episodes learned of reordering.
bool Engine::sack_attach(Tcb& tcb) noexcept {
    if (sack_free_ == nullptr) {
        ++ctr_.sack_pool_empty;
        return false;
    }
    SackState* s = sack_free_;
    sack_free_ = s->next_free;
    s->board.reset(tcb.snd_una, tcb.snd_mss);
    s->rack.clear(tcb.rack_path);
    s->rack.on_send(tcb.snd_una, tcb.snd_max, cycles_to_us(tcb.last_send), false);
    tcb.sack = s;
    return true;
}

// Timers are the caller's: free_tcb() has cancelled them, and a reorder timer left armed finds no state and arms
// the RTO (on_reorder_timer). What RACK learned of the path stays with the connection for the next episode.
void Engine::sack_release(Tcb& tcb) noexcept {
    if (tcb.sack == nullptr) return;
    tcb.rack_path = tcb.sack->rack.path();
    tcb.sack->next_free = sack_free_;
    sack_free_ = tcb.sack;
    tcb.sack = nullptr;
}

// Does the ACK SACK anything above SND.UNA that we sent (RFC 2018 §4)? A D-SACK first block does not count
// (RFC 2883 §4: it reports a duplicate, not data held beyond a hole).
bool Engine::sack_reports_new_data(const Tcb& tcb, const wire::Segment& seg) const noexcept {
    const uint32_t n = seg.opt.sack_count;
    for (uint32_t k = 0; k < n; ++k) {
        const SeqRange b{Seq{seg.opt.sack[k].left}, Seq{seg.opt.sack[k].right}};
        if (k == 0 && (b.right <= seg_ack(seg) ||
                       (n > 1 && Seq{seg.opt.sack[1].left} <= b.left && b.right <= Seq{seg.opt.sack[1].right})))
            continue;
        if (b.left < b.right && tcb.snd_una < b.right && b.right <= tcb.snd_max) return true;
    }
    return false;
}

// RACK's lost marks on the scoreboard. Above HighRxt they move the lost boundary (NextSeg rule 1 then resends them
// in order); below it they are retransmissions lost again, which resend_lost_retransmissions() takes. Returns
// whether anything is marked lost.
bool Engine::rack_mark_lost(Tcb& tcb) noexcept {
    SackState& s = *tcb.sack;
    SeqRange lost[8];
    const uint32_t n = s.rack.lost_ranges(lost, 8);
    for (uint32_t i = 0; i < n; ++i) {
        const Seq right = min(lost[i].right, tcb.snd_max);
        if (s.board.high_rxt() < right) s.board.mark_lost(right);
    }
    return n > 0;
}

// RFC 6675 §5 on an ACK while the connection holds SACK state: the scoreboard and RACK take the ACK, then either
// recovery starts (DupThresh SACKed above SND.UNA, or RACK found a loss), or it goes on, or limited transmit (RFC
// 3042) lets a segment out per SACKed one, two at most.
void Engine::sack_ack_arrives(Tcb& tcb, const wire::Segment& seg, uint32_t acked, bool recovery_ended) noexcept {
    SackState& s = *tcb.sack;
    const uint32_t mss = tcb.snd_mss;
    const SackScoreboard::AckResult res =
        s.board.on_ack(seg_ack(seg), seg.opt.sack, seg.opt.sack_count, tcb.snd_max);
    SeqRange blocks[wire::kMaxSackBlocks];
    for (uint32_t k = 0; k < seg.opt.sack_count; ++k) blocks[k] = {Seq{seg.opt.sack[k].left}, Seq{seg.opt.sack[k].right}};
    Rack::Ack a;
    a.now_us = now_us();
    a.snd_una = tcb.snd_una;
    a.snd_nxt = tcb.snd_max;
    a.sacked = blocks;
    a.n_sacked = seg.opt.sack_count;
    a.dsack = res.dsack;
    a.segs_sacked = s.board.sacked_bytes() / mss;
    a.srtt_us = tcb.rtt.srtt_us();
    a.in_recovery = tcb.recovery.in_recovery();
    a.recovery_ended = recovery_ended;
    const Rack::Result rr = s.rack.on_ack(a);
    ctr_.rack_marked_lost += rr.newly_lost;
    const bool rack_lost = rack_mark_lost(tcb);

    const bool was_in_recovery = tcb.recovery.in_recovery();
    if (!was_in_recovery && (rack_lost || s.board.is_lost(tcb.snd_una))) sack_enter_recovery(tcb);
    if (tcb.recovery.in_recovery()) {
        sack_recovery_send(tcb, acked + res.newly_sacked, !was_in_recovery);
    } else if (s.board.range_count() > 0) {
        tcb.cwnd_extra = std::min(s.board.sacked_bytes(), 2 * mss);  // RFC 3042, counted in SACKed bytes
    }
    // RFC 8985 §6.2 step 5: a segment not yet lost only because its reorder window is still open.
    if (rr.reo_timeout_us != 0) arm_timer(tcb, TimerMode::reorder, std::min<uint64_t>(rr.reo_timeout_us, tcb.rto_us));
}

// RFC 6675 §5 step 4 with RFC 6937: RecoveryPoint = HighData, ssthresh from the congestion controller, PRR from
// the flight; HighRxt starts at HighACK. A loss in data sent before the last recovery point (RFC 6582's `recover`,
// set by a timeout or an undone recovery) belongs to a window whose reduction was already made (RFC 6675 §5.1):
// the lost segments are resent, paced by PRR, without reducing the window again. Leaving them to the next timeout
// instead cost 200 ms each, in a chain, at 5% loss.
void Engine::sack_enter_recovery(Tcb& tcb) noexcept {
    const uint32_t flight = tcb.flight_size();
    if (tcb.snd_una >= tcb.recovery.recover()) {
        ++ctr_.sack_recoveries;
        tcb.cc.on_congestion_event(flight);
        tcb.undo_retrans = 0;
        tcb.undo_ok = true;
    }
    tcb.recovery.enter(tcb.snd_max);
    tcb.prr.start(flight);
    tcb.sack->board.enter_recovery();
    tcb.cwnd_extra = 0;
    tcb.dup_bytes = 0;
}

// Retransmissions RACK found lost again (below HighRxt, where NextSeg no longer looks), un-SACKed parts only, one
// SMSS at a time, while `budget` lasts. Returns the budget left (negative: the last segment overdrew it).
int64_t Engine::resend_lost_retransmissions(Tcb& tcb, int64_t budget) noexcept {
    SackState& s = *tcb.sack;
    SeqRange lost[8];
    const uint32_t n = s.rack.lost_ranges(lost, 8);
    for (uint32_t i = 0; i < n && budget > 0; ++i) {
        const Seq end = min(lost[i].right, s.board.high_rxt());
        Seq pos = max(lost[i].left, tcb.snd_una);
        while (pos < end && budget > 0) {
            const SeqRange hole = s.board.first_unsacked(pos, end);
            if (!(hole.left < hole.right)) break;
            const uint32_t len = std::min<uint32_t>(hole.size(), tcb.snd_mss);
            const uint32_t sent = retransmit_range(tcb, hole.left, len);
            if (sent == 0) return 0;
            ++ctr_.sack_retransmits;
            budget -= sent;
            pos = hole.left + len;
        }
    }
    return budget;
}

// RFC 6937 §3: sndcnt from PRR with pipe from SetPipe() (RFC 6675 §4), spent on NextSeg()'s choices in order. On
// entering recovery the first retransmission goes whatever sndcnt says (RFC 6675 §5 step 4.3).
void Engine::sack_recovery_send(Tcb& tcb, uint32_t delivered, bool entering) noexcept {
    SackState& s = *tcb.sack;
    const uint32_t mss = tcb.snd_mss;
    const uint32_t pipe = s.board.pipe(tcb.snd_max);
    int64_t budget = tcb.prr.on_ack(delivered, pipe, tcb.ssthresh(), mss);
    if (entering && budget < mss) budget = mss;
    const int64_t start = budget;
    budget = resend_lost_retransmissions(tcb, budget);
    while (budget > 0) {
        const bool fin_due = tcb.fin_queued && !tcb.fin_sent && tcb.in(State::fin_wait_1 | State::last_ack | State::closing);
        const bool new_data_ok = (tcb.snd_nxt < tcb.snd_buf_end() || fin_due) &&
                                 tcb.snd_nxt < tcb.snd_una + tcb.snd_wnd;
        const SackScoreboard::Next nx = s.board.next_seg(tcb.snd_max, new_data_ok, tcb.recovery.recover());
        if (nx.kind == SackScoreboard::Next::Kind::none) break;
        if (nx.kind == SackScoreboard::Next::Kind::new_data) {
            // Rule 2: output() sends up to the budget, rounded up to whole segments as retransmissions are: a
            // budget below one SMSS (PRR-SSRB's ssthresh - pipe) would otherwise be a runt that sender SWS
            // avoidance holds back, and with nothing sent after it, a lost retransmission waits for the RTO.
            const Seq before = tcb.snd_nxt;
            const uint64_t allow = (static_cast<uint64_t>(budget) + mss - 1) / mss * mss;
            tcb.cc.set_cwnd(static_cast<uint32_t>(std::min<uint64_t>(tcb.flight_size() + allow, UINT32_MAX)));
            output(tcb);
            if (tcb.snd_nxt == before) break;
            budget -= tcb.snd_nxt - before;
            continue;
        }
        // Rule 4's rescue holds the highest un-SACKed byte; once that was resent in this recovery, it is in flight.
        if (nx.kind == SackScoreboard::Next::Kind::rescue && nx.seq + nx.len <= s.board.high_rxt()) break;
        const uint32_t sent = retransmit_range(tcb, nx.seq, nx.len);
        if (sent == 0) break;
        ++ctr_.sack_retransmits;
        if (nx.kind == SackScoreboard::Next::Kind::retransmit) s.board.on_retransmit(nx.seq, nx.len);
        budget -= sent;
    }
    tcb.prr.on_sent(static_cast<uint32_t>(std::max<int64_t>(0, start - budget)));
    // Nothing more this ACK: output() (called after input) sends only while the flight is below cwnd.
    tcb.cc.set_cwnd(tcb.flight_size());
}

// RFC 8985 §6.3: the reorder window of some segment closed: the detection pass again, then recovery as on an ACK.
void Engine::on_reorder_timer(Tcb& tcb) noexcept {
    ++ctr_.rack_reorder_timeouts;
    if (tcb.snd_una == tcb.snd_max) return;
    if (tcb.sack == nullptr) {
        arm_rto(tcb);
        return;
    }
    SackState& s = *tcb.sack;
    const Rack::Result rr = s.rack.on_reorder_timeout(now_us(), tcb.rtt.srtt_us(), tcb.recovery.in_recovery(),
                                                      s.board.sacked_bytes() / tcb.snd_mss);
    ctr_.rack_marked_lost += rr.newly_lost;
    const bool lost = rack_mark_lost(tcb);
    const bool was_in_recovery = tcb.recovery.in_recovery();
    if (!was_in_recovery && lost) sack_enter_recovery(tcb);
    if (tcb.recovery.in_recovery()) sack_recovery_send(tcb, 0, !was_in_recovery);
    if (tcb.timer_mode == TimerMode::none) arm_rto(tcb);
    if (rr.reo_timeout_us != 0) arm_timer(tcb, TimerMode::reorder, std::min<uint64_t>(rr.reo_timeout_us, tcb.rto_us));
}

}  // namespace synack::tcp
