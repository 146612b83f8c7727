/// @file
/// The L2/L3 layer between one DPDK port queue and the TCP engine: Ethernet, ARP (RFC 826), IPv4 (RFC 791,
/// RFC 1122), ICMP echo (RFC 792), IPv6 (RFC 8200), ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861).
/// One instance per core per port, touched by that core only (no locks). Either family may be off (NetConfig ip or
/// ip6 unset); with IPv6 on, the interface also owns the link-local address derived from its MAC.
///
/// Mbuf ownership: input() and output() take the mbuf; input() may give it back (TCP). drain_tx() hands frames to
/// the caller, who passes them to rte_eth_tx_burst and frees what the port refused.
#pragma once
#include <cstdint>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "net/arp_cache.hpp"
#include "net/config.hpp"
#include "net/counters.hpp"
#include "net/icmp_error.hpp"
#include "net/mbuf_ring.hpp"

struct rte_ipv4_hdr;
struct rte_ipv6_hdr;

namespace synack::net {

/// Why a frame was handed to the exception path (Interface::set_stray_handler) rather than dropped.
enum class Stray : uint8_t {
    other_ethertype,  ///< neither ARP nor IPv4 (IPv6, LLDP, ...): rx_unknown_ethertype
    multicast,        ///< to a multicast MAC (IPv6 neighbour discovery, mDNS, ...): rx_not_for_us
    arp_copy,         ///< a copy of every ARP frame, so the kernel knows its neighbours too
    ip_not_for_us,    ///< another or a broadcast IPv4 destination: rx_ip_not_for_us
    ip_unsupported,   ///< a fragment or a header with options: rx_ip_fragment, rx_ip_options
    ip_other_proto,   ///< UDP and the rest: rx_ip_unknown_proto
    icmp_other,       ///< ICMP neither an echo request nor an error quoting our TCP: rx_icmp_unhandled
    tcp_no_listener,  ///< TCP with neither a connection nor a listener (tcp::Engine::set_stray_handler)
    count
};
using PacketTooBigHook = void (*)(void* ctx, const PacketTooBig& ptb);

class Interface {
public:
    /// Cold. Allocates the ARP table, the held-packet slots and the TX ring. Throws std::invalid_argument when cfg
    /// is unusable (see validate()), pool is null or tsc_hz is 0. pool supplies the mbufs of ARP frames we build.
    Interface(const NetConfig& cfg, rte_mempool* pool, uint64_t tsc_hz);
    ~Interface() = default;  // frees frames still queued or held
    Interface(const Interface&) = delete;
    Interface& operator=(const Interface&) = delete;

    /// Classifies one received Ethernet frame (headers must sit in its first segment).
    /// Returns m when it carries TCP for our address: data start moved to the IPv4 header, which is validated
    /// (version, IHL == 5, total length within the frame, checksum unless the port vouched for it, not a fragment,
    /// destination ours, source a valid unicast), and the packet trimmed to the IPv4 total length. Or, for IPv6,
    /// data start at the IPv6 header, the extension headers walked (wire::ipv6_walk), destination one of our unicast
    /// addresses, source a valid unicast, trimmed to 40 + payload length (version nibble 6 tells the two apart).
    /// Otherwise returns nullptr and m is consumed: ARP handled, ICMP echo answered (reply queued on the TX ring),
    /// or dropped with a counter.
    rte_mbuf* input(rte_mbuf* m, uint64_t now_cycles) noexcept;

    /// Sends one IPv4 or IPv6 packet: m holds it at its data start (header filled in, checksums done or offload
    /// flags set) with >= 14 bytes headroom. Picks the next hop (on-link, or the gateway / default router),
    /// prepends Ethernet and queues the frame, or holds it while the next hop is resolved (ARP request, or neighbour
    /// solicitation, RFC 4861 §7.2.2). Sets m->l2_len. Consumes m.
    void output(rte_mbuf* m, uint64_t now_cycles) noexcept;

    /// Moves up to n frames ready for rte_eth_tx_burst into out, oldest first; returns how many.
    uint16_t drain_tx(rte_mbuf** out, uint16_t n) noexcept { return tx_.pop_burst(out, n); }

    /// ARP and ND timers: request retries, failures (held packets dropped), aging, neighbour state changes, the
    /// default router's lifetime, the second announcement. Cheap when nothing is due.
    void poll(uint64_t now_cycles) noexcept;

