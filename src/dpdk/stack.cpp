// Stack: EAL, mbuf pools per NUMA socket, the port, one Worker per lcore, the launch, and Core's user calls.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <pthread.h>
#include <sched.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "dpdk/capture.hpp"
#include "dpdk/channel_hub.hpp"
#include "dpdk/counter_names.hpp"
#include "dpdk/exception_path.hpp"
#include "dpdk/impair.hpp"
#include "dpdk/mbuf_pool.hpp"
#include "dpdk/telemetry.hpp"
#include "dpdk/ip6_options.hpp"
#include "dpdk/worker.hpp"
#include "dpdk/xdp_share.hpp"
#include "synack/stack.hpp"
#include "wire/segment.hpp"

namespace synack {
namespace {

std::atomic<bool>* g_stop = nullptr;

extern "C" void on_signal(int) {
    if (g_stop != nullptr) g_stop->store(true);
}

bool has_arg(int argc, char** argv, const char* prefix) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) return true;
    return false;
}

// A number from a /proc or /sys file, or from the line of /proc/meminfo that starts with `key` (0 if absent).
unsigned long read_count(const char* path, const char* key = nullptr) {
    FILE* f = std::fopen(path, "r");
    unsigned long n = 0;
    if (f == nullptr) return 0;
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (key == nullptr) {
            n = std::strtoul(line, nullptr, 10);
            break;
        }
        if (std::strncmp(line, key, std::strlen(key)) == 0) {
            n = std::strtoul(line + std::strlen(key), nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return n;
}

bool hugetlbfs_mounted() {
    FILE* f = std::fopen("/proc/mounts", "r");
    if (f == nullptr) return true;  // cannot tell: do not blame the mount
    char line[512];
    bool found = false;
    while (!found && std::fgets(line, sizeof line, f) != nullptr) found = std::strstr(line, " hugetlbfs ") != nullptr;
    std::fclose(f);
    return found;
}

// Why EAL could not get hugepage memory, or "" when hugepages look usable. EAL reports all three as a failure
// to allocate (often EACCES, which reads like a permission problem), so look at the system ourselves.
std::string hugepage_problem() {
    const unsigned long total = read_count("/proc/sys/vm/nr_hugepages");
    if (total == 0)
        return "no hugepages are reserved: echo 512 > /proc/sys/vm/nr_hugepages, make sure hugetlbfs is mounted "
               "(mount -t hugetlbfs nodev /dev/hugepages), or run with --no-huge -m 512";
    if (!hugetlbfs_mounted())
        return "no hugetlbfs is mounted, so the " + std::to_string(total) +
               " reserved hugepages cannot be used: mkdir -p /dev/hugepages && mount -t hugetlbfs nodev "
               "/dev/hugepages, or run with --no-huge -m 512";
    if (read_count("/proc/meminfo", "HugePages_Free:") == 0)
        return "all " + std::to_string(total) +
               " reserved hugepages are in use (another DPDK process?): reserve more in /proc/sys/vm/nr_hugepages, "
               "or run with --no-huge -m 512";
    return "";
}

// Why EAL refused to start, in words a user can act on. `no_huge` says what the command line asked for.
std::string eal_hint(int err, bool no_huge) {
    std::string h = rte_strerror(err);
    const std::string huge = no_huge ? "" : hugepage_problem();
    if (!huge.empty())
        h = huge + " (DPDK said: " + h + ")";
    else if (err == EINVAL)
        h += " (an EAL option is wrong: see the EAL usage above; -l must name cores this machine has)";
    else if (err == EACCES || err == EPERM)
        h += " (run as root, or with CAP_NET_ADMIN/CAP_SYS_ADMIN for taps and hugepages)";
    else if (err == ENOMEM)
        h += " (not enough memory: reserve more hugepages, or pass --no-huge -m 512)";
    else if (err == EALREADY)
        h += " (EAL already initialised in this process)";
    return h;
}

}  // namespace

struct Stack::Impl {
    Options options;
    dpdk::Shared shared;
    std::map<unsigned, rte_mempool*> pools;  // NUMA socket -> pool
    std::map<unsigned, rte_mempool*> bulk_pools;  // NUMA socket -> big mbufs for large writes, or nullptr
    std::vector<std::unique_ptr<dpdk::Worker>> workers;
    std::vector<dpdk::Worker*> worker_ptrs;
    std::vector<unsigned> lcores;
    const App* app = nullptr;
    std::vector<uint16_t> open_ports;
    std::vector<rte_ring*> rings;
    dpdk::PortInfo loop_server_port;
    std::unique_ptr<dpdk::Capture> capture;  // --pcap
    /// --impair: one link per direction, [0] into the client, [1] into the server (RX callbacks on those ports).
    std::unique_ptr<dpdk::ImpairLink> links[2];
    const rte_eth_rxtx_callback* link_callbacks[2] = {nullptr, nullptr};
    std::unique_ptr<dpdk::ExceptionPath> exception;  // --exception-tap
    std::unique_ptr<dpdk::XdpShare> xdp;             // --share-kernel
    std::unique_ptr<dpdk::ChannelHub> hub = std::make_unique<dpdk::ChannelHub>();
    cpu_set_t start_cpus{};  // the process's CPUs before EAL pinned the main thread
    cpu_set_t app_cpus{};    // start_cpus minus the lcores' (all of start_cpus when that leaves none)
    bool app_cpus_dedicated = false;

    static int lcore_main(void* arg) {
        auto* impl = static_cast<Impl*>(arg);
        const unsigned lcore = rte_lcore_id();
        dpdk::Worker* mine[2];
        unsigned n = 0;
        for (size_t i = 0; i < impl->lcores.size() && n < 2; ++i)
            if (impl->lcores[i] == lcore) mine[n++] = impl->workers[i].get();
        if (n > 0) dpdk::Worker::run_shared(mine, n, *impl->app);
        return 0;
    }
};

namespace {
constexpr unsigned kBulkMbufs = 1023;                               // 16 MB of big mbufs per NUMA socket
constexpr uint16_t kBulkDataRoom = RTE_PKTMBUF_HEADROOM + 16384;

int eal_argc(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--") == 0) return i;
    return argc;
}
}  // namespace

namespace {
// --impair: an ImpairLink on each loopback port's RX queue (the direction into that port). Impairments act per
// frame, so the link carries MSS-sized frames (no TSO); with corruption the checksums must run for real.
void attach_impairment(Stack::Impl& s, rte_mempool* pool) {
    const uint16_t rx_port[2] = {s.open_ports[0], s.open_ports[1]};
    for (int d = 0; d < 2; ++d) {
        LinkImpairment li = s.options.impair;
        li.seed = s.options.impair.seed * 2 + static_cast<uint64_t>(d);  // directions independent, both repeatable
        s.links[d] = std::make_unique<dpdk::ImpairLink>(li, pool, rte_get_tsc_hz());
        s.link_callbacks[d] = rte_eth_add_rx_callback(rx_port[d], 0, &dpdk::ImpairLink::rx_callback, s.links[d].get());
        if (s.link_callbacks[d] == nullptr)
            throw std::runtime_error("--impair: cannot add an RX callback (" + std::string(rte_strerror(rte_errno)) +
                                     "); DPDK needs RTE_ETHDEV_RXTX_CALLBACKS");
    }
    s.shared.port.tso_max = s.loop_server_port.tso_max = 0;
    if (s.options.impair.corrupt > 0) {
        s.shared.port.virtual_link = s.loop_server_port.virtual_link = false;
        s.shared.port.tx_cksum_offload = s.loop_server_port.tx_cksum_offload = false;
    }
}

// --share-kernel: find synack's XDP program on the port's interface, take the interface's address (unless --ip
// was given) and move the ephemeral range clear of the kernel's, then tell the program both.
void share_kernel_setup(Stack::Impl& s) {
    Options& o = s.options;
    if (s.shared.port_per_core)
        throw std::runtime_error("--share-kernel: one net_af_xdp vdev per interface (its xdp_prog is attached once "
                                 "per interface; use queue_count=N where the NIC has combined channels)");
    const std::string iface = dpdk::af_xdp_iface(s.shared.port.id);
    if (iface.empty())
        throw std::runtime_error("--share-kernel needs a net_af_xdp port: --vdev=net_af_xdp0,iface=IFACE,xdp_prog=" +
                                 std::string(SYNACK_XDP_OBJ[0] != '\0' ? SYNACK_XDP_OBJ : "PATH/synack_xdp.o"));
    s.xdp = std::make_unique<dpdk::XdpShare>(iface);
    const dpdk::KernelAddress k = dpdk::kernel_address(iface, o.ip);
    if (o.ip == 0) {
        o.ip = k.ip;
        o.prefix_len = k.prefix_len;
    } else if (o.ip != k.ip) {
        std::fprintf(stderr, "synack: --share-kernel: --ip %s is not %s's address (%s): the kernel will not answer "
                             "ARP for it\n", ip_to_string(o.ip).c_str(), iface.c_str(), ip_to_string(k.ip).c_str());
    }
    if (o.gateway == 0) o.gateway = k.gateway;
    uint16_t klo = 0, khi = 0;
    dpdk::kernel_ephemeral_range(klo, khi);
    // Above the kernel's range by default: below it lie the ports kernel services listen on, which the program
    // would take from them.
    if (!o.ephemeral_given) {
        if (khi > 65535 - 1024)
            throw std::runtime_error("--share-kernel: the kernel's ephemeral range " + std::to_string(klo) + "-" +
                                     std::to_string(khi) + " leaves fewer than 1024 ports above it: lower its top "
                                     "(net.ipv4.ip_local_port_range) or give --ephemeral-ports LO-HI outside it");
        o.tcp.ephemeral_low = static_cast<uint16_t>(khi + 1);
        o.tcp.ephemeral_high = 65535;
    } else if (o.tcp.ephemeral_low <= khi && o.tcp.ephemeral_high >= klo) {
        throw std::runtime_error("--share-kernel: --ephemeral-ports " + std::to_string(o.tcp.ephemeral_low) + "-" +
                                 std::to_string(o.tcp.ephemeral_high) + " overlaps the kernel's " +
                                 std::to_string(klo) + "-" + std::to_string(khi) +
                                 " (net.ipv4.ip_local_port_range): the XDP program would take the kernel's replies");
    }
    // IPv6 (with --ip6, which should be one of the interface's addresses: the kernel answers neighbour discovery
    // for it) shares the port map and the ephemeral range.
    s.xdp->configure(o.ip, wire::Ip6Addr::from(o.ip6.bytes), o.tcp.ephemeral_low, o.tcp.ephemeral_high);
    s.shared.xdp_share = s.xdp.get();
    std::fprintf(stderr, "synack: sharing %s with the kernel: %s/%u%s%s, XDP program id %u; synack gets TCP to its "
                         "listening ports and to %u-%u (the kernel's ephemeral ports: %u-%u)\n",
                 iface.c_str(), ip_to_string(o.ip).c_str(), o.prefix_len, o.gateway != 0 ? " via " : "",
                 o.gateway != 0 ? ip_to_string(o.gateway).c_str() : "", s.xdp->prog_id(), o.tcp.ephemeral_low,
                 o.tcp.ephemeral_high, klo, khi);
}
}  // namespace

// Application threads get what DPDK gives its control threads: the CPUs we started with minus the lcores'. When
// the lcores take them all, every CPU we started with, so the scheduler can at least move the thread around.
static void choose_app_cpus(Stack::Impl& s) {
    cpu_set_t lcore_cpus;
    CPU_ZERO(&lcore_cpus);
    for (unsigned l : s.lcores) {
        const rte_cpuset_t set = rte_lcore_cpuset(l);
        CPU_OR(&lcore_cpus, &lcore_cpus, &set);
    }
    CPU_XOR(&s.app_cpus, &s.start_cpus, &lcore_cpus);
    CPU_AND(&s.app_cpus, &s.app_cpus, &s.start_cpus);
    s.app_cpus_dedicated = CPU_COUNT(&s.app_cpus) > 0;
    if (!s.app_cpus_dedicated) s.app_cpus = s.start_cpus;
    s.hub->set_poller_cpus(lcore_cpus);  // Channel::wait never spins where a poller may run
    s.hub->set_workers(s.shared.workers);
}

Options Stack::options_from(int argc, char** argv) {
    const int split = eal_argc(argc, argv);
    return parse_options(split < argc ? argc - split - 1 : 0, argv + std::min(split + 1, argc));
}

Stack::Stack(int argc, char** argv) : impl_(std::make_unique<Impl>()) {
    // "prog [EAL options] -- [options]": our options are read first, so a typo fails before EAL starts.
    const int split = eal_argc(argc, argv);
    Impl& s = *impl_;
    s.options = options_from(argc, argv);

    // Read before rte_eal_init(), which reorders argv.
    const bool vdev_given = has_arg(split, argv, "--vdev");
    const bool no_huge = has_arg(split, argv, "--no-huge");
    if (sched_getaffinity(0, sizeof s.start_cpus, &s.start_cpus) != 0) CPU_ZERO(&s.start_cpus);
    if (rte_eal_init(split, argv) < 0)
        throw std::runtime_error("EAL initialisation failed: " + eal_hint(rte_errno, no_huge));
    if (rte_eth_dev_count_avail() == 0 && vdev_given)
        throw std::runtime_error("the --vdev did not probe, so there is no port (for net_tap: run as root or with "
                                 "CAP_NET_ADMIN, and /dev/net/tun must exist; EAL said why above)");

    s.shared.options = &s.options;
    s.shared.hz = rte_get_tsc_hz();
    unsigned lcore;
    RTE_LCORE_FOREACH(lcore) s.lcores.push_back(lcore);
    // --loopback on one lcore (-l A): the client and the server stack take turns on it, which leaves the other
    // CPUs to application threads.
    if (s.options.loopback && s.lcores.size() == 1) s.lcores.push_back(s.lcores[0]);
    s.shared.workers = static_cast<unsigned>(s.lcores.size());
    choose_app_cpus(s);

    const bool packed = dpdk::any_af_xdp_port();  // its UMEM is the pool's memory: see dpdk/mbuf_pool.hpp
    for (unsigned l : s.lcores) {
        unsigned socket = rte_lcore_to_socket_id(l);
        if (s.pools.count(socket)) continue;
        const std::string name = "synack_mbuf_" + std::to_string(socket);
        rte_mempool* p = dpdk::create_mbuf_pool(name, s.options.mbufs, 256, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(socket), packed);
        if (p == nullptr)
            p = dpdk::create_mbuf_pool(name, s.options.mbufs, 256, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, packed);
        if (p == nullptr)
            throw std::runtime_error("cannot create " + std::to_string(s.options.mbufs) +
                                     " mbufs: " + std::string(rte_strerror(rte_errno)) + "; try a smaller --mbufs or a larger -m");
        if (packed) {
            const uint32_t outside = dpdk::mbufs_outside_umem(p);
            if (outside > 0)
                throw std::runtime_error("net_af_xdp: " + std::to_string(outside) + " of " +
                                         std::to_string(s.options.mbufs) + " mbufs lie outside the range the PMD "
                                         "registers as UMEM (the pool is not one contiguous chunk); frames given "
                                         "to the kernel there would be lost. Try a larger -m or hugepages");
        }
        s.pools[socket] = p;
        // Big mbufs for large writes (Engine::set_bulk_pool). Optional: without them sends use the main pool.
        const std::string bulk = "synack_bulk_" + std::to_string(socket);
        rte_mempool* b = rte_pktmbuf_pool_create(bulk.c_str(), kBulkMbufs, 64, 0, kBulkDataRoom,
                                                 static_cast<int>(socket));
        if (b == nullptr)
            b = rte_pktmbuf_pool_create(bulk.c_str(), kBulkMbufs, 64, 0, kBulkDataRoom, SOCKET_ID_ANY);
        if (b == nullptr && s.options.verbose)
            std::fprintf(stderr, "synack: no bulk mbufs (%s): large writes use the main pool\n",
                         rte_strerror(rte_errno));
        s.bulk_pools[socket] = b;
    }
    rte_mempool* first_pool = s.pools.begin()->second;
    std::vector<uint16_t> worker_port(s.shared.workers, s.options.eth_port);
    if (s.options.loopback) {
        if (s.shared.workers != 2) throw std::runtime_error("--loopback needs one or two lcores (-l A or -l A,B)");
        // Two ports crossing two rings: what the client sends, the server receives, and back.
        rte_ring* c2s = rte_ring_create("synack_loop_c2s", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        rte_ring* s2c = rte_ring_create("synack_loop_s2c", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (c2s == nullptr || s2c == nullptr) throw std::runtime_error("--loopback: cannot create rings");
        s.rings = {c2s, s2c};
        const int client = rte_eth_from_rings("synack_loop_client", &s2c, 1, &c2s, 1, SOCKET_ID_ANY);
        const int server = rte_eth_from_rings("synack_loop_server", &c2s, 1, &s2c, 1, SOCKET_ID_ANY);
        if (client < 0 || server < 0) throw std::runtime_error("--loopback: cannot create net_ring ports");
        worker_port = {static_cast<uint16_t>(client), static_cast<uint16_t>(server)};
        s.shared.port = dpdk::open_port(worker_port[0], 1, first_pool, s.options.verbose);
        s.loop_server_port = dpdk::open_port(worker_port[1], 1, first_pool, s.options.verbose);
        s.shared.port.virtual_link = s.loop_server_port.virtual_link = true;
        s.shared.port.tx_cksum_offload = s.loop_server_port.tx_cksum_offload = true;
        // Like veth passing GSO packets: a TSO packet crosses the in-process link whole, nobody cuts it.
        s.shared.port.tso_max = s.loop_server_port.tso_max = wire::kMaxTcpPayload;
        s.open_ports = worker_port;
        if (s.options.impair.enabled()) attach_impairment(s, first_pool);
    } else if (s.options.port_per_core && s.shared.workers > 1) {
        for (unsigned i = 0; i < s.shared.workers; ++i) {
            worker_port[i] = static_cast<uint16_t>(s.options.eth_port + i);
            const dpdk::PortInfo p = dpdk::open_port(worker_port[i], 1, first_pool, s.options.verbose);
            s.open_ports.push_back(worker_port[i]);
            if (i == 0) s.shared.port = p;
            else if (p.driver != s.shared.port.driver || p.tx_cksum_offload != s.shared.port.tx_cksum_offload ||
                     p.tx_multi_seg != s.shared.port.tx_multi_seg || p.mtu != s.shared.port.mtu)
                throw std::runtime_error("--port-per-core: port " + std::to_string(worker_port[i]) +
                                         " differs from port " + std::to_string(worker_port[0]) +
                                         " (driver, offloads or MTU): give one vdev per queue of one interface");
        }
        s.shared.port.hw_rss = false;  // flows arrive on whichever port the kernel picked: software RSS
        s.shared.port_per_core = true;
    } else {
        s.shared.port = dpdk::open_port(s.options.eth_port, static_cast<uint16_t>(s.shared.workers), first_pool,
                                        s.options.verbose);
        s.open_ports = {s.options.eth_port};
    }

    if (!s.options.exception_tap.empty()) {
        if (s.options.loopback) throw std::runtime_error("--exception-tap needs a port, not --loopback");
        s.exception = std::make_unique<dpdk::ExceptionPath>(s.options.exception_tap, s.shared.port.mac,
                                                            static_cast<uint16_t>(s.shared.workers), first_pool);
        s.shared.exception = s.exception.get();
    }

    if (!s.options.ip6.is_unspecified() && !s.options.loopback) {
        for (uint16_t p : s.open_ports) {
            std::string why;
            if (!dpdk::join_ipv6_groups(p, s.options.ip6.bytes, why))  // a virtual port may deliver them anyway
                std::fprintf(stderr, "synack: port %u: cannot join the IPv6 multicast groups (%s); neighbour "
                                     "solicitations may not arrive on a NIC that filters multicast\n", p, why.c_str());
        }
    }

    if (s.options.share_kernel) {
        try {
            share_kernel_setup(s);
        } catch (...) {  // ~Stack will not run: close the port now, so DPDK detaches its XDP program
            for (uint16_t p : s.open_ports) dpdk::close_port(p);
            s.open_ports.clear();
            throw;
        }
    }

    TcpConfig tcp = s.options.tcp;
    tcp.mss = static_cast<uint16_t>(std::min<uint32_t>(tcp.mss, s.shared.port.mtu - 40u));
    // TCP over IPv6 costs its table and addresses only when there is an IPv6 address (--ip6).
    if (!s.options.ip6.is_unspecified()) tcp.max_connections6 = tcp.max_connections;
    tcp.tx_checksum_offload = s.shared.port.tx_cksum_offload;
    tcp.tso_max = s.options.tso ? s.shared.port.tso_max : 0;
    tcp.tso_max_segs = s.shared.port.tso_max_segs;
    tcp.tx_multi_seg = s.shared.port.tx_multi_seg || s.shared.port.virtual_link;
    if (!tcp.tx_multi_seg) {  // the payload is copied behind the headers: a segment must fit one mbuf
        tcp.tso_max = 0;
        const uint32_t room = rte_pktmbuf_data_room_size(first_pool) - RTE_PKTMBUF_HEADROOM;
        tcp.mss = static_cast<uint16_t>(std::min<uint32_t>(tcp.mss, room));
    }
    net::NetConfig net;
    net.ip = s.options.ip;
    net.prefix_len = s.options.prefix_len;
    net.gateway = s.options.gateway;
    net.ip6 = wire::Ip6Addr::from(s.options.ip6.bytes);
    net.prefix6_len = s.options.prefix6_len;
    net.gw6 = wire::Ip6Addr::from(s.options.gw6.bytes);
    net.mac = s.shared.port.mac;
    net.mtu = s.shared.port.mtu;
    if (s.xdp) {  // next hops from the kernel's table: retry soon, it usually knows the peer already
        net.share_kernel = true;
        net.arp_retry_ms = 100;
        net.arp_max_retries = 30;
    }

    if (s.xdp) s.xdp->start_resolver(s.shared.workers);
    const bool software_rss = s.shared.workers > 1 && !s.shared.port.hw_rss && !s.options.loopback;
    std::map<unsigned, unsigned> cores_on_socket;
    for (unsigned l : s.lcores) ++cores_on_socket[rte_lcore_to_socket_id(l)];
    for (unsigned i = 0; i < s.shared.workers; ++i) {
        dpdk::RxMode mode = !software_rss               ? dpdk::RxMode::own_queue
                            : s.shared.port_per_core ? dpdk::RxMode::own_port_forward
                            : i == 0                 ? dpdk::RxMode::dispatcher
                                                     : dpdk::RxMode::inbox;
        rte_mempool* pool = s.pools[rte_lcore_to_socket_id(s.lcores[i])];
        uint16_t queue = s.shared.port_per_core ? 0 : static_cast<uint16_t>(i);
        if (s.options.loopback) {  // lcore A: the client at --ip + 1 on its own port; lcore B: the server at --ip
            queue = 0;                // (and --ip6 + 1, --ip6)
            if (s.options.ip != 0) net.ip = i == 0 ? s.options.ip + 1 : s.options.ip;
            net.ip6 = wire::Ip6Addr::from(s.options.ip6.bytes);
            if (i == 0 && !net.ip6.is_unspecified()) ++net.ip6.b[15];
            net.mac = i == 0 ? s.shared.port.mac : s.loop_server_port.mac;
        }
        TcpConfig core_tcp = tcp;
        if (core_tcp.mem_limit == 0) {  // the pool's budget (see TcpConfig::mem_limit), shared by its cores
            const uint32_t size = pool->size;
            const uint32_t reserve = std::min(
                core_tcp.rx_reserve_mbufs != 0 ? core_tcp.rx_reserve_mbufs : std::max<uint32_t>(256, size / 8), size / 2);
            const uint64_t mbufs = size > 2 * reserve ? size - 2 * reserve : size / 4;
            core_tcp.mem_limit = mbufs * (rte_pktmbuf_data_room_size(pool) + sizeof(rte_mbuf)) /
                                 cores_on_socket[rte_lcore_to_socket_id(s.lcores[i])];
        }
        s.workers.push_back(
            std::make_unique<dpdk::Worker>(s.shared, i, mode, pool, core_tcp, net, worker_port[i], queue));
        s.workers.back()->engine.set_bulk_pool(s.bulk_pools[rte_lcore_to_socket_id(s.lcores[i])]);
        if (s.xdp) {
            dpdk::NeighbourMailbox& mb = s.xdp->mailbox(i);
            s.workers.back()->iface.set_resolver(&dpdk::NeighbourMailbox::ask, &mb);
            s.workers.back()->iface.set_resolver6(&dpdk::NeighbourMailbox::ask6, &mb);
            s.workers.back()->neighbours = &mb;
        }
        s.worker_ptrs.push_back(s.workers.back().get());
    }
    s.shared.all = s.worker_ptrs.data();
    if (!s.options.pcap.empty()) {  // after every port exists: rte_pcapng names the ports of the file at open
        s.capture = std::make_unique<dpdk::Capture>(s.options.pcap, s.options.pcap_max_bytes, s.shared.workers);
        for (unsigned i = 0; i < s.shared.workers; ++i) s.workers[i]->capture = s.capture->tap(i);
    }
    dpdk::telemetry_attach(s.worker_ptrs.data(), s.shared.workers, s.capture.get());
    if (s.options.verbose) {
        char mac[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(mac, sizeof mac, &s.shared.port.mac);
        std::fprintf(stderr,
                     "synack: port %u (%s) mac %s mtu %u, %u worker(s), %s, checksums %s, TSO %s, %s, link %s\n",
                     s.shared.port.id, s.shared.port.driver.c_str(), mac, s.shared.port.mtu, s.shared.workers,
                     s.options.loopback      ? "loopback over net_ring"
                     : s.shared.workers == 1 ? "single core"
                                             : (software_rss ? "software RSS" : "hardware RSS"),
                     s.shared.port.virtual_link       ? "not needed (in-process link)"
                     : s.shared.port.tx_cksum_offload ? "offloaded"
                                                      : "in software",
                     tcp.tso_max ? "on" : "off",
                     tcp.tx_multi_seg ? "multi-segment TX" : "single-segment TX (payload copied)",
                     s.shared.port.link_up ? "up" : "DOWN");
    }
}

Stack::~Stack() {
    Impl& s = *impl_;
    dpdk::telemetry_detach();
    s.capture.reset();  // the writer drains what the workers queued
    s.hub.reset();      // frees bytes channels left pending, while the pools still exist
    s.workers.clear();  // engines and interfaces free every mbuf they hold
    s.exception.reset();
    s.xdp.reset();  // before the port closes: DPDK detaches the program, and its maps go with it
    for (uint16_t p : s.open_ports) dpdk::close_port(p);
    for (auto& l : s.links) l.reset();  // after the ports (callbacks gone); frees the frames still on the link
    for (rte_ring* r : s.rings) rte_ring_free(r);
    for (auto& [socket, pool] : s.pools) rte_mempool_free(pool);
    for (auto& [socket, pool] : s.bulk_pools) rte_mempool_free(pool);
    rte_eal_cleanup();
}

const Options& Stack::options() const noexcept { return impl_->options; }

int Stack::run() { return run(App{}); }

int Stack::run(const App& user) {
    Impl& s = *impl_;
    // Attached channels are served around the App's callbacks; with none the App runs as given.
    const App& app = s.hub->empty() ? user : s.hub->wrap(user, s.shared.workers,
                                                          s.app_cpus_dedicated ? CPU_COUNT(&s.app_cpus) : 0);
    s.hub->set_running(true);
    s.app = &app;
    g_stop = &s.shared.stop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (s.capture) s.capture->start();
    rte_eal_mp_remote_launch(&Impl::lcore_main, &s, CALL_MAIN);
    rte_eal_mp_wait_lcore();
    if (s.capture) s.capture->stop();
    g_stop = nullptr;
    s.hub->set_running(false);
    s.hub->stopped();
    return 0;
}

dpdk::ChannelHub& Stack::hub() noexcept { return *impl_->hub; }

bool Stack::pin_app_thread() const noexcept {
    if (CPU_COUNT(&impl_->app_cpus) == 0) return false;
    return pthread_setaffinity_np(pthread_self(), sizeof impl_->app_cpus, &impl_->app_cpus) == 0;
}

bool Stack::register_app_thread() const noexcept {
    return rte_thread_register() == 0 && rte_lcore_id() != LCORE_ID_ANY;
}

void Stack::unregister_app_thread() const noexcept {
    // A released lcore id keeps its caches' mbufs until another thread gets the id: hand them back now, so that
    // the pools' in-use counts return to the idle level.
    const unsigned lcore = rte_lcore_id();
    auto flush = [lcore](rte_mempool* p) {
        if (p != nullptr && lcore != LCORE_ID_ANY) rte_mempool_cache_flush(rte_mempool_default_cache(p, lcore), p);
    };
    for (const auto& [socket, pool] : impl_->pools) flush(pool);
    for (const auto& [socket, pool] : impl_->bulk_pools) flush(pool);
    rte_thread_unregister();
}

std::string Stack::app_cpus() const {
    std::ostringstream out;
    const char* sep = "";
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &impl_->app_cpus) || (c > 0 && CPU_ISSET(c - 1, &impl_->app_cpus))) continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &impl_->app_cpus)) ++last;
        out << sep << c;
        if (last > c) out << "-" << last;
        sep = ",";
    }
    return out.str();
}

