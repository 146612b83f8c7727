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
};

}  // namespace synack::net
