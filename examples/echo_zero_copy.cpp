// Zero-copy echo: the server hands every received mbuf chain straight back with send_chain(), no byte copied.
// The client (core 0) sends 1 MB and checks every byte that returns. Run over net_ring like echo_callbacks:
//   echo_zero_copy --no-huge --no-shconf -m 256 -l 0,1 -- --ip 10.96.0.1/24 --loopback
#include <rte_mbuf.h>

#include <cstdint>
#include <cstdio>
#include <exception>

#include "synack/stack.hpp"

namespace {

constexpr uint16_t kPort = 7;
constexpr uint32_t kTotal = 1 << 20;

uint8_t pattern(uint32_t i) { return static_cast<uint8_t>(i * 7 + (i >> 8)); }

struct Server {         // core 1: a chain the send buffer could not take yet, kept until `writable`
    rte_mbuf* pending = nullptr;
};
struct Client {         // core 0
    uint32_t sent = 0, checked = 0;
    int attempts = 0;
    bool ok = false;
};
struct Ctx {
    Server server;
    Client client;
};

// Server: forward what arrived, in order, without copying. send_chain() takes the whole chain or nothing.
void forward(synack::Core& core, synack::ConnId c, Server& s) {
    for (;;) {
        if (s.pending == nullptr) s.pending = core.recv_chain(c);
        if (s.pending == nullptr) return;
        if (core.send_chain(c, s.pending) < 0) return;  // -EAGAIN: `writable` will call us again
        s.pending = nullptr;
    }
}

// Client: send the pattern as far as the send buffer takes it.
void fill(synack::Core& core, synack::ConnId c, Client& cl) {
    uint8_t buf[8192];
    while (cl.sent < kTotal) {
        uint32_t n = kTotal - cl.sent < sizeof buf ? kTotal - cl.sent : sizeof buf;
        for (uint32_t i = 0; i < n; ++i) buf[i] = pattern(cl.sent + i);
        const int32_t took = core.send(c, buf, n);
        if (took <= 0) return;  // full: `writable` follows
        cl.sent += static_cast<uint32_t>(took);
    }
}

// Client: check what came back, byte by byte, straight from the mbufs.
void check(synack::Core& core, synack::ConnId c, Client& cl) {
    while (rte_mbuf* m = core.recv_chain(c)) {
        for (rte_mbuf* s = m; s != nullptr; s = s->next) {
            const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
            for (uint16_t i = 0; i < s->data_len; ++i, ++cl.checked)
                if (p[i] != pattern(cl.checked)) {
                    rte_pktmbuf_free(m);
                    core.abort(c);
                    core.stop();
                    return;
                }
        }
        rte_pktmbuf_free(m);
    }
    if (cl.checked == kTotal) {
        cl.ok = true;
        core.close(c);
        core.stop();
    }
}

void connect(synack::Core& core, Client& cl) {
    synack::ConnId c;
    if (++cl.attempts > 100 || core.connect(core.options().ip, kPort, 0, c) < 0) core.stop();
}

void on_start(synack::Core& core, void* ctx) {
    auto& x = *static_cast<Ctx*>(ctx);
    if (core.index() == 1)
        core.listen(kPort);
    else
        connect(core, x.client);
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    auto& x = *static_cast<Ctx*>(ctx);
    if (core.index() == 1) {
        if (ev.type == synack::EventType::readable || ev.type == synack::EventType::writable)
            forward(core, ev.conn, x.server);
        else if (ev.type == synack::EventType::peer_closed)
            core.close(ev.conn);
        return;
    }
    switch (ev.type) {
    case synack::EventType::connected:
    case synack::EventType::writable:
        fill(core, ev.conn, x.client);
        break;
    case synack::EventType::readable:
        check(core, ev.conn, x.client);
        break;
    case synack::EventType::reset:
        connect(core, x.client);
        break;
    default:
        break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        synack::Stack stack(argc, argv);
        Ctx ctx;
        synack::App app{&ctx, on_start, on_event, nullptr};
        stack.run(app);
        rte_pktmbuf_free(ctx.server.pending);  // a chain still waiting when the stack stopped
        std::printf("echo_zero_copy: %u of %u bytes came back intact: %s\n", ctx.client.checked, kTotal,
                    ctx.client.ok ? "ok" : "FAILED");
        return ctx.client.ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_zero_copy: error: %s\n", e.what());
        return 1;
    }
}
