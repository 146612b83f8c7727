// The Transmission Control Block: RFC 9293 §3.3.1's variables by their names, plus what the engine adds
// (buffers, timers, RTT estimator). TCBs live in the engine's preallocated pool; nothing here allocates.
#pragma once
#include <cstdint>

#include "tcp/four_tuple.hpp"
#include "tcp/mbuf_queue.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/state.hpp"
#include "timer/wheel.hpp"

namespace synack::tcp {

/// What the connection's single retransmission-class timer is counting down to.
enum class TimerMode : uint8_t { none, retransmit, persist, time_wait, fin_wait_2 };

inline constexpr uint32_t kNoTcb = UINT32_MAX;  ///< "no TCB" in index-linked lists

struct Tcb {
    FourTuple tuple;
    uint32_t hash = 0;      ///< connection-table hash of `tuple`
    uint32_t gen = 0;       ///< bumped whenever the user's handle becomes invalid
    State state = State::closed;
    bool in_use = false;
    bool passive = false;          ///< RFC 9293 MUST-11: SYN-RECEIVED remembers passive vs active open
    bool user_attached = false;    ///< the application holds a handle and gets events
    bool fin_queued = false;       ///< CLOSE called: send FIN once queued data is out
    bool fin_sent = false;         ///< our FIN occupies sequence number `fin_seq`
    bool ack_now = false;          ///< an ACK must go out at the end of this input
    bool readable_signalled = false;
    bool want_writable = false;    ///< a SEND was cut short: signal when space frees
    bool rtt_timing = false;       ///< a segment is being timed (Karn: never a retransmitted one)
    TimerMode timer_mode = TimerMode::none;
    uint16_t listener = 0;         ///< index + 1 of the listener that created us (passive), else 0
    uint8_t retransmits = 0;       ///< consecutive timeouts of the current segment / unanswered probes
    uint8_t persist_backoff = 0;   ///< zero-window probes sent since the window closed (RFC 9293 SHLD-30)
    bool syn_timed_out = false;    ///< RFC 6298 §5.7: a SYN was retransmitted and no RTT sample taken since
    bool probe_sent = false;       ///< a zero-window probe octet at SND.MAX is out
    bool ack_listed = false;       ///< on the engine's list of ACKs to send at drain time
    uint8_t err = 0;               ///< last soft error (an ICMP error, RFC 1122 §4.2.3.9) as an errno; 0 none

    // RFC 9293 §3.3.1 send sequence variables
    uint32_t snd_una = 0;
    uint32_t snd_nxt = 0;
    uint32_t snd_wnd = 0;
    uint32_t snd_up = 0;
    uint32_t snd_wl1 = 0;
    uint32_t snd_wl2 = 0;
    uint32_t iss = 0;
    uint32_t snd_max = 0;      ///< highest sequence number sent + 1 (snd_nxt goes back after a timeout)
    uint32_t max_snd_wnd = 0;  ///< largest window the peer offered (RFC 5961 §5.2)
    uint32_t fin_seq = 0;
    // RFC 9293 §3.3.1 receive sequence variables
    uint32_t rcv_nxt = 0;
    uint32_t rcv_wnd = 0;
    uint32_t rcv_up = 0;
    uint32_t irs = 0;
    uint32_t rcv_adv = 0;      ///< right edge we advertised (RFC 9293 §3.8.6.2.2: never moved left)

    uint16_t snd_mss = 536;    ///< RFC 9293 MUST-15: 536 until the peer's MSS option says otherwise
    uint16_t rcv_mss = 536;    ///< the peer's full-sized segment: the largest seen (up to our MSS), from SND.MSS
    uint32_t rcv_unacked = 0;  ///< bytes received since our last ACK (SHLD-19)
    // RFC 5681 congestion window (slow start and congestion avoidance only; loss recovery comes with its issue)
    uint32_t cwnd = 0;
    uint32_t ssthresh = UINT32_MAX;

    // RFC 6298 estimator, microseconds
    uint32_t srtt_us = 0;
    uint32_t rttvar_us = 0;
    uint32_t rto_us = 0;
    uint32_t rtt_seq = 0;
    uint64_t rtt_start = 0;    ///< cycles

    SendQueue snd_buf;         ///< bytes from snd_buf_seq on: unacknowledged, then unsent
    uint32_t snd_buf_seq = 0;  ///< sequence number of snd_buf's first byte
    MbufQueue rcv_buf;         ///< in-order bytes the user has not read yet
    ReassemblyBlock* ooo = nullptr;
    uint32_t mem_rcv = 0;      ///< true size charged for rcv_buf and ooo (see Engine::recharge)
    uint32_t mem_snd = 0;      ///< true size charged for snd_buf
    // Engine::stamp() values (~1 ms units, 32 bits), beside the buffers they describe: no cache line more per segment
    uint32_t progress_at = 0;      ///< data last moved (acknowledged, or delivered in order): pressure aborts
    uint32_t snd_progress_at = 0;  ///< since when the oldest unacknowledged data has waited (user timeout)

    timer::TimerNode rto_timer;     ///< retransmission, persist, TIME-WAIT or FIN-WAIT-2 (see timer_mode)
    timer::TimerNode delack_timer;  ///< delayed ACK (RFC 9293 §3.8.6.3)

    uint64_t challenge_window = 0;  ///< cycles: start of the current one-second challenge-ACK window
    uint32_t challenge_count = 0;   ///< challenge ACKs sent in that window
    uint64_t user = 0;              ///< the application's cookie, returned in events
    uint32_t next_free = 0;         ///< pool free list
    uint32_t half_prev = kNoTcb;    ///< passive SYN-RECEIVED: the listener's half-open list, oldest first
    uint32_t half_next = kNoTcb;
    uint64_t syn_at = 0;            ///< cycles: when a passive open's SYN arrived (a full table evicts the oldest)
    uint64_t persist_since = 0;    ///< cycles: when the peer's window closed on queued data (persist timeout)

    bool in(StateSet set) const noexcept { return in_state(state, set); }
    uint32_t flight_size() const noexcept { return snd_nxt - snd_una; }
    /// Sequence number one past the last byte queued for sending.
    uint32_t snd_buf_end() const noexcept { return snd_buf_seq + snd_buf.bytes; }
};

}  // namespace synack::tcp
