// linux-perf: the Linux kernel's side of the comparison. The same three workloads and the same wire protocol as
// synack-perf (server ports P discard, P+1 echo, P+2 close on accept), over ordinary sockets and epoll, one thread
// per side, so `scripts/bench` can run Linux and synack on the same cores in the same run.
//
//   linux-perf --server --bind IP --port P --duration-s N      (IP of either family: 127.0.0.1, ::1)
//   linux-perf --client IP --port P --test bulk|cps|rr [--streams N] [--in-flight N] [--msg-size N] --duration-s N
//   [--verify] [--cc NAME]
// --cc sets the congestion control of every socket (TCP_CONGESTION; accepted sockets inherit the listener's),
// so a comparison with synack (CUBIC or NewReno) need not take the machine's default (this VM's is BBR).
// Streams carry synack-perf's pattern (byte i is i mod 251), never zeros, which would hide a wrong checksum or a
// payload that never made it (issue 11); --verify checks what the discard server and the rr client receive.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "linux-perf: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// An IPv4 or IPv6 socket address ("127.0.0.1", "::1").
struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

SockAddr addr(const std::string& ip, uint16_t port) {
    SockAddr a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len = sizeof(sockaddr_in6);
        a.family = AF_INET6;
    } else {
        std::fprintf(stderr, "linux-perf: bad address %s\n", ip.c_str());
        std::exit(1);
    }
    return a;
}

struct Args {
    bool server = false;
    std::string ip = "127.0.0.1";
    uint16_t port = 5201;
    std::string test = "bulk";
    int streams = 1, in_flight = 64, msg_size = 64, duration_s = 5;
    bool verify = false;
    std::string cc;  // TCP_CONGESTION of every socket; empty: the namespace's default
};

// --cc on one socket: a name the kernel refuses (not built, not allowed) ends the run with the reason.
void set_cc(int s, const Args& a) {
    if (a.cc.empty()) return;
    if (setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, a.cc.data(), static_cast<socklen_t>(a.cc.size())) != 0) {
        std::fprintf(stderr, "linux-perf: --cc %s: %s (see net.ipv4.tcp_available_congestion_control)\n",
                     a.cc.c_str(), std::strerror(errno));
        std::exit(1);
    }
}

// The stream pattern shared with synack-perf: byte i is i mod 251; kPattern + (off mod 251) is the stream from off.
constexpr uint32_t kPeriod = 251;
constexpr size_t kChunk = 1 << 16;
struct Pattern {
    char bytes[kChunk + kPeriod];
    Pattern() {
        for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<char>(i % kPeriod);
    }
    const char* at(uint64_t off) const { return bytes + off % kPeriod; }
    bool matches(uint64_t off, const char* p, size_t len) const { return std::memcmp(at(off), p, len) == 0; }
};
const Pattern kPattern;

int run_server(const Args& a) {
    int ep = epoll_create1(0);
    std::unordered_map<int, int> kind;  // fd -> 0 discard, 1 echo, 2 close at once; listeners: 10 + kind
    std::unordered_map<int, uint64_t> offset;  // discard fd -> bytes of its stream received (--verify)
    uint64_t bytes = 0, corrupt = 0;
    for (int k = 0; k < 3; ++k) {
        const SockAddr sa = addr(a.ip, static_cast<uint16_t>(a.port + k));
        int l = socket(sa.family, SOCK_STREAM, 0);
        set_cc(l, a);
        int one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(l, sa.get(), sa.len) != 0) die("bind");
        if (listen(l, 4096) != 0) die("listen");
        nonblock(l);
        kind[l] = 10 + k;
        epoll_event ev{EPOLLIN, {.fd = l}};
        epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    }
    std::printf("linux-perf: server on %s ports %u-%u\n", a.ip.c_str(), a.port, a.port + 2);
    std::fflush(stdout);
    static char buf[1 << 16];
    const auto end = Clock::now() + std::chrono::seconds(a.duration_s);
    epoll_event evs[64];
    while (Clock::now() < end) {
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            int k = kind[fd];
            if (k >= 10) {
                int c;
                while ((c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                    if (k == 12) {  // cps: the server closes first
                        close(c);
                        continue;
                    }
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    kind[c] = k - 10;
                    offset[c] = 0;
                    epoll_event ev{EPOLLIN, {.fd = c}};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                kind.erase(fd);
                offset.erase(fd);
                close(fd);
                continue;
            }
            bytes += static_cast<uint64_t>(r);
            if (k == 0 && a.verify) {
                if (!kPattern.matches(offset[fd], buf, static_cast<size_t>(r))) ++corrupt;
                offset[fd] += static_cast<uint64_t>(r);
            }
            if (k == 1) {
                ssize_t off = 0;
                while (off < r) {  // echo: small messages, a blocking-ish retry is fine
                    ssize_t w = write(fd, buf + off, static_cast<size_t>(r - off));
                    if (w > 0) off += w;
                    else if (errno != EAGAIN) break;
                }
            }
        }
    }
    std::printf("{\"role\":\"server\",\"bytes\":%" PRIu64 ",\"verified\":%s,\"corrupt\":%" PRIu64 "}\n", bytes,
                a.verify ? "true" : "false", corrupt);
    return corrupt == 0 ? 0 : 2;
}

int connect_to(const Args& a, uint16_t port) {
    const SockAddr sa = addr(a.ip, port);
    int s = socket(sa.family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    set_cc(s, a);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, sa.get(), sa.len) != 0 && errno != EINPROGRESS) die("connect");
    return s;
}

