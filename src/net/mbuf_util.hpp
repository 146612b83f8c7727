/// @file
/// Small mbuf helpers DPDK does not provide in the form the interface needs.
#pragma once
#include "wire/checksum.hpp"
#include <cstdint>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

namespace synack::net {

/// Shortens the packet to len bytes (len <= pkt_len), freeing whole segments past it. rte_pktmbuf_trim() only cuts
/// within the last segment; Ethernet padding or a lying frame can end anywhere.
inline void mbuf_trim_to(rte_mbuf* m, uint32_t len) noexcept {
    if (rte_pktmbuf_pkt_len(m) == len) [[likely]]
        return;
    rte_mbuf* seg = m;
    uint32_t left = len;
    uint16_t segs = 1;
    while (left > seg->data_len) {
        left -= seg->data_len;
        seg = seg->next;
        ++segs;
    }
    seg->data_len = static_cast<uint16_t>(left);
    rte_mbuf* rest = seg->next;
    seg->next = nullptr;
    m->nb_segs = segs;
    m->pkt_len = len;
    if (rest != nullptr) rte_pktmbuf_free(rest);
}

using wire::mbuf_raw_cksum;  // the chain-safe sum, shared with the TCP path

/// True when the first segment's data may be rewritten in place: nobody else references the buffer.
inline bool mbuf_first_seg_writable(const rte_mbuf* m) noexcept {
    return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

}  // namespace synack::net
