/// @file
/// Configuration of one L2/L3 interface (one per core per port). Addresses in host byte order.
#pragma once
#include <cstdint>

#include <rte_ether.h>

#include "wire/ipv6.hpp"

namespace synack::net {

struct NetConfig {
    uint32_t ip = 0;                    ///< our IPv4 address, host byte order; 0 = no IPv4 (then ip6 is required)
    uint8_t prefix_len = 24;            ///< on-link subnet, 0..32
    uint32_t gateway = 0;               ///< 0 = none: off-subnet destinations are dropped (tx_no_route)
    wire::Ip6Addr ip6{};                ///< our IPv6 address; unspecified = no IPv6 (a link-local one is always
                                        ///< derived from mac, RFC 4291 App. A, when IPv6 is on)
    uint8_t prefix6_len = 64;           ///< on-link prefix of ip6, 1..128
    wire::Ip6Addr gw6{};                ///< default router; unspecified = the one router advertisements name
    rte_ether_addr mac{};               ///< our unicast MAC
    uint16_t mtu = 1500;                ///< largest IPv4 packet sent without TSO (RFC 791: at least 68)
    uint32_t arp_ttl_ms = 60000;        ///< a reachable entry is forgotten this long after it was learned/refreshed
    uint32_t arp_retry_ms = 1000;       ///< request interval; RFC 1122 §2.3.2.1 asks for at most 1/s per target
    uint32_t arp_max_retries = 3;       ///< requests after the first; one more interval of silence fails the entry
    uint32_t arp_pending_max = 16;      ///< packets held per unresolved next hop; beyond it the oldest is dropped
    uint32_t arp_cache_size = 1024;     ///< entries, allocated at construction
    uint32_t nd_reachable_ms = 30000;   ///< RFC 4861 §10 REACHABLE_TIME (ARP's retry, retries and bounds apply too)
    uint32_t nd_delay_ms = 5000;        ///< RFC 4861 §10 DELAY_FIRST_PROBE_TIME
    uint32_t tx_ring_size = 1024;       ///< frames awaiting drain_tx(), allocated at construction
    /// The kernel owns this address too (--share-kernel): ARP and ICMP are the kernel's, so no ARP reply, no
    /// announcement and no echo reply from us; next hops come from the Interface's resolver (the kernel's
    /// neighbour table) instead of ARP requests of our own, whose replies would go to the kernel.
    bool share_kernel = false;
};

/// Throws std::invalid_argument with a message naming the field when cfg cannot work. Cold.
void validate(const NetConfig& cfg);

/// Subnet mask of cfg.prefix_len, host byte order.
constexpr uint32_t prefix_mask(uint8_t prefix_len) noexcept {
    return prefix_len == 0 ? 0u : ~0u << (32u - prefix_len);
}

}  // namespace synack::net
