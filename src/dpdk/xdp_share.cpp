// --share-kernel: the maps of synack's XDP program, and what synack reads from the kernel (see xdp_share.hpp).
#include "dpdk/xdp_share.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../../bpf/synack_xdp.h"

namespace synack::dpdk {
namespace {

long sys_bpf(int cmd, bpf_attr& attr) noexcept {
    return syscall(__NR_bpf, cmd, &attr, sizeof attr);
}

std::string err() { return std::strerror(errno); }

// The id of the XDP program attached to ifindex (RTM_GETLINK, IFLA_XDP / IFLA_XDP_PROG_ID), 0 when none.
uint32_t xdp_prog_id(unsigned ifindex) {
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw std::runtime_error("--share-kernel: netlink socket: " + err());
    struct {
        nlmsghdr nh;
        ifinfomsg ifi;
    } req{};
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = RTM_GETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = static_cast<int>(ifindex);
    std::vector<char> buf(32768);
    uint32_t id = 0;
    if (send(fd, &req, sizeof req, 0) < 0) {
        close(fd);
        throw std::runtime_error("--share-kernel: netlink RTM_GETLINK: " + err());
    }
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    close(fd);
    if (n < 0) throw std::runtime_error("--share-kernel: netlink reply: " + err());
    int left = static_cast<int>(n);
// NLMSG_OK compares the header's unsigned length with the signed remainder (clang's -Wsign-compare).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
        if (nh->nlmsg_type != RTM_NEWLINK) continue;
        auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(nh));
        int len = static_cast<int>(IFLA_PAYLOAD(nh));
        for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            if ((a->rta_type & NLA_TYPE_MASK) != IFLA_XDP) continue;
            int xlen = static_cast<int>(RTA_PAYLOAD(a));
            for (auto* x = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(x, xlen); x = RTA_NEXT(x, xlen))
                if (x->rta_type == IFLA_XDP_PROG_ID) std::memcpy(&id, RTA_DATA(x), sizeof id);
        }
        break;
    }
#pragma GCC diagnostic pop
    return id;
}

// An fd of the map called `name` among prog_fd's maps, or -1.
int map_by_name(int prog_fd, const char* name) {
    uint32_t ids[16];
    bpf_prog_info info{};
    info.nr_map_ids = 16;
    info.map_ids = reinterpret_cast<uintptr_t>(ids);
    bpf_attr a{};
    a.info.bpf_fd = static_cast<uint32_t>(prog_fd);
    a.info.info_len = sizeof info;
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, a) != 0) return -1;
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 16); ++i) {
        bpf_attr m{};
        m.map_id = ids[i];
        const int fd = static_cast<int>(sys_bpf(BPF_MAP_GET_FD_BY_ID, m));
        if (fd < 0) continue;
        bpf_map_info mi{};
        bpf_attr q{};
        q.info.bpf_fd = static_cast<uint32_t>(fd);
        q.info.info_len = sizeof mi;
        q.info.info = reinterpret_cast<uintptr_t>(&mi);
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, q) == 0 && std::strncmp(mi.name, name, sizeof mi.name) == 0) return fd;
        close(fd);
    }
    return -1;
}

bool map_update(int fd, const void* key, const void* value) noexcept {
    bpf_attr a{};
    a.map_fd = static_cast<uint32_t>(fd);
    a.key = reinterpret_cast<uintptr_t>(key);
    a.value = reinterpret_cast<uintptr_t>(value);
    a.flags = BPF_ANY;
    return sys_bpf(BPF_MAP_UPDATE_ELEM, a) == 0;
}

}  // namespace

