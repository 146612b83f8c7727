// synack-channel-perf: the Channel path against the callback path, in one process over the --loopback link (client
// stack on lcore A, server stack on lcore B), and a byte-exact check of several application threads at once.
//
//   synack-channel-perf [EAL: -l A,B] -- --ip 10.98.9.1/24 --loopback --port 5201
//        --test rr|cps|verify|xcore --server callback|channel|alternate --client callback|channel|alternate
//        [--threads N] [--conns N] [--msg-size N] [--rounds N] [--duration-s N] [--slice-ms N]
//
// The server echoes on --port+1 and closes each connection it accepts on --port+2 (as synack-perf). In channel
// mode every one of --threads application threads has its own Channel and listens on both ports; the cores hand
// accepted connections to them in turn. The client: rr keeps --conns connections (per thread) each with one
// --msg-size request in flight and records every round trip; cps keeps --conns connections (per thread) being
// opened and closed by the server; verify (channel client only) has every thread open --conns connections at
// once, --rounds times, each sending a pseudo-random amount of a pattern of its own and checking the echo byte
// for byte. `alternate` (rr and cps, one thread, either side; the other side callbacks) runs both paths of that
// side in the one process, taking turns in slices of --slice-ms (default 50), and prints each one's figures and
// their ratio: separate runs on a VM can meet different placements of the vCPUs by the host. Between slices the
// core measures the cache-line round trip to the Channel thread's CPU (about 150 ns here, or about 500 ns), and the
// ratio is given again for the pairs of slices under and over 200 ns. Prints one JSON line; verify exits non-zero
// on any mismatch. xcore runs no stack: it measures the round trip of a cache line between the main lcore's CPU
// and an application thread's (a 64-bit ping-pong), which on a VM depends on where the host puts the vCPUs and
// bounds every Channel hand-off.
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "synack/channel.hpp"
#include "synack/stack.hpp"

namespace {

enum class Test { rr, cps, verify, xcore };
enum class Alt { none, client, server };  // --client alternate / --server alternate

struct Config {
    Test test = Test::rr;
    bool server_channel = false, client_channel = false;
    Alt alt = Alt::none;
    uint32_t slice_ms = 50;
    unsigned threads = 1;
    uint32_t conns = 1;
    uint32_t msg_size = 64;
    uint32_t rounds = 1;
    uint32_t server_ip = 0;
    uint16_t echo_port = 0, close_port = 0;
    uint16_t ch_echo_port = 0, ch_close_port = 0;  // a Channel server's: two above the callback server's when both run
    bool cb_client() const { return !client_channel || alt == Alt::client; }
};

// --client alternate / --server alternate: the callback side and the Channel side take turns in one process, in
// slices of --slice-ms, so that both run where the host has the vCPUs at the time (on this VM that changes from one
// second to the next, and moves the CPUs' cache-line round trip between about 150 and 500 ns, which every Channel
// hand-off pays). A side keeps its connections going until its slice is over, lets them finish, then hands the turn
// over; only whole slices count. Each hand-over also measures that round trip between the core's CPU and the
// Channel thread's, so that each pair of slices is known by the placement it ran on: a Channel
// client answers pings while it waits for its turn; a Channel server, woken out of its wait by Channel::notify,
// while `probing` is set. (Not with a Channel server behind a Channel client: two threads share the CPU.)
struct Slices {
    struct alignas(64) Line {
        std::atomic<uint64_t> v{0};
    };
    std::atomic<unsigned> turn{0};  // --client alternate: 0 the callback client's turn, 1 the Channel client's
    uint64_t length = 0;            // cycles
    bool probe = false;             // the Channel thread answers pings between its slices
    synack::Channel* wake = nullptr;  // --server alternate: the Channel server's, to notify()
    std::atomic<bool> probing{false};
    Line ping, pong;
    std::vector<double> round_trip_ns;  // at each hand-over, 0 if not measured: 2k and 2k + 1 before and after the
                                        // Channel side's slice k; written by the core only
};

// The median of 32 ping-pongs with the Channel thread, in ns, or 0 when it did not answer (within 1 ms for the
// first, 50 us for the others). Run by the core between slices, where no connection waits for it.
double probe_round_trip(Slices& s, uint64_t hz) {
    s.probing.store(true, std::memory_order_release);
    if (s.wake != nullptr) s.wake->notify();
    uint64_t cycles[33];  // the first wakes the thread up: not counted
    bool answered = true;
    for (uint64_t& c : cycles) {
        const uint64_t seq = s.ping.v.load(std::memory_order_relaxed) + 1;
        const uint64_t t0 = rte_rdtsc(), limit = &c == cycles ? hz / 1000 : hz / 20000;
        s.ping.v.store(seq, std::memory_order_release);
        while (answered && s.pong.v.load(std::memory_order_acquire) != seq) {
            if (rte_rdtsc() - t0 > limit) answered = false;
            rte_pause();
        }
        c = rte_rdtsc() - t0;
    }
    s.probing.store(false, std::memory_order_release);
    if (!answered) return 0.0;
    std::sort(cycles + 1, std::end(cycles));
    return static_cast<double>(cycles[17]) * 1e9 / static_cast<double>(hz);
}

// A hand-over's round trip, recorded (0 when the Channel thread cannot answer).
void probe(Slices& s) { s.round_trip_ns.push_back(s.probe ? probe_round_trip(s, rte_get_tsc_hz()) : 0.0); }

// The Channel thread's side of probe_round_trip.
void answer_pings(Slices& s) {
    const uint64_t p = s.ping.v.load(std::memory_order_acquire);
    if (p != s.pong.v.load(std::memory_order_relaxed)) s.pong.v.store(p, std::memory_order_release);
}

// A side's slice under way, and the side's counts when it began (a slice the stop cuts short is not recorded).
struct Slice {
    bool open = false;
    uint64_t start = 0, end = 0;
    uint32_t live = 0;  // connections still going
    uint64_t transactions = 0, connections = 0, errors = 0;
    size_t latencies = 0;
};

// A whole slice: its length, what it did, and its round trips (latency[first, first + count) of its Result).
struct SliceRecord {
    uint64_t cycles = 0, transactions = 0, connections = 0, errors = 0;
    size_t first = 0, count = 0;
};

// What one client (a core's callbacks or one application thread) measured.
struct alignas(64) Result {
    uint64_t transactions = 0, connections = 0, errors = 0, verified = 0;
    std::vector<uint64_t> latency;  // cycles per round trip
    Slice slice;                      // alternate: the one under way
    std::vector<SliceRecord> records;  // alternate: the whole ones
    Result() { latency.reserve(1u << 21); }

