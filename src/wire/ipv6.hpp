/// @file
/// IPv6 (RFC 8200): the 16-byte address, the fixed header and a bounded walk of the extension-header chain to the
/// upper-layer header, and the TCP pseudo-header sum. Pure functions over bytes; no mbuf ownership.
///
/// How the engine will key on either family (the next phase; nothing here costs IPv4 anything):
/// - The family tag is the version nibble at the mbuf's data start, which the engine's parse reads anyway: 4 goes to
///   parse_segment() exactly as today, 6 to parse_segment6(). Both fill the same wire::Segment (ports, sequence
///   numbers, flags, options, payload offsets); parse_segment6() leaves src_ip/dst_ip 0 and returns the addresses in
///   an Ip6Pair beside it, so Segment and the IPv4 path do not grow by a byte.
/// - Ip6Addr doubles as the address of either family in the API and in events: an IPv4 address is held in its
///   IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), see from_v4() / is_v4_mapped() / v4(). On the wire an
///   IPv4-mapped address is never a valid IPv6 source or destination (RFC 4291 §2.5.5.2, RFC 6890), so the two
///   families can never collide in one key space.
/// - IPv4 connections keep their 12-byte FourTuple and tables; IPv6 connections get a FourTuple6 (36 bytes) in a
///   table of their own in the same per-core engine, chosen by the family tag: IPv4 lookups never touch it.
#pragma once
#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ip.h>

namespace synack::wire {

/// An IPv6 address in network byte order (or an IPv4 address in its IPv4-mapped form).
struct Ip6Addr {
    uint8_t b[16] = {};

    friend bool operator==(const Ip6Addr& x, const Ip6Addr& y) noexcept { return std::memcmp(x.b, y.b, 16) == 0; }

