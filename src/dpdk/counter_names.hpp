// Report and telemetry names, meanings and drop sums of the engine and interface counters, generated from their
// X lists (SYNACK_TCP_COUNTERS in src/tcp/counters.hpp, SYNACK_NET_COUNTERS in src/net/counters.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>

#include "net/counters.hpp"
#include "tcp/counters.hpp"

namespace synack::dpdk {

/// One counter, in field order: counter k is the k-th uint64_t of its struct.
struct CounterInfo {
    const char* name;     ///< "tcp.rx_no_tcb", "tcp.rx_parse.truncated", "net.rx_frames"
    const char* meaning;  ///< when it is incremented (docs/counters.md)
    bool drop;            ///< kind `drop`: part of CoreStats::tcp_rx_dropped or net_rx_dropped
};

#define SYNACK_IS_DROP_count false
#define SYNACK_IS_DROP_drop true
#define SYNACK_TCP_PARSE_INFO(status, kind, meaning) {"tcp.rx_parse." #status, meaning, SYNACK_IS_DROP_##kind},
#define SYNACK_TCP_INFO(field, kind, meaning) SYNACK_TCP_INFO_##kind(field, meaning)
#define SYNACK_TCP_INFO_count(field, meaning) {"tcp." #field, meaning, false},
#define SYNACK_TCP_INFO_drop(field, meaning) {"tcp." #field, meaning, true},
#define SYNACK_TCP_INFO_parse(field, meaning) SYNACK_PARSE_STATUSES(SYNACK_TCP_PARSE_INFO)
#define SYNACK_TCP_STATE_INFO(state) {"tcp.conn_in_state." #state, "gauge: connections now in this state", false},
#define SYNACK_TCP_INFO_states(field, meaning) SYNACK_TCP_STATES(SYNACK_TCP_STATE_INFO)
#define SYNACK_NET_INFO(field, kind, meaning) {"net." #field, meaning, SYNACK_IS_DROP_##kind},

inline constexpr CounterInfo kTcpCounters[] = {SYNACK_TCP_COUNTERS(SYNACK_TCP_INFO)};
inline constexpr CounterInfo kNetCounters[] = {SYNACK_NET_COUNTERS(SYNACK_NET_INFO)};
constexpr size_t kTcpCounterCount = std::size(kTcpCounters);
constexpr size_t kNetCounterCount = std::size(kNetCounters);
static_assert(kTcpCounterCount * sizeof(uint64_t) == sizeof(tcp::EngineCounters), "a field without a name");
static_assert(kNetCounterCount * sizeof(uint64_t) == sizeof(net::NetCounters), "a field without a name");

#define SYNACK_PARSE_DROP(status, kind, meaning) SYNACK_IS_DROP_##kind,
inline constexpr bool kParseStatusDrop[] = {SYNACK_PARSE_STATUSES(SYNACK_PARSE_DROP)};

/// CoreStats::tcp_rx_dropped: the sum of every counter of kind `drop` in SYNACK_TCP_COUNTERS and of every
/// tcp.rx_parse.STATUS of kind `drop` in SYNACK_PARSE_STATUSES (all but ok).
#define SYNACK_ADD_DROP(field, kind, meaning) SYNACK_ADD_DROP_##kind(field)
#define SYNACK_ADD_DROP_count(field)
#define SYNACK_ADD_DROP_drop(field) s += c.field;
#define SYNACK_ADD_DROP_states(field)
#define SYNACK_ADD_DROP_parse(field) \
    for (size_t i = 0; i < std::size(c.field); ++i) s += kParseStatusDrop[i] ? c.field[i] : 0;
inline uint64_t tcp_rx_dropped(const tcp::EngineCounters& c) noexcept {
    uint64_t s = 0;
    SYNACK_TCP_COUNTERS(SYNACK_ADD_DROP)
    return s;
}

/// CoreStats::net_rx_dropped: the sum of every counter of kind `drop` in SYNACK_NET_COUNTERS.
inline uint64_t net_rx_dropped(const net::NetCounters& c) noexcept {
    uint64_t s = 0;
    SYNACK_NET_COUNTERS(SYNACK_ADD_DROP)
    return s;
}

#undef SYNACK_ADD_DROP_states
#undef SYNACK_ADD_DROP_parse
#undef SYNACK_ADD_DROP_drop
#undef SYNACK_ADD_DROP_count
#undef SYNACK_ADD_DROP
#undef SYNACK_PARSE_DROP
#undef SYNACK_NET_INFO
#undef SYNACK_TCP_INFO_states
#undef SYNACK_TCP_STATE_INFO
#undef SYNACK_TCP_INFO_parse
#undef SYNACK_TCP_INFO_drop
#undef SYNACK_TCP_INFO_count
#undef SYNACK_TCP_INFO
#undef SYNACK_TCP_PARSE_INFO
#undef SYNACK_IS_DROP_drop
#undef SYNACK_IS_DROP_count

}  // namespace synack::dpdk
