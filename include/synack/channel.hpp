/// @file
/// Channels between ordinary application threads and synack's worker cores, for programs that do not want to run
/// their logic inside the run-to-completion callbacks.
///
/// - **Any number of channels, one thread each.** A Channel attaches itself to its Stack when constructed (before
///   Stack::run); the cores serve every attached channel from their loop, beside the App given to run(). For each
///   (channel, core) pair there is one single-producer/single-consumer queue of commands (the channel's thread ->
///   the core) and one of events (the core -> the channel's thread), each a ring of one-cache-line slots; payload
///   bytes travel in mbufs.
///   One thread at a time may use a given Channel.
/// - **Who hears what.** The events of a connection go to the channel that opened it (connect) or, for an accepted
///   connection, to one of the channels listening on its port, taken in turn (round robin per core). Connections
///   opened by the App's callbacks stay with the App.
/// - **Waiting.** wait() takes the next event or parks the thread on a futex until a core queues one: a core makes
///   the wake-up system call only when the channel's thread is actually parked (the cores pay one fence and one
///   load per loop iteration that queued events, no system call while the thread is awake). Before parking, a
///   thread whose CPU affinity includes no polling lcore's CPU spins on its queues (up to 100 µs,
///   ChannelConfig::spin_us), so that a fast reply costs no wake-up of an idle CPU; it calls sched_yield() between
///   polls while other threads on that CPU (a client, other channels' threads) want it, so that they run at once,
///   and only every few microseconds while the yields show the CPU is the thread's alone. The budget
///   adapts per thread as halt polling does: it doubles (from 10 µs) when a parked wait got its event within the
///   largest spin, and halves down to nothing when events come slower. A thread that may run on a poller's CPU
///   never spins (it would take turns from the work it waits for): the affinity is read on the first wait() of
///   each thread in each Stack::run. spins() and spin_hits() count what the spinning did.
/// - **Where the threads run.** Stack::app_thread() starts a thread on the CPUs EAL's worker lcores do not use, as
///   DPDK's control threads do (see Stack::app_cpus()), so it never competes with a busy-polling loop for a core
///   unless there is no other core.
///
/// @code
///   synack::Stack stack(argc, argv);
///   synack::Channel ch(stack);                       // attach before run()
///   std::thread app = stack.app_thread([&] {
///       ch.listen(7);
///       synack::ChannelEvent ev;
///       while (!ch.stopped())
///           if (ch.wait(ev)) { ... ch.send(ev.core, ev.ev.conn, data, n); ... }
///   });
///   stack.run();                                     // the cores serve every attached channel
///   app.join();                                      // wait() returned false once run() ended
/// @endcode
#pragma once
#include <cstdint>
#include <memory>

#include <rte_mbuf.h>

#include "synack/events.hpp"
#include "synack/stack.hpp"

namespace synack {

/// An event for the application thread: what the core saw, plus the core that owns the connection.
struct ChannelEvent {
    Event ev;
    unsigned core;
    /// For `readable`: the received bytes as an mbuf chain (the receiver frees it with rte_pktmbuf_free);
    /// otherwise nullptr.
    rte_mbuf* data;
    /// For `accepted`: the port of the listener (the one given to listen()); otherwise 0.
    uint16_t port;
};

struct ChannelConfig {
    /// Capacity of each queue (commands and events, per core), rounded up to a power of two; at most 2^24 (the
    /// constructor throws std::invalid_argument above).
    uint32_t queue_depth = 4096;
    /// The longest wait() polls its queues before parking, in microseconds (the budget adapts below it). -1: 100 µs
    /// when the application CPUs include no lcore's (Stack::app_cpus_dedicated()), else 0. Whatever the value, a
    /// thread whose affinity includes a polling lcore's CPU never spins: it would only delay the poller.
    int32_t spin_us = -1;
};

class Channel {
public:
    /// Attaches to `stack`; throws std::logic_error while the stack runs or when 64 channels are attached already.
    explicit Channel(Stack& stack, uint32_t queue_depth = 4096);
    Channel(Stack& stack, const ChannelConfig& cfg);
    /// Detaches from the stack. Must not be called while Stack::run runs.
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    /// Kept for programs written against the single-channel API (`stack.run(ch.app())`): an App with no
    /// callbacks. Attached channels are served by any Stack::run.
    const App& app() const noexcept;

    /// Listen on `port` on every core; accepted connections come to this channel (round robin with other channels
    /// listening on the same port). Returns false when a command queue is full (try again).
    bool listen(uint16_t port);
    /// Active open from core `core` (its replies come back to that core). `user` returns in the events. When the
    /// open cannot start (no free port or TCB), a `reset` event with this `user` follows.
    bool connect(unsigned core, uint32_t ip, uint16_t port, uint64_t user);
    /// The same to an address of either family (IPv6 from our --ip6 address).
    bool connect(unsigned core, const Address& ip, uint16_t port, uint64_t user);
    /// Sends a copy of `len` bytes on `conn` of `core`. The bytes go out in order even when the connection's send
    /// buffer is full (the core keeps the rest and retries on `writable`). False when no mbuf or the queue is full.
    bool send(unsigned core, ConnId conn, const void* data, uint32_t len);
    bool close(unsigned core, ConnId conn);
    bool abort(unsigned core, ConnId conn);
    /// Takes the next event, if any, from any core. Never blocks.
    bool poll(ChannelEvent& out);
    /// Takes the next event, waiting for one up to `timeout_us` microseconds (-1: no limit). False on timeout,
    /// after notify(), or once the stack stopped (Stack::run returned).
    bool wait(ChannelEvent& out, int64_t timeout_us = -1);
    /// Makes a wait() in progress (or the next one) return false. Any thread may call it.
    void notify() noexcept;
    /// True once Stack::run has returned: no core serves this channel any more.
    bool stopped() const noexcept;
    /// Events that could not be queued to the application (queue full); each such `readable` lost its data.
    uint64_t dropped_events() const noexcept;
    /// How many times a core woke this channel's parked thread.
    uint64_t wakeups() const noexcept;
    /// How many wait() calls spun before taking an event or parking (never on a poller's CPU), and how many
    /// events they took while spinning (each one a wake-up saved).
    uint64_t spins() const noexcept;
    uint64_t spin_hits() const noexcept;

    struct Impl;

private:
    bool spin(ChannelEvent& out, uint64_t end_tsc);
    bool park(ChannelEvent& out, uint64_t deadline_tsc);
    std::unique_ptr<Impl> impl_;
};

}  // namespace synack
