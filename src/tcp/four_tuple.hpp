// The connection key: addresses and ports in host byte order, seen from our side. IPv4 connections are keyed by
// the 12-byte FourTuple; IPv6 ones by a FourTuple6 in a table of their own (wire/ipv6.hpp says why).
#pragma once
#include <cstdint>
#include <cstring>

#include "wire/ipv6.hpp"

namespace synack::tcp {

struct FourTuple {
    uint32_t local_ip = 0;
    uint32_t remote_ip = 0;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;

    friend bool operator==(const FourTuple&, const FourTuple&) = default;
};
static_assert(sizeof(FourTuple) == 12);

/// An IPv6 connection's key: addresses as on the wire, ports in host order.
struct FourTuple6 {
    wire::Ip6Addr local;
    wire::Ip6Addr remote;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;

    friend bool operator==(const FourTuple6& a, const FourTuple6& b) noexcept {
        return std::memcmp(&a, &b, sizeof a) == 0;
    }
};
static_assert(sizeof(FourTuple6) == 36);

/// The 32 bits that stand for an IPv6 address where the engine keeps one IPv4-sized word (Tcb::tuple of an IPv6
/// connection, the timestamp offset's input): the XOR of its four words. Never a key: lookups use FourTuple6.
inline uint32_t fold(const wire::Ip6Addr& a) noexcept {
    uint32_t w[4];
    std::memcpy(w, a.b, 16);
    return w[0] ^ w[1] ^ w[2] ^ w[3];
}

}  // namespace synack::tcp
