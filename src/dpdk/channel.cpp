// Channels: per (channel, core) a command queue (application thread -> core) and an event queue (core ->
// application thread), both util::HandoffQueue SPSC queues of small PODs, one cache line per hand-off; payload
// bytes travel in mbufs. A parked application thread sleeps on a futex that a core bumps only when it queued events
// and saw the thread parked.
#include "synack/channel.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_pause.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "dpdk/channel_hub.hpp"
#include "dpdk/channel_spin.hpp"
#include "util/handoff_queue.hpp"

namespace synack {
namespace {

enum class Cmd : uint8_t { listen, connect, send, close, abort };

struct Command {
    Cmd type;
    uint16_t port;
    Address ip;  // connect: either family
    ConnId conn;
    uint64_t user;
    rte_mbuf* data;      // send: the bytes (the core frees it)
    const void* bytes;   // send: where data's first segment's bytes are (prefetch_handed)
};

long futex(std::atomic<uint32_t>& word, int op, uint32_t val, const timespec* timeout) noexcept {
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word must be a plain 32-bit word");
    return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), op, val, timeout, nullptr, 0);
}

constexpr uint32_t kCommandBudget = 64;  // commands one core takes from one channel per loop iteration
constexpr int32_t kDefaultSpinUs = 100;  // covers a LAN or tap round trip, as Linux's busy_poll advice does
constexpr uint64_t kSpinStartUs = 10;     // the budget a shrunk spin starts again from (haltpoll's grow_start)

// An event as queued: with where its data's first segment's bytes are (prefetch_handed).
struct Delivery {
    ChannelEvent ev;
    const void* bytes;
};

// An mbuf handed over from the other CPU, which wrote its lines: asks for its bytes and its header's second line at
// once, as the receiver reads its first line. The hand-off carries the bytes' address so that their fetch need not
// wait for the header to say where they are (one cross-CPU miss fewer in a row; bench/results/channel.md, run 12).
inline void prefetch_handed(const rte_mbuf* m, const void* bytes) noexcept {
    rte_prefetch0(bytes);
    rte_prefetch0(RTE_PTR_ADD(m, RTE_CACHE_LINE_SIZE));
}

// A queue slot is one cache line: its sequence number and the value (util::HandoffQueue).
static_assert(sizeof(Command) <= 56 && sizeof(Delivery) <= 56, "a command or an event fits a slot's line");

}  // namespace

struct Channel::Impl {
    struct alignas(64) PerCore {
        explicit PerCore(uint32_t depth) : commands(depth), events(depth) {}
        util::HandoffQueue<Command> commands;
        util::HandoffQueue<Delivery> events;
        alignas(64) uint64_t dropped = 0;  // written by the core only
        uint64_t wakeups = 0;              // written by the core only
    };
    // Read by the cores on every loop iteration and by the thread; written only while no core runs. Nothing the
    // thread writes as it polls may share these lines, or every poll would cost the cores a cache miss.
    std::vector<std::unique_ptr<PerCore>> cores;
    rte_mempool* pool = nullptr;
    dpdk::ChannelHub* hub = nullptr;
    unsigned index = 0;  // in the hub
    App no_app{};
    uint64_t spin_asked = 0;                 // ChannelConfig::spin_us in cycles, or kAuto
    std::atomic<uint64_t> spin_cycles{0};   // the longest spin of wait(): set again by each Stack::run (wrap)
    std::atomic<uint32_t> spin_gen{0};      // bumped after each change of spin_cycles
    static constexpr uint64_t kAuto = UINT64_MAX;
    cpu_set_t poller_cpus{};                // where the lcores run: wait() never spins where it could run too
    // The waiting thread's own state (one thread at a time uses a channel), on lines of its own: where poll()
    // looks first, whether it may spin, and how long.
    alignas(64) unsigned next_poll = 0;
    pthread_t spinner{};
    bool spinner_known = false;
    bool may_spin = false;
    uint32_t budget_gen = UINT32_MAX;
    dpdk::SpinBudget budget{0, 0};
    // A yield costs 0.5 us here alone and about 2.8 us when another spinning thread takes a turn: over 1.5 us it
    // gave the CPU away. Alone on it, yield every 5 us at most (a thread that wakes there waits that long).
    dpdk::YieldPacer pacer{3 * rte_get_tsc_hz() / 2000000, 5 * rte_get_tsc_hz() / 1000000};
    std::atomic<uint64_t> spins{0};         // waits that spun (written by the waiting thread)
    std::atomic<uint64_t> spin_hits{0};     // events wait() took while spinning (written by the waiting thread)
    // The futex: the application thread sleeps on `word` while `parked`; a core that queued events bumps it.
    alignas(64) std::atomic<uint32_t> word{0};
    std::atomic<uint32_t> parked{0};
    std::atomic<bool> notified{false};
    std::atomic<bool> stopped{false};

