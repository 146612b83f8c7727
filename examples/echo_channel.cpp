// The echo pair again, with the logic on an ordinary application thread that talks to the cores through
// synack::Channel (lock-free queues): commands go to a core, events and received mbufs come back.
//   echo_channel --no-huge --no-shconf -m 256 -l 0,1 -- --ip 10.96.0.1/24 --loopback
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "synack/channel.hpp"
#include "synack/stack.hpp"

int main(int argc, char** argv) {
    try {
        synack::Stack stack(argc, argv);
        synack::Channel ch(stack);  // before run()
        const std::string line = "hello through a Channel\n";
        constexpr uint16_t kPort = 7;
        bool ok = false;
        std::thread app([&] {
            const uint32_t server_ip = stack.options().ip;  // core 1 (--loopback); core 0 is the client
            while (!ch.listen(kPort)) std::this_thread::yield();
            while (!ch.connect(0, server_ip, kPort, 42)) std::this_thread::yield();
            std::string got;
            int attempts = 1;
            synack::ChannelEvent e;
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (std::chrono::steady_clock::now() < deadline) {
                if (!ch.poll(e)) {
                    std::this_thread::yield();
                    continue;
                }
                const bool client = e.core == 0;
                if (e.ev.type == synack::EventType::connected) {
                    ch.send(e.core, e.ev.conn, line.data(), static_cast<uint32_t>(line.size()));
                } else if (e.ev.type == synack::EventType::readable) {
                    for (rte_mbuf* m = e.data; m != nullptr; m = m->next) {
                        const char* p = rte_pktmbuf_mtod(m, const char*);
                        if (client)
                            got.append(p, m->data_len);
                        else  // the server side echoes
                            ch.send(e.core, e.ev.conn, p, m->data_len);
                    }
                    rte_pktmbuf_free(e.data);
                    if (client && got.size() >= line.size()) {
                        ok = got == line;
                        ch.close(e.core, e.ev.conn);
                        break;
                    }
                } else if (e.ev.type == synack::EventType::peer_closed) {
                    ch.close(e.core, e.ev.conn);
                } else if (client && e.ev.type == synack::EventType::reset) {  // listen not yet served: retry
                    if (++attempts > 100) break;
                    ch.connect(0, server_ip, kPort, 42);
                }
            }
            stack.stop();
        });
        stack.run(ch.app());
        app.join();
        std::printf("echo_channel: %s\n", ok ? "the line came back" : "FAILED");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_channel: error: %s\n", e.what());
        return 1;
    }
}
