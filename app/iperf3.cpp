// synack-iperf3: speaks iperf3's control protocol, so that a stock iperf3 (3.x) client measures TCP to and from
// synack, and synack measures a stock `iperf3 -s`.
//
//   synack-iperf3 [EAL] -- --ip 10.9.0.1/24 [--port 5201]                       (server, like iperf3 -s)
//   synack-iperf3 [EAL] -- --ip 10.9.0.1/24 --client 10.9.0.2 [--port 5201] [-t S] [-P N] [-R] [-l BYTES]
//   (over IPv6: --ip6 fd00::1/64 --client fd00::2)
//                        [--json FILE]
//
// The protocol, as iperf3 3.x implements it (a fact sheet, not iperf3's code):
// - a test starts with a control connection that carries a 37-byte cookie (36 characters and a NUL);
// - the server then drives the test with one signed state byte at a time: PARAM_EXCHANGE (the client answers with
//   its parameters as JSON behind a 4-byte big-endian length), CREATE_STREAMS (the client opens --parallel data
//   connections to the same port, each starting with the same cookie), TEST_START, TEST_RUNNING;
// - the client sends TEST_END when its time is up; the server answers EXCHANGE_RESULTS, reads the client's results
//   (length + JSON), sends its own, then DISPLAY_RESULTS; the client says IPERF_DONE and closes.
// - Stream ids in the results are 1, 3, 4, 5 ... in the order the streams connect (iperf3 skips 2).
// - A second client while a test runs reads ACCESS_DENIED; an unsupported request reads SERVER_ERROR followed by
//   two 4-byte big-endian numbers (iperf3's error code and an errno).
// One test at a time, on one lcore (control and data connections must meet on the same core). A test whose client
// stalls before it starts, or that runs --grace-s (30) seconds past its time, is ended (its connections reset) so
// that the next client is served.
#include <sys/resource.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "extra_args.hpp"
#include "synack/stack.hpp"

