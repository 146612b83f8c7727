// The counter tables generated from the X lists: every field has its report name at its own offset, and the
// CoreStats drop sums take exactly the counters of kind `drop`, so a new drop counter cannot be left out.
#include <cstddef>
#include <cctype>
#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "dpdk/counter_names.hpp"
#include "synack/events.hpp"

using namespace synack;
using dpdk::kNetCounterCount;
using dpdk::kNetCounters;
using dpdk::kTcpCounterCount;
using dpdk::kTcpCounters;

namespace {

constexpr size_t slot(size_t offset) { return offset / sizeof(uint64_t); }

// A struct whose only non-zero counter is slot k, set to v (through bytes: the structs are plain uint64_t).
template <class Counters, size_t N>
Counters only(size_t k, uint64_t v) {
    uint64_t raw[N] = {};
    raw[k] = v;
    Counters c;
    static_assert(sizeof(raw) == sizeof(c));
    std::memcpy(&c, raw, sizeof(c));
    return c;
}

size_t index_of(const dpdk::CounterInfo* t, size_t n, const std::string& name) {
    for (size_t i = 0; i < n; ++i)
        if (name == t[i].name) return i;
    return SIZE_MAX;
}

}  // namespace

TEST(Counters, EveryTcpFieldHasItsNameAtItsOffset) {
    size_t fields = 0;
#define CHECK_TCP(field, kind, meaning)                                                     \
    ++fields;                                                                               \
    if (std::string(#kind) != "parse" && std::string(#kind) != "states") {                  \
        EXPECT_EQ(index_of(kTcpCounters, kTcpCounterCount, "tcp." #field),                  \
                  slot(offsetof(tcp::EngineCounters, field))) << #field;                     \
    }
    SYNACK_TCP_COUNTERS(CHECK_TCP)
#undef CHECK_TCP
    EXPECT_GT(fields, 50u);
    const size_t base = slot(offsetof(tcp::EngineCounters, rx_parse_errors));
    for (int s = 0; s < static_cast<int>(wire::ParseStatus::count_); ++s)
        EXPECT_EQ(kTcpCounters[base + s].name,
                  std::string("tcp.rx_parse.") + wire::to_string(static_cast<wire::ParseStatus>(s)));
    EXPECT_STREQ(wire::to_string(wire::ParseStatus::partial_tcp_checksum), "partial_tcp_checksum");
    // The state gauges, one per synack::State in order.
    const size_t states = slot(offsetof(tcp::EngineCounters, conn_in_state));
    for (unsigned s = 0; s < tcp::kTcpStateCount; ++s) {
        std::string want = std::string("tcp.conn_in_state.") + synack::to_string(static_cast<synack::State>(s));
        for (char& ch : want) ch = ch == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_EQ(kTcpCounters[states + s].name, want);
    }
    EXPECT_STREQ(wire::to_string(wire::ParseStatus::count_), "?");
}

TEST(Counters, EveryNetFieldHasItsNameAtItsOffset) {
#define CHECK_NET(field, kind, meaning)                                                                 \
    EXPECT_EQ(index_of(kNetCounters, kNetCounterCount, "net." #field), slot(offsetof(net::NetCounters, field))) \
        << #field;
    SYNACK_NET_COUNTERS(CHECK_NET)
#undef CHECK_NET
}

TEST(Counters, NamesAreUniqueAndEveryCounterSaysWhenItMoves) {
    std::set<std::string> seen;
    for (const auto* t : {&kTcpCounters[0], &kNetCounters[0]}) {
        const size_t n = t == kTcpCounters ? kTcpCounterCount : kNetCounterCount;
        for (size_t i = 0; i < n; ++i) {
            EXPECT_TRUE(seen.insert(t[i].name).second) << t[i].name;
            EXPECT_GT(std::strlen(t[i].meaning), 5u) << t[i].name;
        }
    }
    EXPECT_EQ(seen.size(), kTcpCounterCount + kNetCounterCount);
}

// Each counter alone: tcp_rx_dropped sees it exactly when its kind is `drop`.
TEST(Counters, TcpRxDroppedSumsExactlyTheDropCounters) {
    uint64_t all[kTcpCounterCount];
    uint64_t expected = 0;
    for (size_t k = 0; k < kTcpCounterCount; ++k) {
        const uint64_t v = 1000 + k;
        const auto c = only<tcp::EngineCounters, kTcpCounterCount>(k, v);
        EXPECT_EQ(dpdk::tcp_rx_dropped(c), kTcpCounters[k].drop ? v : 0) << kTcpCounters[k].name;
        all[k] = v;
        if (kTcpCounters[k].drop) expected += v;
    }
    tcp::EngineCounters c;
    std::memcpy(&c, all, sizeof(c));
    EXPECT_EQ(dpdk::tcp_rx_dropped(c), expected);
    // Pinned examples of both kinds, so a list that marks nothing (or everything) fails.
    const auto drop = [](const char* n) { return kTcpCounters[index_of(kTcpCounters, kTcpCounterCount, n)].drop; };
    EXPECT_TRUE(drop("tcp.rx_parse.bad_tcp_checksum"));
    EXPECT_TRUE(drop("tcp.rx_no_tcb"));
    EXPECT_TRUE(drop("tcp.rx_mem_dropped"));
    EXPECT_FALSE(drop("tcp.rx_parse.ok"));
    EXPECT_FALSE(drop("tcp.rx_data_bytes"));
    EXPECT_FALSE(drop("tcp.tx_segments"));
}

TEST(Counters, NetRxDroppedSumsExactlyTheDropCounters) {
    for (size_t k = 0; k < kNetCounterCount; ++k) {
        const uint64_t v = 7 + k;
        const auto c = only<net::NetCounters, kNetCounterCount>(k, v);
        EXPECT_EQ(dpdk::net_rx_dropped(c), kNetCounters[k].drop ? v : 0) << kNetCounters[k].name;
    }
    const auto drop = [](const char* n) { return kNetCounters[index_of(kNetCounters, kNetCounterCount, n)].drop; };
    EXPECT_TRUE(drop("net.rx_truncated"));
    EXPECT_TRUE(drop("net.rx_ip_bad_checksum"));
    EXPECT_FALSE(drop("net.rx_frames"));
    EXPECT_FALSE(drop("net.rx_tcp"));
}

// The sums are of received packets: a transmit-side counter marked `drop` would mix in what the sum does not say.
TEST(Counters, OnlyReceiveCountersAreRxDrops) {
    for (size_t k = 0; k < kTcpCounterCount; ++k) {
        const std::string n = kTcpCounters[k].name;
        if (kTcpCounters[k].drop) {
            EXPECT_EQ(n.rfind("tcp.rx_", 0), 0u) << n;
        }
    }
    for (size_t k = 0; k < kNetCounterCount; ++k) {
        const std::string n = kNetCounters[k].name;
        if (kNetCounters[k].drop) {
            EXPECT_EQ(n.rfind("net.rx_", 0), 0u) << n;
        }
    }
}
