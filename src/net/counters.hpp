/// @file
/// What happened to every frame of one Interface. Plain integers: the owning core is the only writer.
///
/// Every received frame lands in exactly one of the rx_* buckets of its layer:
///   rx_frames = rx_truncated + rx_headers_split + rx_not_for_us + rx_bad_src_mac + rx_unknown_ethertype
///               + rx_arp + rx_ipv4
///   rx_ipv4   = rx_ip_bad_version + rx_ip_bad_header_len + rx_ip_bad_total_len + rx_ip_bad_checksum
///               + rx_ip_not_for_us + rx_ip_bad_src + rx_ip_fragment + rx_ip_options + rx_ip_unknown_proto
///               + rx_icmp + rx_tcp
///   rx_icmp   = rx_icmp_bad + rx_icmp_unhandled + rx_icmp_unusable + icmp_echo_replies
///
/// With an exception path (--exception-tap) the frames of rx_unknown_ethertype, rx_not_for_us (multicast only),
/// rx_ip_not_for_us, rx_ip_fragment, rx_ip_options, rx_ip_unknown_proto and rx_icmp_unhandled go to the kernel
/// instead of being dropped, and are counted once more there (exception.to_kernel.*).
#pragma once
#include <cstdint>

namespace synack::net {

/// Every interface counter, one line each: X(field, kind, "incremented when"). The field is NetCounters::field, its
/// report and telemetry name net.field (src/dpdk/counter_names.hpp), its line in docs/counters.md the meaning.
/// kind: `drop` (a received frame discarded, or given to the kernel by the exception path: summed into
/// CoreStats::net_rx_dropped), `count` (anything else, transmit drops included).
/// To add a counter: append one X(name, count|drop, "incremented when ...") line in its layer's group,
///   then run tools/counter-table and paste its table into docs/counters.md (CI checks it).
#define SYNACK_NET_COUNTERS(X) \
    /* Ethernet (input) */ \
    X(rx_frames, count, "frames given to input()") \
    X(rx_truncated, drop, "shorter than the headers it announces") \
    X(rx_headers_split, drop, "headers not all in the first segment (we never gather them)") \
    X(rx_not_for_us, drop, "destination MAC neither ours nor broadcast") \
    X(rx_bad_src_mac, drop, "group (multicast/broadcast) source MAC: invalid on Ethernet") \
    X(rx_unknown_ethertype, drop, "neither ARP nor IPv4 (VLAN tags, IPv6, ...)") \
    /* ARP (RFC 826) */ \
    X(rx_arp, count, "ARP frames received (then one of the arp outcomes below)") \
    X(rx_arp_bad, drop, "not Ethernet/IPv4, unknown opcode, group sender MAC, bad sender IP") \
    X(rx_arp_not_for_us, count, "target IP is not ours (only merged into an existing entry)") \
    X(rx_arp_conflict, drop, "someone else claims our IP (RFC 5227 §2.4); ignored") \
    X(arp_requests_sent, count, "ARP requests sent to resolve a next hop") \
    X(arp_replies_sent, count, "ARP replies sent for our address") \
    X(arp_announcements_sent, count, "gratuitous ARP (RFC 5227 §3)") \
    X(arp_learned, count, "new entry from an ARP addressed to us (RFC 826 merge, not found)") \
    X(arp_updated, count, "existing entry refreshed by an ARP packet") \
    X(arp_resolved, count, "incomplete entry answered; its held packets sent") \
    X(arp_failed, count, "incomplete entry gave up after arp_max_retries") \
    X(arp_expired, count, "reachable entry aged out (arp_ttl_ms)") \
    X(arp_evicted, count, "reachable entry displaced because the cache was full") \
    X(arp_cache_full, count, "no entry free or evictable: the packet or learning was dropped") \
    X(arp_pending_overflow, count, "oldest held packet dropped to keep the newest (bound arp_pending_max)") \
    X(arp_pending_dropped, count, "held packets dropped because resolution failed") \
    /* IPv4 (RFC 791, RFC 1122 §3.2.1) */ \
    X(rx_ipv4, count, "IPv4 frames received (then one of the outcomes below)") \
    X(rx_ip_bad_version, drop, "IP version is not 4") \
    X(rx_ip_bad_header_len, drop, "IHL < 5 or header beyond the frame") \
    X(rx_ip_bad_total_len, drop, "total length < header or > frame") \
    X(rx_ip_bad_checksum, drop, "IPv4 header checksum wrong") \
    X(rx_ip_not_for_us, drop, "destination is not our address") \
    X(rx_ip_bad_src, drop, "source 0, broadcast, multicast, class E or loopback") \
    X(rx_ip_fragment, drop, "MF set or offset != 0: no reassembly") \
    X(rx_ip_options, drop, "IHL > 5: options not supported") \
    X(rx_ip_unknown_proto, drop, "neither ICMP nor TCP") \
    /* ICMP (RFC 792) */ \
    X(rx_icmp, count, "ICMP packets received (then one of the ICMP outcomes)") \
    X(rx_icmp_bad, drop, "shorter than 8 bytes or bad checksum") \
    X(rx_icmp_unhandled, drop, "any type but echo request") \
    X(rx_icmp_unusable, drop, "echo request we cannot answer: shared mbuf, header not in segment 1, beyond our MTU") \
    X(icmp_echo_replies, count, "echo replies handed to the TX ring") \
    /* TCP handoff */ \
    X(rx_tcp, count, "returned by input() to the TCP engine") \
    /* Transmit */ \
    X(tx_frames, count, "frames put on the TX ring") \
    X(tx_no_route, count, "off-subnet without gateway, or a destination we never send to") \
    X(tx_malformed, count, "output() given no valid IPv4 header") \
    X(tx_no_headroom, count, "less than 14 bytes before the IPv4 header") \
    X(tx_too_big, count, "longer than the MTU without TSO") \
    X(tx_queue_full, count, "TX ring full") \
    X(tx_alloc_failed, count, "no mbuf for an ARP frame")

#define SYNACK_NET_COUNTER_FIELD(field, kind, meaning) uint64_t field = 0;

struct NetCounters {
    SYNACK_NET_COUNTERS(SYNACK_NET_COUNTER_FIELD)
};

}  // namespace synack::net
