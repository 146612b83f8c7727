// An echo server and its client in one process, on the callback API. Run it over two net_ring ports wired back
// to back (no NIC, no hugepages, no root):
//   echo_callbacks --no-huge --no-shconf -m 256 -l 0,1 -- --ip 10.96.0.1/24 --loopback
// Core 1 is the server at --ip, core 0 the client at --ip + 1: it connects, sends a line, checks that the same
// line comes back, reads the connection's state with Core::info() (TCP_INFO's counterpart), and stops the
// stack. Exit status 0 when the line came back on an ESTABLISHED connection to the server's port.
#include <cstdio>
#include <exception>
#include <string>

#include "synack/stack.hpp"

namespace {

constexpr uint16_t kPort = 7;
const std::string kLine = "hello through synack\n";

struct Client {  // touched by core 0 only, read by main() after run()
    std::string got;
    int attempts = 0;
    bool ok = false;
};

void connect(synack::Core& core, Client& cl) {
    synack::ConnId c;
    if (++cl.attempts > 100 || core.connect(core.options().ip, kPort, 0, c) < 0) core.stop();
}

void on_start(synack::Core& core, void* ctx) {
    if (core.index() == 1)
        core.listen(kPort);
    else
        connect(core, *static_cast<Client*>(ctx));
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    auto& cl = *static_cast<Client*>(ctx);
    const bool server = core.index() == 1;
    char buf[2048];
    switch (ev.type) {
    case synack::EventType::connected:
        core.send(ev.conn, kLine.data(), static_cast<uint32_t>(kLine.size()));
        break;
    case synack::EventType::readable:
        for (int32_t n; (n = core.recv(ev.conn, buf, sizeof buf)) > 0;) {
            if (server) {  // a short line always fits; app/echo.cpp shows backpressure for any size
                core.send(ev.conn, buf, static_cast<uint32_t>(n));
                continue;
            }
            cl.got.append(buf, static_cast<size_t>(n));
            if (cl.got.size() >= kLine.size()) {
                synack::ConnInfo info;
                cl.ok = cl.got == kLine && core.info(ev.conn, info) == 0 && info.state == synack::State::established &&
                        info.remote_port == kPort && info.cwnd >= info.snd_mss && info.bytes_in_flight == 0;
                std::printf("echo_callbacks: %s:%u -> %s:%u srtt %u us cwnd %u\n",
                            synack::ip_to_string(info.local_ip).c_str(), info.local_port,
                            synack::ip_to_string(info.remote_ip).c_str(), info.remote_port, info.srtt_us, info.cwnd);
                core.close(ev.conn);
                core.stop();
            }
        }
        break;
    case synack::EventType::peer_closed:
        core.close(ev.conn);
        break;
    case synack::EventType::reset:  // the server's core had not listened yet: try again
        if (!server) connect(core, cl);
        break;
    default:
        break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        synack::Stack stack(argc, argv);  // EAL options -- synack options
        Client client;
        synack::App app{&client, on_start, on_event, nullptr};
        stack.run(app);
        std::printf("echo_callbacks: %s\n", client.ok ? "the line came back" : "FAILED");
        return client.ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_callbacks: error: %s\n", e.what());
        return 1;
    }
}
