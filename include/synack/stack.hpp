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
#include <thread>
#include <utility>
#include <vector>

#include <rte_mbuf.h>

#include "synack/address.hpp"
#include "synack/config.hpp"
#include "synack/events.hpp"

namespace synack {

/// Options after "--" on the command line (DPDK convention: prog [EAL options] -- [options]).
/// --impair SPEC (with --loopback): what the in-process link does to the frames of each direction, drawn from a
/// seeded generator so that a run can be repeated exactly. See parse_impairment() for the spelling.
struct LinkImpairment {
    double loss = 0;           ///< share of frames dropped
    double reorder = 0;        ///< share held back up to reorder_us longer than the rest, so later ones overtake
    double duplicate = 0;      ///< share delivered twice
    double corrupt = 0;        ///< share delivered with one byte flipped (checksums then run for real)
    uint32_t delay_us = 0;     ///< one-way propagation delay
    uint32_t reorder_us = 1000;
    uint64_t rate_bps = 0;     ///< bottleneck rate, bits/s (0: unlimited)
    uint32_t queue = 1000;     ///< bottleneck buffer in full-sized frames; a frame arriving to a fuller one is dropped
    uint64_t seed = 1;
    bool enabled() const noexcept {
        return loss > 0 || reorder > 0 || duplicate > 0 || corrupt > 0 || delay_us > 0 || rate_bps > 0;
    }
};

/// Parses "loss=1%,reorder=0.5%,dup=0.1%,corrupt=0.01%,delay=10ms,reorder-delay=2ms,rate=1gbit,queue=500,seed=7"
/// (any subset, any order; shares as "N%" or a fraction, times in us/ms/s, rates in bit/kbit/mbit/gbit). Throws
/// std::invalid_argument naming the bad item.
LinkImpairment parse_impairment(const std::string& spec);

struct Options {
    uint32_t ip = 0;           ///< --ip A.B.C.D/LEN (required)
    uint8_t prefix_len = 24;
    uint32_t gateway = 0;      ///< --gw A.B.C.D
    Address ip6;               ///< --ip6 ADDR/LEN (unspecified: no IPv6); either or both of --ip and --ip6
    uint8_t prefix6_len = 64;
    Address gw6;               ///< --gw6 ADDR (unspecified: the router that router advertisements name)
    uint16_t port = 0;         ///< --port N: the program's TCP port
    uint16_t eth_port = 0;     ///< --eth-port N: DPDK port id to use
    uint32_t mbufs = 32767;    ///< --mbufs N: mbufs per NUMA socket
    uint32_t duration_s = 0;   ///< --duration-s N: stop by itself after N s (0: run until SIGINT/SIGTERM)
    uint32_t stats_ms = 0;     ///< --stats-ms N: print counters every N ms (0: only at exit)
    bool verbose = false;      ///< -v
    /// --loopback: no NIC; two stacks in this process wired back to back through net_ring ports, one per lcore
    /// (-l A,B): lcore A is the client at --ip + 1, lcore B the server at --ip (for benchmarks). With one lcore
    /// (-l A) both stacks run on A, one loop iteration each in turn, leaving the other CPUs to application threads.
    bool loopback = false;
    /// --no-tso: send one MSS per packet even where the port (or the --loopback link) could take larger ones
    bool tso = true;
    /// --pcap FILE: write every frame received and sent, on every core, as pcapng (rte_pcapng)
    std::string pcap;
    uint64_t pcap_max_bytes = 1ull << 30;  ///< --pcap-max-bytes N: stop capturing once the file reaches N bytes
    /// --impair SPEC: impair the --loopback link (loss, reordering, duplication, corruption, delay, rate). It carries
    /// MSS-sized frames then (no TSO), since impairments act per frame as on a real wire.
    LinkImpairment impair;
    /// --exception-tap NAME: frames synack does not terminate go to the kernel through a tap named NAME, and the
    /// kernel's frames from it go out of the port (see src/dpdk/exception_path.hpp). Empty: they are dropped.
    std::string exception_tap;
    /// --port-per-core: worker i drives port eth_port + i, one queue each (e.g. one net_af_xdp vdev per queue of
    /// an interface, where DPDK 22.11's af_xdp PMD refuses queue_count > 1: a veth has no combined channels).
    /// Each worker polls its own port and hands flows whose software hash names another core to that core (copied,
    /// so that a port's RX buffers are freed where they were received).
    bool port_per_core = false;
    /// --share-kernel: synack and the kernel share a net_af_xdp interface and its address (docs/af_xdp.md).
    /// synack's XDP program (the vdev's xdp_prog=) redirects only TCP to synack's listening ports and ephemeral
    /// range; ARP, ICMP and the rest stay the kernel's. --ip, --gw and the MAC come from the interface unless
    /// given; next hops from the kernel's neighbour table; the ephemeral range is moved above the kernel's.
    bool share_kernel = false;
    bool ephemeral_given = false;  ///< --ephemeral-ports LO-HI was given (tcp.ephemeral_low/high)
    TcpConfig tcp;             ///< --msl-ms, --max-conns, --rcv-buf, --snd-buf, --rto-min-ms, --delack-ms, memory
                               ///< (--mem-limit, --mem-pressure-pct, --conn-rcv-mem, --conn-snd-mem, --rx-reserve)
                               ///< and timeouts (--persist-timeout-ms, --user-timeout-ms, --fin-wait-2-ms)
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

/// Counters of one core, summed by Stack::totals(). The tcp.* and net.* counters named below are in
/// docs/counters.md; the drop sums follow the `drop` kind of their X lists, so a new drop counter is in them.
struct CoreStats {
    uint64_t rx_packets = 0;           ///< frames this core read from its port queue
    uint64_t tx_packets = 0;           ///< frames the port took
    uint64_t tx_dropped = 0;           ///< frames the port refused (freed)
    uint64_t rx_dispatched = 0, rx_dispatch_dropped = 0;  ///< software RSS hand-offs to other cores, and those lost
    uint64_t connections_opened = 0;   ///< tcp.conn_opened_active + tcp.conn_opened_passive
    uint64_t connections_closed = 0;   ///< tcp.conn_closed
    uint64_t connections_reset = 0;    ///< tcp.conn_reset
    uint64_t connections_timed_out = 0;  ///< tcp.conn_timed_out
    /// The sum of every counter of kind `drop` in SYNACK_TCP_COUNTERS (src/tcp/counters.hpp) and of every
    /// tcp.rx_parse.STATUS but ok: received segments the engine discarded (dpdk::tcp_rx_dropped()).
    uint64_t tcp_rx_dropped = 0;
    /// The sum of every counter of kind `drop` in SYNACK_NET_COUNTERS (src/net/counters.hpp): received frames
    /// the interface discarded or, with an exception path, gave to the kernel (dpdk::net_rx_dropped()).
    uint64_t net_rx_dropped = 0;
    uint64_t retransmits = 0;          ///< tcp.tx_retransmits
    /// TSC cycles of loop iterations that received or sent a packet (busy) and of all iterations: busy_cycles /
    /// loop_cycles is the core's busy share, requests / (busy_cycles / hz) the work per busy core-second.
    uint64_t busy_cycles = 0, loop_cycles = 0;
};

/// What Core::info() tells about one connection: Linux's TCP_INFO for synack (RFC 9293 §3.3.1 names).
struct ConnInfo {
    uint32_t local_ip = 0, remote_ip = 0;  ///< host order; 0 for an IPv6 connection (see local, remote)
    Address local, remote;                 ///< either family
    uint16_t local_port = 0, remote_port = 0;
    State state = State::closed;
    uint16_t snd_mss = 0;           ///< bytes per segment we send
    uint32_t cwnd = 0;              ///< congestion window, bytes
    uint32_t ssthresh = 0;          ///< slow-start threshold, bytes (UINT32_MAX: not yet set)
    uint32_t srtt_us = 0, rttvar_us = 0, rto_us = 0;  ///< RFC 6298 estimates (0: no sample yet)
    uint32_t snd_wnd = 0;           ///< the peer's window
    uint32_t rcv_wnd = 0;           ///< our window
    uint32_t bytes_in_flight = 0;   ///< SND.NXT - SND.UNA
    uint32_t send_queue = 0;        ///< bytes in the send buffer (unacknowledged and unsent)
    uint32_t recv_queue = 0;        ///< bytes received and not yet read
    uint32_t retransmits = 0;       ///< consecutive timeouts of the oldest unacknowledged segment
    unsigned core = 0;              ///< the core that owns the connection
};

namespace dpdk {
class Worker;
class ChannelHub;
}

/// One worker core's view: the TCP user calls of RFC 9293 §3.10 on the connections this core owns.
/// Every call must be made on the core that owns the Core object (from a callback). Plain calls, no virtual
/// dispatch: each forwards to the core's engine.
class Core {
public:
    /// Passive open on `port` of our addresses, IPv4 and IPv6 alike. Returns a listener id >= 0 or a negative errno.
    int listen(uint16_t port, uint32_t backlog = 0) noexcept;
    /// Active open to ip:port (IPv4, host order) from an ephemeral port chosen so the reply returns to this core.
    int connect(uint32_t ip, uint16_t port, uint64_t user, ConnId& out) noexcept;
    /// Active open to an address of either family, from our --ip or --ip6 address (-EAFNOSUPPORT when we have
    /// none of that family) and an ephemeral port whose reply hashes back to this core.
    int connect(const Address& ip, uint16_t port, uint64_t user, ConnId& out) noexcept;
    /// The peer's address and port of connection `c`; -EINVAL for a stale handle.
    int remote(ConnId c, Address& ip, uint16_t& port) const noexcept;
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
    /// Keepalive for one connection (RFC 1122 §4.2.3.6): probe after `idle_s` s without a word from the peer, then
    /// every `intvl_s` s; `cnt` (>= 2) unanswered probes end it with EventType::keepalive_timed_out. idle_s 0: off.
    int set_keepalive(ConnId c, uint32_t idle_s, uint32_t intvl_s, uint32_t cnt) noexcept;
    /// When `on`, the ACK of the peer's FIN (ESTABLISHED -> CLOSE-WAIT) waits for the delayed-ACK timer, so that a
    /// close() within it sends one FIN+ACK instead of an ACK then a FIN. Channel connections have it on.
    int set_delayed_fin_ack(ConnId c, bool on) noexcept;
    State state(ConnId c) const noexcept;
    /// Fills `out` for connection `c` (like getsockopt TCP_INFO); 0, or -EINVAL for a stale handle.
    int info(ConnId c, ConnInfo& out) const noexcept;
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
    /// Runs `app` on every worker core until stop(), SIGINT/SIGTERM or --duration-s, and serves the attached
    /// Channels (synack/channel.hpp) beside it. Returns 0 on a clean stop.
    int run(const App& app);
    /// Serves only the attached Channels.
    int run();