KernelAddress kernel_address(const std::string& iface, uint32_t want) {
    KernelAddress k;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) throw std::runtime_error("--share-kernel: getifaddrs: " + err());
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_netmask == nullptr || a->ifa_addr->sa_family != AF_INET ||
            iface != a->ifa_name)
            continue;
        const uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
        if (k.ip != 0 && ip != want) continue;
        k.ip = ip;
        const uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
        k.prefix_len = static_cast<uint8_t>(__builtin_popcount(mask));
        if (ip == want) break;
    }
    freeifaddrs(list);
    if (k.ip == 0)
        throw std::runtime_error("--share-kernel: interface " + iface +
                                 " has no IPv4 address: give it one (ip addr add A.B.C.D/LEN dev " + iface + ")");
    // /proc/net/route: Iface Destination Gateway Flags ..., hex in network order; the default route has
    // destination 0.
    if (FILE* f = std::fopen("/proc/net/route", "r")) {
        char line[512], name[IF_NAMESIZE + 1];
        unsigned dst = 0, gw = 0, flags = 0;
        while (std::fgets(line, sizeof line, f) != nullptr)
            if (std::sscanf(line, "%16s %x %x %x", name, &dst, &gw, &flags) == 4 && iface == name && dst == 0 &&
                (flags & 0x2) != 0) {  // RTF_GATEWAY
                k.gateway = ntohl(gw);
                break;
            }
        std::fclose(f);
    }
    return k;
}

void kernel_ephemeral_range(uint16_t& low, uint16_t& high) {
    low = 32768;
    high = 60999;  // Linux's default, if the file cannot be read
    if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
        unsigned lo = 0, hi = 0;
        if (std::fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
            low = static_cast<uint16_t>(lo);
            high = static_cast<uint16_t>(hi);
        }
        std::fclose(f);
    }
}

std::string af_xdp_iface(uint16_t port_id) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_id, &info) != 0 || info.driver_name == nullptr ||
        std::strcmp(info.driver_name, "net_af_xdp") != 0 || info.device == nullptr)
        return "";
    const rte_devargs* da = rte_dev_devargs(info.device);
    if (da == nullptr || da->args == nullptr) return "";
    const std::string args = da->args;
    const auto at = args.find("iface=");
    if (at == std::string::npos) return "";
    const auto end = args.find(',', at);
    return args.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

XdpShare::XdpShare(const std::string& iface) : iface_(iface) {
    ifindex_ = if_nametoindex(iface.c_str());
    if (ifindex_ == 0) throw std::runtime_error("--share-kernel: no interface " + iface + ": " + err());
    prog_id_ = xdp_prog_id(ifindex_);
    const std::string fix = std::string(" give the vdev xdp_prog=") +
                            (SYNACK_XDP_OBJ[0] != '\0' ? SYNACK_XDP_OBJ : "PATH/synack_xdp.o (not built: no clang)") +
                            " (synack's program, bpf/synack_xdp.c)";
    if (prog_id_ == 0) throw std::runtime_error("--share-kernel: no XDP program on " + iface + ":" + fix);
    bpf_attr a{};
    a.prog_id = prog_id_;
    const int prog_fd = static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, a));
    if (prog_fd < 0)
        throw std::runtime_error("--share-kernel: cannot open XDP program " + std::to_string(prog_id_) + ": " + err() +
                                 " (needs CAP_SYS_ADMIN / CAP_BPF)");
    ports_fd_ = map_by_name(prog_fd, SYNACK_XDP_PORTS_MAP);
    config_fd_ = map_by_name(prog_fd, SYNACK_XDP_CONFIG_MAP);
    close(prog_fd);
    if (ports_fd_ < 0 || config_fd_ < 0) {
        if (ports_fd_ >= 0) close(ports_fd_);
        if (config_fd_ >= 0) close(config_fd_);
        throw std::runtime_error("--share-kernel: the XDP program on " + iface + " (id " + std::to_string(prog_id_) +
                                 ") has no " SYNACK_XDP_PORTS_MAP " / " SYNACK_XDP_CONFIG_MAP " maps:" + fix);
    }
}

XdpShare::~XdpShare() {
    if (resolver_started_) {
        stop_.store(true, std::memory_order_release);
        pthread_join(resolver_, nullptr);
    }
    if (nl_fd_ >= 0) close(nl_fd_);
    if (notify_fd_ >= 0) close(notify_fd_);
    close(ports_fd_);
    close(config_fd_);
}

