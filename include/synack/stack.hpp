/// @file
/// The embedding API: bring up DPDK, one TCP engine per worker lcore, and drive an application from callbacks
/// that run on the core owning each connection (run-to-completion, shared nothing).
///
/// A program looks like:
/// @code
///   synack::Stack stack(argc, argv);                // EAL options, then "--", then synack options
///   synack::App app{.on_start = ..., .on_event = ...};
///   return stack.run(app);                           // until stop() or --duration-s
/// @endcode
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "synack/config.hpp"
#include "synack/events.hpp"

namespace synack {

/// Options after "--" on the command line (DPDK convention: prog [EAL options] -- [options]).
struct Options {
    uint32_t ip = 0;           ///< --ip A.B.C.D/LEN (required)
    uint8_t prefix_len = 24;
    uint32_t gateway = 0;      ///< --gw A.B.C.D
    uint16_t port = 0;         ///< --port N: the program's TCP port
    uint16_t eth_port = 0;     ///< --eth-port N: DPDK port id to use
    uint32_t mbufs = 32767;    ///< --mbufs N: mbufs per NUMA socket
    uint32_t duration_s = 0;   ///< --duration-s N: stop by itself after N s (0: run until SIGINT/SIGTERM)
    uint32_t stats_ms = 0;     ///< --stats-ms N: print counters every N ms (0: only at exit)
    bool verbose = false;      ///< -v
    /// --loopback: no NIC; two stacks in this process wired back to back through net_ring ports, one per lcore
    /// (-l A,B): lcore A is the client at --ip + 1, lcore B the server at --ip (for benchmarks).
    bool loopback = false;
    /// --no-tso: send one MSS per packet even where the port (or the --loopback link) could take larger ones
    bool tso = true;
    TcpConfig tcp;             ///< --msl-ms, --max-conns, --rcv-buf, --snd-buf, --rto-min-ms, --delack-ms
    std::vector<std::string> extra;  ///< options this parser did not know, for the program to read
};

/// Parses the synack options (argv after "--"); throws std::invalid_argument with a clear message.
Options parse_options(int argc, char** argv);
/// The option help text, for --help.
const char* options_help() noexcept;

class Core;

/// The application, called on each worker core. All callbacks are optional.
struct App {
    void* ctx = nullptr;
    /// Once per worker core before traffic starts (listen / connect here).
    void (*on_start)(Core& core, void* ctx) = nullptr;
    /// For every connection event on that core.
    void (*on_event)(Core& core, const Event& ev, void* ctx) = nullptr;
    /// Every loop iteration (keep it short): for clients that generate load.
    void (*on_poll)(Core& core, void* ctx) = nullptr;
};

/// Counters of one core, summed by Stack::totals().
struct CoreStats {
    uint64_t rx_packets = 0, tx_packets = 0, tx_dropped = 0;
    uint64_t rx_dispatched = 0, rx_dispatch_dropped = 0;  ///< software RSS hand-offs
    uint64_t connections_opened = 0, connections_closed = 0, connections_reset = 0, connections_timed_out = 0;
    uint64_t tcp_rx_dropped = 0, net_rx_dropped = 0;      ///< sums of the per-reason drop counters
    uint64_t retransmits = 0;
    /// TSC cycles of loop iterations that received or sent a packet (busy) and of all iterations: busy_cycles /
    /// loop_cycles is the core's busy share, requests / (busy_cycles / hz) the work per busy core-second.
    uint64_t busy_cycles = 0, loop_cycles = 0;
};

namespace dpdk {
class Worker;
}

/// One worker core's view: the TCP user calls of RFC 9293 §3.10 on the connections this core owns.
/// Every call must be made on the core that owns the Core object (from a callback). Plain calls, no virtual
/// dispatch: each forwards to the core's engine.
class Core {
public:
    /// Passive open on `port` of our address. Returns a listener id >= 0 or a negative errno.
    int listen(uint16_t port, uint32_t backlog = 0) noexcept;
    /// Active open to ip:port from an ephemeral port chosen so the reply returns to this core.
    int connect(uint32_t ip, uint16_t port, uint64_t user, ConnId& out) noexcept;
    /// Copies up to len bytes into the send buffer; returns bytes taken or a negative errno. A send cut short,
    /// or one that filled the buffer, is followed by a `writable` event once a quarter of the buffer is free.
    int32_t send(ConnId c, const void* data, uint32_t len) noexcept;
    /// Sends the chain `m` without copying when it fits in the send buffer (synack owns it then, and its bytes
    /// must not change); otherwise takes nothing and returns -EAGAIN, and a `writable` event follows.
    int32_t send_chain(ConnId c, rte_mbuf* m) noexcept;
    /// Copies up to len received bytes out; 0 when none wait.
    int32_t recv(ConnId c, void* buf, uint32_t len) noexcept;
    /// All waiting bytes as one mbuf chain, without copying; the caller owns (and frees) it.
    rte_mbuf* recv_chain(ConnId c) noexcept;
    int close(ConnId c) noexcept;
    int abort(ConnId c) noexcept;
    int set_user(ConnId c, uint64_t user) noexcept;
    State state(ConnId c) const noexcept;
    /// Bytes send() would take now.
    uint32_t send_space(ConnId c) const noexcept;
    /// Bytes waiting to be read.
    uint32_t readable_bytes(ConnId c) const noexcept;
    uint32_t connections() const noexcept;
    unsigned index() const noexcept;  ///< 0 .. workers-1
    unsigned workers() const noexcept;
    /// The TSC as read at the top of this loop iteration (cheap; use rte_rdtsc() for a fresh reading).
    uint64_t now_cycles() const noexcept;
    uint64_t cycles_hz() const noexcept;
    const Options& options() const noexcept;
    CoreStats stats() const noexcept;
    /// Asks every core to stop (any core may call it).
    void stop() noexcept;

private:
    friend class dpdk::Worker;
    explicit Core(dpdk::Worker* w) noexcept : w_(w) {}
    dpdk::Worker* w_;
};

/// Owns EAL, the mbuf pools, the port and the worker cores.
class Stack {
public:
    /// Initialises EAL from argv (before "--") and parses the synack options (after it). Throws
    /// std::runtime_error with an explanation (no port, no hugepages, tap permission, bad addresses ...).
    Stack(int argc, char** argv);
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    const Options& options() const noexcept;
    /// The synack options of a command line (after "--"), without starting anything: lets a program check its
    /// own options before EAL comes up. Throws std::invalid_argument.
    static Options options_from(int argc, char** argv);
    /// Runs `app` on every worker core until stop(), SIGINT/SIGTERM or --duration-s. Returns 0 on a clean stop.
    int run(const App& app);
    /// Signal-safe: asks the cores to stop.
    void stop() noexcept;
    CoreStats totals() const noexcept;
    /// The mbuf pool of NUMA socket 0 (or the first socket in use): for threads that build data for the cores.
    rte_mempool* mbuf_pool() const noexcept;
    /// A human-readable dump of every non-zero counter (all cores summed).
    std::string counters_report() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// Dotted quad of a host-order IPv4 address.
std::string ip_to_string(uint32_t ip);
/// Parses "A.B.C.D" into host order; false when malformed.
bool parse_ip(const std::string& s, uint32_t& out) noexcept;

}  // namespace synack
