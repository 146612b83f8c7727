// One worker lcore: its own TCP engine and L2/L3 interface, a TX queue of its own, and either an RX queue of its
// own (hardware RSS or a single core) or an inbox fed by worker 0 (software RSS over a lock-free SPSC queue).
#pragma once
#include <atomic>
#include <cstdint>

#include <boost/lockfree/spsc_queue.hpp>
#include <rte_mbuf.h>

#include "dpdk/port.hpp"
#include "net/interface.hpp"
#include "synack/stack.hpp"
#include "tcp/engine.hpp"

namespace synack::dpdk {

enum class RxMode : uint8_t {
    own_queue,   ///< poll RX queue `index` of the port
    dispatcher,  ///< worker 0 under software RSS: poll every RX queue, keep its flows, hand the rest on
    inbox,       ///< another worker under software RSS: take packets from the inbox
};

struct Shared {  // what the workers of one Stack share: read-only after start, but for the stop flag
    const Options* options = nullptr;
    PortInfo port;
    unsigned workers = 1;
    uint64_t hz = 0;
    std::atomic<bool> stop{false};
    class Worker** all = nullptr;
};

class Worker {
public:
    static constexpr uint16_t kBurst = 32;
    using Inbox = boost::lockfree::spsc_queue<rte_mbuf*, boost::lockfree::capacity<8192>>;

    Worker(Shared& shared, unsigned index, RxMode mode, rte_mempool* pool, const TcpConfig& tcp,
           const net::NetConfig& net, uint16_t port_id, uint16_t queue);
    ~Worker();
    /// The run-to-completion loop: rx burst -> L2/L3 -> engine -> events -> batched tx, timers, until stop.
    void run(const App& app);
    CoreStats stats() const noexcept;
    void add_counters(tcp::EngineCounters& tcp, net::NetCounters& net) const noexcept;

    Shared& shared;
    const unsigned index;
    const RxMode mode;
    const uint16_t port_id;  ///< the port this worker polls and sends on (its own in --loopback)
    const uint16_t queue;    ///< its RX (own_queue mode) and TX queue
    rte_mempool* const pool;
    tcp::Engine engine;
    net::Interface iface;
    Inbox inbox;
    uint64_t loop_now = 0;  ///< the TSC read once per loop iteration (rdtsc is not free, in VMs least of all)
    uint64_t rx_packets = 0, tx_packets = 0, tx_dropped = 0, rx_dispatched = 0, rx_dispatch_dropped = 0;
    uint64_t rx_tcp6_no_engine = 0;  ///< TCP over IPv6 from the interface, dropped: the engine is IPv4-only so far

private:
    void receive(uint64_t now) noexcept;
    void deliver(rte_mbuf* m, uint64_t now) noexcept;
    void deliver_end(uint64_t now) noexcept;
    void dispatch(rte_mbuf* m, uint64_t now) noexcept;
    void flush(uint64_t now) noexcept;
    static bool port_filter(void* ctx, const tcp::FourTuple& t);
    rte_mbuf* tcp_burst_[kBurst];
    uint16_t tcp_burst_len_ = 0;
};

}  // namespace synack::dpdk
