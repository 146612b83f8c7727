// The channel: per core, a command queue (application thread -> core) and an event queue (core -> application),
// both Boost.Lockfree SPSC queues of small PODs; payload bytes travel in mbufs.
#include "synack/channel.hpp"

#include <boost/lockfree/spsc_queue.hpp>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstring>
#include <vector>

namespace synack {
namespace {

enum class Cmd : uint8_t { listen, connect, send, close, abort };

struct Command {
    Cmd type;
    uint16_t port;
    uint32_t ip;
    ConnId conn;
    uint64_t user;
    rte_mbuf* data;  // send: the bytes (the core frees it)
};

// Per connection on a core: bytes accepted from the application but not yet taken by the send buffer.
struct Pending {
    rte_mbuf* head = nullptr;
    uint32_t off = 0;  // already sent from head
    bool close_after = false;
};

}  // namespace

struct Channel::Impl {
    struct alignas(64) PerCore {
        explicit PerCore(uint32_t depth) : commands(depth), events(depth) {}
        boost::lockfree::spsc_queue<Command> commands;
        boost::lockfree::spsc_queue<ChannelEvent> events;
        std::vector<Pending> pending;  // by ConnId.index, sized at the core's first call
        uint64_t dropped = 0;
    };
    std::vector<std::unique_ptr<PerCore>> cores;
    rte_mempool* pool = nullptr;
    App app;
    unsigned next_poll = 0;

