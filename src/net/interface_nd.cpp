// Interface, ICMPv6 side (RFC 4443) and neighbour discovery (RFC 4861): echo answered in place, errors counted
// (Packet Too Big handed to a hook), neighbour solicitations and advertisements, router advertisements for the
// default router, and the neighbour cache's state machine (§7.3).
#include <algorithm>

#include <rte_ip.h>

#include "net/frame_check.hpp"
#include "net/interface.hpp"
#include "net/mbuf_util.hpp"

namespace synack::net {

using wire::Ip6Addr;

namespace {

// RFC 4443 §2.1 / RFC 4861 §4 message types.
constexpr uint8_t kDestUnreachable = 1, kPacketTooBig = 2, kTimeExceeded = 3, kParamProblem = 4;
constexpr uint8_t kEchoRequest = 128, kEchoReply = 129;
constexpr uint8_t kRouterAdvert = 134, kNeighborSolicit = 135, kNeighborAdvert = 136;
// RFC 4861 §4.6.1 options, §4.4 NA flags.
constexpr uint8_t kOptSourceLla = 1, kOptTargetLla = 2;
constexpr uint8_t kNaSolicited = 0x40, kNaOverride = 0x20;  // R (0x80) stays clear: we are no router
constexpr uint8_t kNdHopLimit = 255;       // RFC 4861 §6.1.2, §7.1: proves the message was not forwarded
constexpr uint8_t kDefaultHopLimit = 64;
constexpr uint32_t kNsNaLen = 24;           // type, code, cksum, 4 bytes (reserved / flags), target
constexpr uint32_t kRaLen = 16;
constexpr uint32_t kMinMtu6 = 1280;         // RFC 8200 §5
constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr rte_ether_addr kAllNodesMac{{0x33, 0x33, 0, 0, 0, 1}};

// RFC 2464 §7: an IPv6 group's MAC is 33:33 and the group's low 32 bits.
rte_ether_addr group_mac(const Ip6Addr& g) noexcept {
    return rte_ether_addr{{0x33, 0x33, g.b[12], g.b[13], g.b[14], g.b[15]}};
}

// RFC 4861 §4.6: options of 8-octet units, none of length 0. Finds the link-layer address option `want` (a
// 6-byte MAC on Ethernet, RFC 2464 §6: length 1). False when the options are malformed.
bool nd_options(const uint8_t* p, uint32_t n, uint8_t want, const rte_ether_addr** lla) noexcept {
    *lla = nullptr;
    for (uint32_t i = 0; i < n;) {
        if (i + 2 > n || p[i + 1] == 0 || i + p[i + 1] * 8u > n) return false;
        if (p[i] == want) {
            if (p[i + 1] != 1) return false;
            *lla = reinterpret_cast<const rte_ether_addr*>(p + i + 2);
        }
        i += p[i + 1] * 8u;
    }
    return true;
}

}  // namespace

void Interface::icmp6_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept {
    NetCounters& c = counters_;
    ++c.rx_icmp6;
    if (len < 4) [[unlikely]]
        return drop(m, c.rx_icmp6_bad);
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, RTE_ETHER_HDR_LEN);
    // RFC 4443 §2.3: the checksum covers the pseudo-header (next header 58) and the whole message.
    uint32_t sum = mbuf_raw_cksum(m, l4, len) + wire::ipv6_phdr_cksum(ip, len, wire::kIpProtoIcmp6);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    if (sum != 0xffff) return drop(m, c.rx_icmp6_bad);
    // Everything but echo parses the message through one pointer.
    const uint8_t type = *rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
    if (type != kEchoRequest && l4 + len > rte_pktmbuf_data_len(m)) [[unlikely]]
        return drop(m, c.rx_icmp6_unusable);
    switch (type) {
    case kEchoRequest: return icmp6_echo(m, l4, len);
    case kPacketTooBig: return icmp6_packet_too_big(m, l4, len);
    case kDestUnreachable:
    case kTimeExceeded:
    case kParamProblem: return drop(m, c.rx_icmp6_errors);
    case kNeighborSolicit: return nd_ns_input(m, l4, len, now);
    case kNeighborAdvert: return nd_na_input(m, l4, len, now);
    case kRouterAdvert: return nd_ra_input(m, l4, len, now);
    default: return drop(m, c.rx_icmp6_unhandled);
    }
}