bool Stack::app_cpus_dedicated() const noexcept { return impl_->app_cpus_dedicated; }

void Stack::stop() noexcept { impl_->shared.stop.store(true); }

rte_mempool* Stack::mbuf_pool() const noexcept { return impl_->pools.begin()->second; }

CoreStats Stack::totals() const noexcept {
    CoreStats t{};
    for (const auto& w : impl_->workers) {
        CoreStats s = w->stats();
        const auto* src = reinterpret_cast<const uint64_t*>(&s);
        auto* dst = reinterpret_cast<uint64_t*>(&t);
        for (size_t i = 0; i < sizeof(CoreStats) / sizeof(uint64_t); ++i) dst[i] += src[i];
    }
    return t;
}

std::string Stack::counters_report() const {
    tcp::EngineCounters tc{};
    net::NetCounters nc{};
    for (const auto& w : impl_->workers) w->add_counters(tc, nc);
    std::ostringstream os;
    const auto* t = reinterpret_cast<const uint64_t*>(&tc);
    for (size_t i = 0; i < dpdk::kTcpCounterCount; ++i)
        if (t[i] != 0) os << dpdk::kTcpCounters[i].name << " " << t[i] << "\n";
    const auto* n = reinterpret_cast<const uint64_t*>(&nc);
    for (size_t i = 0; i < dpdk::kNetCounterCount; ++i)
        if (n[i] != 0) os << dpdk::kNetCounters[i].name << " " << n[i] << "\n";
    for (int d = 0; d < 2; ++d) {
        if (!impl_->links[d]) continue;
        const dpdk::ImpairLink::Stats& l = impl_->links[d]->stats();
        os << (d == 0 ? "impair_to_client" : "impair_to_server") << " in " << l.frames_in << " delivered "
           << l.delivered << " lost " << l.lost << " queue_dropped " << l.queue_dropped << " overflow_dropped "
           << l.overflow_dropped << " duplicated " << l.duplicated << " corrupted " << l.corrupted << " reordered "
           << l.reordered << " no_mbuf " << l.no_mbuf << "\n";
    }
    if (impl_->exception) os << impl_->exception->report();
    os << memory_report();
    for (size_t i = 0; i < impl_->workers.size(); ++i) {
        CoreStats c = impl_->workers[i]->stats();
        os << "core" << i << " rx " << c.rx_packets << " tx " << c.tx_packets << " tx_dropped " << c.tx_dropped
           << " dispatched " << c.rx_dispatched << " dispatch_dropped " << c.rx_dispatch_dropped << " opened "
           << c.connections_opened << " busy_pct "
           << (c.loop_cycles ? 100.0 * static_cast<double>(c.busy_cycles) / static_cast<double>(c.loop_cycles) : 0.0)
           << "\n";
    }
    if (impl_->capture) {
        uint64_t dropped = 0, over = impl_->capture->discarded();
        for (unsigned i = 0; i < impl_->shared.workers; ++i) {
            dropped += impl_->capture->tap(i)->dropped;
            over += impl_->capture->tap(i)->over_limit;
        }
        os << "pcap.packets " << impl_->capture->packets_written() << "\npcap.bytes " << impl_->capture->bytes_written()
           << "\npcap.dropped " << dropped << "\npcap.over_limit " << over << "\n";
    }
    return os.str();
}

