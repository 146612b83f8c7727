// Names of the engine and interface counters, in field order (for reports and telemetry).
#pragma once
#include <cstddef>
#include "net/counters.hpp"
#include "tcp/counters.hpp"

namespace synack::dpdk {

constexpr size_t kTcpCounterCount = sizeof(tcp::EngineCounters) / sizeof(uint64_t);
extern const char* const kTcpCounterNames[];
constexpr size_t kNetCounterCount = sizeof(net::NetCounters) / sizeof(uint64_t);
extern const char* const kNetCounterNames[];

}  // namespace synack::dpdk
