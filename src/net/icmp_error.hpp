// An ICMP error as the transport sees it: the message's type and code and the quoted TCP segment's 4-tuple and
// sequence number (RFC 1122 §4.2.3.9, RFC 5927). Built by net::Interface, taken by tcp::Engine::icmp_error.
#pragma once
#include <cstdint>

#include "wire/ipv6.hpp"

namespace synack::net {

struct IcmpError {
    uint8_t type = 0;
    uint8_t code = 0;
    uint16_t next_hop_mtu = 0;  ///< RFC 1191 §4: type 3 code 4 only; 0 from a router that predates it
    uint16_t quoted_len = 0;    ///< the quoted IPv4 total length: the size of the packet that did not fit
    uint32_t local_ip = 0;      ///< the quoted source (ours) and destination, host byte order
    uint32_t remote_ip = 0;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    uint32_t seq = 0;           ///< the quoted TCP sequence number (RFC 792: 64 bits of the datagram suffice)
};

/// An ICMPv6 Packet Too Big about a TCP segment we sent (RFC 4443 §3.2): the quoted packet's addresses and ports
/// (src is ours), its sequence number when the quote holds it, and the MTU of the link it did not fit, for path
/// MTU discovery (RFC 8201). Built by net::Interface, taken by tcp::Engine::packet_too_big.
struct PacketTooBig {
    wire::Ip6Pair quoted;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint32_t mtu = 0;
    bool has_seq = false;  ///< the quote reached the TCP sequence number (8 bytes of TCP)
    uint32_t seq = 0;
};

inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpParamProblem = 12;
// Codes of destination unreachable (RFC 792, RFC 1122 §3.2.2.1)
inline constexpr uint8_t kIcmpProtoUnreachable = 2;
inline constexpr uint8_t kIcmpPortUnreachable = 3;
inline constexpr uint8_t kIcmpFragNeeded = 4;

}  // namespace synack::net