void XdpShare::configure(uint32_t ip, const wire::Ip6Addr& ip6, uint16_t eph_low, uint16_t eph_high) {
    synack_xdp_config c{};
    c.ip_be = htonl(ip);
    std::memcpy(c.ip6_be, ip6.b, sizeof c.ip6_be);
    c.ephemeral_low = eph_low;
    c.ephemeral_high = eph_high;
    const uint32_t key = 0;
    if (!map_update(config_fd_, &key, &c))
        throw std::runtime_error("--share-kernel: cannot write " SYNACK_XDP_CONFIG_MAP ": " + err());
}

bool XdpShare::add_port(uint16_t port) noexcept {
    const uint8_t one = 1;
    return map_update(ports_fd_, &port, &one);
}

namespace {
// One RTM_*NEIGH message about one address on one interface: the query (RTM_GETNEIGH) and the request to resolve
// (RTM_NEWNEIGH with NTF_USE) differ only in type, flags and state.
struct NeighRequest {
    nlmsghdr nh;
    ndmsg nd;
    rtattr dst;
    uint8_t addr[16];
};

NeighRequest neigh_request(uint16_t type, uint16_t flags, unsigned ifindex, const NeighbourQuery& q,
                           uint32_t seq) noexcept {
    const size_t len = q.v6 ? sizeof q.ip6.b : sizeof q.ip;
    NeighRequest r{};
    r.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(ndmsg)) + RTA_LENGTH(len));
    r.nh.nlmsg_type = type;
    r.nh.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    r.nh.nlmsg_seq = seq;
    r.nd.ndm_family = q.v6 ? AF_INET6 : AF_INET;
    r.nd.ndm_ifindex = static_cast<int>(ifindex);
    r.dst.rta_type = NDA_DST;
    r.dst.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    const uint32_t be = htonl(q.ip);
    std::memcpy(r.addr, q.v6 ? static_cast<const void*>(q.ip6.b) : &be, len);
    return r;
}

// The address and link-layer address of an RTM_NEWNEIGH on ifindex, when the entry is usable as the kernel would
// use it (not INCOMPLETE or FAILED): the reply to a query, or a notification.
bool parse_neighbour(const nlmsghdr* nh, unsigned ifindex, NeighbourQuery& q, rte_ether_addr& mac) noexcept {
    if (nh->nlmsg_type != RTM_NEWNEIGH || nh->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
    const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(nh));
    if (nd->ndm_ifindex != static_cast<int>(ifindex) || (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) ||
        (nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)) == 0)
        return false;
    q = NeighbourQuery{};
    q.v6 = nd->ndm_family == AF_INET6;
    const size_t addr_len = q.v6 ? sizeof q.ip6.b : sizeof q.ip;
    bool have_dst = false, have_mac = false;
    int len = static_cast<int>(nh->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)));
    for (const rtattr* a = reinterpret_cast<const rtattr*>(nd + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == addr_len) {
            uint32_t be = 0;
            std::memcpy(q.v6 ? static_cast<void*>(q.ip6.b) : &be, RTA_DATA(a), addr_len);
            q.ip = ntohl(be);
            have_dst = true;
        } else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == RTE_ETHER_ADDR_LEN) {
            std::memcpy(&mac, RTA_DATA(a), RTE_ETHER_ADDR_LEN);
            have_mac = rte_is_valid_assigned_ether_addr(&mac);
        }
    }
    return have_dst && have_mac;
}
}  // namespace

bool XdpShare::kernel_neighbour(const NeighbourQuery& q, rte_ether_addr& mac) noexcept {
    // RTM_GETNEIGH for one address (as `ip neigh get IP dev IFACE`). The socket also carries the error replies of
    // earlier fire-and-forget requests: only the reply with this query's sequence number counts.
    const uint32_t seq = ++nl_seq_;
    const NeighRequest req = neigh_request(RTM_GETNEIGH, 0, ifindex_, q, seq);
    if (send(nl_fd_, &req, req.nh.nlmsg_len, 0) != static_cast<ssize_t>(req.nh.nlmsg_len)) return false;
    alignas(nlmsghdr) char buf[1024];
    for (;;) {
        const ssize_t n = recv(nl_fd_, buf, sizeof buf, 0);  // SO_RCVTIMEO bounds the wait (control thread)
        if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) return false;
        const auto* nh = reinterpret_cast<const nlmsghdr*>(buf);
        if (nh->nlmsg_len > static_cast<uint32_t>(n)) return false;
        NeighbourQuery got;
        if (nh->nlmsg_seq == seq)  // NLMSG_ERROR: the kernel has no entry
            return parse_neighbour(nh, ifindex_, got, mac) && NeighbourMailbox::same(got, q);
    }
}

