// Command-line options after "--" (DPDK convention), parsed on the cold path with clear errors.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dpdk/ip6_options.hpp"
#include "synack/stack.hpp"

#if defined(SYNACK_XDP_OBJ)
#define SYNACK_XDP_OBJ_HELP SYNACK_XDP_OBJ
#else
#define SYNACK_XDP_OBJ_HELP "PATH/synack_xdp.o"
#endif

namespace synack {
namespace {

uint64_t number(const std::string& opt, const std::string& v, uint64_t lo, uint64_t hi) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        throw std::invalid_argument(opt + ": expected a number in " + std::to_string(lo) + ".." + std::to_string(hi) +
                                    ", got '" + v + "'");
    return n;
}

uint32_t address(const std::string& opt, const std::string& v) {
    uint32_t ip = 0;
    if (!parse_ip(v, ip)) throw std::invalid_argument(opt + ": expected an IPv4 address A.B.C.D, got '" + v + "'");
    return ip;
}

wire::Ip6Addr address6(const std::string& opt, const std::string& v) {
    wire::Ip6Addr a;
    if (inet_pton(AF_INET6, v.c_str(), a.b) != 1)
        throw std::invalid_argument(opt + ": expected an IPv6 address such as fd00::1, got '" + v + "'");
    return a;
}

}  // namespace

namespace dpdk {

Ip6Options parse_ip6_options(int argc, char** argv) {
    Ip6Options o;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        const auto eq = a.find('=');
        const std::string name = eq == std::string::npos ? a : a.substr(0, eq);
        if (name != "--ip6" && name != "--gw6") continue;
        std::string v;
        if (eq != std::string::npos)
            v = a.substr(eq + 1);
        else if (i + 1 < argc)
            v = argv[++i];
        else
            throw std::invalid_argument(a + ": missing value");
        if (name == "--gw6") {
            o.gw6 = address6("--gw6", v);
            continue;
        }
        const auto slash = v.find('/');
        if (slash == std::string::npos) throw std::invalid_argument("--ip6: expected ADDR/LEN, got '" + v + "'");
        o.ip6 = address6("--ip6", v.substr(0, slash));
        o.prefix6_len = static_cast<uint8_t>(number("--ip6 prefix length", v.substr(slash + 1), 1, 128));
        if (o.ip6.is_unspecified() || o.ip6.is_multicast() || o.ip6.is_loopback() || o.ip6.is_v4_mapped() ||
            o.ip6.is_link_local())
            throw std::invalid_argument("--ip6: " + v + " is not a usable global or unique-local unicast address");
    }
    if (!o.gw6.is_unspecified()) {
        if (o.ip6.is_unspecified()) throw std::invalid_argument("--gw6 needs --ip6");
        if (o.gw6.is_multicast() || o.gw6.is_unspecified() || o.gw6 == o.ip6 ||
            (!o.gw6.is_link_local() && !wire::same_prefix(o.gw6, o.ip6, o.prefix6_len)))
            throw std::invalid_argument("--gw6: must be a link-local address or one inside the --ip6 prefix");
    }
    return o;
}

}  // namespace dpdk

bool parse_ip(const std::string& s, uint32_t& out) noexcept {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

std::string to_string(const Address& a) {
    char buf[INET6_ADDRSTRLEN];
    if (a.is_v4()) return ip_to_string(a.to_v4());
    return inet_ntop(AF_INET6, a.bytes, buf, sizeof buf) != nullptr ? std::string(buf) : std::string("?");
}

bool parse_address(const std::string& s, Address& out) noexcept {
    uint32_t ip = 0;
    if (parse_ip(s, ip)) {
        out = Address::v4(ip);
        return true;
    }
    Address a;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1) return false;
    out = a;
    return true;
}

std::string ip_to_string(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." + std::to_string((ip >> 8) & 255) +
           "." + std::to_string(ip & 255);
}

