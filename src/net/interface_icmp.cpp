// Interface, ICMP side (RFC 792): echo requests are answered in place; nothing else is handled.
#include <rte_icmp.h>
#include <rte_ip.h>

#include "net/frame_check.hpp"
#include "net/interface.hpp"
#include "net/mbuf_util.hpp"

namespace synack::net {

namespace {
constexpr uint8_t kDefaultTtl = 64;  // RFC 1122 §3.2.1.7 (the value RFC 1700 recommends)
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
    // --share-kernel: the kernel answers pings to the address; one reaching us (only without synack's XDP
    // program) is not ours to answer twice.
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || cfg_.share_kernel) {
        not_ours(m, c.rx_icmp_unhandled, Stray::icmp_other);
        return;
    }
    // RFC 792: the checksum covers the whole message; summed together with it, a correct message gives 0xffff.
    if (mbuf_raw_cksum(m, l4, icmp_len) != 0xffff) return drop(m, c.rx_icmp_bad);
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