    /// Starts `fn` on a std::thread pinned to the application CPUs (app_cpus()), off the polling cores, and
    /// registered with EAL for the time of `fn` (rte_thread_register: an lcore id of its own, so the mbufs it
    /// allocates and frees go through a mempool cache of its own instead of the pool's shared ring).
    template <class F> std::thread app_thread(F&& fn) const {
        return std::thread([this, f = std::forward<F>(fn)]() mutable {
            pin_app_thread();
            const bool registered = register_app_thread();
            f();
            if (registered) unregister_app_thread();
        });
    }
    /// rte_thread_register() for the calling thread; false when EAL has no lcore id left (the thread then works
    /// without a mempool cache).
    bool register_app_thread() const noexcept;
    /// Gives the mbufs in the calling thread's mempool caches back to the pools, then rte_thread_unregister().
    void unregister_app_thread() const noexcept;
    /// Pins the calling thread to the application CPUs: the CPUs this process could use when it started, minus
    /// those of EAL's lcores (what DPDK gives its control threads). When the lcores take every CPU, all of the
    /// original ones (the scheduler then shares them; see app_cpus_dedicated()). False if the kernel refused.
    bool pin_app_thread() const noexcept;
    /// The application CPUs as a list ("1", "2-7").
    std::string app_cpus() const;
    /// True when the application CPUs include no lcore's CPU.
    bool app_cpus_dedicated() const noexcept;
    /// Signal-safe: asks the cores to stop.
    void stop() noexcept;
    CoreStats totals() const noexcept;
    /// The mbuf pool of NUMA socket 0 (or the first socket in use): for threads that build data for the cores.
    rte_mempool* mbuf_pool() const noexcept;
    /// A human-readable dump of every non-zero counter (all cores summed), then memory_report().
    std::string counters_report() const;
    /// mbufs in use per pool (rte_mempool_in_use_count) and each core's memory budget and its use.
    std::string memory_report() const;
    /// mbufs in use over every pool (main and bulk).
    uint64_t mbufs_in_use() const noexcept;

    struct Impl;

private:
    friend class Channel;
    dpdk::ChannelHub& hub() noexcept;
    std::unique_ptr<Impl> impl_;
};

/// Dotted quad of a host-order IPv4 address.
std::string ip_to_string(uint32_t ip);
/// Parses "A.B.C.D" into host order; false when malformed.
bool parse_ip(const std::string& s, uint32_t& out) noexcept;

}  // namespace synack