    void wake_all() noexcept {
        word.fetch_add(1, std::memory_order_release);
        futex(word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
    }

    // The calling thread's spin budget, or nullptr when it may not spin: read again when another thread waits or
    // a new Stack::run set the spin (the affinity is a system call: not once per wait).
    dpdk::SpinBudget* spin_budget() noexcept {
        const uint32_t gen = spin_gen.load(std::memory_order_acquire);
        const pthread_t self = pthread_self();
        if (gen != budget_gen || !spinner_known || !pthread_equal(self, spinner)) {
            budget_gen = gen;
            spinner = self;
            spinner_known = true;
            const uint64_t max = spin_cycles.load(std::memory_order_relaxed);
            cpu_set_t mine;
            may_spin = max > 0 && pthread_getaffinity_np(self, sizeof mine, &mine) == 0 &&
                       dpdk::may_spin(mine, poller_cpus);
            budget = dpdk::SpinBudget(max, kSpinStartUs * rte_get_tsc_hz() / 1000000);
        }
        return may_spin ? &budget : nullptr;
    }
};

// ---- the cores' side ----

namespace dpdk {

ChannelHub::~ChannelHub() {
    for (auto& pc : cores_)
        for (Conn& c : pc->conns) forget(c);
}

unsigned ChannelHub::attach(Channel::Impl* ch) {
    if (running_) throw std::logic_error("synack::Channel: attach channels before Stack::run");
    if (channels_.size() >= kMaxChannels)
        throw std::logic_error("synack::Channel: at most " + std::to_string(kMaxChannels) + " channels per Stack");
    channels_.push_back(ch);
    return static_cast<unsigned>(channels_.size() - 1);
}

void ChannelHub::detach(Channel::Impl* ch) noexcept {
    channels_.erase(std::remove(channels_.begin(), channels_.end(), ch), channels_.end());
    for (unsigned i = 0; i < channels_.size(); ++i) channels_[i]->index = i;
    // Ownership refers to channel indices, which just moved: a later run starts from nothing.
    for (auto& pc : cores_) {
        for (Conn& c : pc->conns) forget(c);
        pc->routes.clear();
        pc->dirty = pc->pushed = 0;
    }
}

const App& ChannelHub::wrap(const App& user, unsigned workers, unsigned free_cpus) {
    user_ = user;
    yield_on_wake_ = free_cpus == 0;
    while (cores_.size() < workers) cores_.push_back(std::make_unique<PerCore>());
    // Spinning pays only on CPUs no poller uses (a thread beside a poller only takes turns away from the work it
    // waits for); each thread checks its own affinity (Channel::Impl::spin_budget), and yields while it spins, so
    // that several threads, or a client, on the same free CPUs still take turns.
    const uint64_t auto_spin = free_cpus > 0 ? static_cast<uint64_t>(kDefaultSpinUs) * rte_get_tsc_hz() / 1000000 : 0;
    for (Channel::Impl* ch : channels_) {
        ch->stopped.store(false);
        if (ch->spin_asked == Channel::Impl::kAuto) ch->spin_cycles.store(auto_spin);
        ch->spin_gen.fetch_add(1, std::memory_order_release);
    }
    app_ = App{this, &ChannelHub::on_start, &ChannelHub::on_event, &ChannelHub::on_poll};
    return app_;
}

void ChannelHub::stopped() noexcept {
    for (Channel::Impl* ch : channels_) {
        ch->stopped.store(true);
        ch->wake_all();
    }
}

void ChannelHub::forget(Conn& c) noexcept {
    if (c.pending.head != nullptr) rte_pktmbuf_free(c.pending.head);
    c = Conn{};
}

void ChannelHub::deliver(PerCore& pc, unsigned ch, const ChannelEvent& e) noexcept {
    Channel::Impl::PerCore& q = *channels_[ch]->cores[e.core];
    if (!q.events.push(Delivery{e, e.data != nullptr ? rte_pktmbuf_mtod(e.data, const void*) : nullptr})) {
        ++q.dropped;
        if (e.data) rte_pktmbuf_free(e.data);
        return;
    }
    pc.dirty |= uint64_t{1} << ch;
}

// Wakes the parked threads of the channels that got events in the previous loop iteration. The fence orders our
// queue pushes before the read of `parked`, as the thread orders its store of `parked` before its last look at the
// queues: one of the two sees the other, so no event is left behind a sleeping thread. A fence waits for every
// store before it to reach the cache, and a push's stores miss (the thread has the lines): one iteration later
// they are there, and the fence costs nothing. A parked thread hears of its event one iteration later, which is
// nothing beside the futex wake-up itself.
void ChannelHub::wake(PerCore& pc, unsigned core) noexcept {
    const uint64_t check = pc.pushed;
    pc.pushed = pc.dirty;
    pc.dirty = 0;
    if (check == 0) return;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool woke = false;
    for (uint64_t d = check; d != 0; d &= d - 1) {
        Channel::Impl& ch = *channels_[static_cast<unsigned>(__builtin_ctzll(d))];
        if (ch.parked.load(std::memory_order_relaxed) != 0) [[unlikely]] {
            ch.word.fetch_add(1, std::memory_order_release);
            futex(ch.word, FUTEX_WAKE_PRIVATE, 1, nullptr);
            ++ch.cores[core]->wakeups;
            woke = true;
        }
    }
    // A thread woken on a CPU we poll would wait for the scheduler to preempt us: give it the CPU now.
    if (woke && yield_on_wake_) sched_yield();
}

// Moves as much of a connection's pending bytes as the send buffer takes; closes when asked and all is out.
void ChannelHub::flush(Core& core, Conn& c, ConnId id) noexcept {
    Pending& p = c.pending;
    while (p.head != nullptr) {
        const uint32_t avail = p.head->data_len - p.off;
        const int32_t n = core.send(id, rte_pktmbuf_mtod_offset(p.head, const char*, p.off), avail);
        if (n < 0) {  // the connection is gone or closing: drop what is left
            rte_pktmbuf_free(p.head);
            p = Pending{};
            return;
        }
        p.off += static_cast<uint32_t>(n);
        if (p.off < p.head->data_len) return;  // send buffer full: `writable` brings us back
        rte_mbuf* next = p.head->next;
        p.head->next = nullptr;
        rte_pktmbuf_free_seg(p.head);  // pending chains are walked by `next` only, never by nb_segs/pkt_len
        p.head = next;
        p.off = 0;
    }
    if (p.close_after) {
        p.close_after = false;
        core.close(id);
    }
}

// An accepted connection goes to the channels behind its listener in turn; none: the App's.
uint16_t ChannelHub::pick(PerCore& pc, uint16_t listener) noexcept {
    if (listener >= pc.routes.size() || pc.routes[listener].channels.empty()) return 0;
    Route& r = pc.routes[listener];
    const uint16_t ch = r.channels[r.next++ % r.channels.size()];
    return static_cast<uint16_t>(ch + 1);
}

void ChannelHub::on_start(Core& core, void* ctx) {
    auto* h = static_cast<ChannelHub*>(ctx);
    PerCore& pc = *h->cores_[core.index()];
    pc.conns.resize(core.options().tcp.max_connections);
    if (h->user_.on_start) h->user_.on_start(core, h->user_.ctx);
}

void ChannelHub::on_event(Core& core, const Event& ev, void* ctx) {
    auto* h = static_cast<ChannelHub*>(ctx);
    PerCore& pc = *h->cores_[core.index()];
    Conn* c = ev.conn.index < pc.conns.size() ? &pc.conns[ev.conn.index] : nullptr;
    if (c != nullptr && ev.type == EventType::accepted) {
        forget(*c);
        c->owner = h->pick(pc, ev.listener);
        c->gen = ev.conn.gen;
    }
    if (c == nullptr || c->owner == 0 || c->gen != ev.conn.gen) {
        if (h->user_.on_event) h->user_.on_event(core, ev, h->user_.ctx);
        return;
    }
    const unsigned owner = c->owner - 1u;
    ChannelEvent e{ev, core.index(), nullptr, 0};
    switch (ev.type) {
    case EventType::accepted:
        e.port = pc.routes[ev.listener].port;  // pick() found the route
        core.set_delayed_fin_ack(ev.conn, true);  // the thread's close() comes a loop iteration or more later
        break;
    case EventType::connected:
        core.set_delayed_fin_ack(ev.conn, true);
        break;
    case EventType::readable:
        e.data = core.recv_chain(ev.conn);
        if (e.data == nullptr) return;
        break;
    case EventType::writable:
        h->flush(core, *c, ev.conn);
        break;
    case EventType::closed:
    case EventType::reset:
    case EventType::timed_out:
    case EventType::persist_timed_out:
    case EventType::user_timed_out:
    case EventType::memory_aborted:
    case EventType::keepalive_timed_out:
        forget(*c);
        break;
    default:
        break;
    }
    h->deliver(pc, owner, e);
}

void ChannelHub::commands(Core& core, PerCore& pc, unsigned ch) {
    Channel::Impl::PerCore& q = *channels_[ch]->cores[core.index()];
    const auto owner = static_cast<uint16_t>(ch + 1);
    Command cmd;
    for (uint32_t budget = 0; budget < kCommandBudget && q.commands.pop(cmd); ++budget) {
        Conn* c = nullptr;
        if (cmd.type != Cmd::listen && cmd.type != Cmd::connect) {
            // A handle of this channel, still current; anything else is stale and ignored.
            c = cmd.conn.index < pc.conns.size() ? &pc.conns[cmd.conn.index] : nullptr;
            if (c != nullptr && (c->owner != owner || c->gen != cmd.conn.gen)) c = nullptr;
            if (c == nullptr) {
                if (cmd.data) rte_pktmbuf_free(cmd.data);
                continue;
            }
        }
        switch (cmd.type) {
        case Cmd::listen: {
            int id = core.listen(cmd.port);
            if (id < 0)  // listening already: another channel's listener on this port
                for (size_t i = 0; i < pc.routes.size(); ++i)
                    if (pc.routes[i].port == cmd.port && !pc.routes[i].channels.empty()) id = static_cast<int>(i);
            if (id < 0) {  // cold: a listen that cannot be served is said once, where the operator sees it
                std::fprintf(stderr, "synack: core %u: a channel's listen on port %u failed (%d)%s\n", core.index(),
                             cmd.port, id, id == -98 ? ": the App's callbacks listen there already" : "");
                break;
            }
            if (pc.routes.size() <= static_cast<size_t>(id)) pc.routes.resize(static_cast<size_t>(id) + 1);
            Route& r = pc.routes[static_cast<size_t>(id)];
            r.port = cmd.port;
            if (std::find(r.channels.begin(), r.channels.end(), ch) == r.channels.end())
                r.channels.push_back(static_cast<uint16_t>(ch));
            break;
        }
        case Cmd::connect: {
            ConnId id;
            if (core.connect(cmd.ip, cmd.port, cmd.user, id) != 0) {
                deliver(pc, ch, {Event{EventType::reset, 0, id, cmd.user}, core.index(), nullptr, 0});
                break;
            }
            Conn& n = pc.conns[id.index];
            forget(n);
            n.owner = owner;
            n.gen = id.gen;
            break;
        }
        case Cmd::send:
            prefetch_handed(cmd.data, cmd.bytes);
            if (c->pending.head == nullptr) {
                // Nothing waits: the chain goes into the send buffer as it is, uncopied, when it fits there.
                if (core.send_chain(cmd.conn, cmd.data) >= 0) break;
                c->pending.head = cmd.data;
            } else {  // in order behind what is still waiting
                rte_pktmbuf_lastseg(c->pending.head)->next = cmd.data;
            }
            flush(core, *c, cmd.conn);
            break;
        case Cmd::close:
            if (c->pending.head != nullptr)
                c->pending.close_after = true;  // after the queued bytes
            else
                core.close(cmd.conn);
            break;
        case Cmd::abort:
            core.abort(cmd.conn);  // no event follows an abort: the connection is forgotten here
            forget(*c);
            break;
        }
    }
}

void ChannelHub::on_poll(Core& core, void* ctx) {
    auto* h = static_cast<ChannelHub*>(ctx);
    PerCore& pc = *h->cores_[core.index()];
    h->wake(pc, core.index());  // events of the previous iteration (its input, timers and failed connects)
    for (unsigned ch = 0; ch < h->channels_.size(); ++ch) h->commands(core, pc, ch);
    if (h->user_.on_poll) h->user_.on_poll(core, h->user_.ctx);
}

}  // namespace dpdk

// ---- the application thread's side ----

Channel::Channel(Stack& stack, uint32_t depth) : Channel(stack, ChannelConfig{depth, -1}) {}

Channel::Channel(Stack& stack, const ChannelConfig& cfg) : impl_(std::make_unique<Impl>()) {
    const unsigned n = stack.hub().workers();
    for (unsigned i = 0; i < n; ++i) impl_->cores.push_back(std::make_unique<Impl::PerCore>(cfg.queue_depth));
    impl_->pool = stack.mbuf_pool();
    impl_->spin_asked =
        cfg.spin_us >= 0 ? static_cast<uint64_t>(cfg.spin_us) * rte_get_tsc_hz() / 1000000 : Impl::kAuto;
    impl_->spin_cycles = cfg.spin_us >= 0 ? impl_->spin_asked : 0;
    impl_->hub = &stack.hub();
    impl_->poller_cpus = impl_->hub->poller_cpus();
    impl_->index = impl_->hub->attach(impl_.get());
}

Channel::~Channel() {
    impl_->hub->detach(impl_.get());
    for (auto& pc : impl_->cores) {
        Delivery d;
        while (pc->events.pop(d))
            if (d.ev.data) rte_pktmbuf_free(d.ev.data);
        Command c;
        while (pc->commands.pop(c))
            if (c.data) rte_pktmbuf_free(c.data);
    }
}

const App& Channel::app() const noexcept { return impl_->no_app; }

bool Channel::listen(uint16_t port) {
    bool ok = true;
    for (auto& pc : impl_->cores)
        ok = pc->commands.push(Command{Cmd::listen, port, {}, {}, 0, nullptr, nullptr}) && ok;
    return ok;
}

bool Channel::connect(unsigned core, uint32_t ip, uint16_t port, uint64_t user) {
    return connect(core, Address::v4(ip), port, user);
}

bool Channel::connect(unsigned core, const Address& ip, uint16_t port, uint64_t user) {
    if (core >= impl_->cores.size()) return false;
    return impl_->cores[core]->commands.push(Command{Cmd::connect, port, ip, {}, user, nullptr, nullptr});
}

bool Channel::send(unsigned core, ConnId conn, const void* data, uint32_t len) {
    if (core >= impl_->cores.size()) return false;
    // Copy into a chain of mbufs (from the thread's own mempool cache when Stack::app_thread registered it).
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
        if (tail) {
            tail->next = m;
            ++head->nb_segs;
            head->pkt_len += n;
        } else {
            head = m;
        }
        tail = m;
        if (len == 0) break;
    }
    if (!impl_->cores[core]->commands.push(
            Command{Cmd::send, 0, {}, conn, 0, head, rte_pktmbuf_mtod(head, const void*)})) {
        rte_pktmbuf_free(head);
        return false;
    }
    return true;
}