void XdpShare::ask_kernel_to_resolve(const NeighbourQuery& q) noexcept {
    // RTM_NEWNEIGH with NTF_USE: the kernel creates the entry if need be and starts resolving it (neigh_event_send),
    // as `ip neigh replace IP dev IFACE use` does. Fire and forget: the kernel's notification of the entry brings
    // the answer (take_notifications), or else the worker's next retry reads the table again.
    NeighRequest req = neigh_request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex_, q, ++nl_seq_);
    req.nd.ndm_state = NUD_NONE;
    req.nd.ndm_flags = NTF_USE;
    (void)send(nl_fd_, &req, req.nh.nlmsg_len, 0);
}

void XdpShare::start_resolver(unsigned workers) {
    nl_fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl_fd_ < 0) throw std::runtime_error("--share-kernel: netlink socket: " + err());
    timeval tv{0, 100000};  // the kernel answers at once; a lost reply costs the worker one retry, no more
    setsockopt(nl_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // The kernel's neighbour notifications (RTNLGRP_NEIGH), so that an entry it resolves on our request reaches the
    // worker at once. Optional: without them the worker's retry finds it.
    notify_fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_NEIGH;
    if (notify_fd_ >= 0 && bind(notify_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        close(notify_fd_);
        notify_fd_ = -1;
    }
    for (unsigned i = 0; i < workers; ++i) mailboxes_.push_back(std::make_unique<NeighbourMailbox>());
    // A DPDK control thread: on the CPUs the lcores leave free, so it never takes a poller's.
    const int rc = rte_ctrl_thread_create(
        &resolver_, "synack-neigh", nullptr,
        [](void* self) -> void* {
            static_cast<XdpShare*>(self)->serve_workers();
            return nullptr;
        },
        this);
    if (rc != 0)
        throw std::runtime_error("--share-kernel: cannot start the neighbour thread: " + std::string(std::strerror(rc)));
    resolver_started_ = true;
}

void XdpShare::serve_workers() noexcept {
    const auto lookup = [this](const NeighbourQuery& q, rte_ether_addr& mac) {
        if (kernel_neighbour(q, mac)) return true;
        ask_kernel_to_resolve(q);
        return false;
    };
    while (!stop_.load(std::memory_order_acquire)) {
        unsigned served = 0;
        for (auto& m : mailboxes_) served += m->serve(lookup);
        // Idle, a question waits at most 1 ms for the thread to look.
        if (notify_fd_ < 0) {
            if (served == 0) usleep(1000);
            continue;
        }
        pollfd p{notify_fd_, POLLIN, 0};
        if (poll(&p, 1, served != 0 ? 0 : 1) > 0) take_notifications();
    }
}

void XdpShare::take_notifications() noexcept {
    alignas(nlmsghdr) char buf[8192];
    for (int reads = 0; reads < 16; ++reads) {  // bounded: a storm elsewhere must not starve the questions
        const ssize_t n = recv(notify_fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == ENOBUFS) continue;  // some were lost: the workers' retries cover them
        if (n <= 0) return;
        int left = static_cast<int>(n);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"  // NLMSG_OK: see xdp_prog_id()
        for (auto* nh = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
            NeighbourQuery q;
            rte_ether_addr mac;
            if (!parse_neighbour(nh, ifindex_, q, mac)) continue;
            for (auto& m : mailboxes_) m->notify(q, mac);
        }
#pragma GCC diagnostic pop
    }
}

}  // namespace synack::dpdk
