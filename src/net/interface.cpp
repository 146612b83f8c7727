// Interface: construction, Ethernet/IPv4 receive classification, IPv4 transmit (next hop, Ethernet, TX ring).
#include "net/interface.hpp"

#include <netinet/in.h>

#include <stdexcept>

#include <rte_ip.h>

#include "net/frame_check.hpp"
#include "net/ipv4_addr.hpp"
#include "net/mbuf_util.hpp"

namespace synack::net {

namespace {

const NetConfig& checked(const NetConfig& cfg, rte_mempool* pool, uint64_t tsc_hz) {
    validate(cfg);
    if (pool == nullptr) throw std::invalid_argument("synack::net::Interface: mbuf pool is null");
    if (tsc_hz == 0) throw std::invalid_argument("synack::net::Interface: tsc_hz is 0");
    return cfg;
}

uint64_t ms_to_cycles(uint64_t tsc_hz, uint64_t ms) { return tsc_hz / 1000 * ms + tsc_hz % 1000 * ms / 1000; }

constexpr uint64_t kAnnounceIntervalMs = 2000;  // RFC 5227 §1.1 ANNOUNCE_INTERVAL

}  // namespace

Interface::Interface(const NetConfig& cfg, rte_mempool* pool, uint64_t tsc_hz)
    : cfg_(checked(cfg, pool, tsc_hz)),
      pool_(pool),
      mask_(prefix_mask(cfg.prefix_len)),
      ip_be_(rte_cpu_to_be_32(cfg.ip)),
      retry_cycles_(ms_to_cycles(tsc_hz, cfg.arp_retry_ms)),
      ttl_cycles_(ms_to_cycles(tsc_hz, cfg.arp_ttl_ms)),
      announce_interval_cycles_(ms_to_cycles(tsc_hz, kAnnounceIntervalMs)),
      arp_(cfg.arp_cache_size, cfg.arp_pending_max),
      nd_(cfg.ip6.is_unspecified() ? 1 : cfg.arp_cache_size, cfg.arp_pending_max),
      nd_reachable_cycles_(ms_to_cycles(tsc_hz, cfg.nd_reachable_ms)),
      nd_delay_cycles_(ms_to_cycles(tsc_hz, cfg.nd_delay_ms)),
      hz_(tsc_hz),
      tx_(cfg.tx_ring_size) {
    if (cfg.ip6.is_unspecified()) return;
    // RFC 4291 App. A / RFC 4862 §5.3: fe80::/64 and the modified EUI-64 of the MAC (universal/local bit flipped).
    const uint8_t* mac = cfg.mac.addr_bytes;
    const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(mac[0] ^ 0x02), mac[1], mac[2], 0xff,
                            0xfe, mac[3], mac[4], mac[5]};
    link_local_ = wire::Ip6Addr::from(ll);
    router_ = cfg.gw6;
}

rte_mbuf* Interface::input(rte_mbuf* m, uint64_t now_cycles) noexcept {
    ++counters_.rx_frames;
    if (!headers_in_first_seg(m, RTE_ETHER_HDR_LEN, counters_)) return nullptr;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    // Ours, broadcast, or (with IPv6) an IPv6 group MAC, 33:33 + the group's low 32 bits (RFC 2464 §7): which
    // group is checked on the IPv6 destination. Other multicast goes to the exception path if there is one. The
    // source MAC may equal ours (a tap's kernel side shares it), so it is never a reason to drop; a group source is
    // (IEEE 802.3: the I/G bit of a source is 0).
    if (!rte_is_same_ether_addr(&eth->dst_addr, &cfg_.mac) && !rte_is_broadcast_ether_addr(&eth->dst_addr) &&
        !(eth->dst_addr.addr_bytes[0] == 0x33 && eth->dst_addr.addr_bytes[1] == 0x33 && !link_local_.is_unspecified())) {
        if (rte_is_multicast_ether_addr(&eth->dst_addr)) return not_ours(m, counters_.rx_not_for_us, Stray::multicast);
        return dropped(m, counters_.rx_not_for_us);
    }
    if (rte_is_multicast_ether_addr(&eth->src_addr)) [[unlikely]]
        return dropped(m, counters_.rx_bad_src_mac);
    switch (eth->ether_type) {
    case RTE_BE16(RTE_ETHER_TYPE_IPV4):
        if (cfg_.ip == 0) [[unlikely]]
            return dropped(m, counters_.rx_unknown_ethertype);
        return ipv4_input(m);
    case RTE_BE16(RTE_ETHER_TYPE_IPV6):
        return ipv6_input(m, now_cycles);
    case RTE_BE16(RTE_ETHER_TYPE_ARP):
        if (cfg_.ip == 0) [[unlikely]]
            return dropped(m, counters_.rx_unknown_ethertype);
        if (stray_ != nullptr) {  // the kernel behind the exception path needs its neighbours' addresses too
            if (rte_mbuf* copy = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX)) stray_(stray_ctx_, copy, Stray::arp_copy);
        }
        arp_input(m, now_cycles);
        return nullptr;
    default:
        return not_ours(m, counters_.rx_unknown_ethertype, Stray::other_ethertype);
    }
}

