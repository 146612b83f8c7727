// The Transmission Control Block: RFC 9293 §3.3.1's variables by their names, plus what the engine adds
// (buffers, timers, RTT estimator). TCBs live in the engine's preallocated pool; nothing here allocates.
#pragma once
#include <cstdint>

#include "tcp/cc/cc.hpp"
#include "tcp/four_tuple.hpp"
#include "tcp/rack.hpp"
#include "tcp/mbuf_queue.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/recovery.hpp"
#include "tcp/rtt.hpp"
#include "tcp/sack.hpp"
#include "tcp/seq_number.hpp"
#include "tcp/state.hpp"
#include "tcp/timestamps.hpp"
#include "timer/wheel.hpp"

namespace synack::tcp {

/// What the connection's single retransmission-class timer is counting down to.
enum class TimerMode : uint8_t { none, retransmit, persist, time_wait, fin_wait_2, loss_probe, reorder };

struct SackState;  // tcp/sack_state.hpp: lent from the engine's pool while SACKed data is outstanding

inline constexpr uint32_t kNoTcb = UINT32_MAX;  ///< "no TCB" in index-linked lists

struct Tcb {
    FourTuple tuple;               ///< IPv4: the key; IPv6: the ports, and the addresses folded (fold())
    uint32_t hash = 0;      ///< connection-table hash of `tuple`
    uint32_t gen = 0;       ///< bumped whenever the user's handle becomes invalid
    State state = State::closed;
    bool in_use = false;
    bool passive = false;          ///< RFC 9293 MUST-11: SYN-RECEIVED remembers passive vs active open
    bool user_attached = false;    ///< the application holds a handle and gets events
    bool fin_queued = false;       ///< CLOSE called: send FIN once queued data is out
    bool fin_sent = false;         ///< our FIN occupies sequence number `fin_seq`
    bool ack_now = false;          ///< an ACK must go out at the end of this input
    bool delay_fin_ack = false;    ///< its FIN ending ESTABLISHED is ACKed by the delayed-ACK timer
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
    Seq snd_una;
    Seq snd_nxt;
    uint32_t snd_wnd = 0;
    Seq snd_up;
    Seq snd_wl1;
    Seq snd_wl2;
    Seq iss;
    Seq snd_max;              ///< highest sequence number sent + 1 (snd_nxt goes back after a timeout)
    uint32_t max_snd_wnd = 0;  ///< largest window the peer offered (RFC 5961 §5.2)
    Seq fin_seq;
    // RFC 9293 §3.3.1 receive sequence variables
    Seq rcv_nxt;
    uint32_t rcv_wnd = 0;
    Seq rcv_up;
    Seq irs;
    Seq rcv_adv;              ///< right edge we advertised (RFC 9293 §3.8.6.2.2: never moved left)

    uint16_t snd_mss = 536;    ///< RFC 9293 MUST-15: 536 until the peer's MSS option says otherwise
    uint16_t rcv_mss = 536;    ///< the peer's full-sized segment: the largest seen (up to our MSS), from SND.MSS
    uint32_t rcv_unacked = 0;  ///< bytes received since our last ACK (SHLD-19)
    bool sack_ok = false;      ///< SACK-permitted on both SYNs (RFC 2018 §2): set by the handshake's options
    /// An IPv6 connection: its addresses are the engine's addr6 of this TCB (tuple holds their fold(), see
    /// four_tuple.hpp), it is keyed in the IPv6 table and its segments get IPv6 headers. It sits in padding beside
    /// snd_mss, on a line output reads anyway: an IPv4 TCB is no byte bigger.
    bool v6 = false;
    uint64_t last_send = 0;    ///< cycles: when data last went out (RFC 5681 §4.1 restart after idle)
    cc::CongestionControl cc;  ///< cwnd and ssthresh, through the algorithm chosen by TcpConfig::cc
    FastRecovery recovery;     ///< duplicate ACKs, limited transmit, NewReno `recover` (RFC 5681/3042/6582)
    Prr prr;                   ///< RFC 6937: the sending pace while recovery runs
    Tlp tlp;                   ///< RFC 8985 §7 tail loss probe (SACK connections)
    SackState* sack = nullptr; ///< RFC 6675 scoreboard + RFC 8985 RACK, while SACKed data is outstanding (else null)
    RackPath rack_path;        ///< RFC 8985 min_RTT and reordering state for the connection's life (live in *sack
                               ///< while one is lent: sack_attach / sack_release hand it over)
    uint16_t undo_retrans = 0; ///< segments resent since the last fast retransmit not yet reported by D-SACK
    bool undo_ok = false;      ///< that episode may still prove spurious (no timeout since)
    uint32_t dup_bytes = 0;    ///< without SACK: a segment per duplicate ACK since SND.UNA last moved (RFC 6937
                               ///< counts each as delivered; pipe = FlightSize - dup_bytes)
    uint32_t cwnd_extra = 0;   ///< RFC 3042 limited transmit: flight may exceed cwnd by this much (2 SMSS at most)
    uint16_t last_wnd_raw = 0; ///< SEG.WND of the last acceptable ACK, unscaled: a duplicate ACK leaves it alone

