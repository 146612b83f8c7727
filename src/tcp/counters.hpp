// Per-engine counters: every dropped segment lands in exactly one drop counter.
#pragma once
#include <cstdint>

#include "wire/segment.hpp"

namespace synack::tcp {

/// Every engine counter, one line each: X(field, kind, "incremented when"). The field is EngineCounters::field, its
/// report and telemetry name tcp.field (src/dpdk/counter_names.hpp), its line in docs/counters.md the meaning.
/// kind: `drop` (a received segment discarded: summed into CoreStats::tcp_rx_dropped), `count` (anything else),
/// `parse` (the array of wire::ParseStatus outcomes, tcp.rx_parse.STATUS, kinds from SYNACK_PARSE_STATUSES),
/// `states` (a gauge per RFC 9293 state, tcp.conn_in_state.STATE, from SYNACK_TCP_STATES).
/// To add a counter: append one X(name, count|drop, "incremented when ...") line (the order is the report order),
///   then run tools/counter-table and paste its table into docs/counters.md (CI checks it).
#define SYNACK_TCP_COUNTERS(X) \
    X(rx_segments, count, "every TCP packet (IPv4 or IPv6) given to the engine, before parsing") \
    X(rx_parse_errors, parse, "one per wire::ParseStatus (SYNACK_PARSE_STATUSES): tcp.rx_parse.STATUS") \
    X(rx_ipv6_off, drop, "TCP over IPv6 to an engine without IPv6 (TcpConfig::max_connections6 = 0)") \
    X(rx_no_connection, drop, "answered with RST (RFC 9293 §3.10.7.1)") \
    X(rx_rst_no_connection, drop, "RST for no connection: dropped silently") \
    X(rx_listen_dropped, drop, "LISTEN: neither SYN nor ACK, or RST") \
    X(syn_backlog_evicted, count, "a SYN found the backlog full: the oldest half-open connection made room") \
    X(rx_no_tcb, drop, "TCB pool or connection table full") \
    X(rx_syn_sent_dropped, count, "SYN-SENT (RFC 9293 §3.10.7.3): an ACK outside ISS..SND.NXT (RST sent), a RST " \
                                  "without ACK, or a segment with neither SYN nor RST") \
    X(rx_unacceptable, drop, "failed the RFC 9293 Table 6 test; ACK sent") \
    X(rx_rst_out_of_window, count, "RST outside the receive window: dropped (RFC 5961 §3.2)") \
    X(rx_rst_challenged, count, "in window but not RCV.NXT: challenge ACK (RFC 5961 §3.2)") \
    X(rx_rst_accepted, count, "RST that resets the connection (SEQ = RCV.NXT, or acceptable in SYN-SENT)") \
    X(rx_rst_time_wait, count, "RFC 1337: ignored") \
    X(rx_syn_challenged, count, "SYN in a synchronized state (RFC 5961 §4.2)") \
    X(rx_no_ack_flag, count, "synchronized state, segment without ACK: dropped (RFC 9293 §3.10.7.4 fifth)") \
    X(rx_ack_too_new, count, "acknowledges data not yet sent") \
    X(rx_ack_too_old, count, "below SND.UNA - MAX.SND.WND (RFC 5961 §5.2)") \
    X(rx_bad_ack_syn_received, count, "SYN-RECEIVED, ACK not acceptable: <SEQ=SEG.ACK><CTL=RST> sent") \
    X(rx_data_segments, count, "segments whose data was taken in order") \
    X(rx_data_bytes, count, "bytes delivered in order to the receive buffer") \
    X(rx_duplicate_data, count, "segment entirely below RCV.NXT (already received): ACKed and dropped") \
    X(rx_out_of_order, count, "segment beyond RCV.NXT held in the reassembly queue") \
    X(rx_ooo_dropped, drop, "reassembly slots or blocks exhausted") \
    X(rx_text_ignored, count, "data in a state that takes none") \
    X(rx_time_wait_reopen, count, "SYN reopened a TIME-WAIT 4-tuple (RFC 9293 MAY-2)") \
    X(tx_segments, count, "segments built for sending (data, control, ACKs, RSTs)") \
    X(tx_data_bytes, count, "payload bytes in those segments (retransmissions included)") \
    X(tx_retransmits, count, "segments with data or FIN below SND.MAX: sent again") \
    X(tx_rst, count, "RSTs sent") \
    X(tx_challenge_acks, count, "challenge ACKs sent (RFC 5961 §3.2, §4.2, §5.2)") \
    X(tx_dropped_no_mbuf, count, "no mbuf for a segment to send: not sent (the timers send it later)") \
    X(tx_dropped_queue_full, count, "engine TX queue full: segment freed") \
    X(zero_window_probes, count, "persist timer probes of a zero window (RFC 9293 MUST-36)") \
    X(delayed_acks, count, "ACKs sent by the delayed-ACK timer (MUST-40)") \
    X(rto_expired, count, "retransmission timeouts (RFC 6298 §5.4-5.6)") \
    X(fast_retransmits, count, "loss recoveries entered on the third duplicate ACK (RFC 5681 §3.2)") \
    X(tlp_probes, count, "tail loss probes sent (RFC 8985 §7.3, SACK connections)") \
    X(tlp_recoveries, count, "probes that repaired a tail loss: cwnd reduced (RFC 8985 §7.4)") \
    X(spurious_retransmits_undone, count, "D-SACK reported every segment of a fast retransmit: cwnd restored") \
    X(spurious_rto_undone, count, "Eifel (RFC 3522): the first ACK after a timeout echoed the original, not the retransmission: cwnd restored") \
    X(partial_acks, count, "ACKs in recovery that left a hole: its segment resent (RFC 6582 §3.2)") \
    X(sack_recoveries, count, "SACK loss recoveries entered: DupThresh SACKed or RACK found loss (RFC 6675 §5)") \
    X(sack_retransmits, count, "segments resent by SACK recovery: holes (NextSeg), lost retransmissions, rescue") \
    X(rack_marked_lost, count, "segments RACK marked lost by time (RFC 8985 §6.2 step 5)") \
    X(rack_reorder_timeouts, count, "RACK reorder timer expiries (RFC 8985 §6.3)") \
    X(sack_pool_empty, count, "SACKed data arrived but no scoreboard was free: recovered with NewReno instead") \
    X(conn_timed_out, count, "connections given up after the retransmission limit (R2, RFC 9293 §3.8.3)") \
    X(conn_opened_active, count, "connect() calls that sent a SYN") \
    X(conn_opened_passive, count, "SYNs to a listener that created a connection (SYN-RECEIVED)") \
    X(conn_closed, count, "connections that ended by the close handshake") \
    X(conn_reset, count, "connections ended by a RST (received, or sent by abort)") \
    X(challenge_acks_throttled, count, "RFC 5961 §7: over the per-connection limit, not sent") \
    X(syn_cookies_sent, count, "SYN answered with a cookie SYN-ACK and no TCB (RFC 4987 §3.6)") \
    X(syn_cookies_validated, count, "ACK at a listener carried a valid cookie: connection created") \
    X(syn_cookies_stale, count, "cookie ACK whose time is past the window: RST") \
    X(syn_cookies_forged, count, "cookie ACK whose hash does not match: RST") \
    X(syn_table_full_evicted, count, "a SYN found the connection table full: the oldest half-open made room") \
    /* memory (all sizes are true sizes: whole mbufs) */ \
    X(rx_mem_dropped, drop, "a segment's data refused: its connection or the engine over budget") \
    X(ooo_pruned, count, "out-of-order ranges dropped to free memory (RFC 2018 §8 reneging)") \
    X(ooo_pruned_bytes, count, "...their payload bytes") \
    X(mbufs_collapsed, count, "mbufs freed by copying small held segments into full ones") \
    X(mem_pressure_entered, count, "times the engine crossed its high watermark") \
    X(snd_refused_mem, count, "SEND calls refused with -EAGAIN: memory budget or pool reserve") \
    X(tx_deferred_reserve, count, "data segments held back: the pool was down to the receive reserve") \
    X(conn_aborted_memory, count, "reset under memory pressure: most memory, least progress") \
    X(conn_persist_timed_out, count, "zero window probed for persist_timeout_ms: reset") \
    X(conn_user_timed_out, count, "data unacknowledged for user_timeout_ms: given up") \
    X(half_open_timed_out, count, "passive SYN-RECEIVED: SYN,ACK retransmissions exhausted, dropped") \
    X(fin_wait_2_timed_out, count, "FIN-WAIT-2 idle for fin_wait_2_timeout_ms: closed") \
    /* options (options.cpp) and keepalive (keepalive.cpp) */ \
    X(rx_paws_dropped, drop, "timestamp older than TS.Recent (RFC 7323 §5.3 PAWS): ACKed and dropped") \
    X(rx_ts_missing, count, "timestamps negotiated, non-RST segment without one: taken (as Linux)") \
    X(ts_rtt_samples, count, "RTT samples taken from TSecr (RFC 7323 §4)") \
    X(tx_sack_blocks, count, "SACK blocks sent on our ACKs (RFC 2018)") \
    X(tx_dsacks, count, "D-SACK blocks sent for duplicate data (RFC 2883)") \
    X(time_wait_ts_refused, count, "SYN in TIME-WAIT with a TSval not above TS.Recent: not reopened (RFC 6191)") \
    X(keepalive_probes, count, "keepalive probes sent (RFC 1122 §4.2.3.6)") \
    X(conn_keepalive_timed_out, count, "keepalive_cnt probes unanswered: given up") \
    /* ICMP errors quoting our segments (pmtu.cpp); each lands in exactly one of these */ \
    X(icmp_no_connection, count, "quotes a 4-tuple with no connection on this core: ignored") \
    X(icmp_seq_outside_window, count, "quoted sequence number not in SND.UNA..SND.MAX (RFC 5927 §4.1): ignored") \
    X(icmp_frag_needed_ignored, count, "fragmentation needed, but for a size we already send below (or floor)") \
    X(pmtu_lowered, count, "fragmentation needed (RFC 1191): SND.MSS lowered, flight resent") \
    X(icmp_soft_errors, count, "other unreachable, time exceeded, parameter problem: recorded only") \
    X(icmp_hard_errors, count, "port or protocol unreachable: recorded only (RFC 5461), no abort") \
    X(pmtu_black_hole_lowered, count, "full-sized data timed out twice: SND.MSS lowered a plateau (RFC 4821)") \
    X(conn_in_state, states, "gauge, not a counter: connections now in each state, kept by Engine::set_state()")

/// The gauges of kind `states`, one per RFC 9293 state in synack::State's order: tcp.conn_in_state.STATE.
/// CLOSED and LISTEN stay 0: a CLOSED TCB is back in the pool, and listeners hold no TCB.
#define SYNACK_TCP_STATES(X) \
    X(closed) X(listen) X(syn_sent) X(syn_received) X(established) X(fin_wait_1) X(fin_wait_2) X(close_wait) \
    X(closing) X(last_ack) X(time_wait)
#define SYNACK_TCP_STATE_ONE(state) +1
inline constexpr unsigned kTcpStateCount = 0 SYNACK_TCP_STATES(SYNACK_TCP_STATE_ONE);
#undef SYNACK_TCP_STATE_ONE

#define SYNACK_TCP_COUNTER_FIELD(field, kind, meaning) SYNACK_TCP_COUNTER_FIELD_##kind(field)
#define SYNACK_TCP_COUNTER_FIELD_count(field) uint64_t field = 0;
#define SYNACK_TCP_COUNTER_FIELD_drop(field) uint64_t field = 0;
#define SYNACK_TCP_COUNTER_FIELD_parse(field) uint64_t field[static_cast<int>(wire::ParseStatus::count_)] = {};
#define SYNACK_TCP_COUNTER_FIELD_states(field) uint64_t field[kTcpStateCount] = {};

/// Plain integers, written only by the owning core; the hot path increments them directly (++ctr_.rx_segments).
struct EngineCounters {
    SYNACK_TCP_COUNTERS(SYNACK_TCP_COUNTER_FIELD)
};

}  // namespace synack::tcp
