// synack-channel-perf: the Channel path against the callback path, in one process over the --loopback link (client
// stack on lcore A, server stack on lcore B), and a byte-exact check of several application threads at once.
//
//   synack-channel-perf [EAL: -l A,B] -- --ip 10.98.9.1/24 --loopback --port 5201
//        --test rr|cps|verify|xcore --server callback|channel --client callback|channel
//        [--threads N] [--conns N] [--msg-size N] [--rounds N] [--duration-s N]
//
// The server echoes on --port+1 and closes each connection it accepts on --port+2 (as synack-perf). In channel
// mode every one of --threads application threads has its own Channel and listens on both ports; the cores hand
// accepted connections to them in turn. The client: rr keeps --conns connections (per thread) each with one
// --msg-size request in flight and records every round trip; cps keeps --conns connections (per thread) being
// opened and closed by the server; verify (channel client only) has every thread open --conns connections at
// once, --rounds times, each sending a pseudo-random amount of a pattern of its own and checking the echo byte
// for byte. Prints one JSON line; verify exits non-zero on any mismatch. xcore runs no stack: it measures the round
// trip of a cache line between the main lcore's CPU and an application thread's (a 64-bit ping-pong), which on a
// VM depends on where the host puts the vCPUs and bounds every Channel hand-off.
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

struct Config {
    Test test = Test::rr;
    bool server_channel = false, client_channel = false;
    unsigned threads = 1;
    uint32_t conns = 1;
    uint32_t msg_size = 64;
    uint32_t rounds = 1;
    uint32_t server_ip = 0;
    uint16_t echo_port = 0, close_port = 0;
};

// What one client (a core's callbacks or one application thread) measured.
struct alignas(64) Result {
    uint64_t transactions = 0, connections = 0, errors = 0, verified = 0;
    std::vector<uint64_t> latency;  // cycles per round trip
    Result() { latency.reserve(1u << 21); }
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
    Result* res = nullptr;
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
    const uint16_t port = c.cfg->test == Test::cps ? c.cfg->close_port : c.cfg->echo_port;
    if (core.connect(c.cfg->server_ip, port, 0, id) != 0) ++c.res->errors;
}

void cb_start(synack::Core& core, void* ctx) {
    auto* b = static_cast<Both*>(ctx);
    if (core.index() == 1 && !b->cfg->server_channel) {
        core.listen(b->cfg->echo_port);
        b->server.close_listener = core.listen(b->cfg->close_port);
        b->server_listening.store(true, std::memory_order_release);
    }
    if (core.index() == 0 && !b->cfg->client_channel) {
        b->client.sent_at.assign(core.options().tcp.max_connections, 0);
        b->client.got.assign(core.options().tcp.max_connections, 0);
        if (!b->cfg->server_channel) {
            for (uint32_t i = 0; i < b->cfg->conns; ++i) client_open(core, b->client);
            b->client_started = true;
        }
    }
}

void cb_poll(synack::Core& core, void* ctx) {
    auto* b = static_cast<Both*>(ctx);
    if (core.index() != 0 || b->client_started || b->cfg->client_channel ||
        !b->server_listening.load(std::memory_order_acquire))
        return;
    for (uint32_t i = 0; i < b->cfg->conns; ++i) client_open(core, b->client);
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
            core.send(ev.conn, c.buf, msg);
        }
        break;
    }
    case synack::EventType::peer_closed:
        core.close(ev.conn);
        break;
    case synack::EventType::closed:
        ++c.res->connections;
        if (c.cfg->test == Test::cps) client_open(core, c);
        break;
    case synack::EventType::reset:
    case synack::EventType::timed_out:
    case synack::EventType::persist_timed_out:
    case synack::EventType::user_timed_out:
    case synack::EventType::memory_aborted:
    case synack::EventType::keepalive_timed_out:
        ++c.res->errors;
        client_open(core, c);  // the workload goes on with one connection fewer lost (counted)
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