    static void on_start(Core& core, void* ctx);
    static void on_event(Core& core, const Event& ev, void* ctx);
    static void on_poll(Core& core, void* ctx);
    static void flush(Core& core, PerCore& pc, ConnId c);
    static void deliver(PerCore& pc, const ChannelEvent& e);
};

void Channel::Impl::deliver(PerCore& pc, const ChannelEvent& e) {
    if (!pc.events.push(e)) {
        ++pc.dropped;
        if (e.data) rte_pktmbuf_free(e.data);
    }
}

// Moves as much of a connection's pending bytes as the send buffer takes; closes when asked and all is out.
void Channel::Impl::flush(Core& core, PerCore& pc, ConnId c) {
    if (c.index >= pc.pending.size()) return;
    Pending& p = pc.pending[c.index];
    while (p.head != nullptr) {
        const uint32_t avail = p.head->data_len - p.off;
        const int32_t n = core.send(c, rte_pktmbuf_mtod_offset(p.head, const char*, p.off), avail);
        if (n < 0) {  // the connection is gone or closing: drop what is left
            rte_pktmbuf_free(p.head);
            p = Pending{};
            return;
        }
        p.off += static_cast<uint32_t>(n);
        if (p.off < p.head->data_len) return;  // send buffer full: `writable` brings us back
        rte_mbuf* next = p.head->next;
        p.head->next = nullptr;
        rte_pktmbuf_free_seg(p.head);
        p.head = next;
        p.off = 0;
    }
    if (p.close_after) {
        p.close_after = false;
        core.close(c);
    }
}

void Channel::Impl::on_start(Core& core, void* ctx) {
    auto* impl = static_cast<Impl*>(ctx);
    impl->cores[core.index()]->pending.resize(core.options().tcp.max_connections);
}

void Channel::Impl::on_event(Core& core, const Event& ev, void* ctx) {
    auto* impl = static_cast<Impl*>(ctx);
    PerCore& pc = *impl->cores[core.index()];
    ChannelEvent e{ev, core.index(), nullptr};
    switch (ev.type) {
    case EventType::readable:
        e.data = core.recv_chain(ev.conn);
        if (e.data == nullptr) return;
        break;
    case EventType::writable:
        flush(core, pc, ev.conn);
        break;
    case EventType::closed:
    case EventType::reset:
    case EventType::timed_out:
    case EventType::persist_timed_out:
    case EventType::user_timed_out:
    case EventType::memory_aborted:
        if (ev.conn.index < pc.pending.size() && pc.pending[ev.conn.index].head != nullptr) {
            rte_pktmbuf_free(pc.pending[ev.conn.index].head);
            pc.pending[ev.conn.index] = Pending{};
        }
        break;
    default:
        break;
    }
    deliver(pc, e);
}

void Channel::Impl::on_poll(Core& core, void* ctx) {
    auto* impl = static_cast<Impl*>(ctx);
    PerCore& pc = *impl->cores[core.index()];
    Command c;
    for (int budget = 0; budget < 64 && pc.commands.pop(c); ++budget) {
        switch (c.type) {
        case Cmd::listen:
            core.listen(c.port);
            break;
        case Cmd::connect: {
            ConnId id;
            if (core.connect(c.ip, c.port, c.user, id) != 0) deliver(pc, {Event{EventType::reset, 0, id, c.user}, core.index(), nullptr});
            break;
        }
        case Cmd::send: {
            if (c.conn.index >= pc.pending.size()) {
                rte_pktmbuf_free(c.data);
                break;
            }
            Pending& p = pc.pending[c.conn.index];
            if (p.head == nullptr) {
                p.head = c.data;
            } else {
                rte_pktmbuf_lastseg(p.head)->next = c.data;  // in order behind what is still waiting
            }
            flush(core, pc, c.conn);
            break;
        }
        case Cmd::close:
            if (c.conn.index < pc.pending.size() && pc.pending[c.conn.index].head != nullptr)
                pc.pending[c.conn.index].close_after = true;  // after the queued bytes
            else
                core.close(c.conn);
            break;
        case Cmd::abort:
            core.abort(c.conn);
            break;
        }
    }
}

Channel::Channel(Stack& stack, uint32_t depth) : impl_(std::make_unique<Impl>()) {
    const unsigned n = rte_lcore_count();
    for (unsigned i = 0; i < n; ++i) impl_->cores.push_back(std::make_unique<Impl::PerCore>(depth));
    impl_->pool = stack.mbuf_pool();
    impl_->app = App{impl_.get(), &Impl::on_start, &Impl::on_event, &Impl::on_poll};
}

Channel::~Channel() {
    ChannelEvent e;
    for (auto& pc : impl_->cores) {
        while (pc->events.pop(e))
            if (e.data) rte_pktmbuf_free(e.data);
        Command c;
        while (pc->commands.pop(c))
            if (c.data) rte_pktmbuf_free(c.data);
        for (Pending& p : pc->pending)
            if (p.head) rte_pktmbuf_free(p.head);
    }
}

const App& Channel::app() const noexcept { return impl_->app; }

bool Channel::listen(uint16_t port) {
    bool ok = true;
    for (auto& pc : impl_->cores) ok = pc->commands.push(Command{Cmd::listen, port, 0, {}, 0, nullptr}) && ok;
    return ok;
}

bool Channel::connect(unsigned core, uint32_t ip, uint16_t port, uint64_t user) {
    if (core >= impl_->cores.size()) return false;
    return impl_->cores[core]->commands.push(Command{Cmd::connect, port, ip, {}, user, nullptr});
}

bool Channel::send(unsigned core, ConnId conn, const void* data, uint32_t len) {
    if (core >= impl_->cores.size()) return false;
    // Copy into a chain of mbufs (the application thread is not an EAL lcore: the pool is used without cache).
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    const auto* src = static_cast<const uint8_t*>(data);
    while (len > 0 || head == nullptr) {
        rte_mbuf* m = rte_pktmbuf_alloc(impl_->pool);
        if (m == nullptr) {
            if (head) rte_pktmbuf_free(head);
            return false;
        }
        const uint32_t n = std::min<uint32_t>(len, rte_pktmbuf_tailroom(m));
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), src, n);
        src += n;
        len -= n;
        if (tail) tail->next = m; else head = m;
        tail = m;
        if (len == 0) break;
    }
    if (!impl_->cores[core]->commands.push(Command{Cmd::send, 0, 0, conn, 0, head})) {
        rte_pktmbuf_free(head);
        return false;
    }
    return true;
}

bool Channel::close(unsigned core, ConnId conn) {
    return core < impl_->cores.size() && impl_->cores[core]->commands.push(Command{Cmd::close, 0, 0, conn, 0, nullptr});
}

bool Channel::abort(unsigned core, ConnId conn) {
    return core < impl_->cores.size() && impl_->cores[core]->commands.push(Command{Cmd::abort, 0, 0, conn, 0, nullptr});
}

bool Channel::poll(ChannelEvent& out) {
    const unsigned n = static_cast<unsigned>(impl_->cores.size());
    for (unsigned k = 0; k < n; ++k) {
        const unsigned i = (impl_->next_poll + k) % n;
        if (impl_->cores[i]->events.pop(out)) {
            impl_->next_poll = (i + 1) % n;
            return true;
        }
    }
    return false;
}

uint64_t Channel::dropped_events() const noexcept {
    uint64_t n = 0;
    for (auto& pc : impl_->cores) n += pc->dropped;  // racy read of per-core counters: a report only
    return n;
}

}  // namespace synack
