/// @file
/// The L2/L3 layer between one DPDK port queue and the TCP engine: Ethernet, ARP (RFC 826), IPv4 (RFC 791,
/// RFC 1122) and ICMP echo (RFC 792). One instance per core per port, touched by that core only (no locks).
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
#include "net/mbuf_ring.hpp"

struct rte_ipv4_hdr;

namespace synack::net {

/// Why a frame was handed to the exception path (Interface::set_stray_handler) rather than dropped.
enum class Stray : uint8_t {
    other_ethertype,  ///< neither ARP nor IPv4 (IPv6, LLDP, ...): rx_unknown_ethertype
    multicast,        ///< to a multicast MAC (IPv6 neighbour discovery, mDNS, ...): rx_not_for_us
    arp_copy,         ///< a copy of every ARP frame, so the kernel knows its neighbours too
    ip_not_for_us,    ///< another or a broadcast IPv4 destination: rx_ip_not_for_us
    ip_unsupported,   ///< a fragment or a header with options: rx_ip_fragment, rx_ip_options
    ip_other_proto,   ///< UDP and the rest: rx_ip_unknown_proto
    icmp_other,       ///< ICMP but an echo request: rx_icmp_unhandled
    tcp_no_listener,  ///< TCP with neither a connection nor a listener (tcp::Engine::set_stray_handler)
    count
};

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
    /// destination ours, source a valid unicast), and the packet trimmed to the IPv4 total length.
    /// Otherwise returns nullptr and m is consumed: ARP handled, ICMP echo answered (reply queued on the TX ring),
    /// or dropped with a counter.
    rte_mbuf* input(rte_mbuf* m, uint64_t now_cycles) noexcept;

    /// Sends one IPv4 packet: m holds it at its data start (header filled in, checksums done or offload flags set)
    /// with >= 14 bytes headroom. Picks the next hop (on-link, or the gateway), prepends Ethernet and queues the
    /// frame, or holds it while the next hop is resolved (sending an ARP request). Sets m->l2_len. Consumes m.
    void output(rte_mbuf* m, uint64_t now_cycles) noexcept;

    /// Moves up to n frames ready for rte_eth_tx_burst into out, oldest first; returns how many.
    uint16_t drain_tx(rte_mbuf** out, uint16_t n) noexcept { return tx_.pop_burst(out, n); }

    /// ARP timers: request retries, failures (held packets dropped), aging, the second announcement.
    /// Cheap when nothing is due.
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

    /// --share-kernel: fn(ctx, ip, mac) gives the next hop's MAC or returns false (and starts resolving it); called
    /// on a miss and on each ARP retry instead of sending a request. Cold: it may make system calls.
    using Resolver = bool (*)(void* ctx, uint32_t ip, rte_ether_addr& mac);
    void set_resolver(Resolver fn, void* ctx) noexcept {
        resolver_ = fn;
        resolver_ctx_ = ctx;
    }

    const NetCounters& counters() const noexcept { return counters_; }
    const NetConfig& config() const noexcept { return cfg_; }
    /// The ARP entry for ip (host byte order), or nullptr; for diagnostics and tests.
    const ArpEntry* arp_lookup(uint32_t ip) const noexcept { return arp_.find(ip); }

private:
    void arp_input(rte_mbuf* m, uint64_t now) noexcept;
    rte_mbuf* ipv4_input(rte_mbuf* m) noexcept;
    void icmp_input(rte_mbuf* m, rte_ipv4_hdr* ip) noexcept;

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
    void emit(rte_mbuf* m, const rte_ether_addr& dst) noexcept;  // prepend Ethernet (IPv4) and transmit
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
    MbufRing tx_;
    NetCounters counters_{};
    StrayHandler stray_ = nullptr;
    void* stray_ctx_ = nullptr;
    Resolver resolver_ = nullptr;
    void* resolver_ctx_ = nullptr;
};

}  // namespace synack::net