    /// RFC 5227 §2.3 announcement: an ARP request with sender and target IP ours, now and once more 2 s later
    /// (driven by poll()).
    void send_gratuitous_arp(uint64_t now_cycles) noexcept;

    /// Frames of the Stray kinds go to fn(ctx, m, why) instead of being dropped; fn owns m, whose data starts at
    /// the Ethernet header. They are still counted in their rx_* bucket. Unset: dropped (the default).
    using StrayHandler = void (*)(void* ctx, rte_mbuf* m, Stray why);
    void set_stray_handler(StrayHandler fn, void* ctx) noexcept {
        stray_ = fn;
        stray_ctx_ = ctx;
    }
    /// At start: the gratuitous ARP (with ip) and unsolicited neighbour advertisements for ip6 and the link-local
    /// address to all nodes (RFC 4861 §7.2.6, with ip6).
    void announce(uint64_t now_cycles) noexcept;

    /// Called for every Packet Too Big quoting a TCP segment from us; none by default (counted only).
    void set_packet_too_big_hook(PacketTooBigHook hook, void* ctx) noexcept {
        ptb_hook_ = hook;
        ptb_ctx_ = ctx;
    }

    /// ICMP errors quoting TCP from our address go to fn(ctx, e) (the TCP engine: tcp::Engine::icmp_error), which
    /// returns whether a connection took it; the frame is freed either way. A false return counts
    /// rx_icmp_error_no_conn. Unset: such errors are rx_icmp_unhandled strays, as any other ICMP.
    using IcmpErrorHandler = bool (*)(void* ctx, const IcmpError& e);
    void set_icmp_error_handler(IcmpErrorHandler fn, void* ctx) noexcept {
        icmp_error_ = fn;
        icmp_error_ctx_ = ctx;
    }

    /// --share-kernel: fn(ctx, ip) asks for the next hop's MAC instead of an ARP request, on a miss and on each
    /// retry, while the packets wait in the entry; the answer comes later through kernel_neighbour(). Called on the
    /// worker: it must not block (dpdk::NeighbourMailbox posts the question to a control thread). False when the
    /// question could not be posted (arp_kernel_ask_deferred: the next retry asks again).
    using Resolver = bool (*)(void* ctx, uint32_t ip);
    void set_resolver(Resolver fn, void* ctx) noexcept {
        resolver_ = fn;
        resolver_ctx_ = ctx;
    }

    /// The same for IPv6 next hops (--share-kernel passes neighbour discovery to the kernel), instead of a
    /// neighbour solicitation; answered through kernel_neighbour6().
    using Resolver6 = bool (*)(void* ctx, const wire::Ip6Addr& ip);
    void set_resolver6(Resolver6 fn, void* ctx) noexcept {
        resolver6_ = fn;
        resolver6_ctx_ = ctx;
    }

    /// --share-kernel: the kernel's table has ip at mac (the answer to a resolver question). An entry waiting for
    /// it is resolved and its held packets sent; with no entry (failed or expired meanwhile) nothing happens.
    void kernel_neighbour(uint32_t ip, const rte_ether_addr& mac, uint64_t now_cycles) noexcept;
    /// The same for an IPv6 next hop, taken as a solicited advertisement with the override flag (RFC 4861 §7.2.5).
    void kernel_neighbour6(const wire::Ip6Addr& ip, const rte_ether_addr& mac, uint64_t now_cycles) noexcept;

    const NetCounters& counters() const noexcept { return counters_; }
    const NetConfig& config() const noexcept { return cfg_; }
    /// The ARP entry for ip (host byte order), or nullptr; for diagnostics and tests.
    const ArpEntry* arp_lookup(uint32_t ip) const noexcept { return arp_.find(ip); }
    /// The neighbour cache entry for a, or nullptr; for diagnostics and tests.
    const NdEntry* nd_lookup(const wire::Ip6Addr& a) const noexcept { return nd_.find(a); }
    /// Our link-local address (fe80::/64 with the modified EUI-64 of our MAC); unspecified with IPv6 off.
    const wire::Ip6Addr& link_local() const noexcept { return link_local_; }
    /// The default router: gw6, or the last one a router advertisement named; unspecified when none.
    const wire::Ip6Addr& default_router() const noexcept { return router_; }

private:
    void arp_input(rte_mbuf* m, uint64_t now) noexcept;
    rte_mbuf* ipv4_input(rte_mbuf* m) noexcept;
    void icmp_input(rte_mbuf* m, rte_ipv4_hdr* ip) noexcept;
    bool icmp_error_input(rte_mbuf* m, uint32_t icmp_len) noexcept;

