// --share-kernel: synack and the kernel on one interface and one address. synack's XDP program
// (bpf/synack_xdp.c, loaded by the net_af_xdp vdev's xdp_prog=PATH) redirects to synack only TCP to its listening
// ports and to the ephemeral range of its active opens, over IPv4 and IPv6, and passes everything else (ARP, ICMP,
// neighbour discovery, ICMPv6, SSH, other ports) to the kernel. This file fills the program's maps and reads what synack borrows from the kernel: the
// interface's address, its default gateway, its ephemeral port range and its neighbour table. Cold path only:
// start-up, listen() and, on a control thread, next-hop misses; never per packet.
#pragma once
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "dpdk/neighbour_mailbox.hpp"
#include "wire/ipv6.hpp"

#ifndef SYNACK_XDP_OBJ  // the build's bpf/synack_xdp.o (meson.build, CMakeLists.txt); "" when clang was missing
#define SYNACK_XDP_OBJ ""
#endif

namespace synack::dpdk {

/// The IPv4 set-up of a kernel interface (host byte order).
struct KernelAddress {
    uint32_t ip = 0;
    uint8_t prefix_len = 0;
    uint32_t gateway = 0;  ///< the default route's next hop through this interface, or 0
};

/// The IPv4 address `want` of `iface` if it has it, else its first one, and its default gateway (/proc/net/route).
/// Throws std::runtime_error with a clear message when the interface has no IPv4 address.
KernelAddress kernel_address(const std::string& iface, uint32_t want = 0);

/// The kernel's ephemeral range (net.ipv4.ip_local_port_range of this network namespace), inclusive.
void kernel_ephemeral_range(uint16_t& low, uint16_t& high);

/// The kernel interface behind DPDK port `port_id` when it is a net_af_xdp vdev (its iface= argument), else "".
std::string af_xdp_iface(uint16_t port_id);

/// synack's XDP program as attached to one interface: its maps, found through the program the kernel reports on
/// the interface (no bpffs pin, so nothing outlives the process: DPDK detaches the program when the port closes).
/// Plain bpf(2) and rtnetlink system calls: libsynack needs no libbpf at link time.
class XdpShare {
public:
    /// Finds the program on `iface` and its maps; throws std::runtime_error saying what is missing (no XDP
    /// program, or one without synack's maps: the vdev needs xdp_prog=PATH/synack_xdp.o).
    explicit XdpShare(const std::string& iface);
    ~XdpShare();
    XdpShare(const XdpShare&) = delete;
    XdpShare& operator=(const XdpShare&) = delete;

    /// Redirect TCP to `ip` (0: none) and to `ip6` (unspecified: none) whose destination port is in
    /// [eph_low, eph_high] (synack's active opens). Throws.
    void configure(uint32_t ip, const wire::Ip6Addr& ip6, uint16_t eph_low, uint16_t eph_high);
    /// Redirect TCP to `port` too (a listen()); thread-safe (one system call). False if the kernel refused.
    bool add_port(uint16_t port) noexcept;

    /// Starts the control thread that answers the workers' next-hop questions (synack never sees ARP or neighbour
    /// discovery in this mode), with one mailbox per worker: it reads the kernel's neighbour entry for the address
    /// on the interface (RTM_GETNEIGH) and posts the MAC back, or asks the kernel to resolve it (RTM_NEWNEIGH with
    /// NTF_USE, as `ip neigh replace IP dev IFACE use`) and posts the MAC when the kernel's notification of the
    /// resolved entry comes (RTNLGRP_NEIGH), or the worker's retry asks again. Throws.
    void start_resolver(unsigned workers);
    /// Worker `i`'s mailbox (after start_resolver): its Interface's resolvers and the answers it delivers.
    NeighbourMailbox& mailbox(unsigned i) noexcept { return *mailboxes_[i]; }

    const std::string& iface() const noexcept { return iface_; }
    unsigned ifindex() const noexcept { return ifindex_; }
    uint32_t prog_id() const noexcept { return prog_id_; }

private:
    // The control thread's side: one netlink socket, used by that thread only.
    void serve_workers() noexcept;
    bool kernel_neighbour(const NeighbourQuery& q, rte_ether_addr& mac) noexcept;
    void ask_kernel_to_resolve(const NeighbourQuery& q) noexcept;
    void take_notifications() noexcept;

    std::string iface_;
    unsigned ifindex_ = 0;
    uint32_t prog_id_ = 0;
    int ports_fd_ = -1;
    int config_fd_ = -1;
    int nl_fd_ = -1;
    int notify_fd_ = -1;  // RTNLGRP_NEIGH: the kernel's neighbour changes, or -1
    uint32_t nl_seq_ = 0;
    std::vector<std::unique_ptr<NeighbourMailbox>> mailboxes_;
    pthread_t resolver_{};
    bool resolver_started_ = false;
    std::atomic<bool> stop_{false};
};

}  // namespace synack::dpdk
