/// @file
/// IPv4 address classes (RFC 1122 §3.2.1.3), host byte order.
#pragma once
#include <cstdint>

#include <rte_ip.h>

namespace synack::net {

constexpr uint32_t kLimitedBroadcast = 0xffffffffu;

constexpr bool is_multicast_or_reserved(uint32_t a) noexcept { return (a >> 28) >= 0xe; }  // 224/4 and 240/4
constexpr bool is_loopback(uint32_t a) noexcept { return (a >> 24) == 127; }

/// The directed broadcast of our subnet (all host bits one); none on /31 and /32 (RFC 3021).
constexpr bool is_subnet_broadcast(uint32_t a, uint32_t our_ip, uint32_t mask) noexcept {
    return mask < 0xfffffffeu && a == (our_ip | ~mask);
}

/// RFC 1122 §3.2.1.3: a datagram whose source is 0, broadcast, multicast, class E or loopback is silently
/// discarded (0.0.0.0 is only legal while a host learns its own address, which never reaches TCP or echo).
constexpr bool is_invalid_source(uint32_t a, uint32_t our_ip, uint32_t mask) noexcept {
    return a == 0 || is_multicast_or_reserved(a) || is_loopback(a) || is_subnet_broadcast(a, our_ip, mask);
}

}  // namespace synack::net
