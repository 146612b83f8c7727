// Interface, ARP side (RFC 826): answering requests, learning senders, resolving next hops, the ARP timers,
// RFC 5227 announcements, and the timer scan of both neighbour tables.
#include <rte_arp.h>

#include "net/frame_check.hpp"
#include "net/interface.hpp"
#include "net/ipv4_addr.hpp"

namespace synack::net {

namespace {
constexpr rte_ether_addr kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
constexpr rte_ether_addr kZeroMac{};
constexpr uint32_t kAnnounceNum = 2;  // RFC 5227 §1.1 ANNOUNCE_NUM
}  // namespace

void Interface::arp_input(rte_mbuf* m, uint64_t now) noexcept {
    if (!headers_in_first_seg(m, RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr), counters_)) return;
    ++counters_.rx_arp;
    NetCounters& c = counters_;
    const auto* arp = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, RTE_ETHER_HDR_LEN);
    const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
    // RFC 826: we speak Ethernet (hrd 1, hln 6) / IPv4 (pro 0x0800, pln 4), opcodes request and reply.
    if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) || arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
        arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != sizeof(uint32_t) ||
        (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)) [[unlikely]]
        return drop(m, c.rx_arp_bad);
    const rte_ether_addr sha = arp->arp_data.arp_sha;
    const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    // A zero or group sender MAC would poison the table; sender IP 0 is an RFC 5227 §2.1.1 probe and is fine.
    if (!rte_is_valid_assigned_ether_addr(&sha) || (sip != 0 && is_invalid_source(sip, cfg_.ip, mask_)))
        [[unlikely]]
        return drop(m, c.rx_arp_bad);
    // RFC 5227 §2.4: another host claims our address. We neither give it up nor defend it; the counter tells.
    if (sip == cfg_.ip) [[unlikely]]
        return drop(m, c.rx_arp_conflict);

    // RFC 826 merge: whoever the packet is for, an entry we already have for the sender takes its MAC. Only
    // on-link senders are kept: nobody else can be a next hop.
    const bool on_link = sip != 0 && ((sip ^ cfg_.ip) & mask_) == 0;
    bool merged = false;
    if (on_link) {
        if (ArpEntry* e = arp_.find(sip)) {
            arp_merge(*e, sha, now);
            merged = true;
        }
    }
    if (tip != cfg_.ip) return drop(m, c.rx_arp_not_for_us);

    // RFC 826: we are the target, so add the sender if the merge found nothing.
    if (on_link && !merged) {
        bool evicted = false;
        if (ArpEntry* e = arp_.insert(sip, &evicted)) {
            if (evicted) ++c.arp_evicted;
            e->state = ArpState::reachable;
            e->mac = sha;
            e->deadline = now + ttl_cycles_;
            arm_timer(e->deadline);
            ++c.arp_learned;
        } else {
            ++c.arp_cache_full;
        }
    }
    // RFC 826: answer a request with our addresses as sender, sent to the requester's hardware address. A probe
    // (sender IP 0) gets the same answer, which is how the prober learns the address is taken (RFC 5227 §2.1.1).
    // --share-kernel: the kernel answers for the address (a frame reaches us only without synack's XDP program).
    if (op == RTE_ARP_OP_REQUEST && !cfg_.share_kernel && send_arp(RTE_ARP_OP_REPLY, sha, sha, sip))
        ++c.arp_replies_sent;
    rte_pktmbuf_free(m);
}

void Interface::arp_merge(ArpEntry& e, const rte_ether_addr& mac, uint64_t now) noexcept {
    e.mac = mac;
    e.deadline = now + ttl_cycles_;
    arm_timer(e.deadline);
    if (e.state == ArpState::reachable) {
        e.requests = 0;  // a --share-kernel refresh answered
        ++counters_.arp_updated;
        return;
    }
    // Resolved: release the held packets in the order they were sent.
    e.state = ArpState::reachable;
    e.requests = 0;
    ++counters_.arp_resolved;
    while (rte_mbuf* m = arp_.take_held(e)) emit(m, e.mac);
}