    void begin_slice(uint64_t now, uint64_t length, uint32_t conns) {
        slice = Slice{true, now, now + length, conns, transactions, connections, errors, latency.size()};
    }
    /// A connection of the slice is done: true when it was the last (the slice is over).
    bool retire(uint64_t now) {
        if (--slice.live > 0) return false;
        records.push_back({now - slice.start, transactions - slice.transactions, connections - slice.connections,
                           errors - slice.errors, slice.latencies, latency.size() - slice.latencies});
        slice.open = false;
        return true;
    }
};

// verify: the byte at `off` of connection `seed`'s stream, and how long that stream is.
uint8_t pattern(uint64_t seed, uint64_t off) { return static_cast<uint8_t>((seed * 0x9E3779B1u + off * 40503u) >> 7); }
uint32_t stream_len(uint64_t seed) { return 1 + static_cast<uint32_t>((seed * 2654435761u) % 100000u); }

// ---- callbacks: the server on its lcore, the client on its lcore ----

struct CbServer {
    int close_listener = -1;
    char buf[16384];
};

struct CbClient {
    const Config* cfg = nullptr;
    Result* res = nullptr;  // res_side[side]
    Result* res_side[2] = {nullptr, nullptr};
    unsigned side = 0;      // --server alternate: 1 while the client talks to the Channel server
    Slices* slices = nullptr;  // alternate only
    std::vector<uint64_t> sent_at;  // by connection index
    std::vector<uint32_t> got;
    char buf[65536];
};

struct Both {
    const Config* cfg;
    CbServer server;
    CbClient client;
    /// A Channel server's listens are commands its core takes in its own time: the callback client opens its
    /// connections once the server thread has issued them (set by channel_server), from on_poll.
    std::atomic<bool> server_listening{false};
    bool client_started = false;
};

void client_open(synack::Core& core, CbClient& c) {
    synack::ConnId id;
    const Config& f = *c.cfg;
    const uint16_t port = f.test == Test::cps ? (c.side ? f.ch_close_port : f.close_port)
                                              : (c.side ? f.ch_echo_port : f.echo_port);
    if (core.connect(f.server_ip, port, 0, id) != 0) ++c.res->errors;
}

// Whether a connection of the callback client goes on (opens again, sends again): always, unless its slice is over.
bool goes_on(const CbClient& c) { return c.slices == nullptr || rte_rdtsc() < c.res->slice.end; }

// A connection of the callback client's slice is done; after the last, the other side's turn.
void retire(CbClient& c) {
    if (!c.res->retire(rte_rdtsc())) return;
    Slices& s = *c.slices;
    probe(s);
    if (c.cfg->alt == Alt::client) {
        s.turn.store(1, std::memory_order_release);
    } else {  // --server alternate: the other server, from the next on_poll
        c.side ^= 1u;
        c.res = c.res_side[c.side];
    }
}

void cb_start(synack::Core& core, void* ctx) {
    auto* b = static_cast<Both*>(ctx);
    if (core.index() == 1 && (!b->cfg->server_channel || b->cfg->alt == Alt::server)) {
        core.listen(b->cfg->echo_port);
        b->server.close_listener = core.listen(b->cfg->close_port);
        if (!b->cfg->server_channel) b->server_listening.store(true, std::memory_order_release);
    }
    if (core.index() == 0 && b->cfg->cb_client()) {
        b->client.sent_at.assign(core.options().tcp.max_connections, 0);
        b->client.got.assign(core.options().tcp.max_connections, 0);
        if (!b->cfg->server_channel && b->cfg->alt == Alt::none) {
            for (uint32_t i = 0; i < b->cfg->conns; ++i) client_open(core, b->client);
            b->client_started = true;
        }
    }
}

void cb_poll(synack::Core& core, void* ctx) {
    auto* b = static_cast<Both*>(ctx);
    CbClient& c = b->client;
    if (core.index() != 0 || !b->cfg->cb_client() || !b->server_listening.load(std::memory_order_acquire)) return;
    if (c.slices != nullptr) {  // alternate: a slice of the callback client's when the turn is its own
        if (c.res->slice.open) return;
        Slices& s = *c.slices;
        if (b->cfg->alt == Alt::client) {
            if (s.turn.load(std::memory_order_acquire) != 0) return;
            // The Channel client's slice is over: the round trip after it (the one before it came at retire).
            if (s.round_trip_ns.size() % 2 == 1) probe(s);
        }
        c.res->begin_slice(rte_rdtsc(), s.length, b->cfg->conns);
    } else if (b->client_started) {
        return;
    }
    for (uint32_t i = 0; i < b->cfg->conns; ++i) client_open(core, c);
    b->client_started = true;
}

void server_event(synack::Core& core, const synack::Event& ev, CbServer& s) {
    switch (ev.type) {
    case synack::EventType::accepted:
        if (ev.listener == s.close_listener) core.close(ev.conn);
        break;
    case synack::EventType::readable:
        while (core.send_space(ev.conn) > 0) {
            const int32_t n = core.recv(ev.conn, s.buf, std::min<uint32_t>(sizeof s.buf, core.send_space(ev.conn)));
            if (n <= 0) break;
            core.send(ev.conn, s.buf, static_cast<uint32_t>(n));
        }
        break;
    case synack::EventType::peer_closed:
        core.close(ev.conn);
        break;
    default:
        break;
    }
}

void client_event(synack::Core& core, const synack::Event& ev, CbClient& c) {
    const uint32_t msg = c.cfg->msg_size;
    switch (ev.type) {
    case synack::EventType::connected:
        if (c.cfg->test == Test::rr) {
            c.sent_at[ev.conn.index] = rte_rdtsc();
            c.got[ev.conn.index] = 0;
            core.send(ev.conn, c.buf, msg);
        }
        break;
    case synack::EventType::readable: {
        int32_t n;
        while ((n = core.recv(ev.conn, c.buf, sizeof c.buf)) > 0) c.got[ev.conn.index] += static_cast<uint32_t>(n);
        if (c.cfg->test == Test::rr && c.got[ev.conn.index] >= msg) {
            const uint64_t now = rte_rdtsc();
            c.res->latency.push_back(now - c.sent_at[ev.conn.index]);
            ++c.res->transactions;
            c.got[ev.conn.index] = 0;
            c.sent_at[ev.conn.index] = now;
            if (goes_on(c))
                core.send(ev.conn, c.buf, msg);
            else
                core.close(ev.conn);  // the slice is over: retired at `closed`
        }
        break;
    }
    case synack::EventType::peer_closed:
        core.close(ev.conn);
        break;
    case synack::EventType::closed:
        ++c.res->connections;
        if (c.cfg->test == Test::cps && goes_on(c))
            client_open(core, c);
        else if (c.slices != nullptr)
            retire(c);
        break;
    case synack::EventType::reset:
    case synack::EventType::timed_out:
    case synack::EventType::persist_timed_out:
    case synack::EventType::user_timed_out:
    case synack::EventType::memory_aborted:
    case synack::EventType::keepalive_timed_out:
        ++c.res->errors;
        if (goes_on(c))
            client_open(core, c);  // the workload goes on with one connection fewer lost (counted)
        else
            retire(c);
        break;
    default:
        break;
    }
}

void cb_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    auto* b = static_cast<Both*>(ctx);
    if (core.index() == 1)
        server_event(core, ev, b->server);
    else
        client_event(core, ev, b->client);
}