void channel_server(synack::Channel& ch, const Config& cfg, std::atomic<bool>& listening) {
    retry([&] { return ch.listen(cfg.echo_port); });
    retry([&] { return ch.listen(cfg.close_port); });
    // The core takes the listens in order with the commands before them; give it a moment before clients come.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    listening.store(true, std::memory_order_release);
    synack::ChannelEvent e;
    while (!ch.stopped()) {
        if (!ch.wait(e)) continue;
        switch (e.ev.type) {
        case synack::EventType::accepted:
            if (e.port == cfg.close_port) retry([&] { return ch.close(e.core, e.ev.conn); });
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
void channel_client(synack::Channel& ch, const Config& cfg, Result& res, const std::atomic<bool>& listening) {
    await_server(ch, listening);
    const uint16_t port = cfg.test == Test::cps ? cfg.close_port : cfg.echo_port;
    auto open = [&] { retry([&] { return ch.connect(0, cfg.server_ip, port, 0); }); };
    for (uint32_t i = 0; i < cfg.conns; ++i) open();
    std::vector<uint64_t> sent_at(1u << 16);
    std::vector<uint32_t> got(1u << 16);
    std::vector<char> req(cfg.msg_size, 'x');
    synack::ChannelEvent e;
    while (!ch.stopped()) {
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
                retry([&] { return ch.send(e.core, e.ev.conn, req.data(), cfg.msg_size); });
            }
            break;
        case synack::EventType::peer_closed:
            retry([&] { return ch.close(e.core, e.ev.conn); });
            break;
        case synack::EventType::closed:
            ++res.connections;
            if (cfg.test == Test::cps) open();
            break;
        case synack::EventType::reset:
        case synack::EventType::timed_out:
        case synack::EventType::persist_timed_out:
        case synack::EventType::user_timed_out:
        case synack::EventType::memory_aborted:
        case synack::EventType::keepalive_timed_out:
            ++res.errors;
            if (cfg.test == Test::cps) open();
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
            if (v != "callback" && v != "channel") throw std::invalid_argument(a + " callback or channel");
            (a == "--server" ? c.server_channel : c.client_channel) = v == "channel";
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
    if (c.test == Test::verify && !c.client_channel) throw std::invalid_argument("--test verify needs --client channel");
    c.server_ip = o.ip;
    c.echo_port = static_cast<uint16_t>(o.port + 1);
    c.close_port = static_cast<uint16_t>(o.port + 2);
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
        if (cfg.server_channel)
            for (unsigned t = 0; t < cfg.threads; ++t) {
                synack::Channel* ch = channel();
                std::atomic<bool>* listening = &both->server_listening;
                threads.push_back(stack.app_thread([ch, &cfg, listening] { channel_server(*ch, cfg, *listening); }));
            }
        both->cfg = &cfg;
        both->client.cfg = &cfg;
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
                    threads.push_back(
                        stack.app_thread([ch, r, &cfg, listening] { channel_client(*ch, cfg, *r, *listening); }));
            }
        } else {
            both->client.res = results.emplace_back(std::make_unique<Result>()).get();
        }
        const synack::App app{both.get(), cb_start, cb_event,
                              cfg.server_channel && !cfg.client_channel ? cb_poll : nullptr};
        const uint64_t t0 = rte_rdtsc();
        stack.run(app);
        const double secs = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(hz);
        for (auto& t : threads) t.join();
        Result sum;
        for (auto& r : results) {
            sum.transactions += r->transactions;
            sum.connections += r->connections;
            sum.errors += r->errors;
            sum.verified += r->verified;
            sum.latency.insert(sum.latency.end(), r->latency.begin(), r->latency.end());
        }
        std::sort(sum.latency.begin(), sum.latency.end());
        auto pct = [&](double p) {
            if (sum.latency.empty()) return 0.0;
            const size_t k = std::min(sum.latency.size() - 1, static_cast<size_t>(p * static_cast<double>(sum.latency.size())));
            return static_cast<double>(sum.latency[k]) * 1e6 / static_cast<double>(hz);
        };
        uint64_t dropped = 0, wakeups = 0, spins = 0, spin_hits = 0;
        for (auto& ch : channels) {
            dropped += ch->dropped_events();
            wakeups += ch->wakeups();
            spins += ch->spins();
            spin_hits += ch->spin_hits();
        }
        const char* test = cfg.test == Test::rr ? "rr" : cfg.test == Test::cps ? "cps" : "verify";
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