int run_client(const Args& a) {
    int ep = epoll_create1(0);
    const auto start = Clock::now();
    const auto end = start + std::chrono::seconds(a.duration_s);
    uint64_t bytes = 0, conns = 0, trans = 0, errors = 0, corrupt = 0;
    std::vector<double> lat;
    lat.reserve(1 << 22);
    static char buf[1 << 16];
    struct Conn {
        Clock::time_point sent;
        int got = 0;
        uint64_t off = 0;  // bytes of the stream sent before (bulk) or before this request (rr)
    };
    std::unordered_map<int, Conn> cs;
    auto add = [&](int fd, uint32_t events) {
        epoll_event ev{events, {.fd = fd}};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        cs[fd] = Conn{};
    };
    const int n = a.test == "cps" ? a.in_flight : a.streams;
    const uint16_t port = static_cast<uint16_t>(a.port + (a.test == "bulk" ? 0 : a.test == "rr" ? 1 : 2));
    for (int i = 0; i < n; ++i) add(connect_to(a, port), a.test == "bulk" ? EPOLLOUT : (EPOLLIN | EPOLLOUT));
    epoll_event evs[256];
    while (Clock::now() < end) {
        int m = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < m; ++i) {
            int fd = evs[i].data.fd;
            Conn& c = cs[fd];
            if (evs[i].events & (EPOLLERR)) {
                ++errors;
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                close(fd);
                cs.erase(fd);
                if (a.test == "cps") add(connect_to(a, port), EPOLLIN | EPOLLOUT);
                continue;
            }
            if (a.test == "bulk") {
                ssize_t w;
                while ((w = write(fd, kPattern.at(c.off), kChunk)) > 0) {
                    bytes += static_cast<uint64_t>(w);
                    c.off += static_cast<uint64_t>(w);
                }
            } else if (a.test == "cps") {
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
                    ssize_t r = read(fd, buf, sizeof buf);
                    if (r == 0 || (r < 0 && errno != EAGAIN)) {  // the server's FIN: done, open the next
                        ++conns;
                        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                        close(fd);
                        cs.erase(fd);
                        add(connect_to(a, port), EPOLLIN | EPOLLOUT);
                    }
                } else if (evs[i].events & EPOLLOUT) {
                    epoll_event ev{EPOLLIN | EPOLLRDHUP, {.fd = fd}};  // connected: wait for the FIN
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                }
            } else {  // rr
                if ((evs[i].events & EPOLLOUT) && c.got == 0 && c.sent == Clock::time_point{}) {
                    epoll_event ev{EPOLLIN, {.fd = fd}};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                    c.sent = Clock::now();
                    if (write(fd, kPattern.at(c.off), static_cast<size_t>(a.msg_size)) != a.msg_size) ++errors;
                    continue;
                }
                ssize_t r;
                while ((r = read(fd, buf, sizeof buf)) > 0) {
                    if (a.verify && !kPattern.matches(c.off + static_cast<uint64_t>(c.got), buf, static_cast<size_t>(r)))
                        ++corrupt;
                    c.got += static_cast<int>(r);
                }
                if (c.got >= a.msg_size) {
                    c.off += static_cast<uint64_t>(a.msg_size);
                    auto now = Clock::now();
                    lat.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
                    ++trans;
                    c.got = 0;
                    c.sent = now;
                    if (write(fd, kPattern.at(c.off), static_cast<size_t>(a.msg_size)) != a.msg_size) ++errors;
                }
            }
        }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    auto pct = [&](double p) {
        if (lat.empty()) return 0.0;
        size_t k = std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())));
        std::nth_element(lat.begin(), lat.begin() + static_cast<long>(k), lat.end());
        return lat[k];
    };
    std::printf("{\"role\":\"client\",\"test\":\"%s\",\"seconds\":%.3f,\"bytes\":%" PRIu64
                ",\"mbit_per_s\":%.1f,\"connections\":%" PRIu64 ",\"conn_per_s\":%.0f,\"transactions\":%" PRIu64
                ",\"trans_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"errors\":%" PRIu64
                ",\"verified\":%s,\"corrupt\":%" PRIu64 "}\n",
                a.test.c_str(), secs, bytes, static_cast<double>(bytes) * 8 / secs / 1e6, conns,
                static_cast<double>(conns) / secs, trans, static_cast<double>(trans) / secs, pct(0.5), pct(0.99),
                pct(0.999), errors, a.verify ? "true" : "false", corrupt);
    return corrupt == 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer's reset shows as EPIPE on write (counted), not as a silent death
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "linux-perf: %s needs a value\n", s.c_str());
                std::exit(1);
            }
            return argv[++i];
        };
        if (s == "--server") a.server = true;
        else if (s == "--bind" || s == "--client") a.ip = val();
        else if (s == "--port") a.port = static_cast<uint16_t>(std::atoi(val().c_str()));
        else if (s == "--test") a.test = val();
        else if (s == "--streams") a.streams = std::atoi(val().c_str());
        else if (s == "--in-flight") a.in_flight = std::atoi(val().c_str());
        else if (s == "--msg-size") a.msg_size = std::atoi(val().c_str());
        else if (s == "--duration-s") a.duration_s = std::atoi(val().c_str());
        else if (s == "--verify") a.verify = true;
        else if (s == "--cc") a.cc = val();
        else {
            std::fprintf(stderr, "linux-perf: unknown option %s\n", s.c_str());
            return 1;
        }
    }
    if (a.test != "bulk" && a.test != "cps" && a.test != "rr") {
        std::fprintf(stderr, "linux-perf: --test bulk, cps or rr\n");
        return 1;
    }
    if (a.msg_size < 1 || a.msg_size > 65536 || a.streams < 1 || a.in_flight < 1) {
        std::fprintf(stderr, "linux-perf: sizes and counts must be positive (msg-size <= 65536)\n");
        return 1;
    }
    return a.server ? run_server(a) : run_client(a);
}
