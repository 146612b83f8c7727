/// @file
/// Small mbuf helpers DPDK does not provide in the form the interface needs.
#pragma once
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

/// Non-complemented RFC 1071 sum of [off, off + len) of a packet (off + len <= pkt_len), across segments.
/// Not rte_raw_cksum_mbuf(): in DPDK 22.11 it byte-swaps a segment's unreduced 32-bit sum through a uint16_t cast
/// when the segment starts at an odd offset, so chains with odd-length segments get wrong sums.
inline uint16_t mbuf_raw_cksum(const rte_mbuf* m, uint32_t off, uint32_t len) noexcept {
    if (off + len <= rte_pktmbuf_data_len(m)) [[likely]]
        return rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const char*, off), len);
    const rte_mbuf* seg = m;
    while (off >= seg->data_len) {
        off -= seg->data_len;
        seg = seg->next;
    }
    uint32_t sum = 0;
    for (uint32_t done = 0; done < len; seg = seg->next, off = 0) {
        const uint32_t n = seg->data_len - off < len - done ? seg->data_len - off : len - done;
        uint16_t part = rte_raw_cksum(rte_pktmbuf_mtod_offset(seg, const char*, off), n);
        if (done & 1) part = rte_bswap16(part);  // RFC 1071 §2(B): a sum over odd-aligned bytes is byte-swapped
        sum += part;
        done += n;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

/// True when the first segment's data may be rewritten in place: nobody else references the buffer.
inline bool mbuf_first_seg_writable(const rte_mbuf* m) noexcept {
    return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

}  // namespace synack::net