namespace {

// iperf3's state bytes (iperf_api.h).
enum : int8_t {
    kTestStart = 1,
    kTestRunning = 2,
    kTestEnd = 4,
    kParamExchange = 9,
    kCreateStreams = 10,
    kServerTerminate = 11,
    kClientTerminate = 12,
    kExchangeResults = 13,
    kDisplayResults = 14,
    kIperfDone = 16,
    kAccessDenied = -1,
    kServerError = -2,
};
constexpr uint32_t kCookieSize = 37;     // 36 characters and a NUL
constexpr uint32_t kMaxJson = 1 << 20;   // a length above this is an error, not an allocation
constexpr uint32_t kMaxStreams = 128;
constexpr int32_t kIeUnimp = 13;         // iperf3's "not implemented yet"
constexpr int32_t kIeNumStreams = 6;     // "number of parallel streams too large"

enum class Role : uint8_t { none, pending, control, stream, reject };

struct Stream {
    synack::ConnId conn;
    int id = 0;
    uint64_t bytes = 0;
    bool open = false;
};

// What a test asks for (the client's parameters).
struct Params {
    uint32_t time_s = 10;
    uint32_t parallel = 1;
    bool reverse = false;
    uint32_t len = 128 * 1024;
};

enum class Phase : uint8_t {
    idle,            // server: no test; client: before the control connection is up
    params,          // server: PARAM_EXCHANGE sent, waiting for the JSON
    streams,         // CREATE_STREAMS: data connections arriving
    running,         // TEST_RUNNING
    client_results,  // server: EXCHANGE_RESULTS sent, waiting for the client's JSON; client: waiting for the server's
    ending,          // client: TEST_END sent, waiting for EXCHANGE_RESULTS
    display,         // server: DISPLAY_RESULTS sent, waiting for IPERF_DONE
    done,            // client: finished
};

struct Config {
    uint32_t grace_s = 30;  // --grace-s: a test that overruns its time by this much (or stalls before starting) ends
    bool client = false;
    synack::Address server_ip;  // either family
    Params want;
    std::string json;
};

// Everything lives on the one worker core.
struct Iperf {
    const Config* cfg = nullptr;
    uint16_t port = 5201;                // --port, iperf3's default when not given
    std::vector<Role> role;              // by connection index
    std::vector<std::string> cookie_in;  // by connection index: a pending connection's cookie so far
    std::vector<uint32_t> stream_of;     // by connection index: its slot in `streams`
    Phase phase = Phase::idle;
    synack::ConnId ctrl;
    bool ctrl_open = false;
    char cookie[kCookieSize] = {};
    std::string in;  // control bytes not consumed yet
    Params p;
    std::vector<Stream> streams;
    uint64_t start = 0, end = 0, deadline = 0;
    uint64_t watchdog = UINT64_MAX;  // server: when a stalled or overrunning test is ended
    uint64_t retrans_at_start = 0;
    rusage ru_start{};
    uint64_t tests = 0, errors = 0;
    // client: the outcome
    uint64_t sent = 0, received = 0, peer_bytes = 0;
    double seconds = 0;
    std::string failure;
    alignas(64) char buf[64 * 1024];
};

bool valid(const Iperf& s, synack::ConnId c) { return c.index < s.role.size(); }

void send_state(synack::Core& core, Iperf& s, int8_t st) { core.send(s.ctrl, &st, 1); }

void send_json(synack::Core& core, Iperf& s, const std::string& j) {
    const uint32_t n = rte_cpu_to_be_32(static_cast<uint32_t>(j.size()));
    // Control messages are small; the send buffer always holds them (checked: a short send aborts the test).
    if (core.send(s.ctrl, &n, 4) != 4 || core.send(s.ctrl, j.data(), static_cast<uint32_t>(j.size())) !=
                                             static_cast<int32_t>(j.size()))
        throw std::runtime_error("control connection's send buffer is full");
}

// A length-prefixed JSON message from the control bytes, or false while it is incomplete.
bool take_json(Iperf& s, boost::property_tree::ptree& out) {
    if (s.in.size() < 4) return false;
    uint32_t n;
    std::memcpy(&n, s.in.data(), 4);
    n = rte_be_to_cpu_32(n);
    if (n > kMaxJson) throw std::runtime_error("JSON message of " + std::to_string(n) + " bytes refused");
    if (s.in.size() < 4 + n) return false;
    std::istringstream is(s.in.substr(4, n));
    s.in.erase(0, 4 + n);
    boost::property_tree::read_json(is, out);  // throws json_parser_error on malformed input
    return true;
}

double cpu_percent(const rusage& a, const rusage& b, double secs, bool user) {
    auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    const double d = user ? us(b.ru_utime) - us(a.ru_utime) : us(b.ru_stime) - us(a.ru_stime);
    return secs > 0 ? d / 1e4 / secs : 0.0;
}

// Our side's results, in the shape iperf3's get_results() reads.
std::string results_json(synack::Core& core, Iperf& s, bool sender) {
    rusage now{};
    getrusage(RUSAGE_SELF, &now);
    const double secs = s.seconds;
    const double u = cpu_percent(s.ru_start, now, secs, true), sy = cpu_percent(s.ru_start, now, secs, false);
    // Retransmissions are counted per core, not per connection: the whole test's go to the first stream.
    const uint64_t retrans = core.stats().retransmits - s.retrans_at_start;
    std::string j;
    char tmp[320];
    std::snprintf(tmp, sizeof tmp,
                  "{\"cpu_util_total\":%.4f,\"cpu_util_user\":%.4f,\"cpu_util_system\":%.4f,"
                  "\"sender_has_retransmits\":%d,\"congestion_used\":\"newreno\",\"streams\":[",
                  u + sy, u, sy, sender ? 1 : 0);
    j = tmp;
    for (size_t i = 0; i < s.streams.size(); ++i) {
        std::snprintf(tmp, sizeof tmp,
                      "%s{\"id\":%d,\"bytes\":%" PRIu64 ",\"retransmits\":%" PRId64
                      ",\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":0,\"end_time\":%.6f}",
                      i ? "," : "", s.streams[i].id, s.streams[i].bytes,
                      sender ? static_cast<int64_t>(i == 0 ? retrans : 0) : int64_t{-1}, secs);
        j += tmp;
    }
    j += "]}";
    return j;
}

void close_streams(synack::Core& core, Iperf& s) {
    for (Stream& st : s.streams)
        if (st.open) {
            if (rte_mbuf* m = core.recv_chain(st.conn)) rte_pktmbuf_free(m);
            core.close(st.conn);
        }
}

// Sender side of a stream: keep its send buffer full with blocks of the test's length.
void fill(synack::Core& core, Iperf& s, Stream& st) {
    for (;;) {
        const uint32_t space = std::min<uint32_t>({core.send_space(st.conn), s.p.len, sizeof s.buf});
        if (space == 0) return;
        const int32_t n = core.send(st.conn, s.buf, space);
        if (n <= 0) return;
        st.bytes += static_cast<uint64_t>(n);
    }
}

void drain(synack::Core& core, Stream& st) {
    if (rte_mbuf* m = core.recv_chain(st.conn)) {
        st.bytes += rte_pktmbuf_pkt_len(m);
        rte_pktmbuf_free(m);
    }
}

bool we_send(const Iperf& s) { return s.cfg->client != s.p.reverse; }

void begin_running(synack::Core& core, Iperf& s) {
    s.phase = Phase::running;
    s.start = core.now_cycles();
    s.retrans_at_start = core.stats().retransmits;
    getrusage(RUSAGE_SELF, &s.ru_start);
    if (we_send(s))
        for (Stream& st : s.streams) fill(core, s, st);
}

void end_running(synack::Core& core, Iperf& s) {
    s.end = core.now_cycles();
    s.seconds = static_cast<double>(s.end - s.start) / static_cast<double>(core.cycles_hz());
    if (!we_send(s))
        for (Stream& st : s.streams) drain(core, st);  // what already arrived counts
}

// ---- server ----

void server_reset(synack::Core& core, Iperf& s, bool abort = false) {
    if (abort) {
        for (Stream& st : s.streams)
            if (st.open) core.abort(st.conn);
        if (s.ctrl_open) core.abort(s.ctrl);
    }
    close_streams(core, s);
    if (s.ctrl_open && !abort) core.close(s.ctrl);
    for (const Stream& st : s.streams)
        if (valid(s, st.conn) && s.role[st.conn.index] == Role::stream) s.role[st.conn.index] = Role::none;
    if (s.ctrl_open) s.role[s.ctrl.index] = Role::none;
    s.streams.clear();
    s.in.clear();
    s.ctrl_open = false;
    s.phase = Phase::idle;
    s.watchdog = UINT64_MAX;
}

void server_error(synack::Core& core, Iperf& s, int32_t ie, const char* why) {
    std::fprintf(stderr, "synack-iperf3: refusing the test: %s\n", why);
    ++s.errors;
    send_state(core, s, kServerError);
    const int32_t v[2] = {static_cast<int32_t>(rte_cpu_to_be_32(static_cast<uint32_t>(ie))), 0};
    core.send(s.ctrl, v, sizeof v);
    server_reset(core, s);
}

void server_params(synack::Core& core, Iperf& s, const boost::property_tree::ptree& j) {
    if (j.get<bool>("udp", false) || j.get<bool>("sctp", false))
        return server_error(core, s, kIeUnimp, "only TCP is served");
    if (j.get<bool>("bidirectional", false)) return server_error(core, s, kIeUnimp, "--bidir is not served");
    s.p.time_s = j.get<uint32_t>("time", 10);
    s.p.parallel = j.get<uint32_t>("parallel", 1);
    s.p.reverse = j.get<bool>("reverse", false);
    s.p.len = std::max<uint32_t>(1, j.get<uint32_t>("len", 128 * 1024));
    if (s.p.reverse && (j.get<uint64_t>("num", 0) != 0 || j.get<uint64_t>("blockcount", 0) != 0))
        return server_error(core, s, kIeUnimp, "-R with -n/-k is not served (use -t)");
    if (s.p.parallel == 0 || s.p.parallel > kMaxStreams)
        return server_error(core, s, kIeNumStreams, "too many parallel streams");
    if (j.get<uint32_t>("window", 0) != 0 && core.options().verbose)
        std::printf("synack-iperf3: -w %u asked; synack's buffers are --rcv-buf/--snd-buf\n", j.get<uint32_t>("window"));
    s.phase = Phase::streams;
    s.watchdog = core.now_cycles() + (static_cast<uint64_t>(s.p.time_s) + j.get<uint64_t>("omit", 0) + s.cfg->grace_s) *
                                         core.cycles_hz();
    send_state(core, s, kCreateStreams);
}

void server_control(synack::Core& core, Iperf& s) {
    namespace pt = boost::property_tree;
    for (;;) {
        if (s.phase == Phase::params) {
            pt::ptree j;
            if (!take_json(s, j)) return;
            server_params(core, s, j);
            continue;
        }
        if (s.phase == Phase::client_results) {
            pt::ptree j;
            if (!take_json(s, j)) return;
            uint64_t peer = 0;
            for (const auto& st : j.get_child("streams")) peer += st.second.get<uint64_t>("bytes", 0);
            s.peer_bytes = peer;
            send_json(core, s, results_json(core, s, s.p.reverse));
            send_state(core, s, kDisplayResults);
            s.phase = Phase::display;
            continue;
        }
        if (s.in.empty()) return;
        const auto st = static_cast<int8_t>(s.in[0]);
        s.in.erase(0, 1);
        if (st == kTestEnd && s.phase == Phase::running) {
            end_running(core, s);
            // As iperf3's own server does: the streams end here. A receiving iperf3 client reads whole blocks
            // (blocking until a block is complete or the stream ends), so without the FIN a -R client whose last
            // block is partial never gets to the results exchange.
            close_streams(core, s);
            send_state(core, s, kExchangeResults);
            s.phase = Phase::client_results;
        } else if (st == kIperfDone && s.phase == Phase::display) {
            uint64_t ours = 0;
            for (const Stream& x : s.streams) ours += x.bytes;
            ++s.tests;
            std::printf("synack-iperf3: test %" PRIu64 " done: %u stream(s), %s %" PRIu64 " bytes in %.2f s "
                        "(%.1f Mbit/s), peer counted %" PRIu64 "\n",
                        s.tests, s.p.parallel, s.p.reverse ? "sent" : "received", ours, s.seconds,
                        s.seconds > 0 ? static_cast<double>(ours) * 8 / s.seconds / 1e6 : 0.0, s.peer_bytes);
            std::fflush(stdout);
            server_reset(core, s);
            return;
        } else if (st == kClientTerminate) {
            std::printf("synack-iperf3: the client ended the test early\n");
            server_reset(core, s);
            return;
        } else {
            throw std::runtime_error("unexpected state byte " + std::to_string(st));
        }
    }
}

// A connection's first 37 bytes: the cookie. The first connection with a cookie is the control connection.
void server_cookie(synack::Core& core, Iperf& s, synack::ConnId c) {
    std::string& ck = s.cookie_in[c.index];
    char tmp[kCookieSize];
    const int32_t n = core.recv(c, tmp, static_cast<uint32_t>(kCookieSize - ck.size()));
    if (n > 0) ck.append(tmp, static_cast<size_t>(n));
    if (ck.size() < kCookieSize) return;
    if (s.phase == Phase::idle) {
        std::memcpy(s.cookie, ck.data(), kCookieSize);
        s.role[c.index] = Role::control;
        s.ctrl = c;
        s.ctrl_open = true;
        s.p = Params{};
        s.phase = Phase::params;
        s.watchdog = core.now_cycles() + s.cfg->grace_s * core.cycles_hz();
        send_state(core, s, kParamExchange);
    } else if (s.phase == Phase::streams && std::memcmp(s.cookie, ck.data(), kCookieSize) == 0 &&
               s.streams.size() < s.p.parallel) {
        s.role[c.index] = Role::stream;
        s.stream_of[c.index] = static_cast<uint32_t>(s.streams.size());
        const int id = s.streams.empty() ? 1 : static_cast<int>(s.streams.size()) + 2;
        s.streams.push_back(Stream{c, id, 0, true});
        if (s.streams.size() == s.p.parallel) {
            send_state(core, s, kTestStart);
            send_state(core, s, kTestRunning);
            begin_running(core, s);
        }
    } else {  // busy: iperf3 says ACCESS_DENIED and hangs up
        s.role[c.index] = Role::reject;
        const int8_t d = kAccessDenied;
        core.send(c, &d, 1);
        core.close(c);
    }
    ck.clear();
}

void server_event(synack::Core& core, const synack::Event& ev, Iperf& s) {
    using synack::EventType;
    const synack::ConnId c = ev.conn;
    if (!valid(s, c)) {
        core.abort(c);
        return;
    }
    Role& r = s.role[c.index];
    switch (ev.type) {
    case EventType::accepted:
        r = Role::pending;
        s.cookie_in[c.index].clear();
        break;
    case EventType::readable:
    case EventType::writable:
    case EventType::peer_closed:
        if (r == Role::pending) {
            server_cookie(core, s, c);
            if (r == Role::pending && ev.type == EventType::peer_closed) {  // gone before its cookie was complete
                core.close(c);
                r = Role::none;
                break;
            }
        }
        if (r == Role::control) {
            int32_t n;
            while ((n = core.recv(c, s.buf, sizeof s.buf)) > 0) s.in.append(s.buf, static_cast<size_t>(n));
            server_control(core, s);
            if (ev.type == EventType::peer_closed && r == Role::control) {
                std::printf("synack-iperf3: the client closed the control connection mid-test\n");
                server_reset(core, s);
            }
        } else if (r == Role::stream) {
            Stream& st = s.streams[s.stream_of[c.index]];
            if (s.phase == Phase::running && s.p.reverse)
                fill(core, s, st);
            else if (s.phase == Phase::running)
                drain(core, st);
            else if (rte_mbuf* m = core.recv_chain(c))
                rte_pktmbuf_free(m);  // after TEST_END: no longer counted
            if (ev.type == EventType::peer_closed) {
                st.open = false;
                r = Role::none;
                core.close(c);
            }
        } else if (r != Role::pending) {  // rejected or from a finished test: read and drop
            if (rte_mbuf* m = core.recv_chain(c)) rte_pktmbuf_free(m);
            if (ev.type == EventType::peer_closed) core.close(c);
        }
        break;
    case EventType::closed:
    case EventType::reset:
    case EventType::timed_out:
        if (r == Role::control) {
            if (s.phase != Phase::idle) std::printf("synack-iperf3: control connection %s mid-test\n", to_string(ev.type));
            s.ctrl_open = false;
            server_reset(core, s);
        } else if (r == Role::stream) {
            s.streams[s.stream_of[c.index]].open = false;
        }
        r = Role::none;
        break;
    default:
        break;
    }
}

// ---- client ----

void client_fail(synack::Core& core, Iperf& s, const std::string& why) {
    if (s.failure.empty()) s.failure = why;
    close_streams(core, s);
    if (s.ctrl_open) core.abort(s.ctrl);
    s.ctrl_open = false;
    s.phase = Phase::done;
    core.stop();
}

void client_open_streams(synack::Core& core, Iperf& s) {
    s.phase = Phase::streams;
    for (uint32_t i = 0; i < s.p.parallel; ++i) {
        synack::ConnId c;
        if (core.connect(s.cfg->server_ip, s.port, 0, c) != 0)
            return client_fail(core, s, "cannot open a data connection");
        s.role[c.index] = Role::stream;
        s.stream_of[c.index] = i;
        s.streams.push_back(Stream{c, i == 0 ? 1 : static_cast<int>(i) + 2, 0, true});
    }
}

void client_control(synack::Core& core, Iperf& s) {
    namespace pt = boost::property_tree;
    for (;;) {
        if (s.phase == Phase::client_results) {
            pt::ptree j;
            if (!take_json(s, j)) return;
            for (const auto& st : j.get_child("streams")) s.peer_bytes += st.second.get<uint64_t>("bytes", 0);
            s.phase = Phase::display;
            continue;
        }
        if (s.in.empty()) return;
        const auto st = static_cast<int8_t>(s.in[0]);
        if (st == kServerError) {
            if (s.in.size() < 9) return;
            int32_t v[2];
            std::memcpy(v, s.in.data() + 1, sizeof v);
            return client_fail(core, s, "the server refused: iperf3 error " +
                                            std::to_string(static_cast<int32_t>(rte_be_to_cpu_32(static_cast<uint32_t>(v[0])))));
        }
        s.in.erase(0, 1);
        switch (st) {
        case kParamExchange: {
            char j[256];
            std::snprintf(j, sizeof j,
                          "{\"tcp\":true,\"omit\":0,\"time\":%u,\"num\":0,\"blockcount\":0,\"parallel\":%u,%s"
                          "\"len\":%u,\"pacing_timer\":1000,\"client_version\":\"3.12\"}",
                          s.p.time_s, s.p.parallel, s.p.reverse ? "\"reverse\":true," : "", s.p.len);
            send_json(core, s, j);
            s.phase = Phase::params;
            break;
        }
        case kCreateStreams:
            client_open_streams(core, s);
            break;
        case kTestStart:
            break;
        case kTestRunning:
            begin_running(core, s);
            s.deadline = s.start + static_cast<uint64_t>(s.p.time_s) * core.cycles_hz();
            break;
        case kExchangeResults:
            if (s.phase == Phase::running) end_running(core, s);
            send_json(core, s, results_json(core, s, !s.p.reverse));
            s.phase = Phase::client_results;
            break;
        case kDisplayResults:
            send_state(core, s, kIperfDone);
            close_streams(core, s);
            core.close(s.ctrl);
            s.phase = Phase::done;
            core.stop();
            return;
        case kAccessDenied:
            return client_fail(core, s, "the server is busy (ACCESS_DENIED)");
        case kServerTerminate:
            return client_fail(core, s, "the server terminated the test");
        default:
            return client_fail(core, s, "unexpected state byte " + std::to_string(st));
        }
    }
}

void client_event(synack::Core& core, const synack::Event& ev, Iperf& s) {
    using synack::EventType;
    const synack::ConnId c = ev.conn;
    if (!valid(s, c)) return;
    const Role r = s.role[c.index];
    if (r == Role::control) {
        switch (ev.type) {
        case EventType::connected:
            core.send(c, s.cookie, kCookieSize);
            break;
        case EventType::readable:
        case EventType::peer_closed: {
            int32_t n;
            while ((n = core.recv(c, s.buf, sizeof s.buf)) > 0) s.in.append(s.buf, static_cast<size_t>(n));
            client_control(core, s);
            if (ev.type == EventType::peer_closed && s.phase != Phase::done)
                client_fail(core, s, "the server closed the control connection");
            break;
        }
        case EventType::reset:
        case EventType::timed_out:
            s.ctrl_open = false;
            if (s.phase != Phase::done) client_fail(core, s, std::string("control connection ") + to_string(ev.type));
            break;
        default:
            break;
        }
        return;
    }
    if (r != Role::stream) return;
    Stream& st = s.streams[s.stream_of[c.index]];
    switch (ev.type) {
    case EventType::connected:
        core.send(c, s.cookie, kCookieSize);
        break;
    case EventType::writable:
        if (s.phase == Phase::running && !s.p.reverse) fill(core, s, st);
        break;
    case EventType::readable:
    case EventType::peer_closed:
        if (s.phase == Phase::running && s.p.reverse)
            drain(core, st);
        else if (rte_mbuf* m = core.recv_chain(c))
            rte_pktmbuf_free(m);
        if (ev.type == EventType::peer_closed) core.close(c);
        break;
    case EventType::closed:
    case EventType::reset:
    case EventType::timed_out:
        st.open = false;
        s.role[c.index] = Role::none;
        if (s.phase == Phase::running || s.phase == Phase::streams)
            client_fail(core, s, std::string("data connection ") + to_string(ev.type) + " during the test");
        break;
    default:
        break;
    }
}

void on_start(synack::Core& core, void* ctx) {
    Iperf& s = *static_cast<Iperf*>(ctx);
    if (core.workers() != 1) {
        std::fprintf(stderr, "synack-iperf3: runs on one lcore (give -l with one core)\n");
        core.stop();
        return;
    }
    const uint32_t n = core.options().tcp.max_connections;
    s.role.assign(n, Role::none);
    s.cookie_in.assign(n, std::string());
    s.stream_of.assign(n, 0);
    std::memset(s.buf, 'x', sizeof s.buf);
    if (!s.cfg->client) {
        if (core.listen(s.port) < 0) {
            std::fprintf(stderr, "synack-iperf3: cannot listen on port %u\n", s.port);
            core.stop();
            return;
        }
        std::printf("synack-iperf3: server listening on %s:%u\n", synack::ip_to_string(core.options().ip).c_str(),
                    s.port);
        std::fflush(stdout);
        return;
    }
    // The cookie: 36 characters from iperf3's alphabet (letters and 2-7), NUL-terminated.
    static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::random_device rd;
    for (uint32_t i = 0; i < kCookieSize - 1; ++i) s.cookie[i] = kAlphabet[rd() % 32];
    s.cookie[kCookieSize - 1] = '\0';
    s.p = s.cfg->want;
    if (core.connect(s.cfg->server_ip, s.port, 0, s.ctrl) != 0) {
        s.failure = "cannot open the control connection";
        core.stop();
        return;
    }
    s.ctrl_open = true;
    s.role[s.ctrl.index] = Role::control;
    std::printf("synack-iperf3: client running, connecting to %s:%u\n", synack::to_string(s.cfg->server_ip).c_str(),
                s.port);
    std::fflush(stdout);
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    Iperf& s = *static_cast<Iperf*>(ctx);
    try {
        if (s.cfg->client)
            client_event(core, ev, s);
        else
            server_event(core, ev, s);
    } catch (const std::exception& e) {  // malformed JSON or a protocol error: end this test, keep serving
        std::fprintf(stderr, "synack-iperf3: protocol error: %s\n", e.what());
        ++s.errors;
        if (s.cfg->client)
            client_fail(core, s, e.what());
        else
            server_reset(core, s);
    }
}

void on_poll(synack::Core& core, void* ctx) {
    Iperf& s = *static_cast<Iperf*>(ctx);
    if (!s.cfg->client && core.now_cycles() >= s.watchdog) {  // the client went quiet: free the server for others
        std::printf("synack-iperf3: test stalled or overran by %u s: ended\n", s.cfg->grace_s);
        std::fflush(stdout);
        ++s.errors;
        server_reset(core, s, true);
        return;
    }
    if (!s.cfg->client || s.phase != Phase::running || core.now_cycles() < s.deadline) return;
    end_running(core, s);
    s.phase = Phase::ending;  // writable events no longer fill; the server answers with EXCHANGE_RESULTS
    send_state(core, s, kTestEnd);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: synack-iperf3 [EAL options] -- --ip A.B.C.D/LEN [--port N] [--client IP [-t S] "
                        "[-P N] [-R] [-l BYTES] [--json FILE]] [--grace-s N]\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        Config cfg;
        const auto& extra = pre.extra;
        auto value = [&](size_t& i) { return synack::app::next_value(extra, i); };
        auto number = [&](size_t& i, uint32_t lo, uint32_t hi) { return synack::app::next_number(extra, i, lo, hi); };
        for (size_t i = 0; i < extra.size(); ++i) {
            const std::string& a = extra[i];
            if (a == "--client" || a == "-c") {
                cfg.client = true;
                const std::string v = value(i);
                if (!synack::parse_address(v, cfg.server_ip))
                    throw std::invalid_argument("--client: expected an IPv4 or IPv6 address, got '" + v + "'");
                if (cfg.server_ip.is_v4() ? pre.ip == 0 && !pre.share_kernel : pre.ip6.is_unspecified())
                    throw std::invalid_argument(cfg.server_ip.is_v4() ? "--client with an IPv4 address needs --ip"
                                                                      : "--client with an IPv6 address needs --ip6");
            } else if (a == "-t" || a == "--time") {
                cfg.want.time_s = number(i, 1, 86400);
            } else if (a == "-P" || a == "--parallel") {
                cfg.want.parallel = number(i, 1, kMaxStreams);
            } else if (a == "-R" || a == "--reverse") {
                cfg.want.reverse = true;
            } else if (a == "-l" || a == "--length") {
                cfg.want.len = number(i, 1, 1u << 20);
            } else if (a == "--json") {
                cfg.json = value(i);
            } else if (a == "--grace-s") {
                cfg.grace_s = number(i, 1, 3600);
            } else {
                throw std::invalid_argument("unknown option '" + a + "' (see --help)");
            }
        }
        if (!cfg.client && (cfg.want.reverse || !cfg.json.empty()))
            throw std::invalid_argument("-R and --json are client options: the iperf3 client chooses the test");
        synack::Stack stack(argc, argv);
        static Iperf s;
        s.cfg = &cfg;
        s.port = stack.options().port != 0 ? stack.options().port : 5201;
        synack::App app{&s, on_start, on_event, on_poll};
        stack.run(app);
        if (!cfg.client) {
            std::printf("synack-iperf3: %" PRIu64 " test(s), %" PRIu64 " refused or broken\n", s.tests, s.errors);
            if (stack.options().verbose) std::printf("%s", stack.counters_report().c_str());
            return 0;
        }
        if (!s.failure.empty() || s.phase != Phase::done) {
            std::fprintf(stderr, "synack-iperf3: test failed: %s\n",
                         s.failure.empty() ? "did not finish (is iperf3 -s running?)" : s.failure.c_str());
            return 2;
        }
        uint64_t ours = 0;
        for (const Stream& st : s.streams) ours += st.bytes;
        const uint64_t sent = cfg.want.reverse ? s.peer_bytes : ours, rcvd = cfg.want.reverse ? ours : s.peer_bytes;
        char json[512];
        std::snprintf(json, sizeof json,
                      "{\"role\":\"client\",\"reverse\":%s,\"streams\":%u,\"seconds\":%.3f,\"bytes_sent\":%" PRIu64
                      ",\"bytes_received\":%" PRIu64 ",\"mbit_per_s\":%.1f}\n",
                      cfg.want.reverse ? "true" : "false", cfg.want.parallel, s.seconds, sent, rcvd,
                      s.seconds > 0 ? static_cast<double>(rcvd) * 8 / s.seconds / 1e6 : 0.0);
        std::printf("%s", json);
        if (!cfg.json.empty()) {
            FILE* f = std::fopen(cfg.json.c_str(), "w");
            if (f == nullptr) throw std::runtime_error("cannot write " + cfg.json);
            std::fputs(json, f);
            std::fclose(f);
        }
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-iperf3: error: %s\n", ex.what());
        return 1;
    }
}