void Interface::arp_send_request(ArpEntry& e, uint64_t now) noexcept {
    if (resolver_ != nullptr) {  // --share-kernel: the kernel resolves; kernel_neighbour() brings its answer
        ++(resolver_(resolver_ctx_, e.ip) ? counters_.arp_kernel_asked : counters_.arp_kernel_ask_deferred);
    } else if (send_arp(RTE_ARP_OP_REQUEST, kBroadcastMac, kZeroMac, e.ip)) {
        // RFC 826 request, broadcast; target hardware address unknown, so zero.
        ++counters_.arp_requests_sent;
    }
    ++e.requests;
    e.deadline = now + retry_cycles_;  // RFC 1122 §2.3.2.1: at most one request per arp_retry_ms per target
    arm_timer(e.deadline);
}

void Interface::kernel_neighbour(uint32_t ip, const rte_ether_addr& mac, uint64_t now) noexcept {
    ArpEntry* e = arp_.find(ip);
    // Only an entry still asking (resolving, or refreshing: see poll()): a second answer to a retried question
    // finds it settled already.
    if (e != nullptr && (e->state == ArpState::incomplete || e->requests != 0)) arp_merge(*e, mac, now);
}

void Interface::arp_fail(ArpEntry& e) noexcept {
    while (rte_mbuf* m = arp_.take_held(e)) drop(m, counters_.arp_pending_dropped);
    ++counters_.arp_failed;
    arp_.erase(e);
}

bool Interface::send_arp(uint16_t op, const rte_ether_addr& eth_dst, const rte_ether_addr& tha,
                         uint32_t tip) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) [[unlikely]] {
        ++counters_.tx_alloc_failed;
        return false;
    }
    char* p = rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr));
    if (p == nullptr) [[unlikely]] {
        drop(m, counters_.tx_alloc_failed);
        return false;
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = eth_dst;
    eth->src_addr = cfg_.mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(p + RTE_ETHER_HDR_LEN);
    arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = sizeof(uint32_t);
    arp->arp_opcode = rte_cpu_to_be_16(op);
    arp->arp_data.arp_sha = cfg_.mac;
    arp->arp_data.arp_sip = ip_be_;
    arp->arp_data.arp_tha = tha;
    arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
    transmit(m);
    return true;
}

void Interface::send_gratuitous_arp(uint64_t now_cycles) noexcept {
    if (cfg_.share_kernel) return;  // the kernel owns the address and announces it
    // RFC 5227 §2.3: a request with sender and target IP ours and target MAC zero, broadcast; repeated by poll().
    if (send_arp(RTE_ARP_OP_REQUEST, kBroadcastMac, kZeroMac, cfg_.ip)) ++counters_.arp_announcements_sent;
    announcements_left_ = kAnnounceNum - 1;
    announce_at_ = now_cycles + announce_interval_cycles_;
}

void Interface::poll(uint64_t now_cycles) noexcept {
    if (announcements_left_ != 0 && now_cycles >= announce_at_) [[unlikely]] {
        if (send_arp(RTE_ARP_OP_REQUEST, kBroadcastMac, kZeroMac, cfg_.ip)) ++counters_.arp_announcements_sent;
        --announcements_left_;
        announce_at_ += announce_interval_cycles_;
    }
    if (now_cycles < next_timer_) [[likely]]
        return;
    uint64_t next = UINT64_MAX;
    for (ArpEntry& e : arp_.entries()) {
        if (e.state == ArpState::free) continue;
        if (e.deadline <= now_cycles) {
            if (e.state != ArpState::reachable) {
                if (e.requests > cfg_.arp_max_retries) {
                    arp_fail(e);
                    continue;
                }
                arp_send_request(e, now_cycles);
            } else if (resolver_ != nullptr && e.referenced && e.requests == 0) {
                // --share-kernel: a next hop in use is checked against the kernel's table (which the kernel keeps
                // valid by its own probes) while its MAC stays in use, so a busy flow never waits for the round
                // trip to the neighbour thread. Timed out as below unless the answer comes within one retry.
                e.referenced = false;
                arp_send_request(e, now_cycles);
            } else {
                // RFC 1122 §2.3.2.1 (1): time entries out even while in use; the next packet asks again.
                ++counters_.arp_expired;
                arp_.erase(e);
                continue;
            }
        }
        if (e.deadline < next) next = e.deadline;
    }
    if (!link_local_.is_unspecified()) {
        const uint64_t nd_next = nd_poll(now_cycles);
        if (nd_next < next) next = nd_next;
    }
    next_timer_ = next;
}

}  // namespace synack::net