const char* options_help() noexcept {
    return "synack options (after --):\n"
           "  --ip A.B.C.D/LEN     our address and subnet (required)\n"
           "  --gw A.B.C.D         default gateway\n"
           "  --ip6 ADDR/LEN       our IPv6 address and prefix (either or both of --ip and --ip6; with --ip6\n"
           "                       alone, neighbour discovery and ping -6 work, TCP over IPv6 does not yet)\n"
           "  --gw6 ADDR           default IPv6 router (default: the one router advertisements name)\n"
           "  --port N             TCP port of the program\n"
           "  --eth-port N         DPDK port id (default 0)\n"
           "  --msl-ms N           MSL; TIME-WAIT lasts 2*MSL (default 30000)\n"
           "  --max-conns N        TCBs per core (default 65536)\n"
           "  --syncookies 0|1|2   SYN cookies: 0 never, 1 when a backlog or the table is full (default), 2 always\n"
           "  --rcv-buf N          receive buffer per connection, bytes (above 65535 the window is scaled)\n"
           "  --no-wscale, --no-timestamps, --no-sack  neither offer nor accept that option (RFC 7323, RFC 2018)\n"
           "  --mtu-probing        black-hole detection: full-sized data timing out twice lowers the MSS (RFC 4821)\n"
           "  --keepalive I,V,N    keepalive on every connection: probe after I s idle, every V s, give up after N\n"
           "                       unanswered (RFC 1122 §4.2.3.6; off by default)\n"
           "  --snd-buf N          send buffer per connection, bytes\n"
           "  --rto-min-ms N       RTO floor (default 200)\n"
           "  --cc cubic|newreno   congestion control per connection (default cubic)\n"
           "  --delack-ms N        delayed-ACK timeout (default 40)\n"
           "  --mbufs N            mbufs per NUMA socket (default 32767)\n"
           "  --mem-limit N        bytes (true size: whole mbufs) the TCP queues of one core may hold (default:\n"
           "                       the pool less twice the receive reserve, shared by the cores on it)\n"
           "  --mem-pressure-pct N memory pressure above N% of --mem-limit (default 75): prune, shrink windows,\n"
           "                       refuse sends with EAGAIN, reset the worst connections\n"
           "  --conn-rcv-mem N     true-size bytes one connection may hold received (default 2 x --rcv-buf)\n"
           "  --conn-snd-mem N     true-size bytes one connection may hold to send (default: --snd-buf in 536-byte mbufs)\n"
           "  --rx-reserve N       mbufs left to the receive path (default an eighth of --mbufs)\n"
           "  --persist-timeout-ms N  reset a peer whose window stays zero this long (default 300000; 0: never)\n"
           "  --user-timeout-ms N  give up when sent data stays unacknowledged this long (default 900000; 0: never)\n"
           "  --fin-wait-2-ms N    FIN-WAIT-2 idle limit (default 60000)\n"
           "  --duration-s N       stop by itself after N seconds\n"
           "  --stats-ms N         print counters every N ms\n"
           "  --loopback           two stacks in one process over net_ring ports (-l A,B): client on A\n"
           "                       at --ip + 1, server on B at --ip (and at --ip6 + 1, --ip6); with -l A\n"
           "                       both on A, taking turns (the other CPUs stay free for application threads)\n"
           "  --no-tso             one MSS per packet even where the port offers TCP segmentation offload\n"
           "  --pcap FILE          write what synack receives and sends (every core) to FILE as pcapng\n"
           "  --pcap-max-bytes N   stop capturing once FILE reaches N bytes (default 1 GiB)\n"
           "  --impair SPEC        with --loopback: impair each direction of the link, e.g.\n"
           "                       loss=1%,reorder=0.5%,dup=0.1%,corrupt=0.01%,delay=10ms,rate=1gbit,seed=7\n"
           "                       (also reorder-delay=TIME, queue=FRAMES at the rate limit; default seed 1)\n"
           "  --exception-tap NAME hand what synack does not terminate (other protocols and addresses, TCP ports\n"
           "                       without a listener) to the kernel through tap NAME, and send what it answers\n"
           "  --port-per-core      worker i drives DPDK port --eth-port + i with one queue (one net_af_xdp vdev\n"
           "                       per interface queue); flows go to their core by the software hash\n"
           "  --share-kernel       share a net_af_xdp interface and its address with the kernel (vdev with\n"
           "                       xdp_prog=" SYNACK_XDP_OBJ_HELP "): synack gets only TCP to its ports;\n"
           "                       --ip defaults to the interface's address; see docs/af_xdp.md\n"
           "  --ephemeral-ports LO-HI  local ports of active opens (default 32768-60999; with --share-kernel the\n"
           "                       ports above the kernel's ip_local_port_range)\n"
           "  -v                   verbose\n";
}

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_ip = false;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        std::string v;
        const auto eq = a.find('=');
        const bool known_flag =
            a == "-v" || a == "--verbose" || a == "--loopback" || a == "--no-tso" || a == "--port-per-core" ||
                                a == "--share-kernel";
        auto value = [&]() -> std::string {
            if (eq != std::string::npos) return a.substr(eq + 1);
            if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
            return argv[++i];
        };
        const std::string name = eq == std::string::npos ? a : a.substr(0, eq);
        if (known_flag) {
            if (a == "--no-tso")
                o.tso = false;
            else if (a == "--port-per-core")
                o.port_per_core = true;
            else if (a == "--share-kernel")
                o.share_kernel = true;
            else
                (a == "--loopback" ? o.loopback : o.verbose) = true;
        } else if (name == "--ip") {
            v = value();
            const auto slash = v.find('/');
            if (slash == std::string::npos) throw std::invalid_argument("--ip: expected A.B.C.D/LEN, got '" + v + "'");
            o.ip = address("--ip", v.substr(0, slash));
            o.prefix_len = static_cast<uint8_t>(number("--ip prefix length", v.substr(slash + 1), 1, 32));
            if (o.ip == 0 || (o.ip >> 24) == 127 || (o.ip >> 28) >= 14)
                throw std::invalid_argument("--ip: " + v + " is not a usable unicast address");
            have_ip = true;
        } else if (name == "--ip6" || name == "--gw6") {
            if (eq == std::string::npos) ++i;  // checked by dpdk::parse_ip6_options below
        } else if (name == "--gw") {
            o.gateway = address("--gw", value());
        } else if (name == "--port") {
            o.port = static_cast<uint16_t>(number("--port", value(), 1, 65535));
        } else if (name == "--eth-port") {
            o.eth_port = static_cast<uint16_t>(number("--eth-port", value(), 0, 65535));
        } else if (name == "--msl-ms") {
            o.tcp.msl_ms = static_cast<uint32_t>(number("--msl-ms", value(), 1, 600000));
        } else if (name == "--max-conns") {
            o.tcp.max_connections = static_cast<uint32_t>(number("--max-conns", value(), 1, 1u << 24));
        } else if (name == "--syncookies") {
            o.tcp.syn_cookies = static_cast<uint8_t>(number("--syncookies", value(), 0, 2));
        } else if (name == "--rcv-buf") {
            o.tcp.rcv_buf = static_cast<uint32_t>(number("--rcv-buf", value(), 1024, 64u << 20));
        } else if (name == "--no-wscale") {
            o.tcp.window_scaling = false;
        } else if (name == "--no-timestamps") {
            o.tcp.timestamps = false;
        } else if (name == "--no-sack") {
            o.tcp.sack = false;
        } else if (name == "--mtu-probing") {
            o.tcp.mtu_probing = true;
        } else if (name == "--keepalive") {
            const std::string v = value();
            unsigned idle = 0, intvl = 0, cnt = 0;
            char extra = 0;
            if (std::sscanf(v.c_str(), "%u,%u,%u%c", &idle, &intvl, &cnt, &extra) != 3 || idle == 0 || intvl == 0 ||
                cnt < 2 || cnt > 255 || idle > (1u << 22) || intvl > (1u << 22))
                throw std::invalid_argument("--keepalive IDLE,INTVL,CNT: seconds > 0, CNT in 2..255");
            o.tcp.keepalive = true;
            o.tcp.keepalive_idle_s = idle;
            o.tcp.keepalive_intvl_s = intvl;
            o.tcp.keepalive_cnt = cnt;
        } else if (name == "--snd-buf") {
            o.tcp.snd_buf = static_cast<uint32_t>(number("--snd-buf", value(), 1024, 64u << 20));
        } else if (name == "--cc") {
            const std::string v = value();
            if (v == "cubic") o.tcp.cc = CongestionAlgorithm::cubic;
            else if (v == "newreno") o.tcp.cc = CongestionAlgorithm::newreno;
            else throw std::invalid_argument("--cc: expected cubic or newreno, got '" + v + "'");
        } else if (name == "--rto-min-ms") {
            o.tcp.rto_min_ms = static_cast<uint32_t>(number("--rto-min-ms", value(), 1, 60000));
        } else if (name == "--delack-ms") {
            o.tcp.delayed_ack_ms = static_cast<uint32_t>(number("--delack-ms", value(), 1, 499));
        } else if (name == "--mbufs") {
            o.mbufs = static_cast<uint32_t>(number("--mbufs", value(), 1023, 1u << 24));
        } else if (name == "--mem-limit") {
            o.tcp.mem_limit = number("--mem-limit", value(), 1u << 16, uint64_t{1} << 40);
        } else if (name == "--mem-pressure-pct") {
            o.tcp.mem_pressure_pct = static_cast<uint32_t>(number("--mem-pressure-pct", value(), 20, 100));
        } else if (name == "--conn-rcv-mem") {
            o.tcp.conn_rcv_mem = static_cast<uint32_t>(number("--conn-rcv-mem", value(), 4096, 1u << 30));
        } else if (name == "--conn-snd-mem") {
            o.tcp.conn_snd_mem = static_cast<uint32_t>(number("--conn-snd-mem", value(), 4096, 1u << 30));
        } else if (name == "--rx-reserve") {
            o.tcp.rx_reserve_mbufs = static_cast<uint32_t>(number("--rx-reserve", value(), 1, 1u << 24));
        } else if (name == "--persist-timeout-ms") {
            o.tcp.persist_timeout_ms = static_cast<uint32_t>(number("--persist-timeout-ms", value(), 0, 1u << 31));
        } else if (name == "--user-timeout-ms") {
            o.tcp.user_timeout_ms = static_cast<uint32_t>(number("--user-timeout-ms", value(), 0, 1u << 31));
        } else if (name == "--fin-wait-2-ms") {
            o.tcp.fin_wait_2_timeout_ms = static_cast<uint32_t>(number("--fin-wait-2-ms", value(), 1, 1u << 31));
        } else if (name == "--duration-s") {
            o.duration_s = static_cast<uint32_t>(number("--duration-s", value(), 0, 1u << 30));
        } else if (name == "--pcap") {
            o.pcap = value();
            if (o.pcap.empty()) throw std::invalid_argument("--pcap: expected a file name");
        } else if (name == "--pcap-max-bytes") {
            o.pcap_max_bytes = number("--pcap-max-bytes", value(), 4096, 1ull << 50);
        } else if (name == "--impair") {
            o.impair = parse_impairment(value());
        } else if (name == "--exception-tap") {
            o.exception_tap = value();
            if (o.exception_tap.empty() || o.exception_tap.size() >= 16)
                throw std::invalid_argument("--exception-tap: expected an interface name of 1..15 characters");
        } else if (name == "--ephemeral-ports") {
            v = value();
            const auto dash = v.find('-');
            if (dash == std::string::npos) throw std::invalid_argument("--ephemeral-ports: expected LO-HI, got '" + v + "'");
            o.tcp.ephemeral_low = static_cast<uint16_t>(number("--ephemeral-ports low", v.substr(0, dash), 1, 65535));
            o.tcp.ephemeral_high =
                static_cast<uint16_t>(number("--ephemeral-ports high", v.substr(dash + 1), o.tcp.ephemeral_low, 65535));
            o.ephemeral_given = true;
        } else if (name == "--stats-ms") {
            o.stats_ms = static_cast<uint32_t>(number("--stats-ms", value(), 0, 1u << 30));
        } else {
            o.extra.push_back(a);
        }
    }
    const dpdk::Ip6Options o6 = dpdk::parse_ip6_options(argc, argv);
    o.ip6 = Address::v6(o6.ip6.b);
    o.prefix6_len = o6.prefix6_len;
    o.gw6 = Address::v6(o6.gw6.b);
    const bool have_ip6 = !o.ip6.is_unspecified();
    if (!have_ip && !have_ip6 && !o.share_kernel)
        throw std::invalid_argument("--ip A.B.C.D/LEN or --ip6 ADDR/LEN is required");
    if (o.loopback && have_ip6 && o.ip6.bytes[15] == 0xff)
        throw std::invalid_argument("--loopback: the client takes --ip6 + 1; give an address not ending in ff");
    if (o.share_kernel && o.loopback) throw std::invalid_argument("--share-kernel needs a net_af_xdp port, not --loopback");
    if (o.share_kernel && !o.exception_tap.empty())
        throw std::invalid_argument("--share-kernel and --exception-tap: the kernel keeps the interface already");
    if (o.impair.enabled() && !o.loopback) throw std::invalid_argument("--impair works on the --loopback link only");
    if (!have_ip && o.gateway != 0 && !o.share_kernel) throw std::invalid_argument("--gw needs --ip");
    if (have_ip && o.gateway != 0) {
        const uint32_t mask = ~0u << (32 - o.prefix_len);
        if ((o.gateway & mask) != (o.ip & mask))
            throw std::invalid_argument("--gw " + ip_to_string(o.gateway) + " is not inside " + ip_to_string(o.ip) +
                                        "/" + std::to_string(o.prefix_len));
    }
    return o;
}

}  // namespace synack
