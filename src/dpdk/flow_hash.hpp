// Which core owns a flow: a Toeplitz hash with a symmetric key (0x6d5a repeated), as a NIC with that key computes
// it, mapped through a RETA of kRetaSize entries filled round-robin. Software RSS and the choice of ephemeral
// ports for active opens both use this one function, so replies land on the opening core.
#pragma once
#include <cstdint>
#include <cstring>

#include <rte_thash.h>

namespace synack::dpdk {

constexpr uint32_t kRetaSize = 128;

/// The 40-byte symmetric key: hash(a->b) == hash(b->a) for IPv4 4-tuples.
inline const uint8_t* symmetric_rss_key() noexcept {
    static const uint8_t key[40] = {
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};
    return key;
}

/// Toeplitz hash of an arriving packet's tuple, host byte order.
inline uint32_t flow_hash(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport) noexcept {
    rte_ipv4_tuple t{};
    t.src_addr = src_ip;
    t.dst_addr = dst_ip;
    t.sport = sport;
    t.dport = dport;
    return rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L4_LEN, symmetric_rss_key());
}

/// Toeplitz hash of an arriving IPv6 packet's tuple (addresses as on the wire, ports host order): the
/// rte_ipv6_tuple with each address loaded as four host-order words (rte_thash_load_v6_addrs), as a NIC hashes
/// TCP over IPv6. Symmetric with this key too: addresses are whole 16-bit periods of it, and the ports swap.
inline uint32_t flow_hash6(const uint8_t* src_ip, const uint8_t* dst_ip, uint16_t sport, uint16_t dport,
                           const uint8_t* key = symmetric_rss_key()) noexcept {
    rte_ipv6_tuple t{};
    for (int i = 0; i < 4; ++i) {
        uint32_t s, d;
        std::memcpy(&s, src_ip + 4 * i, 4);
        std::memcpy(&d, dst_ip + 4 * i, 4);
        s = rte_be_to_cpu_32(s);
        d = rte_be_to_cpu_32(d);
        std::memcpy(t.src_addr + 4 * i, &s, 4);
        std::memcpy(t.dst_addr + 4 * i, &d, 4);
    }
    t.sport = sport;
    t.dport = dport;
    return rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V6_L4_LEN, key);
}

/// The core a hash selects among `cores`, through a round-robin RETA of `reta_size` entries (a power of two).
inline unsigned core_of(uint32_t hash, unsigned cores, uint32_t reta_size = kRetaSize) noexcept {
    return (hash & (reta_size - 1)) % cores;
}

}  // namespace synack::dpdk
