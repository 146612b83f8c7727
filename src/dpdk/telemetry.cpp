#include "dpdk/telemetry.hpp"

#include <rte_telemetry.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "dpdk/capture.hpp"
#include "dpdk/counter_names.hpp"
#include "dpdk/worker.hpp"

namespace synack::dpdk {
namespace {

// Telemetry serves each client on its own thread, so the callbacks serialise here (never on a worker).
std::mutex g_mu;
Worker* const* g_workers = nullptr;
unsigned g_count = 0;
const Capture* g_capture = nullptr;
bool g_registered = false;

// Asks worker `w` for a snapshot and waits for it. A worker that is not running (before Stack::run or after
// it) cannot answer: then this thread claims the request and serves it, nobody else touching the worker.
bool request(Worker& w, uint32_t offset, uint32_t limit) {
    Worker::Snapshot& s = w.snapshot;
    // An earlier request that timed out must not be served while the fields change: cancel it if nobody
    // claimed it yet, and wait for a serve in progress to end.
    uint64_t old = s.claimed.load(std::memory_order_acquire);
    const uint64_t pending = s.requested.load(std::memory_order_relaxed);
    if (old != pending && s.claimed.compare_exchange_strong(old, pending, std::memory_order_acq_rel)) {
        s.served.store(pending, std::memory_order_release);
        old = pending;
    }
    for (int i = 0; i < 20000 && s.served.load(std::memory_order_acquire) != old; ++i)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (s.served.load(std::memory_order_acquire) != old) return false;
    s.offset = offset;
    s.limit = limit;
    s.conns.clear();
    s.conns.reserve(limit);
    const uint64_t r = s.requested.load(std::memory_order_relaxed) + 1;
    s.requested.store(r, std::memory_order_release);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
        if (s.served.load(std::memory_order_acquire) == r) return true;
        if (!w.running.load(std::memory_order_acquire) && w.serve_snapshot()) return true;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return s.served.load(std::memory_order_acquire) == r;
}

// Telemetry dict keys allow only [A-Za-z0-9_/]: "tcp.rx_parse.ok" becomes "tcp/rx_parse/ok".
std::string key(const char* name) {
    std::string k = name;
    for (char& c : k)
        if (c == '.') c = '/';
    return k;
}

void add_core_stats(rte_tel_data* d, const CoreStats& c) {
    rte_tel_data_add_dict_u64(d, "rx_packets", c.rx_packets);
    rte_tel_data_add_dict_u64(d, "tx_packets", c.tx_packets);
    rte_tel_data_add_dict_u64(d, "tx_dropped", c.tx_dropped);
    rte_tel_data_add_dict_u64(d, "rx_dispatched", c.rx_dispatched);
    rte_tel_data_add_dict_u64(d, "rx_dispatch_dropped", c.rx_dispatch_dropped);
    rte_tel_data_add_dict_u64(d, "connections_opened", c.connections_opened);
    rte_tel_data_add_dict_u64(d, "connections_closed", c.connections_closed);
    rte_tel_data_add_dict_u64(d, "connections_reset", c.connections_reset);
    rte_tel_data_add_dict_u64(d, "connections_timed_out", c.connections_timed_out);
    rte_tel_data_add_dict_u64(d, "tcp_rx_dropped", c.tcp_rx_dropped);
    rte_tel_data_add_dict_u64(d, "net_rx_dropped", c.net_rx_dropped);
    rte_tel_data_add_dict_u64(d, "retransmits", c.retransmits);
}

int on_stats(const char*, const char*, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_workers == nullptr) return -ENODEV;
    tcp::EngineCounters tc{};
    net::NetCounters nc{};
    CoreStats cs{};
    uint64_t conns = 0, time_wait = 0, live = 0;
    for (unsigned i = 0; i < g_count; ++i) {
        if (!request(*g_workers[i], 0, 0)) return -EAGAIN;
        const Worker::Snapshot& s = g_workers[i]->snapshot;
        const auto* t = reinterpret_cast<const uint64_t*>(&s.tcp);
        auto* tt = reinterpret_cast<uint64_t*>(&tc);
        for (size_t k = 0; k < kTcpCounterCount; ++k) tt[k] += t[k];
        const auto* n = reinterpret_cast<const uint64_t*>(&s.net);
        auto* nn = reinterpret_cast<uint64_t*>(&nc);
        for (size_t k = 0; k < kNetCounterCount; ++k) nn[k] += n[k];
        const auto* c = reinterpret_cast<const uint64_t*>(&s.stats);
        auto* cc = reinterpret_cast<uint64_t*>(&cs);
        for (size_t k = 0; k < sizeof(CoreStats) / sizeof(uint64_t); ++k) cc[k] += c[k];
        conns += s.connections;
        time_wait += s.time_wait;
        live += s.live;
    }
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "workers", g_count);
    rte_tel_data_add_dict_u64(d, "connections", conns);
    rte_tel_data_add_dict_u64(d, "connections_held", live);
    rte_tel_data_add_dict_u64(d, "time_wait", time_wait);
    add_core_stats(d, cs);
    const auto* t = reinterpret_cast<const uint64_t*>(&tc);
    for (size_t k = 0; k < kTcpCounterCount; ++k) rte_tel_data_add_dict_u64(d, key(kTcpCounters[k].name).c_str(), t[k]);
    const auto* n = reinterpret_cast<const uint64_t*>(&nc);
    for (size_t k = 0; k < kNetCounterCount; ++k) rte_tel_data_add_dict_u64(d, key(kNetCounters[k].name).c_str(), n[k]);
    if (g_capture != nullptr) {
        rte_tel_data_add_dict_u64(d, "pcap/packets", g_capture->packets_written());
        rte_tel_data_add_dict_u64(d, "pcap/bytes", g_capture->bytes_written());
    }
    return 0;
}

