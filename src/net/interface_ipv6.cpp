// Interface, IPv6 side (RFC 8200): receive classification through the extension-header walk, and transmit through
// the neighbour cache (RFC 4861 §7.2.2 resolution, §7.3.3 state changes on sending).
#include <netinet/in.h>

#include <rte_ip.h>

#include "net/frame_check.hpp"
#include "net/interface.hpp"
#include "net/mbuf_util.hpp"

namespace synack::net {

using wire::Ip6Addr;
using wire::Ip6Status;

bool Interface::is_our_ip6(const uint8_t* a) const noexcept {
    return std::memcmp(a, link_local_.b, 16) == 0 || (std::memcmp(a, cfg_.ip6.b, 16) == 0);
}

namespace {

uint64_t& walk_counter(NetCounters& c, Ip6Status s) noexcept {
    switch (s) {
    case Ip6Status::truncated:  // cannot happen after headers_in_first_seg(54): kept for completeness
    case Ip6Status::headers_split: return c.rx_ip6_headers_split;
    case Ip6Status::bad_version: return c.rx_ip6_bad_version;
    case Ip6Status::bad_payload_len: return c.rx_ip6_bad_payload_len;
    case Ip6Status::ext_past_payload: return c.rx_ip6_ext_past_payload;
    case Ip6Status::ext_chain_too_long: return c.rx_ip6_ext_chain_too_long;
    case Ip6Status::hop_by_hop_not_first: return c.rx_ip6_hop_by_hop_not_first;
    case Ip6Status::bad_option: return c.rx_ip6_bad_option;
    case Ip6Status::option_discard: return c.rx_ip6_option_discard;
    case Ip6Status::option_param_problem: return c.rx_ip6_option_param_problem;
    case Ip6Status::routing_type0: return c.rx_ip6_routing_type0;
    case Ip6Status::routing_segments_left: return c.rx_ip6_routing_segments_left;
    default: return c.rx_ip6_fragment;
    }
}

// RFC 4291 §2.7.1: the groups a host joins on a link: all-nodes ff02::1 and the solicited-node group of each of its
// addresses.
bool is_our_group(const uint8_t* a, const Ip6Addr& ll, const Ip6Addr& global) noexcept {
    static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(a, kAllNodes, 16) == 0) return true;
    const Ip6Addr g = Ip6Addr::from(a);
    return g == wire::solicited_node(ll) || (!global.is_unspecified() && g == wire::solicited_node(global));
}

}  // namespace

rte_mbuf* Interface::ipv6_input(rte_mbuf* m, uint64_t now) noexcept {
    constexpr uint32_t l3 = RTE_ETHER_HDR_LEN;
    if (!headers_in_first_seg(m, l3 + sizeof(rte_ipv6_hdr), counters_)) return nullptr;
    NetCounters& c = counters_;
    ++c.rx_ipv6;
    if (link_local_.is_unspecified()) [[unlikely]]
        return not_ours(m, c.rx_ip6_no_ipv6, Stray::other_ethertype);  // the kernel's, with an exception path
    const auto* base = rte_pktmbuf_mtod_offset(m, const uint8_t*, l3);
    wire::Ip6Walk w;
    const Ip6Status st = wire::ipv6_walk(base, rte_pktmbuf_data_len(m) - l3, rte_pktmbuf_pkt_len(m) - l3, w);
    if (st != Ip6Status::ok) [[unlikely]]
        return dropped(m, walk_counter(c, st));
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(base);

    // Ours: one of our unicast addresses, or (for ICMPv6 only: neighbour discovery) a group we joined. A unicast
    // destination in an Ethernet group frame is not for us (as RFC 1122 §3.3.6 has it for IPv4).
    const bool group = ip->dst_addr[0] == 0xff;
    const bool eth_group = rte_is_multicast_ether_addr(&rte_pktmbuf_mtod(m, const rte_ether_hdr*)->dst_addr);
    if (group ? !is_our_group(ip->dst_addr, link_local_, cfg_.ip6) : (eth_group || !is_our_ip6(ip->dst_addr)))
        [[unlikely]]
        return dropped(m, c.rx_ip6_not_for_us);
    // RFC 4291 §2.7: never a multicast source; loopback never on a link (§2.5.3); IPv4-mapped never on the wire
    // (RFC 4291 §2.5.5.2); our own address is a loop or a LAND attack. Unspecified is left to ND (DAD probes).
    const Ip6Addr src = Ip6Addr::from(ip->src_addr);
    if (src.is_multicast() || src.is_loopback() || src.is_v4_mapped() || is_our_ip6(ip->src_addr)) [[unlikely]]
        return dropped(m, c.rx_ip6_bad_src);
    if (w.atomic_fragment) ++c.rx_ip6_atomic_fragment;

    switch (w.proto) {
    case IPPROTO_TCP:
        if (group || src.is_unspecified()) [[unlikely]]
            return dropped(m, group ? c.rx_ip6_not_for_us : c.rx_ip6_bad_src);
        mbuf_trim_to(m, l3 + wire::kIpv6HeaderLen + rte_be_to_cpu_16(ip->payload_len));
        rte_pktmbuf_adj(m, l3);
        ++c.rx_tcp6;
        return m;
    case wire::kIpProtoIcmp6:
        icmp6_input(m, l3 + w.l4_off, w.l4_len, now);
        return nullptr;
    default:
        return dropped(m, c.rx_ip6_unknown_proto);
    }
}

