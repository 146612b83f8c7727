// DPDK telemetry commands for a running Stack, readable with dpdk-telemetry.py and tools/synack-stat:
//   /synack/stats          every counter summed over the cores, connection counts, capture counts
//   /synack/core,N         core N's own counters (CoreStats) and connection counts
//   /synack/conns,OFFSET   up to kConnsPerCall connections the application holds, from OFFSET on (all cores
//                          in order): 4-tuple, state, cwnd, ssthresh, srtt, rttvar, rto, windows, bytes in
//                          flight, queues, retransmissions
// Callbacks run on DPDK's telemetry thread; they never read a worker's TCBs or counters, they ask the worker
// for a snapshot (Worker::Snapshot) and wait for it.
#pragma once

namespace synack::dpdk {

class Worker;
class Capture;

inline constexpr unsigned kConnsPerCall = 32;  // telemetry replies are at most 16 KB

/// Makes the commands answer for these workers (registering them the first time). One Stack at a time.
void telemetry_attach(Worker* const* workers, unsigned count, const Capture* capture);
/// The commands answer "no stack" from now on (DPDK 22.11 cannot unregister a command).
void telemetry_detach();

}  // namespace synack::dpdk