int on_core(const char*, const char* params, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_workers == nullptr) return -ENODEV;
    char* end = nullptr;
    const unsigned long i = params != nullptr ? std::strtoul(params, &end, 10) : 0;
    if (params != nullptr && (end == params || *end != '\0')) return -EINVAL;
    if (i >= g_count) return -EINVAL;
    if (!request(*g_workers[i], 0, 0)) return -EAGAIN;
    const Worker::Snapshot& s = g_workers[i]->snapshot;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "core", i);
    rte_tel_data_add_dict_u64(d, "connections", s.connections);
    rte_tel_data_add_dict_u64(d, "connections_held", s.live);
    rte_tel_data_add_dict_u64(d, "time_wait", s.time_wait);
    add_core_stats(d, s.stats);
    return 0;
}

// One connection as an array of strings, in the order of kConnFields.
constexpr const char* kConnFields[] = {"core", "local", "remote", "state", "mss", "cwnd", "ssthresh", "srtt_us",
                                       "rttvar_us", "rto_us", "snd_wnd", "rcv_wnd", "bytes_in_flight", "send_queue",
                                       "recv_queue", "retransmits"};

rte_tel_data* conn_array(const ConnInfo& c) {
    rte_tel_data* a = rte_tel_data_alloc();
    if (a == nullptr) return nullptr;
    rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
    auto add = [&](const std::string& v) { rte_tel_data_add_array_string(a, v.c_str()); };
    add(std::to_string(c.core));
    // IPv6 in brackets, as in a URL (RFC 3986 §3.2.2): the port stays readable.
    auto endpoint = [](const Address& ip, uint16_t port) {
        std::string s;
        if (!ip.is_v4()) s += '[';
        s += to_string(ip);
        if (!ip.is_v4()) s += ']';
        s += ':';
        s += std::to_string(port);
        return s;
    };
    add(endpoint(c.local, c.local_port));
    add(endpoint(c.remote, c.remote_port));
    add(to_string(c.state));
    for (uint64_t v : {uint64_t{c.snd_mss}, uint64_t{c.cwnd}, uint64_t{c.ssthresh}, uint64_t{c.srtt_us},
                       uint64_t{c.rttvar_us}, uint64_t{c.rto_us}, uint64_t{c.snd_wnd}, uint64_t{c.rcv_wnd},
                       uint64_t{c.bytes_in_flight}, uint64_t{c.send_queue}, uint64_t{c.recv_queue},
                       uint64_t{c.retransmits}})
        add(std::to_string(v));
    return a;
}

int on_conns(const char*, const char* params, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_workers == nullptr) return -ENODEV;
    char* end = nullptr;
    const unsigned long offset = params != nullptr ? std::strtoul(params, &end, 10) : 0;
    if (params != nullptr && (end == params || *end != '\0')) return -EINVAL;
    rte_tel_data_start_dict(d);
    rte_tel_data* fields = rte_tel_data_alloc();
    if (fields == nullptr) return -ENOMEM;
    rte_tel_data_start_array(fields, RTE_TEL_STRING_VAL);
    for (const char* f : kConnFields) rte_tel_data_add_array_string(fields, f);
    // Cores in order; `skip` counts down the offset through them.
    uint64_t total = 0, skip = offset, listed = 0;
    for (unsigned i = 0; i < g_count; ++i) {
        const uint32_t room = static_cast<uint32_t>(kConnsPerCall - listed);
        if (!request(*g_workers[i], static_cast<uint32_t>(skip), room)) {
            rte_tel_data_free(fields);
            return -EAGAIN;
        }
        const Worker::Snapshot& s = g_workers[i]->snapshot;
        total += s.live;
        skip = skip > s.live ? skip - s.live : 0;
        for (const ConnInfo& c : s.conns) {
            rte_tel_data* a = conn_array(c);
            if (a == nullptr) continue;
            char name[32];
            std::snprintf(name, sizeof name, "conn_%lu", static_cast<unsigned long>(offset + listed));
            rte_tel_data_add_dict_container(d, name, a, 0);
            ++listed;
        }
    }
    rte_tel_data_add_dict_u64(d, "total", total);
    rte_tel_data_add_dict_u64(d, "offset", offset);
    rte_tel_data_add_dict_u64(d, "listed", listed);
    rte_tel_data_add_dict_container(d, "fields", fields, 0);
    return 0;
}

}  // namespace

void telemetry_attach(Worker* const* workers, unsigned count, const Capture* capture) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_workers = workers;
    g_count = count;
    g_capture = capture;
    if (g_registered) return;
    g_registered = true;
    rte_telemetry_register_cmd("/synack/stats", on_stats,
                               "Every synack counter summed over the cores, and connection counts. No parameters");
    rte_telemetry_register_cmd("/synack/core", on_core, "One core's counters. Parameter: core index (0..workers-1)");
    rte_telemetry_register_cmd("/synack/conns", on_conns,
                               "Connections the application holds (32 per call). Parameter: offset (default 0)");
}

void telemetry_detach() {
    std::lock_guard<std::mutex> lock(g_mu);
    g_workers = nullptr;
    g_count = 0;
    g_capture = nullptr;
}

}  // namespace synack::dpdk