rte_mbuf* Interface::ipv4_input(rte_mbuf* m) noexcept {
    constexpr uint32_t l3 = RTE_ETHER_HDR_LEN;
    if (!headers_in_first_seg(m, l3 + sizeof(rte_ipv4_hdr), counters_)) return nullptr;
    ++counters_.rx_ipv4;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3);
    NetCounters& c = counters_;

    // RFC 791 §3.1: version 4; IHL in 32-bit words, at least 5.
    if ((ip->version_ihl >> 4) != IPVERSION) [[unlikely]]
        return dropped(m, c.rx_ip_bad_version);
    const uint8_t ihl = ip->version_ihl & RTE_IPV4_HDR_IHL_MASK;
    if (ihl < RTE_IPV4_MIN_IHL) [[unlikely]]
        return dropped(m, c.rx_ip_bad_header_len);
    // By design we take no options (RFC 1122 §3.2.1.8 would have us parse them): the TCP header then always sits
    // 20 bytes in, and TCP traffic practically never carries options.
    if (ihl > RTE_IPV4_MIN_IHL) [[unlikely]]
        return not_ours(m, c.rx_ip_options, Stray::ip_unsupported);
    // RFC 791: total length covers header and data; anything after it in the frame is link padding.
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < sizeof(rte_ipv4_hdr) || total > rte_pktmbuf_pkt_len(m) - l3) [[unlikely]]
        return dropped(m, c.rx_ip_bad_total_len);
    // RFC 1122 §3.2.1.2: verify the header checksum, unless the port already did (GOOD, or NONE = verified).
    const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD || (ck == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && rte_ipv4_cksum(ip) != 0))
        [[unlikely]]
        return dropped(m, c.rx_ip_bad_checksum);
    // RFC 1122 §3.2.1.3: we are one unicast address; broadcasts and other hosts' packets are not ours. And
    // §3.3.6: a unicast datagram that arrived in a link-layer broadcast SHOULD be discarded.
    if (ip->dst_addr != ip_be_ || rte_is_broadcast_ether_addr(&rte_pktmbuf_mtod(m, const rte_ether_hdr*)->dst_addr))
        [[unlikely]]
        return not_ours(m, c.rx_ip_not_for_us, Stray::ip_not_for_us);
    // No reassembly: any fragment (MF set or offset non-zero, RFC 791 §3.2) is dropped.
    if ((ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) [[unlikely]]
        return not_ours(m, c.rx_ip_fragment, Stray::ip_unsupported);
    // Our own address as the source is a LAND attack or a loop, never a peer.
    if (ip->src_addr == ip_be_ || is_invalid_source(rte_be_to_cpu_32(ip->src_addr), cfg_.ip, mask_)) [[unlikely]]
        return dropped(m, c.rx_ip_bad_src);

    switch (ip->next_proto_id) {
    case IPPROTO_TCP:
        mbuf_trim_to(m, l3 + total);
        rte_pktmbuf_adj(m, l3);
        ++c.rx_tcp;
        return m;
    case IPPROTO_ICMP:
        icmp_input(m, ip);
        return nullptr;
    default:
        return not_ours(m, c.rx_ip_unknown_proto, Stray::ip_other_proto);
    }
}

void Interface::output(rte_mbuf* m, uint64_t now_cycles) noexcept {
    NetCounters& c = counters_;
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ipv4_hdr)) [[unlikely]]
        return drop(m, c.tx_malformed);
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    if ((ip->version_ihl >> 4) != IPVERSION) [[unlikely]] {
        if ((ip->version_ihl >> 4) == 6) return output6(m, now_cycles);
        return drop(m, c.tx_malformed);
    }
    if (cfg_.ip == 0) [[unlikely]]
        return drop(m, c.tx_no_route);
    if (rte_pktmbuf_headroom(m) < RTE_ETHER_HDR_LEN) [[unlikely]]
        return drop(m, c.tx_no_headroom);
    if (rte_pktmbuf_pkt_len(m) > cfg_.mtu && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) == 0) [[unlikely]]
        return drop(m, c.tx_too_big);

    // We send unicast only (TCP never broadcasts, RFC 1122 §4.2.3.10), and never to ourselves over the wire.
    const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
    if (dst == cfg_.ip || dst == kLimitedBroadcast || is_invalid_source(dst, cfg_.ip, mask_)) [[unlikely]]
        return drop(m, c.tx_no_route);
    // RFC 1122 §3.3.1.1: on-link destinations directly, the rest through the gateway.
    uint32_t next_hop = dst;
    if (((dst ^ cfg_.ip) & mask_) != 0) {
        if (cfg_.gateway == 0) [[unlikely]]
            return drop(m, c.tx_no_route);
        next_hop = cfg_.gateway;
    }

    ArpEntry* e = arp_.find(next_hop);
    if (e != nullptr && e->state == ArpState::reachable) [[likely]] {
        e->referenced = true;
        return emit(m, e->mac);
    }
    if (e == nullptr) {
        bool evicted = false;
        e = arp_.insert(next_hop, &evicted);
        if (e == nullptr) [[unlikely]]
            return drop(m, c.arp_cache_full);
        if (evicted) ++c.arp_evicted;
        e->state = ArpState::incomplete;
        arp_send_request(*e, now_cycles);
    }
    // RFC 1122 §2.3.2.2: hold the packet until the reply; keep the newest when the queue is full.
    if (rte_mbuf* old = arp_.hold(*e, m)) drop(old, c.arp_pending_overflow);
}

void Interface::emit(rte_mbuf* m, const rte_ether_addr& dst, rte_be16_t type) noexcept {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN));  // room checked
    rte_ether_addr_copy(&dst, &eth->dst_addr);
    rte_ether_addr_copy(&cfg_.mac, &eth->src_addr);
    eth->ether_type = type;
    m->l2_len = RTE_ETHER_HDR_LEN;
    transmit(m);
}

void Interface::transmit(rte_mbuf* m) noexcept {
    if (tx_.push(m)) [[likely]]
        ++counters_.tx_frames;
    else
        drop(m, counters_.tx_queue_full);
}

}  // namespace synack::net
