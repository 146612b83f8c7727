// synack-perf: bulk throughput, connections per second and request/response latency, server and client.
//
//   synack-perf [EAL] -- --ip 10.9.0.1/24 --port 5201 --server
//   synack-perf [EAL] -- --ip 10.9.0.2/24 --port 5201 --client 10.9.0.1 --test bulk|cps|rr
//   (or over IPv6: --ip6 fd00::2/64 ... --client fd00::1)
//                        [--streams N] [--in-flight N] [--msg-size N] [--duration-s N] [--json FILE] [--verify]
//
// The server listens on three ports: --port discards what it receives (bulk), --port+1 echoes (rr), --port+2
// closes each connection as soon as it is accepted (cps: a full open and 4-way close, no data). The client prints a progress
// line every second, like iperf3, and a JSON summary at the end. In cps the server closes first (it holds
// TIME-WAIT, as a web server does), so the client's ephemeral ports are free again at once.
//
// What is sent is a pattern, never zeros: byte i of a stream is i mod 251 (a prime, so it never lines up with
// segment or buffer sizes). A zero payload hides a bad checksum or a payload that never left (issue 11). With
// --verify the bulk server checks every byte it discards and the rr client every byte echoed; a mismatch is
// counted as "corrupt" and makes the exit status 2.
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "extra_args.hpp"
#include "synack/stack.hpp"

