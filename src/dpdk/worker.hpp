// One worker lcore: its own TCP engine and L2/L3 interface, a TX queue of its own, and either an RX queue of its
// own (hardware RSS or a single core), an inbox fed by worker 0 (software RSS over a lock-free SPSC queue), or, with
// --port-per-core, a port of its own plus a ring that the other workers feed with its flows.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpdk/capture.hpp"
#include "dpdk/neighbour_mailbox.hpp"
#include "dpdk/port.hpp"
#include "net/interface.hpp"
#include "synack/stack.hpp"
#include "tcp/engine.hpp"

namespace synack::dpdk {

enum class RxMode : uint8_t {
    own_queue,   ///< poll RX queue `index` of the port
    dispatcher,  ///< worker 0 under software RSS: poll every RX queue, keep its flows, hand the rest on
    inbox,       ///< another worker under software RSS: take packets from the inbox
    /// --port-per-core: poll its own port (one XSK per core: its RX, fill, TX and completion rings stay on one
    /// thread), keep its flows and pass the others to their core's forward ring (multi-producer rte_ring).
    own_port_forward,
};

struct Shared {  // what the workers of one Stack share: read-only after start, but for the stop flag
    const Options* options = nullptr;
    PortInfo port;
    /// --port-per-core: worker i drives port eth_port + i (queue 0) and forwards other cores' flows to them.
    /// Otherwise one port whose queue i belongs to worker i.
    bool port_per_core = false;
    unsigned workers = 1;
    uint64_t hz = 0;
    std::atomic<bool> stop{false};
    class Worker** all = nullptr;
    class ExceptionPath* exception = nullptr;  ///< --exception-tap, or nullptr
    class XdpShare* xdp_share = nullptr;       ///< --share-kernel: the XDP program's maps, or nullptr
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
    /// The same loop for `n` workers on one lcore, one iteration of each in turn (--loopback on one lcore).
    static void run_shared(Worker* const* workers, unsigned n, const App& app);
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
    rte_ring* forward = nullptr;  ///< own_port_forward: packets other workers received for this one's flows
    uint64_t loop_now = 0;  ///< the TSC read once per loop iteration (rdtsc is not free, in VMs least of all)
    uint64_t rx_packets = 0, tx_packets = 0, tx_dropped = 0, rx_dispatched = 0, rx_dispatch_dropped = 0;
    Capture::Tap* capture = nullptr;  ///< --pcap: this worker's ring to the writer, or nullptr
    NeighbourMailbox* neighbours = nullptr;  ///< --share-kernel: next hops from the kernel's table, or nullptr

    /// A consistent picture of this worker for another thread (telemetry). TCBs and counters are the worker's
    /// alone, so another thread never reads them: it fills the request fields, bumps `requested`, and the worker
    /// answers from its loop (one relaxed load per iteration when nobody asks). Whoever claims a request (the
    /// worker, or the asker when the worker is not running) is the one that serves it.
    struct Snapshot {
        std::atomic<uint64_t> requested{0}, claimed{0}, served{0};
        uint32_t offset = 0, limit = 0;   ///< which of the live connections to list (set before `requested`)
        std::vector<ConnInfo> conns;      ///< capacity reserved by the asker: the worker never allocates
        uint32_t live = 0;                ///< connections the application holds on this worker
        uint32_t connections = 0, time_wait = 0;  ///< every TCB in use, and those in TIME-WAIT
        CoreStats stats;
        tcp::EngineCounters tcp{};
        net::NetCounters net{};
    };
    Snapshot snapshot;
    std::atomic<bool> running{false};
    /// Serves `snapshot` if a request is pending and nobody claimed it; true when this call served it.
    bool serve_snapshot() noexcept;
    /// Fills `out` from the TCB of `c`; false for a stale handle. On the owning core only.
    bool info(ConnId c, ConnInfo& out) const noexcept;
    uint64_t busy_cycles = 0, loop_cycles = 0;  ///< see CoreStats

private:
    void begin(const App& app);
    void step();
    void on_event(const Event& ev);
    void print_stats(uint64_t now);
    struct Loop {
        uint64_t start = 0, end = 0, next_stats = 0, prev = 0;
        bool busy = false;
    };
    const App* app_ = nullptr;
    Loop loop_;
    uint16_t receive(uint64_t now) noexcept;  ///< packets taken (from the port or the inbox)
    void deliver(rte_mbuf* m, uint64_t now) noexcept;
    void deliver_end(uint64_t now) noexcept;
    void dispatch(rte_mbuf* m, uint64_t now) noexcept;
    bool hand_to(unsigned w, rte_mbuf* m) noexcept;
    void flush(uint64_t now) noexcept;
    void explain_partial_checksums() noexcept;
    bool partial_cksum_explained = false;  ///< this core has seen partial checksums (the log says so once)
    static bool port_filter(void* ctx, const tcp::FourTuple& t);
    static bool port_filter6(void* ctx, const tcp::FourTuple6& t);
    unsigned core_of_frame(const rte_mbuf* m, bool& to_all) const noexcept;
    void track(const Event& ev) noexcept;
    void untrack(ConnId c) noexcept;
    rte_mbuf* tcp_burst_[kBurst];
    uint16_t tcp_burst_len_ = 0;
    uint64_t snapshot_seen_ = 0;  // the last request this worker saw (its own copy: no shared cache line read)
    // The connections the application holds (from accepted/connected to a terminal event), for the live view:
    // a dense list (capacity reserved up front) and each TCB index's place in it plus one (0: not listed). Both
    // are sized for max_connections but zeroed by calloc, so untouched pages cost no memory.
    std::vector<ConnId> live_;
    std::unique_ptr<uint32_t, void (*)(void*)> live_pos_{nullptr, std::free};
    uint32_t live_cap_ = 0;
};

}  // namespace synack::dpdk