// ---- application threads ----

template <class Op> void retry(Op&& op) {
    while (!op()) std::this_thread::yield();  // full command queue or no mbuf: the core catches up
}

// With `slices` (--server alternate), it answers the core's pings when its wait is cut short for them.
void channel_server(synack::Channel& ch, const Config& cfg, std::atomic<bool>& listening, Slices* slices) {
    retry([&] { return ch.listen(cfg.ch_echo_port); });
    retry([&] { return ch.listen(cfg.ch_close_port); });
    // The core takes the listens in order with the commands before them; give it a moment before clients come.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    listening.store(true, std::memory_order_release);
    synack::ChannelEvent e;
    while (!ch.stopped()) {
        if (!ch.wait(e)) {
            while (slices != nullptr && slices->probing.load(std::memory_order_acquire) && !ch.stopped()) {
                answer_pings(*slices);
                rte_pause();
            }
            continue;
        }
        switch (e.ev.type) {
        case synack::EventType::accepted:
            if (e.port == cfg.ch_close_port) retry([&] { return ch.close(e.core, e.ev.conn); });
            break;
        case synack::EventType::readable:
            for (rte_mbuf* m = e.data; m != nullptr; m = m->next)
                retry([&] { return ch.send(e.core, e.ev.conn, rte_pktmbuf_mtod(m, const char*), m->data_len); });
            rte_pktmbuf_free(e.data);
            break;
        case synack::EventType::peer_closed:
            retry([&] { return ch.close(e.core, e.ev.conn); });
            break;
        default:
            break;
        }
    }
}

