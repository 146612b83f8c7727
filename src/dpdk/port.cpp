#include "dpdk/port.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dpdk/flow_hash.hpp"
#include "wire/segment.hpp"

namespace synack::dpdk {
namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

[[noreturn]] void fail(const std::string& what, int rc) {
    throw std::runtime_error(what + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

// Software checksum on net_tap: its TX "offload" is software in the driver and older releases mis-sum chained
// mbufs, which is exactly how synack sends data (header mbuf + references to the send buffer).
bool trust_tx_cksum(const std::string& driver) { return driver != "net_tap"; }

// net_tap reads a queue only after its signal handler counted a signal (O_ASYNC on its /dev/net/tun descriptors,
// a real-time signal set with F_SETSIG): one signal per arriving frame, delivered to the polling core (an IPI, a
// signal frame with the vector state saved and restored), about a third of a busy core's time under wrk -c32
// (perf). A polling core needs no wake-up: turn the signals off on this port's descriptors and have the worker
// call the driver's handler before each poll instead, so that each poll reads (EAGAIN when nothing waits). Sets
// `sig` and returns the handler; nullptr (signals kept) when no descriptor was found or the action is not a plain
// handler.
void (*tap_poll_without_signals(const std::string& ifname, int& sig))(int) {
    std::vector<int> fds;
    sig = -1;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (const dirent* e = readdir(d)) {
            const int fd = std::atoi(e->d_name);
            char target[64] = {};
            const std::string link = std::string("/proc/self/fd/") + e->d_name;
            if (fd <= 2 || readlink(link.c_str(), target, sizeof target - 1) <= 0 || std::strcmp(target, "/dev/net/tun") != 0)
                continue;
            ifreq ifr{};
            const int flags = fcntl(fd, F_GETFL);
            if (ioctl(fd, TUNGETIFF, &ifr) != 0 || ifname != ifr.ifr_name || flags < 0 || (flags & O_ASYNC) == 0)
                continue;
            const int s = fcntl(fd, F_GETSIG);
            if (s < 0 || (sig >= 0 && s != sig)) continue;
            sig = s;
            fds.push_back(fd);
        }
        closedir(d);
    }
    if (fds.empty()) return nullptr;
    if (sig == 0) sig = SIGIO;  // F_SETSIG 0: SIGIO
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) != 0 || (sa.sa_flags & SA_SIGINFO) != 0 || sa.sa_handler == SIG_DFL ||
        sa.sa_handler == SIG_IGN)
        return nullptr;
    for (size_t i = 0; i < fds.size(); ++i) {
        if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) & ~O_ASYNC) == 0) continue;
        // A queue without signals and without the kick would never be read: put the signals back on all of them.
        for (size_t j = 0; j < i; ++j) fcntl(fds[j], F_SETFL, fcntl(fds[j], F_GETFL) | O_ASYNC);
        return nullptr;
    }
    return sa.sa_handler;
}

}  // namespace