    RttEstimator rtt{RttConfig{}};  ///< RFC 6298 SRTT/RTTVAR (µs); configured by alloc_tcb
    uint32_t rto_us = 0;       ///< the retransmission timer now: rtt.rto_us() after each sample or timeout
    Seq rtt_seq;
    uint64_t rtt_start = 0;    ///< cycles

    SendQueue snd_buf;         ///< bytes from snd_buf_seq on: unacknowledged, then unsent
    Seq snd_buf_seq;          ///< sequence number of snd_buf's first byte
    MbufQueue rcv_buf;         ///< in-order bytes the user has not read yet
    ReassemblyBlock* ooo = nullptr;
    uint32_t mem_rcv = 0;      ///< true size charged for rcv_buf and ooo (see Engine::recharge)
    uint32_t mem_snd = 0;      ///< true size charged for snd_buf
    // Engine::stamp() values (~1 ms units, 32 bits), beside the buffers they describe: no cache line more per segment
    uint32_t progress_at = 0;      ///< data last moved (acknowledged, or delivered in order): pressure aborts
    uint32_t snd_progress_at = 0;  ///< since when the oldest unacknowledged data or FIN has waited (user timeout)

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

    // Options negotiated on the handshake (options.cpp): each is on only when both SYNs carried it.
    bool ws_ok = false;             ///< RFC 7323 §2: window scaling in both directions
    bool ts_ok = false;             ///< RFC 7323 §3: timestamps on every non-RST segment
    uint8_t snd_wscale = 0;         ///< Snd.Wind.Shift: the peer's shift, applied to the windows it sends
    uint8_t rcv_wscale = 0;         ///< Rcv.Wind.Shift: ours, applied to the windows we send
    Seq last_ack_sent;             ///< RFC 7323 §4.3 Last.ACK.sent
    TsRecent ts_recent;             ///< RFC 7323 §4.3 TS.Recent
    uint32_t ts_last_rtx = 0;       ///< our TSval on the latest retransmission (0: none yet)
    uint32_t eifel_rtx_ts = 0;      ///< RFC 3522 RetransmitTS: TSval of a timeout's first retransmission
    bool eifel_armed = false;       ///< the first ACK after that timeout has not come yet (loss.cpp eifel_check)
    SackReporter sack_rep;          ///< the blocks our next ACK carries (RFC 2018 §4, RFC 2883)

    // Keepalive (RFC 1122 §4.2.3.6, keepalive.cpp)
    timer::TimerNode ka_timer;
    uint32_t last_rx = 0;           ///< Engine::stamp() of the last acceptable segment from the peer
    uint32_t ka_idle_ms = 0;        ///< 0: keepalive off for this connection
    uint32_t ka_intvl_ms = 0;
    uint8_t ka_cnt = 0;
    uint8_t ka_probes = 0;          ///< probes sent since the peer was last heard from

    bool in(StateSet set) const noexcept { return in_state(state, set); }
    uint32_t flight_size() const noexcept { return snd_nxt - snd_una; }
    uint32_t cwnd() const noexcept { return cc.cwnd(); }
    uint32_t ssthresh() const noexcept { return cc.ssthresh(); }
    /// Sequence number one past the last byte queued for sending.
    Seq snd_buf_end() const noexcept { return snd_buf_seq + snd_buf.bytes; }
};

}  // namespace synack::tcp
