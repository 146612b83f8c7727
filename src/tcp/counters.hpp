// Per-engine counters: every dropped segment lands in exactly one drop counter.
#pragma once
#include <cstdint>

#include "wire/segment.hpp"

namespace synack::tcp {

struct EngineCounters {
    uint64_t rx_segments = 0;
    uint64_t rx_parse_errors[static_cast<int>(wire::ParseStatus::count_)] = {};
    uint64_t rx_no_connection = 0;       ///< answered with RST (RFC 9293 §3.10.7.1)
    uint64_t rx_rst_no_connection = 0;   ///< RST for no connection: dropped silently
    uint64_t rx_listen_dropped = 0;      ///< LISTEN: neither SYN nor ACK, or RST
    uint64_t syn_backlog_evicted = 0;    ///< a SYN found the backlog full: the oldest half-open connection made room
    uint64_t rx_no_tcb = 0;              ///< TCB pool or connection table full
    uint64_t rx_syn_sent_dropped = 0;
    uint64_t rx_unacceptable = 0;        ///< failed the RFC 9293 Table 6 test; ACK sent
    uint64_t rx_rst_out_of_window = 0;
    uint64_t rx_rst_challenged = 0;      ///< in window but not RCV.NXT: challenge ACK (RFC 5961 §3.2)
    uint64_t rx_rst_accepted = 0;
    uint64_t rx_rst_time_wait = 0;       ///< RFC 1337: ignored
    uint64_t rx_syn_challenged = 0;      ///< SYN in a synchronized state (RFC 5961 §4.2)
    uint64_t rx_no_ack_flag = 0;
    uint64_t rx_ack_too_new = 0;         ///< acknowledges data not yet sent
    uint64_t rx_ack_too_old = 0;         ///< below SND.UNA - MAX.SND.WND (RFC 5961 §5.2)
    uint64_t rx_bad_ack_syn_received = 0;
    uint64_t rx_data_segments = 0;
    uint64_t rx_data_bytes = 0;
    uint64_t rx_duplicate_data = 0;
    uint64_t rx_out_of_order = 0;
    uint64_t rx_ooo_dropped = 0;         ///< reassembly slots or blocks exhausted
    uint64_t rx_text_ignored = 0;        ///< data in a state that takes none
    uint64_t rx_time_wait_reopen = 0;    ///< SYN reopened a TIME-WAIT 4-tuple (RFC 9293 MAY-2)
    uint64_t tx_segments = 0;
    uint64_t tx_data_bytes = 0;
    uint64_t tx_retransmits = 0;
    uint64_t tx_rst = 0;
    uint64_t tx_challenge_acks = 0;
    uint64_t tx_dropped_no_mbuf = 0;
    uint64_t tx_dropped_queue_full = 0;
    uint64_t zero_window_probes = 0;
    uint64_t delayed_acks = 0;
    uint64_t rto_expired = 0;
    uint64_t conn_timed_out = 0;
    uint64_t conn_opened_active = 0;
    uint64_t conn_opened_passive = 0;
    uint64_t conn_closed = 0;
    uint64_t conn_reset = 0;
    uint64_t challenge_acks_throttled = 0;  ///< RFC 5961 §7: over the per-connection limit, not sent
    uint64_t syn_cookies_sent = 0;       ///< SYN answered with a cookie SYN-ACK and no TCB (RFC 4987 §3.6)
    uint64_t syn_cookies_validated = 0;  ///< ACK at a listener carried a valid cookie: connection created
    uint64_t syn_cookies_stale = 0;      ///< cookie ACK whose time is past the window: RST
    uint64_t syn_cookies_forged = 0;     ///< cookie ACK whose hash does not match: RST
    uint64_t syn_table_full_evicted = 0; ///< a SYN found the connection table full: the oldest half-open made room
    // memory (all sizes are true sizes: whole mbufs)
    uint64_t rx_mem_dropped = 0;         ///< a segment's data refused: its connection or the engine over budget
    uint64_t ooo_pruned = 0;             ///< out-of-order ranges dropped to free memory (RFC 2018 §8 reneging)
    uint64_t ooo_pruned_bytes = 0;       ///< ...their payload bytes
    uint64_t mbufs_collapsed = 0;        ///< mbufs freed by copying small held segments into full ones
    uint64_t mem_pressure_entered = 0;   ///< times the engine crossed its high watermark
    uint64_t snd_refused_mem = 0;        ///< SEND calls refused with -EAGAIN: memory budget or pool reserve
    uint64_t tx_deferred_reserve = 0;    ///< data segments held back: the pool was down to the receive reserve
    uint64_t conn_aborted_memory = 0;    ///< reset under memory pressure: most memory, least progress
    uint64_t conn_persist_timed_out = 0; ///< zero window probed for persist_timeout_ms: reset
    uint64_t conn_user_timed_out = 0;    ///< data unacknowledged for user_timeout_ms: given up
    uint64_t half_open_timed_out = 0;    ///< passive SYN-RECEIVED: SYN,ACK retransmissions exhausted, dropped
    uint64_t fin_wait_2_timed_out = 0;   ///< FIN-WAIT-2 idle for fin_wait_2_timeout_ms: closed
    // ICMP errors quoting our segments (pmtu.cpp); each lands in exactly one of these
    uint64_t icmp_no_connection = 0;     ///< quotes a 4-tuple with no connection on this core: ignored
    uint64_t icmp_seq_outside_window = 0; ///< quoted sequence number not in SND.UNA..SND.MAX (RFC 5927 §4.1): ignored
    uint64_t icmp_frag_needed_ignored = 0; ///< fragmentation needed, but for a size we already send below (or floor)
    uint64_t pmtu_lowered = 0;           ///< fragmentation needed (RFC 1191): SND.MSS lowered, flight resent
    uint64_t icmp_soft_errors = 0;       ///< other unreachable, time exceeded, parameter problem: recorded only
    uint64_t icmp_hard_errors = 0;       ///< port or protocol unreachable: recorded only (RFC 5461), no abort
    // not an ICMP outcome
    uint64_t pmtu_black_hole_lowered = 0; ///< full-sized data timed out twice: SND.MSS lowered a plateau (RFC 4821)
};

}  // namespace synack::tcp