bool Channel::close(unsigned core, ConnId conn) {
    return core < impl_->cores.size() &&
           impl_->cores[core]->commands.push(Command{Cmd::close, 0, {}, conn, 0, nullptr, nullptr});
}

bool Channel::abort(unsigned core, ConnId conn) {
    return core < impl_->cores.size() &&
           impl_->cores[core]->commands.push(Command{Cmd::abort, 0, {}, conn, 0, nullptr, nullptr});
}

bool Channel::poll(ChannelEvent& out) {
    const unsigned n = static_cast<unsigned>(impl_->cores.size());
    for (unsigned k = 0; k < n; ++k) {
        const unsigned i = (impl_->next_poll + k) % n;
        Delivery d;
        if (impl_->cores[i]->events.pop(d)) {
            impl_->next_poll = (i + 1) % n;
            if (d.bytes != nullptr) prefetch_handed(d.ev.data, d.bytes);
            out = d.ev;
            return true;
        }
    }
    return false;
}

bool Channel::wait(ChannelEvent& out, int64_t timeout_us) {
    if (poll(out)) return true;
    Impl& s = *impl_;
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    const uint64_t deadline =
        timeout_us < 0 ? UINT64_MAX : start + static_cast<uint64_t>(timeout_us) * hz / 1000000;
    // On a CPU no poller uses, a reply that comes within a few microseconds is cheaper to spin for than to sleep
    // for (an idle CPU's wake-up costs tens of microseconds on a VM).
    dpdk::SpinBudget* budget = s.spin_budget();
    if (budget != nullptr && budget->budget() > 0 && spin(out, std::min(deadline, start + budget->budget())))
        return true;
    const bool got = park(out, deadline);
    if (budget != nullptr) {
        const uint64_t waited = rte_rdtsc() - start;
        if (got || waited > budget->max()) budget->parked(waited);  // a timeout shorter than the spin says nothing
    }
    return got;
}