// A client thread's first connect waits for a Channel server's listens (a SYN that reaches the server's core
// before them would be refused); a callback server listens in on_start, before any core polls.
void await_server(const synack::Channel& ch, const std::atomic<bool>& listening) {
    while (!listening.load(std::memory_order_acquire) && !ch.stopped())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// One client thread of rr or cps: the same workload as the callback client, through a Channel.
// With `slices` (--client alternate), it opens connections only in its own slices and hands the turn back after.
void channel_client(synack::Channel& ch, const Config& cfg, Result& res, const std::atomic<bool>& listening,
                    Slices* slices) {
    await_server(ch, listening);
    const uint16_t port = cfg.test == Test::cps ? cfg.close_port : cfg.echo_port;
    auto open = [&] { retry([&] { return ch.connect(0, cfg.server_ip, port, 0); }); };
    auto goes_on = [&] { return slices == nullptr || rte_rdtsc() < res.slice.end; };
    auto retire = [&] {
        if (res.retire(rte_rdtsc())) slices->turn.store(0, std::memory_order_release);
    };
    if (slices == nullptr)
        for (uint32_t i = 0; i < cfg.conns; ++i) open();
    std::vector<uint64_t> sent_at(1u << 16);
    std::vector<uint32_t> got(1u << 16);
    std::vector<char> req(cfg.msg_size, 'x');
    synack::ChannelEvent e;
    while (!ch.stopped()) {
        if (slices != nullptr && !res.slice.open) {  // between slices: poll for the turn, without the Channel's wait
            if (slices->turn.load(std::memory_order_acquire) != 1) {
                if (slices->probe) {
                    answer_pings(*slices);
                    rte_pause();
                } else {
                    std::this_thread::yield();  // a Channel server's thread shares the CPU
                }
                continue;
            }
            res.begin_slice(rte_rdtsc(), slices->length, cfg.conns);
            for (uint32_t i = 0; i < cfg.conns; ++i) open();
        }
        if (!ch.wait(e)) continue;
        const uint32_t k = e.ev.conn.index & 0xffff;
        switch (e.ev.type) {
        case synack::EventType::connected:
            if (cfg.test == Test::rr) {
                sent_at[k] = rte_rdtsc();
                got[k] = 0;
                retry([&] { return ch.send(e.core, e.ev.conn, req.data(), cfg.msg_size); });
            }
            break;
        case synack::EventType::readable:
            got[k] += rte_pktmbuf_pkt_len(e.data);
            rte_pktmbuf_free(e.data);
            if (cfg.test == Test::rr && got[k] >= cfg.msg_size) {
                const uint64_t now = rte_rdtsc();
                res.latency.push_back(now - sent_at[k]);
                ++res.transactions;
                got[k] = 0;
                sent_at[k] = now;
                if (goes_on())
                    retry([&] { return ch.send(e.core, e.ev.conn, req.data(), cfg.msg_size); });
                else
                    retry([&] { return ch.close(e.core, e.ev.conn); });  // the slice is over: retired at `closed`
            }
            break;
        case synack::EventType::peer_closed:
            retry([&] { return ch.close(e.core, e.ev.conn); });
            break;
        case synack::EventType::closed:
            ++res.connections;
            if (cfg.test == Test::cps && goes_on())
                open();
            else if (slices != nullptr)
                retire();
            break;
        case synack::EventType::reset:
        case synack::EventType::timed_out:
        case synack::EventType::persist_timed_out:
        case synack::EventType::user_timed_out:
        case synack::EventType::memory_aborted:
        case synack::EventType::keepalive_timed_out:
            ++res.errors;
            if (cfg.test == Test::cps && goes_on())
                open();
            else if (slices != nullptr)
                retire();
            break;
        default:
            break;
        }
    }
}

// verify: --rounds times, --conns connections at once, each streaming its pattern and checking the echo.
void channel_verify(synack::Channel& ch, const Config& cfg, unsigned thread, Result& res,
                    std::atomic<unsigned>& threads_done, synack::Stack& stack, const std::atomic<bool>& listening) {
    await_server(ch, listening);
    struct Stream {
        uint64_t seed = 0;
        uint32_t len = 0, received = 0;
        bool ok = true;
    };
    std::vector<Stream> streams(1u << 16);  // by connection index
    std::vector<uint8_t> chunk(8192);
    synack::ChannelEvent e;
    for (uint32_t round = 0; round < cfg.rounds && !ch.stopped(); ++round) {
        for (uint32_t i = 0; i < cfg.conns; ++i) {
            const uint64_t seed = (uint64_t{thread} << 40) | (uint64_t{round} << 20) | i;
            retry([&] { return ch.connect(0, cfg.server_ip, cfg.echo_port, seed); });
        }
        uint32_t finished = 0;
        while (finished < cfg.conns && !ch.stopped()) {
            if (!ch.wait(e, 1000000)) continue;
            Stream& s = streams[e.ev.conn.index & 0xffff];
            switch (e.ev.type) {
            case synack::EventType::connected:
                s = Stream{e.ev.user, stream_len(e.ev.user), 0, true};
                for (uint32_t off = 0; off < s.len;) {  // the whole stream, then our FIN behind it
                    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(chunk.size()), s.len - off);
                    for (uint32_t j = 0; j < n; ++j) chunk[j] = pattern(s.seed, off + j);
                    retry([&] { return ch.send(e.core, e.ev.conn, chunk.data(), n); });
                    off += n;
                }
                retry([&] { return ch.close(e.core, e.ev.conn); });
                break;
            case synack::EventType::readable:
                for (rte_mbuf* m = e.data; m != nullptr; m = m->next) {
                    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
                    for (uint32_t j = 0; j < m->data_len; ++j, ++s.received)
                        if (s.received >= s.len || p[j] != pattern(s.seed, s.received)) s.ok = false;
                }
                rte_pktmbuf_free(e.data);
                break;
            case synack::EventType::closed:
                ++finished;
                if (s.ok && s.received == s.len) {
                    ++res.verified;
                    ++res.connections;
                } else {
                    ++res.errors;
                    std::fprintf(stderr, "thread %u: connection %" PRIx64 ": sent %u bytes, got %u back%s\n", thread,
                                 s.seed, s.len, s.received, s.ok ? "" : ", contents differ");
                }
                break;
            case synack::EventType::reset:
            case synack::EventType::timed_out:
            case synack::EventType::persist_timed_out:
            case synack::EventType::user_timed_out:
            case synack::EventType::memory_aborted:
            case synack::EventType::keepalive_timed_out:
                ++finished;
                ++res.errors;
                std::fprintf(stderr, "thread %u: connection %" PRIx64 " %s\n", thread, e.ev.user,
                             synack::to_string(e.ev.type));
                break;
            default:
                break;
            }
        }
    }
    if (threads_done.fetch_add(1) + 1 == cfg.threads) stack.stop();
}

