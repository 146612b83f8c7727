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

struct NetCounters {
    // Ethernet (input)
    uint64_t rx_frames = 0;              ///< frames given to input()
    uint64_t rx_truncated = 0;           ///< shorter than the headers it announces
    uint64_t rx_headers_split = 0;       ///< headers not all in the first segment (we never gather them)
    uint64_t rx_not_for_us = 0;          ///< destination MAC neither ours nor broadcast
    uint64_t rx_bad_src_mac = 0;         ///< group (multicast/broadcast) source MAC: invalid on Ethernet
    uint64_t rx_unknown_ethertype = 0;   ///< neither ARP nor IPv4 (VLAN tags, IPv6, ...)

    // ARP (RFC 826)
    uint64_t rx_arp = 0;                 ///< ARP frames received (then one of the arp outcomes below)
    uint64_t rx_arp_bad = 0;             ///< not Ethernet/IPv4, unknown opcode, group sender MAC, bad sender IP
    uint64_t rx_arp_not_for_us = 0;      ///< target IP is not ours (only merged into an existing entry)
    uint64_t rx_arp_conflict = 0;        ///< someone else claims our IP (RFC 5227 §2.4); ignored
    uint64_t arp_requests_sent = 0;
    uint64_t arp_kernel_asked = 0;       ///< --share-kernel: next hop not in the kernel's table; kernel asked to resolve
    uint64_t arp_replies_sent = 0;
    uint64_t arp_announcements_sent = 0; ///< gratuitous ARP (RFC 5227 §3)
    uint64_t arp_learned = 0;            ///< new entry from an ARP addressed to us (RFC 826 merge, not found)
    uint64_t arp_updated = 0;            ///< existing entry refreshed by an ARP packet
    uint64_t arp_resolved = 0;           ///< incomplete entry answered; its held packets sent
    uint64_t arp_failed = 0;             ///< incomplete entry gave up after arp_max_retries
    uint64_t arp_expired = 0;            ///< reachable entry aged out (arp_ttl_ms)
    uint64_t arp_evicted = 0;            ///< reachable entry displaced because the cache was full
    uint64_t arp_cache_full = 0;         ///< no entry free or evictable: the packet or learning was dropped
    uint64_t arp_pending_overflow = 0;   ///< oldest held packet dropped to keep the newest (bound arp_pending_max)
    uint64_t arp_pending_dropped = 0;    ///< held packets dropped because resolution failed

    // IPv4 (RFC 791, RFC 1122 §3.2.1)
    uint64_t rx_ipv4 = 0;                ///< IPv4 frames received (then one of the outcomes below)
    uint64_t rx_ip_bad_version = 0;
    uint64_t rx_ip_bad_header_len = 0;   ///< IHL < 5 or header beyond the frame
    uint64_t rx_ip_bad_total_len = 0;    ///< total length < header or > frame
    uint64_t rx_ip_bad_checksum = 0;
    uint64_t rx_ip_not_for_us = 0;       ///< destination is not our address
    uint64_t rx_ip_bad_src = 0;          ///< source 0, broadcast, multicast, class E or loopback
    uint64_t rx_ip_fragment = 0;         ///< MF set or offset != 0: no reassembly
    uint64_t rx_ip_options = 0;          ///< IHL > 5: options not supported
    uint64_t rx_ip_unknown_proto = 0;    ///< neither ICMP nor TCP

    // ICMP (RFC 792)
    uint64_t rx_icmp = 0;
    uint64_t rx_icmp_bad = 0;            ///< shorter than 8 bytes or bad checksum
    uint64_t rx_icmp_unhandled = 0;      ///< any type but echo request
    uint64_t rx_icmp_unusable = 0;       ///< echo request we cannot answer: shared mbuf, header not in segment 1, beyond our MTU
    uint64_t icmp_echo_replies = 0;      ///< echo replies handed to the TX ring

    // TCP handoff
    uint64_t rx_tcp = 0;                 ///< returned by input() to the TCP engine

    // Transmit
    uint64_t tx_frames = 0;              ///< frames put on the TX ring
    uint64_t tx_no_route = 0;            ///< off-subnet without gateway, or a destination we never send to
    uint64_t tx_malformed = 0;           ///< output() given no valid IPv4 header
    uint64_t tx_no_headroom = 0;         ///< less than 14 bytes before the IPv4 header
    uint64_t tx_too_big = 0;             ///< longer than the MTU without TSO
    uint64_t tx_queue_full = 0;          ///< TX ring full
    uint64_t tx_alloc_failed = 0;        ///< no mbuf for an ARP frame
};

}  // namespace synack::net
