// Interface, ICMP side (RFC 792): echo requests are answered in place; errors quoting a TCP segment of ours go to
// the TCP engine (RFC 1122 §4.2.3.9, RFC 1191, RFC 5927); the rest is someone else's.
#include <rte_icmp.h>
#include <rte_ip.h>

#include "net/frame_check.hpp"
#include "net/interface.hpp"
#include "net/mbuf_util.hpp"

namespace synack::net {

namespace {
constexpr uint8_t kDefaultTtl = 64;  // RFC 1122 §3.2.1.7 (the value RFC 1700 recommends)
constexpr uint32_t kIcmpErrorHdr = 8;   // type, code, checksum, 4 bytes (unused, or RFC 1191's next-hop MTU)
constexpr uint32_t kQuotedL4 = 8;       // RFC 792: the datagram's first 64 bits of data follow its header

bool is_error_type(uint8_t t) {
    // Source quench (4) is not among them: RFC 6633 says to ignore it. Redirects concern routing, not TCP.
    return t == kIcmpDestUnreachable || t == kIcmpTimeExceeded || t == kIcmpParamProblem;
}
}  // namespace

// Reads the quote of an ICMP error through rte_pktmbuf_read (any segment layout, every offset checked against the
// message length), and hands it to the engine when it is TCP we sent. False: not usable, the caller strays it.
bool Interface::icmp_error_input(rte_mbuf* m, uint32_t icmp_len) noexcept {
    constexpr uint32_t l4 = RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr);
    if (icmp_error_ == nullptr || icmp_len < kIcmpErrorHdr + sizeof(rte_ipv4_hdr) + kQuotedL4) return false;
    uint8_t hdr_buf[kIcmpErrorHdr];
    const auto* hdr = static_cast<const uint8_t*>(rte_pktmbuf_read(m, l4, kIcmpErrorHdr, hdr_buf));
    rte_ipv4_hdr ip_buf;
    const auto* q = static_cast<const rte_ipv4_hdr*>(rte_pktmbuf_read(m, l4 + kIcmpErrorHdr, sizeof(ip_buf), &ip_buf));
    if (hdr == nullptr || q == nullptr) return false;
    const uint32_t q_ihl = (q->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4u;
    if ((q->version_ihl >> 4) != IPVERSION || q_ihl < sizeof(rte_ipv4_hdr) || q->next_proto_id != IPPROTO_TCP ||
        q->src_addr != ip_be_ || kIcmpErrorHdr + q_ihl + kQuotedL4 > icmp_len)
        return false;
    // A fragment other than the first quotes no TCP header (we never fragment, so this is forged or garbled).
    if ((rte_be_to_cpu_16(q->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0) return false;
    uint8_t tcp_buf[kQuotedL4];
    const auto* th = static_cast<const uint8_t*>(rte_pktmbuf_read(m, l4 + kIcmpErrorHdr + q_ihl, kQuotedL4, tcp_buf));
    if (th == nullptr) return false;
    IcmpError e;
    e.type = hdr[0];
    e.code = hdr[1];
    if (e.type == kIcmpDestUnreachable && e.code == kIcmpFragNeeded)
        e.next_hop_mtu = static_cast<uint16_t>(hdr[6] << 8 | hdr[7]);
    e.quoted_len = rte_be_to_cpu_16(q->total_length);
    e.local_ip = rte_be_to_cpu_32(q->src_addr);
    e.remote_ip = rte_be_to_cpu_32(q->dst_addr);
    e.local_port = static_cast<uint16_t>(th[0] << 8 | th[1]);
    e.remote_port = static_cast<uint16_t>(th[2] << 8 | th[3]);
    e.seq = uint32_t{th[4]} << 24 | uint32_t{th[5]} << 16 | uint32_t{th[6]} << 8 | th[7];
    if (icmp_error_(icmp_error_ctx_, e)) ++counters_.rx_icmp_error_tcp;
    else ++counters_.rx_icmp_error_no_conn;
    rte_pktmbuf_free(m);
    return true;
}

void Interface::icmp_input(rte_mbuf* m, rte_ipv4_hdr* ip) noexcept {
    ++counters_.rx_icmp;
    NetCounters& c = counters_;
    constexpr uint32_t l4 = RTE_ETHER_HDR_LEN + sizeof(rte_ipv4_hdr);
    const uint32_t icmp_len = rte_be_to_cpu_16(ip->total_length) - sizeof(rte_ipv4_hdr);
    // RFC 792: every message starts with type, code, checksum and (for echo) identifier and sequence number.
    if (icmp_len < sizeof(rte_icmp_hdr)) [[unlikely]]
        return drop(m, c.rx_icmp_bad);
    if (l4 + sizeof(rte_icmp_hdr) > rte_pktmbuf_data_len(m)) [[unlikely]]
        return drop(m, c.rx_icmp_unusable);
    auto* icmp = rte_pktmbuf_mtod_offset(m, rte_icmp_hdr*, l4);
    const uint8_t type = icmp->icmp_type;
    // --share-kernel: the kernel answers pings to the address; one reaching us (only without synack's XDP
    // program) is not ours to answer twice.
    if ((type != RTE_IP_ICMP_ECHO_REQUEST && !is_error_type(type)) || (type == RTE_IP_ICMP_ECHO_REQUEST && cfg_.share_kernel)) {
        not_ours(m, c.rx_icmp_unhandled, Stray::icmp_other);
        return;
    }
    // RFC 792: the checksum covers the whole message; summed together with it, a correct message gives 0xffff.
    if (mbuf_raw_cksum(m, l4, icmp_len) != 0xffff) return drop(m, c.rx_icmp_bad);
    if (type != RTE_IP_ICMP_ECHO_REQUEST) {
        if (!icmp_error_input(m, icmp_len)) not_ours(m, c.rx_icmp_unhandled, Stray::icmp_other);
        return;
    }
    if (!mbuf_first_seg_writable(m)) [[unlikely]]
        return drop(m, c.rx_icmp_unusable);
    // A request larger than our MTU (the peer's link may allow more) cannot be answered whole: drop it.
    if (sizeof(rte_ipv4_hdr) + icmp_len > cfg_.mtu) [[unlikely]]
        return drop(m, c.rx_icmp_unusable);

    // RFC 792 echo reply: same identifier, sequence number and data (RFC 1122 §3.2.2.6: all of it), type 0, source
    // the specific address the request was sent to, i.e. ours. Sent back to the MAC it came from.
    mbuf_trim_to(m, l4 + icmp_len);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_code = 0;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = static_cast<uint16_t>(~mbuf_raw_cksum(m, l4, icmp_len));
    ip->dst_addr = ip->src_addr;
    ip->src_addr = ip_be_;
    ip->time_to_live = kDefaultTtl;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = cfg_.mac;
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = sizeof(rte_ipv4_hdr);
    ++c.icmp_echo_replies;
    transmit(m);
}

}  // namespace synack::net