void Interface::icmp6_echo(rte_mbuf* m, uint32_t l4, uint32_t len) noexcept {
    NetCounters& c = counters_;
    constexpr uint32_t l3 = RTE_ETHER_HDR_LEN;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, l3);
    // Answered in place: only to our unicast address (RFC 4443 §4.2 allows ignoring group requests), without
    // extension headers, within our MTU, when the buffer is ours to rewrite.
    if (ip->dst_addr[0] == 0xff || l4 != l3 + wire::kIpv6HeaderLen || len < 8 || l4 + 8 > rte_pktmbuf_data_len(m) ||
        !mbuf_first_seg_writable(m) || wire::kIpv6HeaderLen + len > cfg_.mtu) [[unlikely]]
        return drop(m, c.rx_icmp6_unusable);
    // RFC 4443 §4.2: type 129, identifier, sequence number and data of the request; source the address the
    // request was sent to (ours, so the two addresses swap).
    mbuf_trim_to(m, l4 + len);
    uint8_t tmp[16];
    std::memcpy(tmp, ip->src_addr, 16);
    std::memcpy(ip->src_addr, ip->dst_addr, 16);
    std::memcpy(ip->dst_addr, tmp, 16);
    ip->hop_limits = kDefaultHopLimit;
    auto* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, l4);
    icmp[0] = kEchoReply;
    icmp[1] = 0;
    icmp[2] = icmp[3] = 0;
    uint32_t sum = mbuf_raw_cksum(m, l4, len) + wire::ipv6_phdr_cksum(ip, len, wire::kIpProtoIcmp6);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    const auto ck = static_cast<uint16_t>(~sum);
    std::memcpy(icmp + 2, &ck, 2);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = cfg_.mac;
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = wire::kIpv6HeaderLen;
    ++c.icmp6_echo_replies;
    transmit(m);
}

void Interface::icmp6_packet_too_big(rte_mbuf* m, uint32_t l4, uint32_t len) noexcept {
    NetCounters& c = counters_;
    // RFC 4443 §3.2: MTU at +4, then as much of the offending packet as fits. We need its IPv6 header, with TCP
    // right after it (what we send), and the TCP ports; the source must be ours.
    constexpr uint32_t kQuote = 8;
    if (len < kQuote + wire::kIpv6HeaderLen + 4) [[unlikely]]
        return drop(m, c.rx_nd_bad);
    const auto* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
    const auto* q = reinterpret_cast<const rte_ipv6_hdr*>(p + kQuote);
    if ((p[kQuote] >> 4) != 6 || q->proto != IPPROTO_TCP || !is_our_ip6(q->src_addr)) [[unlikely]]
        return drop(m, c.rx_nd_bad);
    PacketTooBig ptb;
    ptb.quoted.src = Ip6Addr::from(q->src_addr);
    ptb.quoted.dst = Ip6Addr::from(q->dst_addr);
    const uint8_t* th = p + kQuote + wire::kIpv6HeaderLen;
    ptb.src_port = static_cast<uint16_t>(th[0] << 8 | th[1]);
    ptb.dst_port = static_cast<uint16_t>(th[2] << 8 | th[3]);
    if (len >= kQuote + wire::kIpv6HeaderLen + 8) {  // RFC 5927: the engine checks it against its window
        ptb.has_seq = true;
        ptb.seq = static_cast<uint32_t>(th[4]) << 24 | uint32_t{th[5]} << 16 | uint32_t{th[6]} << 8 | th[7];
    }
    // RFC 8201 §4: never below the IPv6 minimum link MTU.
    ptb.mtu = std::max(kMinMtu6, static_cast<uint32_t>(p[4]) << 24 | p[5] << 16 | p[6] << 8 | p[7]);
    ++c.rx_icmp6_packet_too_big;
    if (ptb_hook_ != nullptr) ptb_hook_(ptb_ctx_, ptb);
    rte_pktmbuf_free(m);
}