std::string Stack::memory_report() const {
    std::ostringstream os;
    auto pool_line = [&](const char* kind, unsigned socket, const rte_mempool* p) {
        if (p == nullptr) return;
        os << "pool." << kind << socket << " in_use " << rte_mempool_in_use_count(p) << " of " << p->size << "\n";
    };
    for (const auto& [socket, p] : impl_->pools) pool_line("main", socket, p);
    for (const auto& [socket, p] : impl_->bulk_pools) pool_line("bulk", socket, p);
    for (size_t i = 0; i < impl_->workers.size(); ++i) {
        const tcp::Engine::MemStats m = impl_->workers[i]->engine.mem_stats();
        os << "mem.core" << i << " used " << m.used << " limit " << m.limit << " high " << m.high << " low " << m.low
           << " conn_rcv " << m.conn_rcv_limit << " conn_snd " << m.conn_snd_limit << " rx_reserve " << m.rx_reserve
           << (m.pressure ? " PRESSURE" : "") << "\n";
    }
    return os.str();
}

uint64_t Stack::mbufs_in_use() const noexcept {
    uint64_t n = 0;
    for (const auto& [socket, p] : impl_->pools) n += rte_mempool_in_use_count(p);
    for (const auto& [socket, p] : impl_->bulk_pools)
        if (p != nullptr) n += rte_mempool_in_use_count(p);
    return n;
}

