/// @file
/// A TCP segment over IPv6 in an rte_mbuf: parsed into the same wire::Segment the IPv4 parse fills (addresses
/// beside it in an Ip6Pair, see wire/ipv6.hpp for why), or written in front of a payload.
#pragma once
#include <cstdint>

#include <rte_mbuf.h>

#include "wire/ipv6.hpp"
#include "wire/segment.hpp"

namespace synack::wire {

/// The most TCP payload one IPv6 packet can carry with the longest headers we write (payload length is 16 bits
/// and, unlike IPv4's total length, leaves out the 40-byte IPv6 header).
constexpr uint32_t kMaxTcpPayload6 = UINT16_MAX - kTcpHeaderLen - kMaxTcpOptionBytes;

/// Parses the IPv6 header, its extension headers (wire::ipv6_walk) and the TCP header at the mbuf's data start
/// (headers in the first segment; the payload may be chained). The TCP checksum is verified in software unless the
/// RX flags say the port found it good. Sets out.src_ip = out.dst_ip = 0; the addresses go to addr. A walk failure
/// is returned as truncated, bad_ip_version, bad_ip_total_len, ip_fragment or bad_ip6_ext_header (the net layer,
/// which sees every packet first, counts the exact reason); ext, when given, gets the walk's own status.
ParseStatus parse_segment6(const rte_mbuf* m, Segment& out, Ip6Pair& addr, Ip6Status* ext = nullptr) noexcept;

/// Prepends IPv6 + TCP headers (and options) to `m`, whose packet data is the payload (possibly empty or chained):
/// the TCP fields from h (h.src_ip, h.dst_ip and h.ip_id unused), the addresses from addr, hop limit 64, flow label
/// 0. Fills the TCP checksum in software, or, with `offload`, sets RTE_MBUF_F_TX_IPV6 with TCP checksum (or TSO
/// when h.tso_segsz asks for it) and the pseudo-header sum. Returns false when the first segment lacks headroom or
/// the payload length would exceed 65535 bytes.
bool prepend_headers6(rte_mbuf* m, const SegmentHeader& h, const Ip6Pair& addr, bool offload) noexcept;

}  // namespace synack::wire
