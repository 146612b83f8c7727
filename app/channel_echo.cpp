// synack-channel-echo: the echo server again, but its logic runs on ordinary application threads that talk to the
// worker cores through synack::Channel (lock-free SPSC queues), not in the cores' callbacks. Each thread has its
// own Channel and listens on the same ports: the cores hand accepted connections to the threads in turn. The
// threads run on the CPUs the polling lcores leave free (Stack::app_thread) and sleep in Channel::wait.
//
//   synack-channel-echo [EAL options] -- --ip 10.9.0.1/24 --port 7 [--close-port N] [--threads N] [--spin-us N]
//        [--no-pin]
//
// --spin-us N: the longest Channel::wait polls before it sleeps (ChannelConfig::spin_us; default by CPU placement).
// --no-pin: plain std::threads, which inherit the main lcore's CPU (tests: such a thread must never spin).
// --close-port N: each connection accepted there gets "bye\n" and is closed by us at once (as synack-echo does).
#include <rte_mbuf.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "synack/channel.hpp"
#include "synack/stack.hpp"

namespace {

struct Tally {
    uint64_t accepted = 0, bytes = 0;
};

// One application thread: echo on `port`, "bye" and close on `close_port`, until the stack stops.
void serve(synack::Channel& ch, uint16_t port, uint16_t close_port, Tally& t) {
    auto retry = [](auto&& op) {
        while (!op()) std::this_thread::yield();  // a full command queue or no mbuf: the core catches up
    };
    retry([&] { return ch.listen(port); });
    if (close_port != 0) retry([&] { return ch.listen(close_port); });
    synack::ChannelEvent e;
    for (;;) {
        if (!ch.wait(e)) {
            if (ch.stopped()) return;
            continue;
        }
        switch (e.ev.type) {
        case synack::EventType::accepted:
            ++t.accepted;
            if (close_port != 0 && e.port == close_port) {
                retry([&] { return ch.send(e.core, e.ev.conn, "bye\n", 4); });
                retry([&] { return ch.close(e.core, e.ev.conn); });
            }
            break;
        case synack::EventType::readable:
            // Echo the chain back, segment by segment; the core keeps order and handles backpressure. On a
            // connection we closed already (--close-port) the core drops the bytes.
            for (rte_mbuf* m = e.data; m != nullptr; m = m->next) {
                const uint32_t n = rte_pktmbuf_data_len(m);
                retry([&] { return ch.send(e.core, e.ev.conn, rte_pktmbuf_mtod(m, const char*), n); });
                t.bytes += n;
            }
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

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0) {
            std::printf("usage: synack-channel-echo [EAL options] -- --ip A.B.C.D/LEN --port N [--close-port N] "
                        "[--threads N] [--spin-us N] [--no-pin] [options]\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        const synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        if (pre.port == 0) throw std::invalid_argument("--port N is required");
        uint16_t close_port = 0;
        unsigned threads = 1;
        int32_t spin_us = -1;
        bool pin = true;
        for (size_t i = 0; i < pre.extra.size(); ++i) {
            const std::string& a = pre.extra[i];
            if (a == "--close-port" && i + 1 < pre.extra.size()) {
                close_port = static_cast<uint16_t>(std::atoi(pre.extra[++i].c_str()));
                if (close_port == 0) throw std::invalid_argument("--close-port: expected a port 1..65535");
            } else if (a == "--spin-us" && i + 1 < pre.extra.size()) {
                spin_us = std::atoi(pre.extra[++i].c_str());
                if (spin_us < 0 || spin_us > 1000000) throw std::invalid_argument("--spin-us: expected 0..1000000");
            } else if (a == "--no-pin") {
                pin = false;
            } else if (a == "--threads" && i + 1 < pre.extra.size()) {
                threads = static_cast<unsigned>(std::atoi(pre.extra[++i].c_str()));
                if (threads < 1 || threads > 64) throw std::invalid_argument("--threads: expected 1..64");
            } else {
                throw std::invalid_argument("unknown option '" + a + "' (see --help)");
            }
        }
        synack::Stack stack(argc, argv);
        std::vector<std::unique_ptr<synack::Channel>> channels;
        std::vector<Tally> tallies(threads);
        for (unsigned i = 0; i < threads; ++i) channels.push_back(std::make_unique<synack::Channel>(stack, synack::ChannelConfig{4096, spin_us}));
        std::vector<std::thread> apps;
        for (unsigned i = 0; i < threads; ++i) {
            auto fn = [&, i] { serve(*channels[i], stack.options().port, close_port, tallies[i]); };
            apps.push_back(pin ? stack.app_thread(fn) : std::thread(fn));
        }
        std::printf("synack-channel-echo: listening on %s:%u from %u application thread(s) on CPUs %s%s\n",
                    synack::ip_to_string(stack.options().ip).c_str(), stack.options().port, threads,
                    pin ? stack.app_cpus().c_str() : "of the main lcore",
                    pin && stack.app_cpus_dedicated() ? "" : " (shared with the polling lcores)");
        std::fflush(stdout);
        stack.run();
        Tally sum;
        uint64_t dropped = 0, wakeups = 0, spins = 0, spin_hits = 0;
        for (unsigned i = 0; i < threads; ++i) {
            apps[i].join();
            sum.accepted += tallies[i].accepted;
            sum.bytes += tallies[i].bytes;
            dropped += channels[i]->dropped_events();
            wakeups += channels[i]->wakeups();
            spins += channels[i]->spins();
            spin_hits += channels[i]->spin_hits();
            std::printf("synack-channel-echo: thread %u accepted %" PRIu64 " connections\n", i, tallies[i].accepted);
        }
        std::printf("synack-channel-echo: accepted %" PRIu64 " connections, echoed %" PRIu64 " bytes, %" PRIu64
                    " events dropped, %" PRIu64 " wake-ups, %" PRIu64 " waits spun, %" PRIu64
                    " events caught spinning\n%s",
                    sum.accepted, sum.bytes, dropped, wakeups, spins, spin_hits, stack.counters_report().c_str());
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-channel-echo: error: %s\n", ex.what());
        return 1;
    }
}
