// One ethdev port, configured for synack: a queue pair per worker, offloads where the port has them, RSS with
// the symmetric key where it supports it, link awaited.
#pragma once
#include <cstdint>
#include <string>

#include <rte_ether.h>
#include <rte_mempool.h>

namespace synack::dpdk {

struct PortInfo {
    uint16_t id = 0;
    std::string driver;
    rte_ether_addr mac{};
    uint16_t mtu = 1500;
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    bool hw_rss = false;          ///< the NIC spreads flows over the RX queues with our key
    uint32_t reta_size = 128;     ///< RETA entries, filled round-robin over the queues (see core_of)
    bool tx_cksum_offload = false;
    bool tx_multi_seg = false;    ///< RTE_ETH_TX_OFFLOAD_MULTI_SEGS: the port reads whole mbuf chains
    bool rx_cksum_offload = false;
    bool link_up = false;
    /// An in-process link (--loopback): like Linux's lo and veth, checksums are not computed on send and received
    /// packets are marked verified, since nothing between the two stacks can corrupt them.
    bool virtual_link = false;
    /// TCP segmentation offload enabled: the largest TCP payload per packet and the mbufs it may span (0: any)
    uint32_t tso_max = 0;
    uint16_t tso_max_segs = 0;
    /// net_tap: its signal handler, called with rx_kick_signal before each poll (its frames raise no signals: see
    /// port.cpp); or nullptr
    void (*rx_kick)(int) = nullptr;
    int rx_kick_signal = 0;
};

/// Configures and starts port `id` with `queues` TX queues (and as many RX queues). Throws std::runtime_error
/// with a clear message when the port is missing or refuses the configuration.
PortInfo open_port(uint16_t id, uint16_t queues, rte_mempool* pool, bool verbose);
void close_port(uint16_t id) noexcept;

/// Lets through the NIC's MAC filter the multicast groups an IPv6 host must hear (RFC 4291 §2.7.1): all-nodes
/// ff02::1 and the solicited-node group of `addr`, where neighbour solicitations arrive (RFC 4861 §7.2.1). The
/// port's multicast list where it has one, else all-multicast; false (with `why` set) if neither took.
bool join_ipv6_groups(uint16_t id, const uint8_t (&addr)[16], std::string& why) noexcept;

}  // namespace synack::dpdk