// The median round trip of a cache line between this thread (the main lcore, pinned by EAL) and an application
// thread, in ns: 1000 batches of 1000 ping-pongs.
double cross_core_ns(const synack::Stack& stack, uint64_t hz) {
    struct alignas(64) Line {
        std::atomic<uint64_t> v{0};
    };
    Line ping, pong;
    constexpr uint64_t kBatch = 1000, kBatches = 1000;
    std::thread t = stack.app_thread([&] {
        for (uint64_t i = 1; i <= kBatch * kBatches; ++i) {
            while (ping.v.load(std::memory_order_acquire) != i) rte_pause();
            pong.v.store(i, std::memory_order_release);
        }
    });
    std::vector<uint64_t> cycles;
    for (uint64_t b = 0, i = 0; b < kBatches; ++b) {
        const uint64_t t0 = rte_rdtsc();
        for (uint64_t k = 0; k < kBatch; ++k) {
            ping.v.store(++i, std::memory_order_release);
            while (pong.v.load(std::memory_order_acquire) != i) rte_pause();
        }
        cycles.push_back((rte_rdtsc() - t0) / kBatch);
    }
    t.join();
    std::sort(cycles.begin(), cycles.end());
    return static_cast<double>(cycles[cycles.size() / 2]) * 1e9 / static_cast<double>(hz);
}