PortInfo open_port(uint16_t id, uint16_t queues, rte_mempool* pool, bool verbose) {
    if (!rte_eth_dev_is_valid_port(id)) {
        throw std::runtime_error(
            "no DPDK port " + std::to_string(id) + " (" + std::to_string(rte_eth_dev_count_avail()) +
            " available). On a machine without a NIC pass --vdev=net_tap0,iface=synack0 (needs root or "
            "CAP_NET_ADMIN and /dev/net/tun); with a NIC, bind it to vfio-pci");
    }
    PortInfo p;
    p.id = id;
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) fail("rte_eth_dev_info_get", rc);
    p.driver = info.driver_name ? info.driver_name : "?";
    if (queues > info.max_tx_queues || queues > info.max_rx_queues)
        throw std::runtime_error("port " + std::to_string(id) + " (" + p.driver + ") has at most " +
                                 std::to_string(info.max_rx_queues) + " RX / " + std::to_string(info.max_tx_queues) +
                                 " TX queues; " + std::to_string(queues) + " worker cores need one each");

    rte_eth_conf conf{};
    const uint64_t tx_ck = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    const uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    if ((info.tx_offload_capa & tx_ck) == tx_ck && trust_tx_cksum(p.driver)) {
        conf.txmode.offloads |= tx_ck;
        p.tx_cksum_offload = true;
    }
    // A port without MULTI_SEGS gets one mbuf per packet (net_af_xdp reads only the first; see copy_payload).
    if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        p.tx_multi_seg = true;
    }
    if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0 && p.tx_cksum_offload && p.tx_multi_seg) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
        p.tso_max = wire::kMaxTcpPayload;
        p.tso_max_segs = info.tx_desc_lim.nb_seg_max;  // UINT16_MAX when the driver states no limit
    }
    if ((info.rx_offload_capa & rx_ck) == rx_ck && trust_tx_cksum(p.driver)) {
        conf.rxmode.offloads |= rx_ck;
        p.rx_cksum_offload = true;
    }
    // TCP over both families, as far as the NIC hashes them (one that hashes no IPv6 leaves it all on one queue).
    const uint64_t rss_types =
        (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP) & info.flow_type_rss_offloads;
    if (queues > 1 && rss_types != 0 && p.driver != "net_tap") {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t*>(symmetric_rss_key());
        conf.rx_adv_conf.rss_conf.rss_key_len = 40;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_types;
        p.hw_rss = true;
    }
    p.rx_queues = p.tx_queues = queues;
    if (int rc = rte_eth_dev_configure(id, p.rx_queues, p.tx_queues, &conf); rc != 0) fail("rte_eth_dev_configure", rc);
    uint16_t nb_rxd = kRxDesc, nb_txd = kTxDesc;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rxd, &nb_txd);
    const int socket = rte_eth_dev_socket_id(id);
    for (uint16_t q = 0; q < p.rx_queues; ++q) {
        rte_eth_rxconf rxc = info.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        if (int rc = rte_eth_rx_queue_setup(id, q, nb_rxd, socket, &rxc, pool); rc != 0) fail("rx queue setup", rc);
    }
    for (uint16_t q = 0; q < p.tx_queues; ++q) {
        rte_eth_txconf txc = info.default_txconf;
        txc.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(id, q, nb_txd, socket, &txc); rc != 0) fail("tx queue setup", rc);
    }
    if (int rc = rte_eth_macaddr_get(id, &p.mac); rc != 0) fail("rte_eth_macaddr_get", rc);
    if (rte_is_zero_ether_addr(&p.mac)) {  // e.g. ports made by rte_eth_from_rings(): give them a local address
        rte_eth_random_addr(p.mac.addr_bytes);
        // A port that cannot store it (net_ring) filters nothing anyway: the stack just uses the address.
        if (int rc = rte_eth_dev_default_mac_addr_set(id, &p.mac); rc != 0 && rc != -ENOTSUP)
            fail("setting a MAC address", rc);
    }
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(id, &mtu) == 0 && mtu >= 576) p.mtu = mtu;
    if (int rc = rte_eth_dev_start(id); rc != 0) fail("rte_eth_dev_start", rc);
    char ifname[IF_NAMESIZE] = {};
    if (p.driver == "net_tap" && info.if_index != 0 && if_indextoname(info.if_index, ifname) != nullptr)
        p.rx_kick = tap_poll_without_signals(ifname, p.rx_kick_signal);
    if (p.hw_rss && info.reta_size > 0 && (info.reta_size & (info.reta_size - 1)) == 0) {
        // RETA round-robin over the queues: the mapping core_of() assumes when it picks ports for active opens.
        std::vector<rte_eth_rss_reta_entry64> reta(std::max<uint32_t>(1, info.reta_size / RTE_ETH_RETA_GROUP_SIZE));
        for (uint32_t i = 0; i < info.reta_size; ++i) {
            reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
            reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % queues);
        }
        if (int rc = rte_eth_dev_rss_reta_update(id, reta.data(), info.reta_size); rc != 0) {
            p.hw_rss = false;  // flows land where the NIC likes: fall back to software RSS
            if (verbose) std::fprintf(stderr, "synack: RETA update refused (%s): software RSS\n", rte_strerror(-rc));
        } else {
            p.reta_size = info.reta_size;
        }
    }

    // Wait for the link (up to 5 s); a tap's link follows its kernel interface.
    for (int i = 0; i < 50; ++i) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
            p.link_up = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return p;
}

bool join_ipv6_groups(uint16_t id, const uint8_t (&addr)[16], std::string& why) noexcept {
    // RFC 2464 §7: an IPv6 multicast address maps to 33:33 and its last 32 bits; the solicited-node group is
    // ff02::1:ffXX:XXXX with the address's last 24 bits.
    rte_ether_addr groups[2] = {{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}},
                                {{0x33, 0x33, 0xff, addr[13], addr[14], addr[15]}}};
    const int rc = rte_eth_dev_set_mc_addr_list(id, groups, 2);
    if (rc == 0) return true;
    const int all = rte_eth_allmulticast_enable(id);
    if (all == 0 || rte_eth_allmulticast_get(id) == 1) return true;
    why = std::string("multicast list: ") + rte_strerror(-rc) + ", all-multicast: " + rte_strerror(-all);
    return false;
}

void close_port(uint16_t id) noexcept {
    rte_eth_dev_stop(id);
    rte_eth_dev_close(id);
}

}  // namespace synack::dpdk
