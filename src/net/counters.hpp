/// @file
/// What happened to every frame of one Interface. Plain integers: the owning core is the only writer.
///
/// Every received frame lands in exactly one of the rx_* buckets of its layer:
///   rx_frames = rx_truncated + rx_headers_split + rx_not_for_us + rx_bad_src_mac + rx_unknown_ethertype
///               + rx_arp + rx_ipv4 + rx_ipv6
///   rx_ipv4   = rx_ip_bad_version + rx_ip_bad_header_len + rx_ip_bad_total_len + rx_ip_bad_checksum
///               + rx_ip_not_for_us + rx_ip_bad_src + rx_ip_fragment + rx_ip_options + rx_ip_unknown_proto
///               + rx_icmp + rx_tcp
///   rx_icmp   = rx_icmp_bad + rx_icmp_unhandled + rx_icmp_unusable + icmp_echo_replies + rx_icmp_error_tcp
///               + rx_icmp_error_no_conn
///
/// With an exception path (--exception-tap) the frames of rx_unknown_ethertype, rx_not_for_us (multicast only),
/// rx_ip_not_for_us, rx_ip_fragment, rx_ip_options, rx_ip_unknown_proto and rx_icmp_unhandled go to the kernel
/// instead of being dropped, and are counted once more there (exception.to_kernel.*).
///   rx_ipv6   = rx_ip6_* (each refusal: headers_split .. fragment, not_for_us, bad_src, unknown_proto)
///               + rx_icmp6 + rx_tcp6 + rx_ip6_no_ipv6
///   rx_icmp6  = rx_icmp6_bad + rx_icmp6_unhandled + rx_icmp6_unusable + icmp6_echo_replies + rx_icmp6_errors
///               + rx_icmp6_packet_too_big + rx_nd_bad + rx_ns + rx_na + rx_ra
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
    X(rx_unknown_ethertype, drop, "neither ARP, IPv4 nor IPv6 (VLAN tags, ...), or ARP/IPv4 with no --ip") \
    /* ARP (RFC 826) */ \
    X(rx_arp, count, "ARP frames received (then one of the arp outcomes below)") \
    X(rx_arp_bad, drop, "not Ethernet/IPv4, unknown opcode, group sender MAC, bad sender IP") \
    X(rx_arp_not_for_us, count, "target IP is not ours (only merged into an existing entry)") \
    X(rx_arp_conflict, drop, "someone else claims our IP (RFC 5227 §2.4); ignored") \
    X(arp_requests_sent, count, "ARP requests sent to resolve a next hop") \
    X(arp_kernel_asked, count, "--share-kernel: next hop asked of the kernel's table (on a miss and each retry)") \
    X(arp_kernel_ask_deferred, count, "--share-kernel: question queue full; asked again on the next retry") \
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
    X(rx_icmp_unhandled, drop, "neither echo request nor an error quoting TCP from us (unusable quote)") \
    X(rx_icmp_unusable, drop, "echo request we cannot answer: shared mbuf, header not in segment 1, beyond our MTU") \
    X(icmp_echo_replies, count, "echo replies handed to the TX ring") \
    X(rx_icmp_error_tcp, count, "error quoting our TCP, taken by a connection (RFC 1122 §4.2.3.9)") \
    X(rx_icmp_error_no_conn, count, "error quoting our TCP that no connection of this core took") \
    /* TCP handoff */ \
    X(rx_tcp, count, "returned by input() to the TCP engine") \
    /* IPv6 (RFC 8200) */ \
    X(rx_ipv6, count, "IPv6 frames received (then one of the outcomes below)") \
    X(rx_ip6_no_ipv6, drop, "IPv6 is off (no ip6 configured)") \
    X(rx_ip6_headers_split, drop, "an extension header beyond the first segment") \
    X(rx_ip6_bad_version, drop, "IP version is not 6") \
    X(rx_ip6_bad_payload_len, drop, "payload length 0 or beyond the frame") \
    X(rx_ip6_ext_past_payload, drop, "an extension header running past the payload") \
    X(rx_ip6_ext_chain_too_long, drop, "more than wire::kMaxIpv6ExtHeaders extension headers") \
    X(rx_ip6_hop_by_hop_not_first, drop, "RFC 8200 §4.3") \
    X(rx_ip6_bad_option, drop, "an option running past its header") \
    X(rx_ip6_option_discard, drop, "unknown option, action 01 (RFC 8200 §4.2)") \
    X(rx_ip6_option_param_problem, drop, "unknown option, action 10/11 (no Parameter Problem sent)") \
    X(rx_ip6_routing_type0, drop, "RFC 5095") \
    X(rx_ip6_routing_segments_left, drop, "we are not a router (RFC 8200 §4.4)") \
    X(rx_ip6_fragment, drop, "no reassembly (an atomic fragment is processed, RFC 6946)") \
    X(rx_ip6_not_for_us, drop, "destination neither our addresses nor a group we joined") \
    X(rx_ip6_bad_src, drop, "source multicast, loopback, IPv4-mapped, ours, or unspecified (not DAD)") \
    X(rx_ip6_unknown_proto, drop, "neither ICMPv6 nor TCP (ESP, No Next Header, ...)") \
    X(rx_ip6_atomic_fragment, count, "not a bucket: of the accepted, those with an atomic fragment header") \
    /* ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861) */ \
    X(rx_icmp6, count, "ICMPv6 packets received (then one of the ICMPv6 outcomes)") \
    X(rx_icmp6_bad, drop, "shorter than 4 bytes or bad checksum") \
    X(rx_icmp6_unhandled, drop, "informational types we do not take (echo reply, RS, redirect, MLD, ...)") \
    X(rx_icmp6_unusable, drop, "echo request we cannot answer (to a group, shared mbuf, ext headers, MTU)") \
    X(icmp6_echo_replies, count, "echo replies handed to the TX ring") \
    X(rx_icmp6_errors, count, "destination unreachable, time exceeded, parameter problem: counted") \
    X(rx_icmp6_packet_too_big, count, "packet too big quoting TCP from us: handed to the hook (RFC 8201)") \
    X(rx_nd_bad, drop, "ND message failing RFC 4861 validation (hop limit 255, code, lengths, options, addresses), or a PTB without a usable quote") \
    X(rx_ns, count, "valid neighbour solicitations (for us: answered; else ignored)") \
    X(rx_na, count, "valid neighbour advertisements") \
    X(rx_ra, count, "valid router advertisements") \
    X(nd_ns_sent, count, "multicast (resolution) and unicast (probe) solicitations") \
    X(nd_kernel_asked, count, "--share-kernel: IPv6 next hop asked of the kernel's table (on a miss and each retry)") \
    X(nd_kernel_ask_deferred, count, "--share-kernel: question queue full; asked again on the next retry") \
    X(nd_na_sent, count, "solicited advertisements") \
    X(nd_unsolicited_na_sent, count, "RFC 4861 §7.2.6, at start") \
    X(nd_learned, count, "new STALE entry from a solicitation's source link-layer option") \
    X(nd_updated, count, "existing entry changed by an NS, NA or RA") \
    X(nd_resolved, count, "incomplete entry answered; its held packets sent") \
    X(nd_failed, count, "incomplete or probed entry gave up (held packets dropped)") \
    X(nd_expired, count, "stale entry aged out") \
    X(nd_evicted, count, "entry displaced because the cache was full") \
    X(nd_cache_full, count, "no entry free or evictable: the packet or learning was dropped") \
    X(nd_pending_overflow, count, "oldest held packet dropped to keep the newest") \
    X(nd_pending_dropped, count, "held packets dropped because resolution failed") \
    X(nd_router_learned, count, "default router taken from a router advertisement") \
    X(nd_router_expired, count, "its lifetime ran out or it advertised lifetime 0") \
    /* TCP over IPv6 handoff */ \
    X(rx_tcp6, count, "returned by input(): TCP over IPv6 for our address") \
    /* Transmit */ \
    X(tx_frames, count, "frames put on the TX ring") \
    X(tx_no_route, count, "off-subnet without gateway, or a destination we never send to") \
    X(tx_malformed, count, "output() given no valid IPv4 or IPv6 header") \
    X(tx_no_headroom, count, "less than 14 bytes before the IPv4 header") \
    X(tx_too_big, count, "longer than the MTU without TSO") \
    X(tx_queue_full, count, "TX ring full") \
    X(tx_alloc_failed, count, "no mbuf for an ARP frame")

#define SYNACK_NET_COUNTER_FIELD(field, kind, meaning) uint64_t field = 0;

struct NetCounters {
    SYNACK_NET_COUNTERS(SYNACK_NET_COUNTER_FIELD)
};

}  // namespace synack::net