// ---- Core: the user calls, forwarded to the owning worker's engine ----

int Core::listen(uint16_t port, uint32_t backlog) noexcept {
    // Any of our addresses, IPv4 and IPv6 alike: the interface passes on only segments to our own addresses.
    const int l = w_->engine.listen(0, port, backlog);
    // --share-kernel: the XDP program must send the port's segments to synack (one system call, at listen only).
    if (l >= 0 && w_->shared.xdp_share != nullptr && !w_->shared.xdp_share->add_port(port)) {
        w_->engine.close_listener(l);
        return -ENOSPC;
    }
    return l;
}
int Core::connect(uint32_t ip, uint16_t port, uint64_t user, ConnId& out) noexcept {
    if (w_->iface.config().ip == 0) return -EAFNOSUPPORT;  // IPv6 only: no IPv4 source address to connect from
    return w_->engine.connect(w_->iface.config().ip, 0, ip, port, user, out);
}
int Core::connect(const Address& ip, uint16_t port, uint64_t user, ConnId& out) noexcept {
    if (ip.is_v4()) return connect(ip.to_v4(), port, user, out);
    const wire::Ip6Addr& ours = w_->iface.config().ip6;
    if (ours.is_unspecified()) return -EAFNOSUPPORT;  // IPv4 only: no IPv6 source address to connect from
    return w_->engine.connect6(ours, 0, wire::Ip6Addr::from(ip.bytes), port, user, out);
}
int Core::remote(ConnId c, Address& ip, uint16_t& port) const noexcept {
    const tcp::Tcb* t = w_->engine.tcb(c);
    if (t == nullptr) return -EINVAL;
    ip = t->v6 ? Address::v6(w_->engine.addr6(*t).dst.b) : Address::v4(t->tuple.remote_ip);
    port = t->tuple.remote_port;
    return 0;
}
int32_t Core::send(ConnId c, const void* data, uint32_t len) noexcept { return w_->engine.send(c, data, len); }
int32_t Core::send_chain(ConnId c, rte_mbuf* m) noexcept { return w_->engine.send_chain(c, m); }
int32_t Core::recv(ConnId c, void* buf, uint32_t len) noexcept { return w_->engine.recv(c, buf, len); }
rte_mbuf* Core::recv_chain(ConnId c) noexcept { return w_->engine.recv_chain(c); }
int Core::close(ConnId c) noexcept { return w_->engine.close(c); }
int Core::abort(ConnId c) noexcept { return w_->engine.abort(c); }
int Core::set_user(ConnId c, uint64_t user) noexcept { return w_->engine.set_user(c, user); }
int Core::set_delayed_fin_ack(ConnId c, bool on) noexcept { return w_->engine.set_delayed_fin_ack(c, on); }
int Core::set_keepalive(ConnId c, uint32_t idle_s, uint32_t intvl_s, uint32_t cnt) noexcept {
    return w_->engine.set_keepalive(c, idle_s, intvl_s, cnt);
}
State Core::state(ConnId c) const noexcept { return w_->engine.state(c); }
int Core::info(ConnId c, ConnInfo& out) const noexcept { return w_->info(c, out) ? 0 : -EINVAL; }
uint32_t Core::send_space(ConnId c) const noexcept { return w_->engine.send_space(c); }
uint32_t Core::readable_bytes(ConnId c) const noexcept {
    const tcp::Tcb* t = w_->engine.tcb(c);
    return t == nullptr ? 0 : t->rcv_buf.bytes;
}
uint32_t Core::connections() const noexcept { return w_->engine.connections(); }
unsigned Core::index() const noexcept { return w_->index; }
unsigned Core::workers() const noexcept { return w_->shared.workers; }
uint64_t Core::now_cycles() const noexcept { return w_->loop_now; }
uint64_t Core::cycles_hz() const noexcept { return w_->shared.hz; }
const Options& Core::options() const noexcept { return *w_->shared.options; }
CoreStats Core::stats() const noexcept { return w_->stats(); }
void Core::stop() noexcept { w_->shared.stop.store(true); }

}  // namespace synack