void Interface::nd_ns_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept {
    NetCounters& c = counters_;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, RTE_ETHER_HDR_LEN);
    const auto* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
    const Ip6Addr src = Ip6Addr::from(ip->src_addr);
    const Ip6Addr target = Ip6Addr::from(p + 8);
    const rte_ether_addr* slla = nullptr;
    // RFC 4861 §7.1.1 validation: hop limit 255, code 0, 24 bytes or more, target not a group, well-formed options;
    // from the unspecified address (DAD) only to a solicited-node group and without a source link-layer option.
    if (ip->hop_limits != kNdHopLimit || p[1] != 0 || len < kNsNaLen || target.is_multicast() ||
        !nd_options(p + kNsNaLen, len - kNsNaLen, kOptSourceLla, &slla) ||
        (src.is_unspecified() && (ip->dst_addr[0] != 0xff || ip->dst_addr[11] != 1 || slla != nullptr)) ||
        (slla != nullptr && !rte_is_valid_assigned_ether_addr(slla))) [[unlikely]]
        return drop(m, c.rx_nd_bad);
    ++c.rx_ns;
    if (!is_our_ip6(target.b)) {
        rte_pktmbuf_free(m);
        return;
    }
    // RFC 4861 §7.2.3: the source's link-layer address creates a STALE entry, or makes one STALE when it changed.
    if (slla != nullptr) {
        NdEntry* e = nd_.find(src);
        if (e == nullptr) {
            bool evicted = false;
            e = nd_.insert(src, &evicted);
            if (e == nullptr) {
                ++c.nd_cache_full;
            } else {
                if (evicted) ++c.nd_evicted;
                e->mac = *slla;
                nd_set_state(*e, NeighborState::stale, now);
                ++c.nd_learned;
            }
        } else if (e->state == NeighborState::incomplete || !rte_is_same_ether_addr(&e->mac, slla)) {
            e->mac = *slla;
            ++c.nd_updated;
            const bool was_incomplete = e->state == NeighborState::incomplete;
            nd_set_state(*e, NeighborState::stale, now);
            if (was_incomplete) nd_release(*e);
        }
    }
    // RFC 4861 §7.2.4: answer with S and O set to the soliciting address, or (DAD, RFC 4862 §5.4.3) to all nodes
    // with S clear. Sent to the link-layer source of the solicitation.
    const rte_ether_addr eth_src = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->src_addr;
    if (src.is_unspecified())
        send_na(Ip6Addr::from(kAllNodes), kAllNodesMac, target, false);
    else
        send_na(src, slla != nullptr ? *slla : eth_src, target, true);
    rte_pktmbuf_free(m);
}

void Interface::nd_na_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept {
    NetCounters& c = counters_;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, RTE_ETHER_HDR_LEN);
    const auto* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
    const uint8_t flags = p[4];
    const Ip6Addr target = Ip6Addr::from(p + 8);
    const rte_ether_addr* tlla = nullptr;
    // RFC 4861 §7.1.2 validation: hop limit 255, code 0, 24 bytes or more, target not a group, S clear when sent to
    // a group, well-formed options.
    if (ip->hop_limits != kNdHopLimit || p[1] != 0 || len < kNsNaLen || target.is_multicast() ||
        (ip->dst_addr[0] == 0xff && (flags & kNaSolicited) != 0) ||
        !nd_options(p + kNsNaLen, len - kNsNaLen, kOptTargetLla, &tlla) ||
        (tlla != nullptr && !rte_is_valid_assigned_ether_addr(tlla))) [[unlikely]]
        return drop(m, c.rx_nd_bad);
    ++c.rx_na;
    rte_pktmbuf_free(m);
    // RFC 4861 §7.2.5: no entry, no state to change (an unsolicited NA creates none).
    NdEntry* e = nd_.find(target);
    if (e == nullptr) return;
    const bool solicited = (flags & kNaSolicited) != 0;
    if (e->state == NeighborState::incomplete) {
        if (tlla == nullptr) return;
        e->mac = *tlla;
        ++c.nd_resolved;
        nd_set_state(*e, solicited ? NeighborState::reachable : NeighborState::stale, now);
        nd_release(*e);
        return;
    }
    const bool changed = tlla != nullptr && !rte_is_same_ether_addr(tlla, &e->mac);
    if ((flags & kNaOverride) == 0 && changed) {
        // Not overriding a different address: only a REACHABLE entry learns that its address is in doubt.
        if (e->state == NeighborState::reachable) nd_set_state(*e, NeighborState::stale, now);
        return;
    }
    if (changed) {
        e->mac = *tlla;
        ++c.nd_updated;
    }
    if (solicited)
        nd_set_state(*e, NeighborState::reachable, now);
    else if (changed)
        nd_set_state(*e, NeighborState::stale, now);
}

