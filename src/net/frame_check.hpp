/// @file
/// The two moves of every receive path: make sure a header is really there, and drop with a counter.
#pragma once
#include <cstdint>

#include <rte_mbuf.h>

#include "net/counters.hpp"

namespace synack::net {

/// Counts and frees: every drop has a named counter.
inline void drop(rte_mbuf* m, uint64_t& counter) noexcept {
    ++counter;
    rte_pktmbuf_free(m);
}

/// drop() for receive paths that return the mbuf to their caller.
inline rte_mbuf* dropped(rte_mbuf* m, uint64_t& counter) noexcept {
    drop(m, counter);
    return nullptr;
}

/// True when the first len bytes sit in the first segment, so headers can be read through one pointer.
/// Otherwise m is dropped: rx_truncated if the packet is shorter than len, else rx_headers_split.
inline bool headers_in_first_seg(rte_mbuf* m, uint32_t len, NetCounters& c) noexcept {
    if (len <= rte_pktmbuf_data_len(m)) [[likely]]
        return true;
    drop(m, len > rte_pktmbuf_pkt_len(m) ? c.rx_truncated : c.rx_headers_split);
    return false;
}

}  // namespace synack::net