// The p-quantile of sorted round trips, in microseconds (0 with none).
double percentile_us(const std::vector<uint64_t>& sorted, double p, uint64_t hz) {
    if (sorted.empty()) return 0.0;
    const size_t k = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[k]) * 1e6 / static_cast<double>(hz);
}

// alternate: a side's figures over some of its whole slices (by index).
struct Figures {
    uint64_t slices = 0, errors = 0;
    double secs = 0, tps = 0, cps = 0, p50 = 0, p99 = 0;
};

Figures figures(const Result& r, const std::vector<size_t>& which, uint64_t hz) {
    uint64_t cycles = 0, tx = 0, conns = 0, errors = 0;
    std::vector<uint64_t> lat;
    for (size_t k : which) {
        const SliceRecord& x = r.records[k];
        cycles += x.cycles;
        tx += x.transactions;
        conns += x.connections;
        errors += x.errors;
        const auto from = r.latency.begin() + static_cast<std::ptrdiff_t>(x.first);
        lat.insert(lat.end(), from, from + static_cast<std::ptrdiff_t>(x.count));
    }
    std::sort(lat.begin(), lat.end());
    Figures f;
    f.slices = which.size();
    f.errors = errors;
    f.secs = static_cast<double>(cycles) / static_cast<double>(hz);
    if (f.secs > 0) {
        f.tps = static_cast<double>(tx) / f.secs;
        f.cps = static_cast<double>(conns) / f.secs;
    }
    f.p50 = percentile_us(lat, 0.5, hz);
    f.p99 = percentile_us(lat, 0.99, hz);
    return f;
}

// The Channel side's time over the callback side's: per connection for cps, the p50 round trip for rr.
double channel_over_callback(Test test, const Figures& cb, const Figures& ch) {
    if (test == Test::cps) return ch.cps > 0 ? cb.cps / ch.cps : 0.0;
    return cb.p50 > 0 ? ch.p50 / cb.p50 : 0.0;
}

// alternate: each side's figures over its whole slices and their ratio; with the round trip measured between
// slices (Slices::probe), the ratio again over the pairs of slices with both round trips around the Channel
// side's slice under 200 ns, and over those with either at 200 ns or more (this VM's host gives about 60 or
// 150 ns, or about 500 ns, from one minute to the next).
void print_alternate(const Config& cfg, const char* test, const Result& cb, const Result& ch, const Slices& slices,
                     uint64_t hz, double secs, uint64_t wakeups, uint64_t dropped) {
    auto every = [](const Result& r) {
        std::vector<size_t> v(r.records.size());
        for (size_t k = 0; k < v.size(); ++k) v[k] = k;
        return v;
    };
    const Figures a = figures(cb, every(cb), hz), b = figures(ch, every(ch), hz);
    auto json = [&](const char* name, const Figures& x) {
        std::printf("\"%s\":{\"slices\":%" PRIu64 ",\"seconds\":%.3f,\"trans_per_s\":%.0f,\"p50_us\":%.2f,"
                    "\"p99_us\":%.2f,\"conn_per_s\":%.0f,\"errors\":%" PRIu64 "}",
                    name, x.slices, x.secs, x.tps, x.p50, x.p99, x.cps, x.errors);
    };
    std::printf("{\"test\":\"%s\",\"alternate\":\"%s\",\"slice_ms\":%u,\"seconds\":%.3f,", test,
                cfg.alt == Alt::client ? "client" : "server", cfg.slice_ms, secs);
    json("callback", a);
    std::printf(",");
    json("channel", b);
    std::printf(",\"channel_over_callback\":%.3f", channel_over_callback(cfg.test, a, b));
    if (slices.probe) {
        std::printf(",\"placements\":[");
        const size_t pairs = std::min({cb.records.size(), ch.records.size(), slices.round_trip_ns.size() / 2});
        for (int far = 0; far < 2; ++far) {
            std::vector<size_t> which;
            std::vector<double> rt;
            for (size_t k = 0; k < pairs; ++k) {
                const double before = slices.round_trip_ns[2 * k], after = slices.round_trip_ns[2 * k + 1];
                const double ns = std::max(before, after);
                if (before > 0 && after > 0 && (ns >= 200) == (far == 1)) {
                    which.push_back(k);
                    rt.push_back(ns);
                }
            }
            std::sort(rt.begin(), rt.end());
            const Figures x = figures(cb, which, hz), y = figures(ch, which, hz);
            std::printf("%s{\"round_trip\":\"%s\",\"pairs\":%zu,\"median_round_trip_ns\":%.0f,"
                        "\"callback_p50_us\":%.2f,\"channel_p50_us\":%.2f,\"callback_conn_per_s\":%.0f,"
                        "\"channel_conn_per_s\":%.0f,\"channel_over_callback\":%.3f}",
                        far ? "," : "", far ? "200 ns or more" : "under 200 ns", which.size(),
                        rt.empty() ? 0.0 : rt[rt.size() / 2], x.p50, y.p50, x.cps, y.cps,
                        which.empty() ? 0.0 : channel_over_callback(cfg.test, x, y));
        }
        std::printf("]");
    }
    std::printf(",\"wakeups\":%" PRIu64 ",\"events_dropped\":%" PRIu64 "}\n", wakeups, dropped);
}