void Interface::nd_ra_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept {
    NetCounters& c = counters_;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, RTE_ETHER_HDR_LEN);
    const auto* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
    const Ip6Addr src = Ip6Addr::from(ip->src_addr);
    const rte_ether_addr* slla = nullptr;
    // RFC 4861 §6.1.2 validation: link-local source, hop limit 255, code 0, 16 bytes or more, options well formed.
    if (!src.is_link_local() || ip->hop_limits != kNdHopLimit || p[1] != 0 || len < kRaLen ||
        !nd_options(p + kRaLen, len - kRaLen, kOptSourceLla, &slla) ||
        (slla != nullptr && !rte_is_valid_assigned_ether_addr(slla))) [[unlikely]]
        return drop(m, c.rx_nd_bad);
    ++c.rx_ra;
    const uint32_t lifetime_s = static_cast<uint32_t>(p[6] << 8 | p[7]);
    rte_pktmbuf_free(m);
    // RFC 4861 §6.3.4: the source link-layer option updates the router's entry like an NS's would.
    if (slla != nullptr) {
        NdEntry* e = nd_.find(src);
        bool evicted = false;
        if (e == nullptr && (e = nd_.insert(src, &evicted)) != nullptr) {
            if (evicted) ++c.nd_evicted;
            e->mac = *slla;
            nd_set_state(*e, NeighborState::stale, now);
            ++c.nd_learned;
        } else if (e != nullptr && !rte_is_same_ether_addr(&e->mac, slla)) {
            const bool was_incomplete = e->state == NeighborState::incomplete;
            e->mac = *slla;
            ++c.nd_updated;
            nd_set_state(*e, NeighborState::stale, now);
            if (was_incomplete) nd_release(*e);
        }
    }
    // A configured gw6 wins; otherwise the last router with a non-zero lifetime is the default (§6.3.4: lifetime 0
    // takes it off the list).
    if (!cfg_.gw6.is_unspecified()) return;
    if (lifetime_s != 0) {
        if (!(router_ == src)) ++c.nd_router_learned;
        router_ = src;
        router_learned_ = true;
        router_deadline_ = now + hz_ * lifetime_s;
        arm_timer(router_deadline_);
    } else if (router_learned_ && router_ == src) {
        router_ = Ip6Addr{};
        router_learned_ = false;
        ++c.nd_router_expired;
    }
}

bool Interface::send_icmp6(const Ip6Addr& src, const Ip6Addr& dst, const rte_ether_addr& eth_dst, uint8_t type,
                           uint8_t flags, const Ip6Addr& target, uint8_t lla_option) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) [[unlikely]] {
        ++counters_.tx_alloc_failed;
        return false;
    }
    const uint32_t icmp_len = kNsNaLen + (lla_option != 0 ? 8 : 0);
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(RTE_ETHER_HDR_LEN + wire::kIpv6HeaderLen + icmp_len));
    if (p == nullptr) [[unlikely]] {
        drop(m, counters_.tx_alloc_failed);
        return false;
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = eth_dst;
    eth->src_addr = cfg_.mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p + RTE_ETHER_HDR_LEN);
    ip->vtc_flow = RTE_BE32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(icmp_len));
    ip->proto = wire::kIpProtoIcmp6;
    ip->hop_limits = kNdHopLimit;
    std::memcpy(ip->src_addr, src.b, 16);
    std::memcpy(ip->dst_addr, dst.b, 16);
    auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(icmp, 0, icmp_len);
    icmp[0] = type;
    icmp[4] = flags;
    std::memcpy(icmp + 8, target.b, 16);
    if (lla_option != 0) {
        icmp[kNsNaLen] = lla_option;
        icmp[kNsNaLen + 1] = 1;
        std::memcpy(icmp + kNsNaLen + 2, cfg_.mac.addr_bytes, 6);
    }
    const uint16_t ck = rte_ipv6_udptcp_cksum(ip, icmp);
    std::memcpy(icmp + 2, &ck, 2);
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = wire::kIpv6HeaderLen;
    transmit(m);
    return true;
}

bool Interface::send_na(const Ip6Addr& dst, const rte_ether_addr& eth_dst, const Ip6Addr& target,
                        bool solicited) noexcept {
    // RFC 4861 §7.2.4: source the target (ours), O set (we own the address), the target link-layer option.
    if (!send_icmp6(target, dst, eth_dst, kNeighborAdvert,
                    static_cast<uint8_t>(kNaOverride | (solicited ? kNaSolicited : 0)), target, kOptTargetLla))
        return false;
    ++(solicited ? counters_.nd_na_sent : counters_.nd_unsolicited_na_sent);
    return true;
}