void Interface::output6(rte_mbuf* m, uint64_t now) noexcept {
    NetCounters& c = counters_;
    if (link_local_.is_unspecified()) [[unlikely]]
        return drop(m, c.tx_no_route);
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ipv6_hdr)) [[unlikely]]
        return drop(m, c.tx_malformed);
    if (rte_pktmbuf_headroom(m) < RTE_ETHER_HDR_LEN) [[unlikely]]
        return drop(m, c.tx_no_headroom);
    if (rte_pktmbuf_pkt_len(m) > cfg_.mtu && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) == 0) [[unlikely]]
        return drop(m, c.tx_too_big);
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
    const Ip6Addr dst = Ip6Addr::from(ip->dst_addr);
    // Unicast only (TCP never multicasts), never to ourselves over the wire.
    if (dst.is_multicast() || dst.is_unspecified() || dst.is_loopback() || dst.is_v4_mapped() ||
        is_our_ip6(dst.b)) [[unlikely]]
        return drop(m, c.tx_no_route);
    // RFC 4861 §5.2 next-hop determination: link-local and on-prefix destinations directly, the rest through the
    // default router.
    Ip6Addr next_hop = dst;
    if (!dst.is_link_local() && (cfg_.ip6.is_unspecified() || !wire::same_prefix(dst, cfg_.ip6, cfg_.prefix6_len))) {
        if (router_.is_unspecified()) [[unlikely]]
            return drop(m, c.tx_no_route);
        next_hop = router_;
    }

    NdEntry* e = nd_.find(next_hop);
    if (e != nullptr && e->state != NeighborState::incomplete) [[likely]] {
        e->referenced = true;
        // RFC 4861 §7.3.3: the first packet to a STALE neighbour starts DELAY (probed unless confirmed meanwhile).
        if (e->state == NeighborState::stale) nd_set_state(*e, NeighborState::delay, now);
        return emit(m, e->mac, RTE_BE16(RTE_ETHER_TYPE_IPV6));
    }
    if (e == nullptr) {
        bool evicted = false;
        e = nd_.insert(next_hop, &evicted);
        if (e == nullptr) [[unlikely]]
            return drop(m, c.nd_cache_full);
        if (evicted) ++c.nd_evicted;
        e->state = NeighborState::incomplete;
        // Held before asking: with --share-kernel the kernel's table may answer at once, releasing what waits.
        if (rte_mbuf* old = nd_.hold(*e, m)) drop(old, c.nd_pending_overflow);
        return nd_send_ns(*e, true, now);
    }
    // RFC 4861 §7.2.2: queue while resolving; keep the newest when the queue is full.
    if (rte_mbuf* old = nd_.hold(*e, m)) drop(old, c.nd_pending_overflow);
}

}  // namespace synack::net
