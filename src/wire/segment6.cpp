#include "wire/segment6.hpp"

#include "wire/checksum.hpp"
#include "wire/tcp_header.hpp"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

namespace synack::wire {

namespace {

ParseStatus from_walk(Ip6Status s) noexcept {
    switch (s) {
    case Ip6Status::ok: return ParseStatus::ok;
    case Ip6Status::truncated:
    case Ip6Status::headers_split: return ParseStatus::truncated;
    case Ip6Status::bad_version: return ParseStatus::bad_ip_version;
    case Ip6Status::bad_payload_len: return ParseStatus::bad_ip_total_len;
    case Ip6Status::fragment: return ParseStatus::ip_fragment;
    default: return ParseStatus::bad_ip6_ext_header;
    }
}

/// The TCP checksum of an IPv6 packet: L4 bytes [l4_off, l4_off + l4_len) plus the pseudo-header.
uint16_t ipv6_l4_cksum(const rte_mbuf* m, const rte_ipv6_hdr* ip, uint32_t l4_off, uint32_t l4_len) noexcept {
    uint32_t sum = mbuf_raw_cksum(m, l4_off, l4_len);
    sum += ipv6_tcp_phdr_cksum(ip, l4_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace

ParseStatus parse_segment6(const rte_mbuf* m, Segment& out, Ip6Pair& addr, Ip6Status* ext) noexcept {
    const uint32_t first_len = rte_pktmbuf_data_len(m);
    const auto* base = rte_pktmbuf_mtod(m, const uint8_t*);
    Ip6Walk w;
    const Ip6Status ws = ipv6_walk(base, first_len, rte_pktmbuf_pkt_len(m), w);
    if (ext != nullptr) *ext = ws;
    if (ws != Ip6Status::ok) return from_walk(ws);
    if (w.proto != kIpProtoTcp) return ParseStatus::not_tcp;
    if (w.l4_len < kTcpHeaderLen) return ParseStatus::bad_ip_total_len;
    if (first_len < w.l4_off + kTcpHeaderLen) return ParseStatus::truncated;
    const auto* th = reinterpret_cast<const rte_tcp_hdr*>(base + w.l4_off);
    const uint32_t doff = (th->data_off >> 4) * 4u;
    if (doff < kTcpHeaderLen || doff > w.l4_len) return ParseStatus::bad_tcp_header_len;
    if (first_len < w.l4_off + doff) return ParseStatus::truncated;

    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(base);
    const uint64_t rx_l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (rx_l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return ParseStatus::bad_tcp_checksum;
    // RFC 8200 §8.1: the checksum is mandatory and covers the pseudo-header with the TCP length, not the payload
    // length (extension headers left out); Ethernet padding is excluded.
    if (rx_l4 == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN && ipv6_l4_cksum(m, ip, w.l4_off, w.l4_len) != 0)
        return ParseStatus::bad_tcp_checksum;

    out.opt = TcpOptions{};
    if (doff > kTcpHeaderLen &&
        !parse_tcp_options(reinterpret_cast<const uint8_t*>(th + 1), doff - kTcpHeaderLen, out.opt))
        return ParseStatus::bad_tcp_options;

    addr.src = Ip6Addr::from(ip->src_addr);
    addr.dst = Ip6Addr::from(ip->dst_addr);
    out.src_ip = 0;
    out.dst_ip = 0;
    out.src_port = rte_be_to_cpu_16(th->src_port);
    out.dst_port = rte_be_to_cpu_16(th->dst_port);
    out.seq = rte_be_to_cpu_32(th->sent_seq);
    out.ack = rte_be_to_cpu_32(th->recv_ack);
    out.wnd = rte_be_to_cpu_16(th->rx_win);
    out.urp = rte_be_to_cpu_16(th->tcp_urp);
    out.flags = th->tcp_flags & 0x3f;
    out.payload_off = static_cast<uint16_t>(w.l4_off + doff);
    out.payload_len = static_cast<uint16_t>(w.l4_len - doff);
    return ParseStatus::ok;
}

bool prepend_headers6(rte_mbuf* m, const SegmentHeader& h, const Ip6Pair& addr, bool offload) noexcept {
    const uint32_t opt_len = h.options != nullptr ? tcp_options_size(*h.options) : 0;
    const uint32_t tcp_len = kTcpHeaderLen + opt_len + rte_pktmbuf_pkt_len(m);
    if (tcp_len > UINT16_MAX) return false;  // payload length is 16 bits (no jumbograms)
    auto* base = reinterpret_cast<uint8_t*>(
        rte_pktmbuf_prepend(m, static_cast<uint16_t>(kIpv6HeaderLen + kTcpHeaderLen + opt_len)));
    if (base == nullptr) return false;

    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(base);
    ip->vtc_flow = RTE_BE32(6u << 28);  // traffic class 0, flow label 0
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(tcp_len));
    ip->proto = kIpProtoTcp;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, addr.src.b, 16);
    std::memcpy(ip->dst_addr, addr.dst.b, 16);

    auto* th = reinterpret_cast<rte_tcp_hdr*>(base + kIpv6HeaderLen);
    write_tcp_header(m, th, h, opt_len, kIpv6HeaderLen);
    if (offload) {
        // rte_mbuf_core.h: TX_IPV6 without TX_IP_CKSUM (IPv6 has no header checksum); TSO implies the TCP sum.
        m->ol_flags |= RTE_MBUF_F_TX_IPV6;
        if (h.tso_segsz != 0 && tcp_len - kTcpHeaderLen - opt_len > h.tso_segsz) {
            m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
            m->tso_segsz = h.tso_segsz;
            th->cksum = ipv6_tcp_phdr_cksum(ip, 0);
        } else {
            m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
            th->cksum = ipv6_tcp_phdr_cksum(ip, tcp_len);
        }
    } else {
        th->cksum = ipv6_l4_cksum(m, ip, kIpv6HeaderLen, tcp_len);
    }
    return true;
}

}  // namespace synack::wire
