// synack-echo: a TCP echo server on synack. Every byte received is sent back; when the peer closes and all is
// echoed, the connection is closed. Flow control is end to end: bytes are read only as fast as they can be sent.
//
//   synack-echo [EAL options] -- --ip 10.9.0.1/24 [--ip6 fd00::1/64] --port 7 [--close-port N] [--msl-ms N]
//               [--duration-s N] [-v]
// With --ip6 (beside or instead of --ip) the same listener takes IPv6 connections too.
//
// --close-port N also listens on N, where each connection gets "bye\n" and is closed by us at once: the side
// that closes first (synack) then holds TIME-WAIT for 2 MSL.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "synack/stack.hpp"

namespace {

// Per-core tallies (each core writes only its own), summed at exit.
struct alignas(64) Echo {
    uint64_t accepted = 0, closed = 0, reset = 0, bytes = 0;
    bool verbose = false;
    uint16_t close_port = 0;
    int close_listener = -1;
};
constexpr unsigned kMaxCores = 128;

void pump(synack::Core& core, synack::ConnId c, Echo& e) {
    char buf[16384];
    for (;;) {
        const uint32_t space = core.send_space(c);
        if (space == 0) break;
        const int32_t n = core.recv(c, buf, space < sizeof buf ? space : sizeof buf);
        if (n <= 0) break;
        const int32_t sent = core.send(c, buf, static_cast<uint32_t>(n));
        if (sent != n) {  // cannot happen: we never read more than send_space
            core.abort(c);
            return;
        }
        e.bytes += static_cast<uint64_t>(n);
    }
    if (core.state(c) == synack::State::close_wait && core.readable_bytes(c) == 0) core.close(c);
}

void on_start(synack::Core& core, void* ctx) {
    auto* e = static_cast<Echo*>(ctx) + core.index();
    const int l = core.listen(core.options().port);
    if (l < 0) {
        std::fprintf(stderr, "synack-echo: listen on port %u failed (%d)\n", core.options().port, l);
        core.stop();
        return;
    }
    if (e->close_port != 0) e->close_listener = core.listen(e->close_port);
    if (core.index() == 0) {  // both families: one listener takes either
        const synack::Options& o = core.options();
        std::string on = o.ip != 0 ? synack::ip_to_string(o.ip) : "";
        if (!o.ip6.is_unspecified()) on += (on.empty() ? "[" : " and [") + synack::to_string(o.ip6) + "]";
        std::printf("synack-echo: listening on %s:%u with %u core(s)\n", on.c_str(), o.port, core.workers());
    }
    std::fflush(stdout);
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    auto* e = static_cast<Echo*>(ctx) + core.index();
    switch (ev.type) {
    case synack::EventType::accepted:
        ++e->accepted;
        if (e->verbose) std::printf("core %u: accepted connection %u\n", core.index(), ev.conn.index);
        if (e->close_listener >= 0 && ev.listener == e->close_listener) {
            core.send(ev.conn, "bye\n", 4);
            core.close(ev.conn);
        }
        break;
    case synack::EventType::readable:
    case synack::EventType::writable:
    case synack::EventType::peer_closed:
        if (core.state(ev.conn) == synack::State::fin_wait_1 || core.state(ev.conn) == synack::State::fin_wait_2) {
            char sink[2048];  // --close-port: whatever the peer still sends is read and dropped
            while (core.recv(ev.conn, sink, sizeof sink) > 0) {
            }
            break;
        }
        pump(core, ev.conn, *e);
        break;
    case synack::EventType::closed:
        ++e->closed;
        break;
    case synack::EventType::reset:
    case synack::EventType::timed_out:
    case synack::EventType::persist_timed_out:
    case synack::EventType::user_timed_out:
    case synack::EventType::memory_aborted:
    case synack::EventType::keepalive_timed_out:
        ++e->reset;
        break;
    default:
        break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: synack-echo [EAL options] -- --ip A.B.C.D/LEN --port N [--close-port N] [options]\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        const synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        if (pre.port == 0) throw std::invalid_argument("--port N is required");
        static Echo per_core[kMaxCores];
        uint16_t close_port = 0;
        const auto& extra = pre.extra;
        for (size_t i = 0; i < extra.size(); ++i) {
            if (extra[i] == "--close-port" && i + 1 < extra.size()) {
                close_port = static_cast<uint16_t>(std::atoi(extra[++i].c_str()));
                if (close_port == 0) throw std::invalid_argument("--close-port: expected a port 1..65535");
            } else {
                throw std::invalid_argument("unknown option '" + extra[i] + "' (see --help)");
            }
        }
        synack::Stack stack(argc, argv);
        for (Echo& c : per_core) {
            c.verbose = stack.options().verbose;
            c.close_port = close_port;
        }
        synack::App app{per_core, on_start, on_event, nullptr};
        stack.run(app);
        Echo e;
        for (const Echo& c : per_core) {
            e.accepted += c.accepted;
            e.bytes += c.bytes;
            e.closed += c.closed;
            e.reset += c.reset;
        }
        // One summary per process; per-core tallies are summed since each core owns its connections.
        std::printf("synack-echo: accepted %" PRIu64 " connections, echoed %" PRIu64 " bytes, %" PRIu64
                    " closed, %" PRIu64 " reset or timed out\n",
                    e.accepted, e.bytes, e.closed, e.reset);
        std::printf("%s", stack.counters_report().c_str());
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-echo: error: %s\n", ex.what());
        return 1;
    }
}
