// The kernel exception path (--exception-tap NAME): frames synack does not terminate go to a tap interface of the
// kernel, and what the kernel sends there goes out of synack's port, so a host with one NIC keeps its SSH, DNS,
// IPv6 and the rest while synack serves its own TCP ports. The tap carries the port's MAC address; give it the
// host's IP address (the one synack has) and the kernel answers everything synack leaves to it.
//
// What goes to the kernel (net::Stray): frames neither ARP nor IPv4, multicast frames, a copy of every ARP frame,
// IPv4 for other destinations, fragments and headers with options, protocols other than TCP and ICMP, ICMP other
// than echo requests (synack answers pings itself), and TCP segments that find neither a connection nor a
// listener. A stray segment to a port synack listens on is still synack's to answer (RST, RFC 9293 §3.10.7.2).
//
// The kernel and synack share one address, so they must not share ports: keep the kernel's ephemeral range
// (net.ipv4.ip_local_port_range) clear of synack's (32768-60999) when synack opens connections, and reserve synack's
// listening ports (net.ipv4.ip_local_reserved_ports) so the kernel never picks them. Both answer ARP for the
// address, with the same MAC: the duplicate replies agree.
//
// Each worker queues its frames for the kernel on a TX queue of its own of the tap (flushed once per loop
// iteration); worker 0 reads the kernel's frames and sends them on its TX queue of the port. Every hand-off is
// counted (exception.* in the counters report).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "net/interface.hpp"

namespace synack::dpdk {

class ExceptionPath {
public:
    /// Creates the tap `iface` (a net_tap vdev carrying `mac`) with one queue pair per worker and starts it.
    /// Throws std::runtime_error when DPDK refuses.
    ExceptionPath(const std::string& iface, const rte_ether_addr& mac, uint16_t workers, rte_mempool* pool);
    ~ExceptionPath();  // frees queued frames, stops and removes the tap
    ExceptionPath(const ExceptionPath&) = delete;
    ExceptionPath& operator=(const ExceptionPath&) = delete;

    /// The handlers for worker `w`'s Interface and Engine, and their context.
    static void from_interface(void* ctx, rte_mbuf* m, net::Stray why) noexcept;
    static void from_engine(void* ctx, rte_mbuf* m) noexcept;
    void* context(unsigned w) noexcept;
    /// Once per loop iteration on worker `w`: its frames go to the kernel; on worker 0 the kernel's frames go
    /// out on `port`/`queue`.
    void service(unsigned w, uint16_t port, uint16_t queue) noexcept;
    /// The non-zero exception.* counters, summed over the workers, one per line.
    std::string report() const;

    struct PerWorker;

private:
    std::string name_;
    uint16_t port_ = 0;
    uint16_t queues_ = 1;
    std::unique_ptr<PerWorker[]> workers_;
};

}  // namespace synack::dpdk
