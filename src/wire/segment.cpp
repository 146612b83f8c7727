#include "wire/segment.hpp"

#include "wire/checksum.hpp"
#include "wire/tcp_header.hpp"

#include <iterator>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

namespace synack::wire {

const char* to_string(ParseStatus s) noexcept {
#define SYNACK_PARSE_STATUS_NAME(status, kind, meaning) #status,
    static constexpr const char* kNames[] = {SYNACK_PARSE_STATUSES(SYNACK_PARSE_STATUS_NAME)};
#undef SYNACK_PARSE_STATUS_NAME
    const auto i = static_cast<size_t>(s);
    return i < std::size(kNames) ? kNames[i] : "?";
}

ParseStatus parse_segment(const rte_mbuf* m, Segment& out) noexcept {
    const uint32_t first_len = rte_pktmbuf_data_len(m);
    const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
    if (first_len < kIpv4HeaderLen) return ParseStatus::truncated;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    if ((ip->version_ihl >> 4) != 4) return ParseStatus::bad_ip_version;
    const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
    if (ihl < kIpv4HeaderLen) return ParseStatus::bad_ip_header_len;
    if (first_len < ihl) return ParseStatus::truncated;
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < ihl || total > pkt_len) return ParseStatus::bad_ip_total_len;
    // RX flags: GOOD and NONE (valid data, checksum field not filled, e.g. virtio) are verified already; only
    // UNKNOWN is checked here.
    const uint64_t rx_ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (rx_ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) return ParseStatus::bad_ip_checksum;
    if (rx_ip == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && rte_raw_cksum(ip, ihl) != 0xffff) return ParseStatus::bad_ip_checksum;
    if ((rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
        return ParseStatus::ip_fragment;
    if (ip->next_proto_id != kIpProtoTcp) return ParseStatus::not_tcp;
    if (total < ihl + kTcpHeaderLen) return ParseStatus::bad_ip_total_len;

    if (first_len < ihl + kTcpHeaderLen) return ParseStatus::truncated;
    const auto* th = reinterpret_cast<const rte_tcp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
    const uint32_t doff = (th->data_off >> 4) * 4u;
    if (doff < kTcpHeaderLen || ihl + doff > total) return ParseStatus::bad_tcp_header_len;
    if (first_len < ihl + doff) return ParseStatus::truncated;

    const uint64_t rx_l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (rx_l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return ParseStatus::bad_tcp_checksum;
    if (rx_l4 == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN) {
        // The TCP checksum covers the pseudo-header and exactly total - ihl bytes: Ethernet padding excluded.
        if (ipv4_l4_cksum(m, ip, ihl, total - ihl) != 0) {
            const uint16_t phdr = ipv4_tcp_phdr_cksum(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr),
                                                      total - ihl);
            return th->cksum == phdr ? ParseStatus::partial_tcp_checksum : ParseStatus::bad_tcp_checksum;
        }
    }

    out.opt = TcpOptions{};
    if (doff > kTcpHeaderLen &&
        !parse_tcp_options(reinterpret_cast<const uint8_t*>(th + 1), doff - kTcpHeaderLen, out.opt))
        return ParseStatus::bad_tcp_options;

    out.src_ip = rte_be_to_cpu_32(ip->src_addr);
    out.dst_ip = rte_be_to_cpu_32(ip->dst_addr);
    out.src_port = rte_be_to_cpu_16(th->src_port);
    out.dst_port = rte_be_to_cpu_16(th->dst_port);
    out.seq = rte_be_to_cpu_32(th->sent_seq);
    out.ack = rte_be_to_cpu_32(th->recv_ack);
    out.wnd = rte_be_to_cpu_16(th->rx_win);
    out.urp = rte_be_to_cpu_16(th->tcp_urp);
    out.flags = th->tcp_flags & 0x3f;
    out.payload_off = static_cast<uint16_t>(ihl + doff);
    out.payload_len = static_cast<uint16_t>(total - ihl - doff);
    return ParseStatus::ok;
}

bool prepend_headers(rte_mbuf* m, const SegmentHeader& h, bool offload) noexcept {
    const uint32_t opt_len = h.options != nullptr ? tcp_options_size(*h.options) : 0;
    const uint32_t hdr_len = kIpv4HeaderLen + kTcpHeaderLen + opt_len;
    const uint32_t payload_len = rte_pktmbuf_pkt_len(m);
    if (hdr_len + payload_len > UINT16_MAX) return false;  // IPv4 total length is 16 bits
    auto* base = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(hdr_len)));
    if (base == nullptr) return false;

    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(base);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(hdr_len + payload_len));
    ip->packet_id = rte_cpu_to_be_16(h.ip_id);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = kIpProtoTcp;
    ip->hdr_checksum = 0;
    ip->src_addr = rte_cpu_to_be_32(h.src_ip);
    ip->dst_addr = rte_cpu_to_be_32(h.dst_ip);

    auto* th = reinterpret_cast<rte_tcp_hdr*>(base + kIpv4HeaderLen);
    write_tcp_header(m, th, h, opt_len, kIpv4HeaderLen);
    if (offload) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
        if (h.tso_segsz != 0 && payload_len > h.tso_segsz) {  // TSO (implies the TCP checksum, rte_mbuf_core.h)
            m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
            m->tso_segsz = h.tso_segsz;
        } else {
            m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
        }
        const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
        th->cksum = ipv4_tcp_phdr_cksum(h.src_ip, h.dst_ip, tso ? 0 : hdr_len - kIpv4HeaderLen + payload_len);
    } else {
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        th->cksum = ipv4_l4_cksum(m, ip, kIpv4HeaderLen, hdr_len - kIpv4HeaderLen + payload_len);
    }
    return true;
}

}  // namespace synack::wire