void Interface::nd_send_ns(NdEntry& e, bool multicast, uint64_t now) noexcept {
    // RFC 4861 §7.2.2: to the target's solicited-node group while resolving, unicast while probing (§7.3.3); from
    // our address on the target's prefix (else the link-local one), with our link-layer address.
    const Ip6Addr src = !cfg_.ip6.is_unspecified() && !e.ip.is_link_local() &&
                                wire::same_prefix(e.ip, cfg_.ip6, cfg_.prefix6_len)
                            ? cfg_.ip6
                            : link_local_;
    const Ip6Addr dst = multicast ? wire::solicited_node(e.ip) : e.ip;
    if (resolver6_ != nullptr) {  // --share-kernel: the kernel resolves; kernel_neighbour6() brings its answer
        ++(resolver6_(resolver6_ctx_, e.ip) ? counters_.nd_kernel_asked : counters_.nd_kernel_ask_deferred);
    } else if (send_icmp6(src, dst, multicast ? group_mac(dst) : e.mac, kNeighborSolicit, 0, e.ip, kOptSourceLla)) {
        ++counters_.nd_ns_sent;
    }
    ++e.requests;
    e.deadline = now + retry_cycles_;  // RFC 4861 §10 RETRANS_TIMER (arp_retry_ms)
    arm_timer(e.deadline);
}

// --share-kernel: the kernel's table gave the address, as a solicited NA with the override flag would (§7.2.5).
// Only an entry still asking (INCOMPLETE or PROBE): a second answer to a retried question finds it settled.
void Interface::kernel_neighbour6(const Ip6Addr& ip, const rte_ether_addr& mac, uint64_t now) noexcept {
    NdEntry* found = nd_.find(ip);
    if (found == nullptr || (found->state != NeighborState::incomplete && found->state != NeighborState::probe))
        return;
    NdEntry& e = *found;
    const bool incomplete = e.state == NeighborState::incomplete;
    e.mac = mac;
    ++(incomplete ? counters_.nd_resolved : counters_.nd_updated);
    nd_set_state(e, NeighborState::reachable, now);
    if (incomplete) nd_release(e);
}

void Interface::nd_set_state(NdEntry& e, NeighborState s, uint64_t now) noexcept {
    e.state = s;
    e.requests = 0;
    switch (s) {
    case NeighborState::reachable: e.deadline = now + nd_reachable_cycles_; break;
    case NeighborState::delay: e.deadline = now + nd_delay_cycles_; break;
    default: e.deadline = now + ttl_cycles_; break;  // stale: forgotten after arp_ttl_ms unless used
    }
    arm_timer(e.deadline);
}

void Interface::nd_release(NdEntry& e) noexcept {
    while (rte_mbuf* m = nd_.take_held(e)) emit(m, e.mac, RTE_BE16(RTE_ETHER_TYPE_IPV6));
}

void Interface::nd_fail(NdEntry& e) noexcept {
    while (rte_mbuf* m = nd_.take_held(e)) drop(m, counters_.nd_pending_dropped);
    ++counters_.nd_failed;
    nd_.erase(e);
}

// RFC 4861 §7.3.3 timers: INCOMPLETE retries then fails; REACHABLE -> STALE; STALE is forgotten; DELAY -> PROBE;
// PROBE retries unicast then fails. Also the learned default router's lifetime. Returns the next deadline.
uint64_t Interface::nd_poll(uint64_t now) noexcept {
    if (router_learned_ && now >= router_deadline_) {
        router_ = Ip6Addr{};
        router_learned_ = false;
        ++counters_.nd_router_expired;
    }
    uint64_t next = router_learned_ ? router_deadline_ : UINT64_MAX;
    for (NdEntry& e : nd_.entries()) {
        if (e.state == NeighborState::free) continue;
        if (e.deadline > now) {
            next = std::min(next, e.deadline);
            continue;
        }
        switch (e.state) {
        case NeighborState::incomplete:
        case NeighborState::probe:
            if (e.requests > cfg_.arp_max_retries) {
                nd_fail(e);
                continue;
            }
            nd_send_ns(e, e.state == NeighborState::incomplete, now);
            break;
        case NeighborState::reachable: nd_set_state(e, NeighborState::stale, now); break;
        case NeighborState::stale:
            ++counters_.nd_expired;
            nd_.erase(e);
            continue;
        case NeighborState::delay:
            e.state = NeighborState::probe;
            e.requests = 0;
            nd_send_ns(e, false, now);
            break;
        default: break;
        }
        next = std::min(next, e.deadline);
    }
    return next;
}

void Interface::announce(uint64_t now_cycles) noexcept {
    if (cfg_.ip != 0) send_gratuitous_arp(now_cycles);
    if (link_local_.is_unspecified() || cfg_.share_kernel) return;  // --share-kernel: the kernel's to announce
    // RFC 4861 §7.2.6: unsolicited advertisements (S clear, O set) to all nodes, for each of our addresses.
    send_na(Ip6Addr::from(kAllNodes), kAllNodesMac, link_local_, false);
    if (!cfg_.ip6.is_unspecified()) send_na(Ip6Addr::from(kAllNodes), kAllNodesMac, cfg_.ip6, false);
}

}  // namespace synack::net
