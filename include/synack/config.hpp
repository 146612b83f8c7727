/// @file
/// Tunables of one TCP engine. Defaults follow RFC 9293 / RFC 6298 where they are normative and the Linux stack
/// where they are a choice (RTO floor 200 ms, delayed ACK 40 ms); MSL is shorter than the RFC's 2 minutes.
#pragma once
#include <cstdint>

namespace synack {

/// Congestion control of a connection (src/tcp/cc/): CUBIC (RFC 9438, HyStart++ slow start) or NewReno (RFC 5681).
enum class CongestionAlgorithm : uint8_t { newreno, cubic };

struct TcpConfig {
    uint32_t max_connections = 1u << 16;   ///< TCBs preallocated per engine (listeners not included)
    /// IPv6 connections per engine, out of max_connections (their own table and an address pair per TCB);
    /// 0: TCP over IPv6 off, no memory spent on it (the Stack sets max_connections when --ip6 is given).
    uint32_t max_connections6 = 0;
    uint32_t max_listeners = 64;           ///< passive opens per engine
    uint32_t syn_backlog = 1024;           ///< default bound on half-open (SYN-RECEIVED) connections per listener;
                                           ///< when full, a new SYN evicts the oldest (at least 1)
    /// SYN cookies (RFC 4987 §3.6), as Linux's tcp_syncookies: 0 never; 1 when a listener's backlog or the
    /// connection table is full (the SYN gets a cookie SYN-ACK and no TCB); 2 for every SYN.
    uint8_t syn_cookies = 1;
    /// Receive buffer per connection, bytes. Above 65535 the window is scaled (RFC 7323 §2): our shift is the
    /// smallest that lets the window cover it.
    uint32_t rcv_buf = 65535;
    uint32_t snd_buf = 256 * 1024;         ///< send buffer per connection, bytes
    uint16_t mss = 1460;                   ///< our MSS (MTU - 40), sent in SYN / SYN+ACK; over IPv6 20 less
                                           ///< (MTU - 60, RFC 8200 §8.3)
    uint32_t rto_initial_ms = 1000;        ///< RFC 6298 §2.1
    uint32_t rto_min_ms = 200;             ///< RFC 6298 §2.4 says 1 s; Linux uses 200 ms
    uint32_t rto_max_ms = 60000;           ///< RFC 6298 §2.5
    CongestionAlgorithm cc = CongestionAlgorithm::cubic;  ///< per connection, fixed at its creation
    uint32_t max_retransmits = 15;         ///< R2 for data (RFC 9293 §3.8.3), counted in retransmissions
    uint32_t syn_retransmits = 7;          ///< R2 for SYN / SYN+ACK: 7 with a 60 s ceiling gives up after 183 s (MUST-23)
    uint32_t delayed_ack_ms = 40;          ///< RFC 9293 MUST-40: below 500 ms
    uint32_t msl_ms = 30000;               ///< TIME-WAIT lasts 2 * msl_ms (RFC 9293 §3.4.2, MUST-13)
    uint32_t fin_wait_2_timeout_ms = 60000; ///< FIN-WAIT-2 idle limit (not in the RFC; Linux's tcp_fin_timeout)
    /// Black-hole detection (RFC 4821 §7.3): full-sized data timing out twice in a row lowers SND.MSS to the next
    /// RFC 1191 plateau, for paths that drop ICMP "fragmentation needed" (as Linux's tcp_mtu_probing=1). Off by
    /// default, as in Linux (tcp_mtu_probing=0): on a lossy path random timeouts look the same and would shrink the
    /// MSS for good. `--mtu-probing` turns it on.
    bool mtu_probing = false;
    /// Local ports of active opens, inclusive (Linux's default range). --share-kernel moves it clear of the
    /// kernel's (net.ipv4.ip_local_port_range), since both use one address.
    uint16_t ephemeral_low = 32768;
    uint16_t ephemeral_high = 60999;
    uint32_t challenge_acks_per_s = 10;    ///< RFC 5961 §7 throttle, per connection (never one global limit)
    uint32_t reassembly_segments = 16;     ///< out-of-order segments held per connection (bounded, in TCB)
    bool tx_checksum_offload = false;      ///< let the NIC fill IPv4 and TCP checksums (RX: the mbuf flags say)
    /// TCP segmentation offload: the largest payload handed to the port in one segment, cut by the NIC (or not
    /// at all on an in-process link) into SND.MSS pieces; 0 or anything below SND.MSS sends one MSS at a time.
    /// Needs tx_checksum_offload.
    uint32_t tso_max = 0;
    uint16_t tso_max_segs = 0;             ///< mbufs per TSO packet the port accepts (0: no limit)
    /// The port takes a packet spread over several mbufs (RTE_ETH_TX_OFFLOAD_MULTI_SEGS): a data segment is a
    /// header mbuf followed by references to the send buffer. Without it the payload is copied in behind the
    /// headers (one mbuf per packet, so SND.MSS must fit one data room and there is no TSO).
    bool tx_multi_seg = true;

