#include "dpdk/exception_path.hpp"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <sstream>
#include <stdexcept>

namespace synack::dpdk {
namespace {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kDesc = 512;
constexpr const char* kStrayNames[] = {"other_ethertype", "multicast",      "arp_copy",   "ip_not_for_us",
                                       "ip_unsupported",  "ip_other_proto", "icmp_other", "tcp_no_listener"};
static_assert(std::size(kStrayNames) == static_cast<size_t>(net::Stray::count));

[[noreturn]] void fail(const std::string& what, int rc) {
    throw std::runtime_error("--exception-tap: " + what + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

}  // namespace

struct alignas(64) ExceptionPath::PerWorker {
    ExceptionPath* path = nullptr;
    uint16_t queue = 0;
    uint16_t pending = 0;
    rte_mbuf* to_kernel[kBurst];
    uint64_t handed[static_cast<size_t>(net::Stray::count)] = {};
    uint64_t to_kernel_dropped = 0;    // the tap's queue was full
    uint64_t from_kernel = 0;          // frames of the kernel sent on the port
    uint64_t from_kernel_dropped = 0;  // the port's TX queue was full

    void flush() noexcept {
        const uint16_t sent = rte_eth_tx_burst(path->port_, queue, to_kernel, pending);
        if (sent < pending) {
            to_kernel_dropped += pending - sent;
            rte_pktmbuf_free_bulk(to_kernel + sent, pending - sent);
        }
        pending = 0;
    }
    void queue_frame(rte_mbuf* m, net::Stray why) noexcept {
        ++handed[static_cast<size_t>(why)];
        to_kernel[pending++] = m;
        if (pending == kBurst) flush();
    }
};

ExceptionPath::ExceptionPath(const std::string& iface, const rte_ether_addr& mac, uint16_t workers, rte_mempool* pool)
    // One per process; a short device name, since net_tap derives mempool names (26 characters at most) from it.
    : name_("net_tap_exc"), queues_(workers), workers_(std::make_unique<PerWorker[]>(workers)) {
    char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac_text, sizeof mac_text, &mac);
    // The tap carries the port's MAC: frames from the wire addressed to the port are the kernel's too.
    const std::string args = "iface=" + iface + ",mac=" + mac_text;
    if (int rc = rte_dev_probe((name_ + "," + args).c_str()); rc != 0)
        fail("cannot create the tap " + iface + " (root or CAP_NET_ADMIN, and a name not in use)", rc);
    if (int rc = rte_eth_dev_get_port_by_name(name_.c_str(), &port_); rc != 0) fail("no port for the tap", rc);
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(port_, workers, workers, &conf); rc != 0) fail("configure", rc);
    const int socket = rte_eth_dev_socket_id(port_);
    for (uint16_t q = 0; q < workers; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port_, q, kDesc, socket, nullptr, pool); rc != 0) fail("rx queue", rc);
        if (int rc = rte_eth_tx_queue_setup(port_, q, kDesc, socket, nullptr); rc != 0) fail("tx queue", rc);
        workers_[q].path = this;
        workers_[q].queue = q;
    }
    if (int rc = rte_eth_dev_start(port_); rc != 0) fail("start", rc);
}

ExceptionPath::~ExceptionPath() {
    for (uint16_t w = 0; w < queues_; ++w) rte_pktmbuf_free_bulk(workers_[w].to_kernel, workers_[w].pending);
    rte_eth_dev_info info{};
    rte_eth_dev_stop(port_);
    if (rte_eth_dev_info_get(port_, &info) != 0 || info.device == nullptr || rte_dev_remove(info.device) != 0)
        rte_eth_dev_close(port_);  // removes the kernel interface with the tap's file descriptors
}

void* ExceptionPath::context(unsigned w) noexcept { return &workers_[w]; }

void ExceptionPath::from_interface(void* ctx, rte_mbuf* m, net::Stray why) noexcept {
    static_cast<PerWorker*>(ctx)->queue_frame(m, why);
}

// The engine hands over the IPv4 packet; its Ethernet header is still in the headroom, where Interface::input
// stepped over it.
void ExceptionPath::from_engine(void* ctx, rte_mbuf* m) noexcept {
    rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
    static_cast<PerWorker*>(ctx)->queue_frame(m, net::Stray::tcp_no_listener);
}

void ExceptionPath::service(unsigned w, uint16_t port, uint16_t queue) noexcept {
    PerWorker& pw = workers_[w];
    if (pw.pending > 0) pw.flush();
    if (w != 0) return;
    rte_mbuf* frames[kBurst];
    // net_tap reads only after its signal said a frame waits: cheap when idle (unless the port is a net_tap too,
    // whose PortInfo::rx_kick counts a signal before every poll: then each poll here reads as well).
    for (uint16_t q = 0; q < queues_; ++q) {
        const uint16_t n = rte_eth_rx_burst(port_, q, frames, kBurst);
        if (n == 0) continue;
        uint16_t sent = 0;
        for (int tries = 0; tries < 4 && sent < n; ++tries)  // as Worker::flush: a full queue drains quickly
            sent = static_cast<uint16_t>(sent + rte_eth_tx_burst(port, queue, frames + sent, n - sent));
        pw.from_kernel += sent;
        if (sent < n) {
            pw.from_kernel_dropped += n - sent;
            rte_pktmbuf_free_bulk(frames + sent, n - sent);
        }
    }
}

std::string ExceptionPath::report() const {
    PerWorker sum;
    for (uint16_t w = 0; w < queues_; ++w) {
        for (size_t i = 0; i < std::size(sum.handed); ++i) sum.handed[i] += workers_[w].handed[i];
        sum.to_kernel_dropped += workers_[w].to_kernel_dropped;
        sum.from_kernel += workers_[w].from_kernel;
        sum.from_kernel_dropped += workers_[w].from_kernel_dropped;
    }
    std::ostringstream os;
    for (size_t i = 0; i < std::size(sum.handed); ++i)
        if (sum.handed[i] != 0) os << "exception.to_kernel." << kStrayNames[i] << " " << sum.handed[i] << "\n";
    if (sum.to_kernel_dropped) os << "exception.to_kernel_dropped " << sum.to_kernel_dropped << "\n";
    if (sum.from_kernel) os << "exception.from_kernel " << sum.from_kernel << "\n";
    if (sum.from_kernel_dropped) os << "exception.from_kernel_dropped " << sum.from_kernel_dropped << "\n";
    return os.str();
}

}  // namespace synack::dpdk