// Polls until `end`, giving the CPU between polls to whatever else is runnable on it: a client woken on our CPU
// runs at once instead of after our spin. Measured over the tap (bench/channel.sh's rows, client on the
// application CPU): yielding at every poll against every 2, 10 or 50 µs gave the lowest RR p50 and the most
// connections per second. A yield is a system call, though (about 0.5 us here): while yields return at once
// (nobody else wants the CPU) the pacer spaces them out and we poll with a pause between them.
bool Channel::spin(ChannelEvent& out, uint64_t end) {
    impl_->spins.store(impl_->spins.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    dpdk::YieldPacer& pacer = impl_->pacer;
    uint64_t now = rte_rdtsc();
    do {
        if (poll(out)) {
            impl_->spin_hits.store(impl_->spin_hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            return true;
        }
        if (pacer.due(now)) {
            sched_yield();
            const uint64_t back = rte_rdtsc();
            pacer.yielded(now, back);
            now = back;
        } else {
            rte_pause();
            now = rte_rdtsc();
        }
    } while (now < end);
    return false;
}

// Parks on the futex until a core queues an event, notify(), the stack stops or `deadline` (TSC) passes.
bool Channel::park(ChannelEvent& out, uint64_t deadline) {
    Impl& s = *impl_;
    for (;;) {
        if (s.notified.exchange(false)) return false;
        if (s.stopped.load()) return poll(out);
        const uint32_t seen = s.word.load(std::memory_order_acquire);
        s.parked.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // see ChannelHub::wake
        if (poll(out)) {
            s.parked.store(0, std::memory_order_relaxed);
            return true;
        }
        timespec ts{};
        const timespec* limit = nullptr;
        if (deadline != UINT64_MAX) {
            const uint64_t now = rte_rdtsc();
            if (now >= deadline) {
                s.parked.store(0, std::memory_order_relaxed);
                return false;
            }
            const uint64_t ns = (deadline - now) * 1000000000ull / rte_get_tsc_hz();  // < 2^64 below ~5 hours
            ts.tv_sec = static_cast<time_t>(ns / 1000000000ull);
            ts.tv_nsec = static_cast<long>(ns % 1000000000ull);
            limit = &ts;
        }
        futex(s.word, FUTEX_WAIT_PRIVATE, seen, limit);  // returns at once if a core bumped `word` since `seen`
        s.parked.store(0, std::memory_order_relaxed);
        if (poll(out)) return true;
        if (deadline != UINT64_MAX && rte_rdtsc() >= deadline) return false;
    }
}

void Channel::notify() noexcept {
    impl_->notified.store(true);
    impl_->wake_all();
}

bool Channel::stopped() const noexcept { return impl_->stopped.load(); }

uint64_t Channel::dropped_events() const noexcept {
    uint64_t n = 0;
    for (auto& pc : impl_->cores) n += pc->dropped;  // racy read of per-core counters: a report only
    return n;
}

uint64_t Channel::spins() const noexcept { return impl_->spins.load(std::memory_order_relaxed); }

uint64_t Channel::spin_hits() const noexcept { return impl_->spin_hits.load(std::memory_order_relaxed); }

uint64_t Channel::wakeups() const noexcept {
    uint64_t n = 0;
    for (auto& pc : impl_->cores) n += pc->wakeups;  // racy read of per-core counters: a report only
    return n;
}

}  // namespace synack