namespace {

enum class Test { bulk, cps, rr };

struct Config {
    bool server = false;
    bool loopback = false;       // --loopback: core 0 is the client, core 1 the server, in this process
    synack::Address server_ip;   // either family
    Test test = Test::bulk;
    uint32_t streams = 1;        // bulk and rr connections per core
    uint32_t in_flight = 64;     // cps: connections being opened or closed at once, per core
    uint32_t msg_size = 64;      // rr
    std::string json;
    bool verify = false;         // check received bytes against the pattern
    bool copy = false;           // bulk server: take data with recv() into user memory, as linux-perf's read() does
};

// The stream pattern: byte i is i mod kPatternPeriod. kPattern[k..] is the stream from any offset = k (mod period).
constexpr uint32_t kPatternPeriod = 251;
constexpr uint32_t kMaxChunk = 65536;
struct Pattern {
    uint8_t bytes[kMaxChunk + kPatternPeriod];
    Pattern() {
        for (uint32_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<uint8_t>(i % kPatternPeriod);
    }
    const uint8_t* at(uint64_t off) const { return bytes + off % kPatternPeriod; }
    bool matches(uint64_t off, const void* p, uint32_t len) const {
        for (uint32_t done = 0; done < len;) {  // memcmp in pieces no longer than the table
            const uint32_t n = std::min(len - done, kMaxChunk);
            if (std::memcmp(at(off + done), static_cast<const uint8_t*>(p) + done, n) != 0) return false;
            done += n;
        }
        return true;
    }
};
const Pattern kPattern;

// The bulk server's cookie per connection: the listener id in the low 2 bits, the stream offset above them.
constexpr uint64_t cookie(uint64_t listener, uint64_t off) { return listener | off << 2; }

// Per-core state; each core touches only its own (cache-line aligned) slot.
struct alignas(64) PerCore {
    const Config* cfg = nullptr;
    uint64_t bytes = 0, conns_done = 0, transactions = 0, errors = 0, corrupt = 0;
    uint64_t last_bytes = 0, last_conns = 0, last_tx = 0;
    uint64_t next_report = 0, start = 0;
    uint32_t open = 0;
    uint32_t conns_wanted = 0;  // client: connections kept open (bulk, rr) or in flight (cps)
    bool all_opened = false;    // client: the connections after the first were opened
    std::vector<uint64_t>* latencies = nullptr;  // rr: cycles per transaction (reserved up front)
    std::vector<uint64_t> sent_at;               // rr: per connection index, cycles when the request left
    std::vector<uint32_t> got;                   // rr: bytes of the reply received so far
    std::vector<uint64_t> stream_off;            // client: per connection index, bytes of the stream sent before
    char buf[65536];
};
constexpr unsigned kMaxCores = 128;

uint16_t base_port(synack::Core& core) { return core.options().port; }
bool is_server(const Config& cfg, unsigned core) { return cfg.loopback ? core == 1 : cfg.server; }

void fill(synack::Core& core, synack::ConnId c, uint64_t idx, PerCore& pc) {
    // Bulk: keep the send buffer full; the engine says how much it took.
    for (;;) {
        uint32_t space = core.send_space(c);
        if (space == 0) return;
        int32_t n = core.send(c, kPattern.at(pc.stream_off[idx]), std::min<uint32_t>(space, kMaxChunk));
        if (n <= 0) return;
        pc.stream_off[idx] += static_cast<uint64_t>(n);
        pc.bytes += static_cast<uint64_t>(n);
    }
}

void open_one(synack::Core& core, PerCore& pc) {
    synack::ConnId c;
    const uint16_t port = static_cast<uint16_t>(base_port(core) + (pc.cfg->test == Test::cps ? 2 : pc.cfg->test == Test::rr ? 1 : 0));
    if (core.connect(pc.cfg->server_ip, port, pc.open, c) == 0)
        ++pc.open;
    else
        ++pc.errors;
}

// The first connection goes alone: its SYN waits for ARP to find the server, and a crowd of SYNs behind it would
// overflow what the interface holds for an unresolved address (each lost SYN then costs a 1 s RTO). The others
// follow once it is answered, as they would behind a client that has talked to its server before.
void open_the_rest(synack::Core& core, PerCore& pc) {
    if (pc.all_opened) return;
    pc.all_opened = true;
    for (uint32_t i = 1; i < pc.conns_wanted; ++i) open_one(core, pc);
}

void send_request(synack::Core& core, synack::ConnId c, PerCore& pc, uint64_t idx) {
    pc.sent_at[idx] = rte_rdtsc();
    pc.got[idx] = 0;
    if (core.send(c, kPattern.at(pc.stream_off[idx]), pc.cfg->msg_size) != static_cast<int32_t>(pc.cfg->msg_size))
        ++pc.errors;
}

// The bulk server with --verify: every byte it discards must be the pattern at its stream offset.
void check_discarded(synack::Core& core, const synack::Event& ev, const rte_mbuf* m, PerCore& pc) {
    uint64_t off = ev.user >> 2;
    for (; m != nullptr; m = m->next) {
        if (!kPattern.matches(off, rte_pktmbuf_mtod(m, const void*), m->data_len)) ++pc.corrupt;
        off += m->data_len;
    }
    core.set_user(ev.conn, cookie(ev.user & 3, off));
}

// --copy: what an application does (and linux-perf, through read()): every byte copied into its own buffer.
void discard_copied(synack::Core& core, const synack::Event& ev, PerCore& pc) {
    uint64_t off = ev.user >> 2;
    int32_t n;
    while ((n = core.recv(ev.conn, pc.buf, sizeof pc.buf)) > 0) {
        if (pc.cfg->verify && !kPattern.matches(off, pc.buf, static_cast<uint32_t>(n))) ++pc.corrupt;
        off += static_cast<uint32_t>(n);
        pc.bytes += static_cast<uint64_t>(n);
    }
    if (pc.cfg->verify) core.set_user(ev.conn, cookie(ev.user & 3, off));
}

void discard(synack::Core& core, const synack::Event& ev, PerCore& pc) {
    if (pc.cfg->copy) return discard_copied(core, ev, pc);
    if (rte_mbuf* m = core.recv_chain(ev.conn)) {  // without copying
        if (pc.cfg->verify) check_discarded(core, ev, m, pc);
        pc.bytes += rte_pktmbuf_pkt_len(m);
        rte_pktmbuf_free(m);
    }
}

void server_event(synack::Core& core, const synack::Event& ev, PerCore& pc) {
    using synack::EventType;
    switch (ev.type) {
    case EventType::accepted:  // the cookie is the listener id: 0 discard, 1 echo, 2 cps
        if (ev.listener == 2) core.close(ev.conn);  // cps: the server closes first and holds TIME-WAIT, as web servers do
        break;
    case EventType::readable:
    case EventType::writable:
        if (ev.user == 1) {  // echo listener: read only what can be sent back
            for (;;) {
                uint32_t space = std::min<uint32_t>(core.send_space(ev.conn), sizeof pc.buf);
                if (space == 0) break;
                int32_t n = core.recv(ev.conn, pc.buf, space);
                if (n <= 0) break;
                core.send(ev.conn, pc.buf, static_cast<uint32_t>(n));
                pc.bytes += static_cast<uint64_t>(n);
            }
        } else {
            discard(core, ev, pc);
        }
        break;
    case EventType::peer_closed:
        discard(core, ev, pc);
        core.close(ev.conn);
        break;
    case EventType::closed:
        ++pc.conns_done;
        break;
    case EventType::reset:
    case EventType::timed_out:
    case EventType::persist_timed_out:
    case EventType::user_timed_out:
    case EventType::memory_aborted:
    case EventType::keepalive_timed_out:
        ++pc.errors;
        break;
    default:
        break;
    }
}

void client_event(synack::Core& core, const synack::Event& ev, PerCore& pc) {
    using synack::EventType;
    const Test t = pc.cfg->test;
    switch (ev.type) {
    case EventType::connected:
        open_the_rest(core, pc);
        if (t == Test::bulk)
            fill(core, ev.conn, ev.user, pc);
        else if (t == Test::rr)
            send_request(core, ev.conn, pc, ev.user);
        break;  // cps: wait for the server's FIN
    case EventType::writable:
        if (t == Test::bulk) fill(core, ev.conn, ev.user, pc);
        break;
    case EventType::readable:
        if (t == Test::rr) {
            int32_t n;
            while ((n = core.recv(ev.conn, pc.buf, sizeof pc.buf)) > 0) {
                if (pc.cfg->verify && !kPattern.matches(pc.stream_off[ev.user] + pc.got[ev.user], pc.buf,
                                                        static_cast<uint32_t>(n)))
                    ++pc.corrupt;
                pc.got[ev.user] += static_cast<uint32_t>(n);
            }
            if (pc.got[ev.user] >= pc.cfg->msg_size) {
                pc.stream_off[ev.user] += pc.cfg->msg_size;
                const uint64_t lat = rte_rdtsc() - pc.sent_at[ev.user];
                if (pc.latencies->size() < pc.latencies->capacity()) pc.latencies->push_back(lat);
                ++pc.transactions;
                send_request(core, ev.conn, pc, ev.user);
            }
        } else if (rte_mbuf* m = core.recv_chain(ev.conn)) {
            rte_pktmbuf_free(m);
        }
        break;
    case EventType::peer_closed:
        core.close(ev.conn);  // cps: answer the server's FIN; others: the server went away
        break;
    case EventType::closed:
        --pc.open;
        ++pc.conns_done;
        if (t == Test::cps) open_one(core, pc);  // keep in_flight connections opening and closing
        break;
    case EventType::reset:
    case EventType::timed_out:
    case EventType::persist_timed_out:
    case EventType::user_timed_out:
    case EventType::memory_aborted:
    case EventType::keepalive_timed_out:
        --pc.open;
        ++pc.errors;
        open_the_rest(core, pc);
        if (t == Test::cps) open_one(core, pc);
        break;
    default:
        break;
    }
}

void on_start(synack::Core& core, void* ctx) {
    PerCore& pc = static_cast<PerCore*>(ctx)[core.index()];
    pc.start = core.now_cycles();
    pc.next_report = pc.start + core.cycles_hz();
    if (is_server(*pc.cfg, core.index())) {
        for (uint16_t i = 0; i < 3; ++i)
            if (core.listen(static_cast<uint16_t>(base_port(core) + i)) < 0) {
                std::fprintf(stderr, "synack-perf: cannot listen on port %u\n", base_port(core) + i);
                core.stop();
            }
        if (core.index() == 0) std::printf("synack-perf: server listening on ports %u-%u\n", base_port(core), base_port(core) + 2);
        std::fflush(stdout);
        return;
    }
    pc.conns_wanted = pc.cfg->test == Test::cps ? pc.cfg->in_flight : pc.cfg->streams;
    pc.sent_at.assign(pc.conns_wanted, 0);
    pc.got.assign(pc.conns_wanted, 0);
    pc.stream_off.assign(pc.conns_wanted, 0);
    open_one(core, pc);  // the rest: open_the_rest()
    if (pc.open == 0) open_the_rest(core, pc);  // the first could not even start: no event will come for it
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    PerCore& pc = static_cast<PerCore*>(ctx)[core.index()];
    if (is_server(*pc.cfg, core.index()))
        server_event(core, ev, pc);
    else
        client_event(core, ev, pc);
}

void on_poll(synack::Core& core, void* ctx) {
    PerCore* all = static_cast<PerCore*>(ctx);
    PerCore& pc = all[core.index()];
    const uint64_t now = core.now_cycles();
    if (core.index() != 0 || now < pc.next_report) return;
    pc.next_report += core.cycles_hz();
    uint64_t bytes = 0, conns = 0, tx = 0;
    for (unsigned i = 0; i < core.workers(); ++i) {
        if (pc.cfg->loopback && is_server(*pc.cfg, i)) continue;  // count one side only
        bytes += all[i].bytes;  // other cores' counters read racily: a progress line only
        conns += all[i].conns_done;
        tx += all[i].transactions;
    }
    const double t = static_cast<double>(now - pc.start) / static_cast<double>(core.cycles_hz());
    std::printf("[%6.2f s] %8.1f Mbit/s  %8" PRIu64 " conn/s  %8" PRIu64 " trans/s\n", t,
                static_cast<double>(bytes - pc.last_bytes) * 8 / 1e6, conns - pc.last_conns, tx - pc.last_tx);
    std::fflush(stdout);
    pc.last_bytes = bytes;
    pc.last_conns = conns;
    pc.last_tx = tx;
}

uint64_t percentile(std::vector<uint64_t>& v, double p) {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: synack-perf [EAL options] -- --ip A.B.C.D/LEN --port N (--server | --client IP "
                        "--test bulk|cps|rr [--streams N] [--in-flight N] [--msg-size N] [--json FILE] [--verify] [--copy])\n"
                        "  --verify: check received bytes against the sent pattern (bulk server, rr client)\n"
                        "  --copy: the bulk server reads with recv() into its own buffer (default: recv_chain, no copy)\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        const synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        Config cfg;
        bool client = false;
        const auto& extra = pre.extra;
        auto value = [&](size_t& i) { return synack::app::next_value(extra, i); };
        auto number = [&](size_t& i, uint32_t lo, uint32_t hi) { return synack::app::next_number(extra, i, lo, hi); };
        for (size_t i = 0; i < extra.size(); ++i) {
            const std::string& a = extra[i];
            if (a == "--server") {
                cfg.server = true;
            } else if (a == "--client") {
                client = true;
                const std::string v = value(i);
                if (!synack::parse_address(v, cfg.server_ip))
                    throw std::invalid_argument("--client: expected an IPv4 or IPv6 address, got '" + v + "'");
                if (cfg.server_ip.is_v4() ? pre.ip == 0 && !pre.share_kernel : pre.ip6.is_unspecified())
                    throw std::invalid_argument(cfg.server_ip.is_v4() ? "--client with an IPv4 address needs --ip"
                                                                      : "--client with an IPv6 address needs --ip6");
            } else if (a == "--test") {
                const std::string t = value(i);
                if (t == "bulk") cfg.test = Test::bulk;
                else if (t == "cps") cfg.test = Test::cps;
                else if (t == "rr") cfg.test = Test::rr;
                else throw std::invalid_argument("--test: bulk, cps or rr");
            } else if (a == "--streams") {
                cfg.streams = number(i, 1, 100000);
            } else if (a == "--in-flight") {
                cfg.in_flight = number(i, 1, 100000);
            } else if (a == "--msg-size") {
                cfg.msg_size = number(i, 1, 65536);
            } else if (a == "--verify") {
                cfg.verify = true;
            } else if (a == "--copy") {
                cfg.copy = true;
            } else if (a == "--json") {
                cfg.json = value(i);
            } else {
                throw std::invalid_argument("unknown option '" + a + "' (see --help)");
            }
        }
        cfg.loopback = pre.loopback;
        if (cfg.loopback) {
            if (cfg.server) throw std::invalid_argument("--loopback runs both sides: leave out --server");
            // Over IPv6 when only --ip6 is given (the client stack takes --ip6 + 1, the server --ip6).
            cfg.server_ip = pre.ip != 0 ? synack::Address::v4(pre.ip) : pre.ip6;
            client = true;
        }
        if (cfg.server == client) throw std::invalid_argument("say either --server or --client IP");
        if (pre.port == 0 || pre.port > 65533) throw std::invalid_argument("--port N (1..65533) is required");
        if (client && pre.duration_s == 0) throw std::invalid_argument("--duration-s N is required with --client");
        synack::Stack stack(argc, argv);

        static PerCore per_core[kMaxCores];
        std::vector<std::vector<uint64_t>> lat(kMaxCores);
        for (unsigned i = 0; i < kMaxCores; ++i) {
            per_core[i].cfg = &cfg;
            per_core[i].latencies = &lat[i];
        }
        if (cfg.test == Test::rr && client) lat[0].reserve(1 << 22);
        for (unsigned i = 1; i < kMaxCores && cfg.test == Test::rr && client; ++i) lat[i].reserve(1 << 16);
        synack::App app{per_core, on_start, on_event, on_poll};
        const uint64_t t0 = rte_rdtsc();
        stack.run(app);
        const double secs = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(rte_get_tsc_hz());

        uint64_t bytes = 0, conns = 0, tx = 0, errors = 0, corrupt = 0;
        std::vector<uint64_t> all;
        for (unsigned i = 0; i < kMaxCores; ++i) {
            const PerCore& pc = per_core[i];
            corrupt += pc.corrupt;  // both sides in --loopback: the server verifies bulk
            if (cfg.loopback && is_server(cfg, i)) continue;
            bytes += pc.bytes;
            conns += pc.conns_done;
            tx += pc.transactions;
            errors += pc.errors;
        }
        for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
        const double us = 1e6 / static_cast<double>(rte_get_tsc_hz());
        const char* name = cfg.server ? "server" : cfg.test == Test::bulk ? "bulk" : cfg.test == Test::cps ? "cps" : "rr";
        char json[1024];
        std::snprintf(json, sizeof json,
                      "{\"role\":\"%s\",\"test\":\"%s\",\"seconds\":%.3f,\"bytes\":%" PRIu64
                      ",\"mbit_per_s\":%.1f,\"connections\":%" PRIu64 ",\"conn_per_s\":%.0f,\"transactions\":%" PRIu64
                      ",\"trans_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"errors\":%" PRIu64
                      ",\"verified\":%s,\"corrupt\":%" PRIu64 "}\n",
                      cfg.server ? "server" : "client", name, secs, bytes, static_cast<double>(bytes) * 8 / secs / 1e6,
                      conns, static_cast<double>(conns) / secs, tx, static_cast<double>(tx) / secs,
                      static_cast<double>(percentile(all, 0.5)) * us, static_cast<double>(percentile(all, 0.99)) * us,
                      static_cast<double>(percentile(all, 0.999)) * us, errors, cfg.verify ? "true" : "false",
                      corrupt);
        std::printf("%s", stack.memory_report().c_str());  // mbufs in use per pool, each core's budget
        std::printf("%s", json);
        if (!cfg.json.empty()) {
            if (FILE* f = std::fopen(cfg.json.c_str(), "w")) {
                std::fputs(json, f);
                std::fclose(f);
            } else {
                std::fprintf(stderr, "synack-perf: cannot write %s\n", cfg.json.c_str());
            }
        }
        if (stack.options().verbose) std::printf("%s", stack.counters_report().c_str());
        return errors == 0 && corrupt == 0 ? 0 : 2;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-perf: error: %s\n", ex.what());
        return 1;
    }
}
