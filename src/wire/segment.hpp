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

/// Why a packet was refused; each has its own drop counter in the engine.
enum class ParseStatus : uint8_t {
    ok,
    truncated,          ///< shorter than the headers it claims
    bad_ip_version,
    bad_ip_header_len,  ///< IHL < 5
    bad_ip_total_len,   ///< total length below the headers or beyond the frame
    bad_ip_checksum,
    ip_fragment,        ///< MF set or fragment offset != 0: not reassembled
    not_tcp,
    bad_tcp_header_len, ///< data offset < 5 or beyond the IP payload
    bad_tcp_checksum,
    bad_tcp_options,    ///< malformed option lengths
    /// The checksum field holds only the pseudo-header sum: a sender that left the checksum to a NIC (Linux's
    /// CHECKSUM_PARTIAL) and no NIC on the way, e.g. a veth peer with TX checksum offload on, seen by AF_XDP or
    /// AF_PACKET. Dropped like any bad checksum; told apart so that the log can say `ethtool -K PEER tx off`.
    partial_tcp_checksum,
    bad_ip6_ext_header, ///< IPv6 extension header chain refused (wire::Ip6Status says why)
    count_
};
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
