// synack-channel-echo: the echo server again, but its logic runs on an ordinary std::thread that talks to the
// worker cores through synack::Channel (lock-free SPSC queues), not in the cores' callbacks. The example for
// programs that keep their own threads.
//
//   synack-channel-echo [EAL options] -- --ip 10.9.0.1/24 --port 7 [--duration-s N]
#include <rte_mbuf.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <thread>

#include "synack/channel.hpp"
#include "synack/stack.hpp"

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0) {
            std::printf("usage: synack-channel-echo [EAL options] -- --ip A.B.C.D/LEN --port N [options]\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        const synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        if (pre.port == 0) throw std::invalid_argument("--port N is required");
        if (!pre.extra.empty()) throw std::invalid_argument("unknown option '" + pre.extra[0] + "' (see --help)");
        synack::Stack stack(argc, argv);
        synack::Channel ch(stack);
        std::atomic<bool> done{false};
        uint64_t accepted = 0, bytes = 0;
        std::thread app([&] {
            ch.listen(stack.options().port);
            std::printf("synack-channel-echo: listening on %s:%u from an application thread\n",
                        synack::ip_to_string(stack.options().ip).c_str(), stack.options().port);
            std::fflush(stdout);
            synack::ChannelEvent e;
            while (!done.load(std::memory_order_relaxed)) {
                if (!ch.poll(e)) {
                    std::this_thread::yield();
                    continue;
                }
                switch (e.ev.type) {
                case synack::EventType::accepted:
                    ++accepted;
                    break;
                case synack::EventType::readable:
                    // Echo the chain back, segment by segment; the core keeps order and handles backpressure.
                    for (rte_mbuf* m = e.data; m != nullptr; m = m->next) {
                        const uint32_t n = rte_pktmbuf_data_len(m);
                        while (!ch.send(e.core, e.ev.conn, rte_pktmbuf_mtod(m, const char*), n)) std::this_thread::yield();
                        bytes += n;
                    }
                    rte_pktmbuf_free(e.data);
                    break;
                case synack::EventType::peer_closed:
                    while (!ch.close(e.core, e.ev.conn)) std::this_thread::yield();
                    break;
                default:
                    break;
                }
            }
        });
        stack.run(ch.app());
        done = true;
        app.join();
        std::printf("synack-channel-echo: accepted %" PRIu64 " connections, echoed %" PRIu64 " bytes, %" PRIu64
                    " events dropped\n%s",
                    accepted, bytes, ch.dropped_events(), stack.counters_report().c_str());
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-channel-echo: error: %s\n", ex.what());
        return 1;
    }
}