    static Ip6Addr from(const uint8_t* p) noexcept {
        Ip6Addr a;
        std::memcpy(a.b, p, 16);
        return a;
    }
    /// ::ffff:a.b.c.d from a host-order IPv4 address (RFC 4291 §2.5.5.2).
    static Ip6Addr from_v4(uint32_t ip) noexcept {
        Ip6Addr a;
        a.b[10] = a.b[11] = 0xff;
        const uint32_t be = rte_cpu_to_be_32(ip);
        std::memcpy(a.b + 12, &be, 4);
        return a;
    }
    bool is_v4_mapped() const noexcept {
        static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(b, kPrefix, 12) == 0;
    }
    /// The host-order IPv4 address of an IPv4-mapped address.
    uint32_t v4() const noexcept {
        uint32_t be;
        std::memcpy(&be, b + 12, 4);
        return rte_be_to_cpu_32(be);
    }
    bool is_unspecified() const noexcept { return *this == Ip6Addr{}; }
    bool is_multicast() const noexcept { return b[0] == 0xff; }                      // ff00::/8
    bool is_link_local() const noexcept { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }  // fe80::/10
    bool is_loopback() const noexcept {
        static constexpr uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return std::memcmp(b, kLoop, 16) == 0;
    }
};
static_assert(sizeof(Ip6Addr) == 16);

/// Source and destination of one IPv6 packet.
struct Ip6Pair {
    Ip6Addr src;
    Ip6Addr dst;
};

/// True when the first prefix_len bits of a and b agree.
inline bool same_prefix(const Ip6Addr& a, const Ip6Addr& b, uint8_t prefix_len) noexcept {
    const uint32_t bytes = prefix_len / 8u, bits = prefix_len % 8u;
    if (std::memcmp(a.b, b.b, bytes) != 0) return false;
    if (bits == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> bits);
    return ((a.b[bytes] ^ b.b[bytes]) & mask) == 0;
}

/// RFC 4291 §2.7.1: the solicited-node multicast address ff02::1:ffXX:XXXX of a (its low 24 bits).
inline Ip6Addr solicited_node(const Ip6Addr& a) noexcept {
    Ip6Addr s;
    s.b[0] = 0xff;
    s.b[1] = 0x02;
    s.b[11] = 0x01;
    s.b[12] = 0xff;
    s.b[13] = a.b[13];
    s.b[14] = a.b[14];
    s.b[15] = a.b[15];
    return s;
}

constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint8_t kIpProtoIcmp6 = 58;
/// Extension headers we walk through before giving up (RFC 8200 §4.1 allows any number; a host need not).
constexpr uint32_t kMaxIpv6ExtHeaders = 8;

/// Outcome of walking an IPv6 header and its extension headers; each failure has its own counter in net/.
enum class Ip6Status : uint8_t {
    ok,
    truncated,            ///< fewer than 40 bytes
    headers_split,        ///< an extension header lies past the contiguous bytes (beyond the first segment)
    bad_version,
    bad_payload_len,      ///< payload length beyond the frame, or 0 (jumbograms, RFC 2675, are not taken)
    ext_past_payload,     ///< an extension header runs past the payload length
    ext_chain_too_long,   ///< more than kMaxIpv6ExtHeaders extension headers
    hop_by_hop_not_first, ///< RFC 8200 §4.3: hop-by-hop only immediately after the IPv6 header
    bad_option,           ///< an option running past its header
    option_discard,       ///< unknown option type 01xxxxxx: discard (RFC 8200 §4.2)
    option_param_problem, ///< unknown option type 1xxxxxxx: discard (the ICMPv6 Parameter Problem is not sent)
    routing_type0,        ///< RFC 5095 §3: type 0 routing headers are dropped
    routing_segments_left,///< a routing header with segments left: we are not a router (RFC 8200 §4.4)
    fragment,             ///< a fragment (offset or M set): no reassembly
    count_
};
const char* to_string(Ip6Status s) noexcept;

/// Where the upper-layer header of an IPv6 packet is.
struct Ip6Walk {
    uint8_t proto = 0;           ///< next header of the last extension header (or of the IPv6 header)
    bool atomic_fragment = false;///< a fragment header with offset 0 and M 0 was passed (RFC 6946)
    uint16_t l4_off = 0;         ///< from the IPv6 header
    uint16_t l4_len = 0;         ///< bytes from l4_off to the end of the payload (payload length counted)
};

/// Walks the IPv6 header at ip: `contiguous` bytes are readable from ip, `frame_len` (>= contiguous) bytes of the
/// packet follow ip. Every length is checked against both; at most kMaxIpv6ExtHeaders extension headers are read.
/// Stops at the first next-header value that is not hop-by-hop, routing, fragment or destination options (TCP,
/// ICMPv6, No Next Header, ESP, ...): the caller decides what that protocol means.
Ip6Status ipv6_walk(const uint8_t* ip, uint32_t contiguous, uint32_t frame_len, Ip6Walk& out) noexcept;

/// The IPv6 pseudo-header sum (RFC 8200 §8.1: source, destination, upper-layer length, next header) as
/// rte_ipv6_phdr_cksum() returns it, but with the length and protocol given: with extension headers they are not
/// the payload length and first next header, and under TSO the length is 0. ip's addresses must be written.
inline uint16_t ipv6_phdr_cksum(const rte_ipv6_hdr* ip, uint32_t l4_len, uint8_t proto) noexcept {
    uint32_t sum = __rte_raw_cksum(ip->src_addr, 32, 0);
    const uint32_t len_be = rte_cpu_to_be_32(l4_len);  // summed as the two 16-bit words it has in memory
    sum += (len_be >> 16) + (len_be & 0xffff) + rte_cpu_to_be_16(proto);
    return __rte_raw_cksum_reduce(sum);
}

/// ipv6_phdr_cksum() for TCP.
inline uint16_t ipv6_tcp_phdr_cksum(const rte_ipv6_hdr* ip, uint32_t l4_len) noexcept {
    return ipv6_phdr_cksum(ip, l4_len, IPPROTO_TCP);
}

}  // namespace synack::wire