Config parse(const synack::Options& o) {
    Config c;
    auto num = [](const std::string& opt, const std::string& v, uint32_t lo, uint32_t hi) {
        const long n = std::atol(v.c_str());
        if (n < lo || n > hi) throw std::invalid_argument(opt + ": expected " + std::to_string(lo) + ".." + std::to_string(hi));
        return static_cast<uint32_t>(n);
    };
    const auto& x = o.extra;
    for (size_t i = 0; i < x.size(); ++i) {
        const std::string& a = x[i];
        if (i + 1 >= x.size()) throw std::invalid_argument("unknown option or missing value: '" + a + "'");
        const std::string& v = x[++i];
        if (a == "--test") {
            if (v != "rr" && v != "cps" && v != "verify" && v != "xcore")
                throw std::invalid_argument("--test rr, cps, verify or xcore");
            c.test = v == "rr" ? Test::rr : v == "cps" ? Test::cps : v == "verify" ? Test::verify : Test::xcore;
        } else if (a == "--server" || a == "--client") {
            if (v != "callback" && v != "channel" && v != "alternate")
                throw std::invalid_argument(a + " callback, channel or alternate");
            (a == "--server" ? c.server_channel : c.client_channel) = v != "callback";
            if (v == "alternate") {
                if (c.alt != Alt::none) throw std::invalid_argument("--server and --client alternate: one at a time");
                c.alt = a == "--server" ? Alt::server : Alt::client;
            }
        } else if (a == "--slice-ms") {
            c.slice_ms = num(a, v, 1, 10000);
        } else if (a == "--threads") {
            c.threads = num(a, v, 1, 32);
        } else if (a == "--conns") {
            c.conns = num(a, v, 1, 4096);
        } else if (a == "--msg-size") {
            c.msg_size = num(a, v, 1, 65536);
        } else if (a == "--rounds") {
            c.rounds = num(a, v, 1, 1000000);
        } else {
            throw std::invalid_argument("unknown option '" + a + "'");
        }
    }
    if (!o.loopback) throw std::invalid_argument("--loopback is required (client and server in this process)");
    if (o.port == 0) throw std::invalid_argument("--port N is required");
    if (c.test == Test::verify && (!c.client_channel || c.alt != Alt::none))
        throw std::invalid_argument("--test verify needs --client channel (not alternate)");
    if (c.alt != Alt::none && (c.test != Test::rr && c.test != Test::cps))
        throw std::invalid_argument("alternate: --test rr or cps");
    if (c.alt != Alt::none && c.threads != 1) throw std::invalid_argument("alternate: one thread (--threads 1)");
    if (c.alt == Alt::server && c.client_channel)
        throw std::invalid_argument("--server alternate: the client is the callback one (--client callback)");
    c.server_ip = o.ip;
    c.echo_port = static_cast<uint16_t>(o.port + 1);
    c.close_port = static_cast<uint16_t>(o.port + 2);
    const uint16_t shift = c.alt == Alt::server ? 2 : 0;  // both servers run: the Channel's on ports of its own
    c.ch_echo_port = static_cast<uint16_t>(c.echo_port + shift);
    c.ch_close_port = static_cast<uint16_t>(c.close_port + shift);
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Config cfg = parse(synack::Stack::options_from(argc, argv));
        synack::Stack stack(argc, argv);
        const uint64_t hz = rte_get_tsc_hz();
        if (cfg.test == Test::xcore) {
            std::printf("{\"test\":\"xcore\",\"app_cpus\":\"%s\",\"round_trip_ns\":%.0f}\n",
                        stack.app_cpus().c_str(), cross_core_ns(stack, hz));
            return 0;
        }
        std::vector<std::unique_ptr<synack::Channel>> channels;
        std::vector<std::unique_ptr<Result>> results;
        std::vector<std::thread> threads;
        std::atomic<unsigned> verify_done{0};
        auto channel = [&] { return channels.emplace_back(std::make_unique<synack::Channel>(stack)).get(); };
        auto both = std::make_unique<Both>();
        Slices slices;
        slices.length = uint64_t{cfg.slice_ms} * hz / 1000;
        slices.probe = cfg.alt == Alt::server || (cfg.alt == Alt::client && !cfg.server_channel);
        slices.round_trip_ns.reserve(1u << 20);
        Slices* alt = cfg.alt != Alt::none ? &slices : nullptr;
        if (cfg.server_channel)
            for (unsigned t = 0; t < cfg.threads; ++t) {
                synack::Channel* ch = channel();
                if (cfg.alt == Alt::server) slices.wake = ch;
                std::atomic<bool>* listening = &both->server_listening;
                Slices* s = cfg.alt == Alt::server ? alt : nullptr;
                threads.push_back(
                    stack.app_thread([ch, &cfg, listening, s] { channel_server(*ch, cfg, *listening, s); }));
            }
        both->cfg = &cfg;
        both->client.cfg = &cfg;
        if (cfg.cb_client()) {  // the callback client's results first
            Result* r = results.emplace_back(std::make_unique<Result>()).get();
            both->client.res = both->client.res_side[0] = r;
            both->client.res_side[1] =
                cfg.alt == Alt::server ? results.emplace_back(std::make_unique<Result>()).get() : r;
            both->client.slices = alt;
        }
        if (cfg.client_channel) {
            for (unsigned t = 0; t < cfg.threads; ++t) {
                synack::Channel* ch = channel();
                Result* r = results.emplace_back(std::make_unique<Result>()).get();
                const std::atomic<bool>* listening = &both->server_listening;
                if (cfg.test == Test::verify)
                    threads.push_back(stack.app_thread([ch, r, t, &cfg, &verify_done, &stack, listening] {
                        channel_verify(*ch, cfg, t, *r, verify_done, stack, *listening);
                    }));
                else
                    threads.push_back(stack.app_thread(
                        [ch, r, &cfg, listening, alt] { channel_client(*ch, cfg, *r, *listening, alt); }));
            }
        }
        const bool poll = (cfg.server_channel && !cfg.client_channel) || cfg.alt != Alt::none;
        const synack::App app{both.get(), cb_start, cb_event, poll ? cb_poll : nullptr};
        const uint64_t t0 = rte_rdtsc();
        stack.run(app);
        const double secs = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(hz);
        for (auto& t : threads) t.join();
        uint64_t dropped = 0, wakeups = 0, spins = 0, spin_hits = 0;
        for (auto& ch : channels) {
            dropped += ch->dropped_events();
            wakeups += ch->wakeups();
            spins += ch->spins();
            spin_hits += ch->spin_hits();
        }
        const char* test = cfg.test == Test::rr ? "rr" : cfg.test == Test::cps ? "cps" : "verify";
        if (alt != nullptr) {
            print_alternate(cfg, test, *results[0], *results[1], slices, hz, secs, wakeups, dropped);
            return 0;
        }
        Result sum;
        for (auto& r : results) {
            sum.transactions += r->transactions;
            sum.connections += r->connections;
            sum.errors += r->errors;
            sum.verified += r->verified;
            sum.latency.insert(sum.latency.end(), r->latency.begin(), r->latency.end());
        }
        std::sort(sum.latency.begin(), sum.latency.end());
        auto pct = [&](double p) { return percentile_us(sum.latency, p, hz); };
        std::printf("{\"test\":\"%s\",\"server\":\"%s\",\"client\":\"%s\",\"threads\":%u,\"app_cpus\":\"%s\","
                    "\"seconds\":%.3f,\"trans_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"conn_per_s\":%.0f,"
                    "\"connections\":%" PRIu64 ",\"verified\":%" PRIu64 ",\"errors\":%" PRIu64
                    ",\"events_dropped\":%" PRIu64 ",\"wakeups\":%" PRIu64 ",\"spins\":%" PRIu64 ",\"spin_hits\":%" PRIu64 "}\n",
                    test, cfg.server_channel ? "channel" : "callback", cfg.client_channel ? "channel" : "callback",
                    cfg.threads, stack.app_cpus().c_str(), secs, static_cast<double>(sum.transactions) / secs,
                    pct(0.5), pct(0.99), static_cast<double>(sum.connections) / secs, sum.connections, sum.verified,
                    sum.errors, dropped, wakeups, spins, spin_hits);
        if (cfg.test == Test::verify) {
            const uint64_t want = uint64_t{cfg.threads} * cfg.conns * cfg.rounds;
            if (sum.verified != want || sum.errors != 0 || dropped != 0) {
                std::fprintf(stderr, "synack-channel-perf: verify FAILED: %" PRIu64 " of %" PRIu64
                             " connections echoed byte for byte\n", sum.verified, want);
                return 1;
            }
        }
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-channel-perf: error: %s\n", ex.what());
        return 1;
    }
}