    // ---- memory: every mbuf a connection holds is charged at its true size (buffer + header, whatever it carries)
    /// True-size bytes one engine may hold in receive, reassembly and send queues. 0: derived from the pool,
    /// (pool size - 2 * rx_reserve_mbufs) mbufs (the Stack divides it among the cores sharing a pool).
    uint64_t mem_limit = 0;
    /// Memory pressure above this percentage of mem_limit: held segments are collapsed, out-of-order queues pruned
    /// (down to 10 points below), advertised windows stop growing, sends past a small allowance get -EAGAIN, and
    /// the connections holding the most memory with the least progress are aborted.
    uint32_t mem_pressure_pct = 75;
    /// True-size bytes one connection may hold in each direction (received + reassembly; send). 0: derived:
    /// twice rcv_buf (as Linux sizes sk_rcvbuf from the window), and snd_buf in 536-byte pieces.
    uint32_t conn_rcv_mem = 0;
    uint32_t conn_snd_mem = 0;
    /// mbufs of the pool that only the receive path may use: the engine's own allocations (copies of sent data,
    /// data segments) stop while fewer are free, so the port can always receive (ARP, the ACKs and RSTs that free
    /// memory). 0: derived, an eighth of the pool (at least 256).
    uint32_t rx_reserve_mbufs = 0;

    // ---- no connection lives forever on a peer's whim
    /// A zero window may be probed this long before the connection is reset (0: forever, as Linux and RFC 9293
    /// MUST-37; a bound is the resource protection RFC 6429 allows).
    uint32_t persist_timeout_ms = 300000;
    /// Sent data may stay unacknowledged this long before the connection is given up (RFC 5482's user timeout;
    /// 0: only max_retransmits bounds it). Default about Linux's tcp_retries2 = 15 (924.6 s).
    uint32_t user_timeout_ms = 900000;

    // ---- options offered on our SYNs and honoured on the peer's (RFC 7323, RFC 2018); a peer that offers none of
    // them gets a connection without them
    bool window_scaling = true;            ///< RFC 7323 §2
    bool timestamps = true;                ///< RFC 7323 §3-5: RTT from TSecr, PAWS, TIME-WAIT reuse (RFC 6191)
    bool sack = true;                      ///< RFC 2018 SACK-permitted, SACK blocks and D-SACK (RFC 2883) on ACKs

    // ---- keepalive (RFC 1122 §4.2.3.6): off by default (MUST-25); per connection through Engine::set_keepalive
    bool keepalive = false;
    uint32_t keepalive_idle_s = 7200;      ///< idle before the first probe: at least 2 hours by default (MUST-28)
    uint32_t keepalive_intvl_s = 75;       ///< between unanswered probes
    uint32_t keepalive_cnt = 9;            ///< unanswered probes before giving up (> 1: MUST-29)
};

}  // namespace synack
