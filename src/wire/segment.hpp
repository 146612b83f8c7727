// An IPv4/TCP segment in an rte_mbuf: parsed with every length checked, or written in front of a payload.
#pragma once
#include <cstdint>

#include <rte_mbuf.h>

#include "wire/tcp_options.hpp"

namespace synack::wire {

// TCP control bits (RFC 9293 §3.1), as in the header's flags byte.
enum TcpFlag : uint8_t {
    kFin = 0x01,
    kSyn = 0x02,
    kRst = 0x04,
    kPsh = 0x08,
    kAck = 0x10,
    kUrg = 0x20,
};

constexpr uint32_t kIpv4HeaderLen = 20;
constexpr uint32_t kTcpHeaderLen = 20;
constexpr uint8_t kIpProtoTcp = 6;
/// The most TCP payload one IPv4 packet can carry with the longest headers we write (TSO's ceiling).
constexpr uint32_t kMaxTcpPayload = UINT16_MAX - kIpv4HeaderLen - kTcpHeaderLen - kMaxTcpOptionBytes;

/// What parse_segment() found, one line each: X(status, kind, "meaning"). Each refusal has its own engine drop
/// counter, tcp.rx_parse.STATUS (src/tcp/counters.hpp); kind `drop` puts it in CoreStats::tcp_rx_dropped.
/// partial_tcp_checksum: a sender that left the checksum to a NIC (Linux's CHECKSUM_PARTIAL) and no NIC on the way,
/// e.g. a veth peer with TX checksum offload on, seen by AF_XDP or AF_PACKET. Dropped like any bad checksum; told
/// apart so that the log can say `ethtool -K PEER tx off`.
#define SYNACK_PARSE_STATUSES(X) \
    X(ok, count, "never counted: a parsed segment goes on to the connection lookup (rx_segments counts it)") \
    X(truncated, drop, "shorter than the headers it claims") \
    X(bad_ip_version, drop, "IP version is not 4") \
    X(bad_ip_header_len, drop, "IHL < 5") \
    X(bad_ip_total_len, drop, "total length below the headers or beyond the frame") \
    X(bad_ip_checksum, drop, "IPv4 header checksum wrong") \
    X(ip_fragment, drop, "MF set or fragment offset != 0: not reassembled") \
    X(not_tcp, drop, "IP protocol is not TCP") \
    X(bad_tcp_header_len, drop, "data offset < 5 or beyond the IP payload") \
    X(bad_tcp_checksum, drop, "TCP checksum wrong (checked in software unless the port verified it)") \
    X(bad_tcp_options, drop, "malformed option lengths") \
    X(partial_tcp_checksum, drop, "TCP checksum holds only the pseudo-header sum: the sender's TX offload never ran " \
                                  "(a veth peer with tx on; `ethtool -K PEER tx off`)") \
    X(bad_ip6_ext_header, drop, "IPv6 extension header chain refused (wire::Ip6Status says why)")
#define SYNACK_PARSE_STATUS_ENUMERATOR(status, kind, meaning) status,
enum class ParseStatus : uint8_t { SYNACK_PARSE_STATUSES(SYNACK_PARSE_STATUS_ENUMERATOR) count_ };
#undef SYNACK_PARSE_STATUS_ENUMERATOR
const char* to_string(ParseStatus s) noexcept;

/// The fields of one segment, host byte order. Payload bytes stay in the mbuf.
struct Segment {
    uint32_t src_ip = 0;
    uint32_t dst_ip = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint16_t wnd = 0;
    uint16_t urp = 0;
    uint8_t flags = 0;
    uint16_t payload_off = 0;  ///< from the mbuf's data start (the IPv4 header)
    uint16_t payload_len = 0;
    TcpOptions opt;

    bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
    /// SEG.LEN of RFC 9293 §3.4: octets of data plus one for SYN and one for FIN.
    uint32_t seg_len() const noexcept { return payload_len + (has(kSyn) ? 1u : 0u) + (has(kFin) ? 1u : 0u); }
};

/// Parses the IPv4 + TCP headers at the mbuf's data start (headers must sit in the first segment; the payload may
/// be chained). Checksums are verified in software unless the mbuf's RX flags say the port already found them good.
ParseStatus parse_segment(const rte_mbuf* m, Segment& out) noexcept;

/// What to write in front of a payload.
struct SegmentHeader {
    uint32_t src_ip;
    uint32_t dst_ip;
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t flags;
    uint16_t wnd;
    uint16_t ip_id;
    const TcpOptions* options;  ///< nullptr for none
    uint16_t tso_segsz = 0;     ///< with offload and a longer payload: have the port cut it into pieces this long
};

/// Prepends IPv4 + TCP headers (and options) to `m`, whose packet data is the payload (possibly empty or chained).
/// Fills both checksums in software, or, with `offload`, sets the TX offload flags and the pseudo-header sum.
/// Returns false when the first segment lacks headroom or the packet would exceed 65535 bytes.
bool prepend_headers(rte_mbuf* m, const SegmentHeader& h, bool offload) noexcept;

}  // namespace synack::wire
