// --share-kernel: synack and the kernel on one interface and one address. synack's XDP program
// (bpf/synack_xdp.c, loaded by the net_af_xdp vdev's xdp_prog=PATH) redirects to synack only TCP to its listening
// ports and to the ephemeral range of its active opens, over IPv4 and IPv6, and passes everything else (ARP, ICMP,
// neighbour discovery, ICMPv6, SSH, other ports) to the kernel. This file fills the program's maps and reads what synack borrows from the kernel: the
// interface's address, its default gateway, its ephemeral port range and its neighbour table. Cold path only:
// start-up, listen() and ARP misses, never per packet.
#pragma once
#include <cstdint>
#include <string>

#include <rte_ether.h>

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

    /// net::Interface's resolver in this mode (synack never sees ARP): the kernel's neighbour entry for `ip` on
    /// the interface (/proc/net/arp), or false after asking the kernel to resolve it (RTM_NEWNEIGH with NTF_USE,
    /// as `ip neigh replace IP dev IFACE use`); the Interface asks again on its ARP retry timer.
    static bool resolve(void* self, uint32_t ip, rte_ether_addr& mac) noexcept;

    /// The same for IPv6 (synack never sees neighbour discovery): the kernel's neighbour entry for `ip` on the
    /// interface (RTM_GETNEIGH), or false after asking the kernel to resolve it.
    static bool resolve6(void* self, const wire::Ip6Addr& ip, rte_ether_addr& mac) noexcept;

    const std::string& iface() const noexcept { return iface_; }
    unsigned ifindex() const noexcept { return ifindex_; }
    uint32_t prog_id() const noexcept { return prog_id_; }

private:
    bool kernel_neighbour(uint32_t ip, rte_ether_addr& mac) const noexcept;
    bool kernel_neighbour6(const wire::Ip6Addr& ip, rte_ether_addr& mac) const noexcept;
    void ask_kernel_to_resolve(int family, const void* addr, size_t len) noexcept;

    std::string iface_;
    unsigned ifindex_ = 0;
    uint32_t prog_id_ = 0;
    int ports_fd_ = -1;
    int config_fd_ = -1;
};

}  // namespace synack::dpdk
