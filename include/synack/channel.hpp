/// @file
/// A thread-safe channel between ordinary application threads and synack's worker cores, for programs that do
/// not want to run their logic inside the run-to-completion callbacks. Each worker core gets a pair of
/// single-producer/single-consumer queues (Boost.Lockfree): commands from the application thread, events back.
/// One application thread may use a Channel at a time (it is the single producer of every command queue).
///
/// @code
///   synack::Stack stack(argc, argv);
///   synack::Channel ch(stack);                       // before run()
///   std::thread app([&] { ... ch.listen(7); while (ch.poll(ev)) ...; ch.send(ev.core, ev.conn, data, n); ... });
///   stack.run(ch.app());                             // the cores serve the channel
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
};

class Channel {
public:
    /// Binds to `stack` (before Stack::run). `queue_depth` is the capacity of each queue.
    explicit Channel(Stack& stack, uint32_t queue_depth = 4096);
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    /// The App to pass to Stack::run: it serves this channel on every core.
    const App& app() const noexcept;

    /// Listen on `port` on every core. Returns false when a command queue is full (try again).
    bool listen(uint16_t port);
    /// Active open from core `core` (its replies come back to that core). `user` returns in the events.
    bool connect(unsigned core, uint32_t ip, uint16_t port, uint64_t user);
    /// Sends a copy of `len` bytes on `conn` of `core`. The bytes go out in order even when the connection's send
    /// buffer is full (the core keeps the rest and retries on `writable`). False when no mbuf or the queue is full.
    bool send(unsigned core, ConnId conn, const void* data, uint32_t len);
    bool close(unsigned core, ConnId conn);
    bool abort(unsigned core, ConnId conn);
    /// Takes the next event, if any, from any core. Never blocks.
    bool poll(ChannelEvent& out);
    /// Events that could not be queued to the application (queue full); each such `readable` lost its data.
    uint64_t dropped_events() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace synack