    rte_mbuf* ipv6_input(rte_mbuf* m, uint64_t now) noexcept;
    void icmp6_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept;
    void icmp6_echo(rte_mbuf* m, uint32_t l4, uint32_t len) noexcept;
    void icmp6_packet_too_big(rte_mbuf* m, uint32_t l4, uint32_t len) noexcept;
    void nd_ns_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept;
    void nd_na_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept;
    void nd_ra_input(rte_mbuf* m, uint32_t l4, uint32_t len, uint64_t now) noexcept;
    void output6(rte_mbuf* m, uint64_t now) noexcept;
    bool is_our_ip6(const uint8_t* a) const noexcept;
    void nd_send_ns(NdEntry& e, bool multicast, uint64_t now) noexcept;
    bool send_na(const wire::Ip6Addr& dst, const rte_ether_addr& eth_dst, const wire::Ip6Addr& target,
                 bool solicited) noexcept;
    bool send_icmp6(const wire::Ip6Addr& src, const wire::Ip6Addr& dst, const rte_ether_addr& eth_dst,
                    uint8_t type, uint8_t flags, const wire::Ip6Addr& target, uint8_t lla_option) noexcept;
    void nd_set_state(NdEntry& e, NeighborState s, uint64_t now) noexcept;
    void nd_release(NdEntry& e) noexcept;
    void nd_fail(NdEntry& e) noexcept;
    uint64_t nd_poll(uint64_t now) noexcept;

    void arp_merge(ArpEntry& e, const rte_ether_addr& mac, uint64_t now) noexcept;
    void arp_send_request(ArpEntry& e, uint64_t now) noexcept;
    void arp_fail(ArpEntry& e) noexcept;
    bool send_arp(uint16_t op, const rte_ether_addr& eth_dst, const rte_ether_addr& tha, uint32_t tip) noexcept;
    void arm_timer(uint64_t deadline) noexcept {
        if (deadline < next_timer_) next_timer_ = deadline;
    }

    /// Counts m in its bucket, then hands it to the stray handler, or drops it when there is none.
    rte_mbuf* not_ours(rte_mbuf* m, uint64_t& counter, Stray why) noexcept {
        ++counter;
        if (stray_ != nullptr) stray_(stray_ctx_, m, why);
        else rte_pktmbuf_free(m);
        return nullptr;
    }
    void emit(rte_mbuf* m, const rte_ether_addr& dst,
              rte_be16_t type = RTE_BE16(RTE_ETHER_TYPE_IPV4)) noexcept;  // prepend Ethernet and transmit
    void transmit(rte_mbuf* m) noexcept;                          // onto the TX ring, or drop

    NetConfig cfg_;
    rte_mempool* pool_;
    uint32_t mask_;                   // prefix_mask(cfg_.prefix_len)
    rte_be32_t ip_be_;                // cfg_.ip in network order, for header compares
    uint64_t retry_cycles_;
    uint64_t ttl_cycles_;
    uint64_t announce_interval_cycles_;
    uint64_t next_timer_ = UINT64_MAX;  // earliest ARP deadline; poll() scans the table only from then on
    uint64_t announce_at_ = 0;
    uint32_t announcements_left_ = 0;
    ArpCache arp_;
    NdCache nd_;
    wire::Ip6Addr link_local_{};
    wire::Ip6Addr router_{};          // default router (gw6 or learned); unspecified = none
    bool router_learned_ = false;     // router_ came from an RA (and expires at router_deadline_)
    uint64_t router_deadline_ = 0;
    uint64_t nd_reachable_cycles_;
    uint64_t nd_delay_cycles_;
    uint64_t hz_;
    PacketTooBigHook ptb_hook_ = nullptr;
    void* ptb_ctx_ = nullptr;
    MbufRing tx_;
    NetCounters counters_{};
    StrayHandler stray_ = nullptr;
    void* stray_ctx_ = nullptr;
    IcmpErrorHandler icmp_error_ = nullptr;
    void* icmp_error_ctx_ = nullptr;
    Resolver resolver_ = nullptr;
    void* resolver_ctx_ = nullptr;
    Resolver6 resolver6_ = nullptr;
    void* resolver6_ctx_ = nullptr;
};

}  // namespace synack::net
