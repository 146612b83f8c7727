// Internet checksum (RFC 1071) over part of an mbuf chain. DPDK 22.11's rte_raw_cksum_mbuf() mis-sums chains
// with odd-length segments (it byte-swaps a segment's unreduced sum through a uint16_t cast; fixed upstream
// later), and odd-length segments are exactly what synack's zero-copy segments are made of. So the chained case
// is done here, one rte_raw_cksum() per segment.
#pragma once
#include <cstdint>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

namespace synack::wire {

/// Non-complemented RFC 1071 sum of bytes [off, off + len) of a packet (off + len <= pkt_len), across segments.
inline uint16_t mbuf_raw_cksum(const rte_mbuf* m, uint32_t off, uint32_t len) noexcept {
    if (len == 0) return 0;
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

/// rte_ipv4_phdr_cksum() for TCP, from host-order values rather than from the header just written: DPDK's copies
/// the fields into a pseudo-header on the stack and sums that with vector loads, which stall on the scalar stores
/// before them (store forwarding); it was a third of prepend_headers(). `l4_len` 0 leaves the length out (TSO).
inline uint16_t ipv4_tcp_phdr_cksum(uint32_t src_ip, uint32_t dst_ip, uint32_t l4_len) noexcept {
    uint32_t sum = (src_ip >> 16) + (src_ip & 0xffff) + (dst_ip >> 16) + (dst_ip & 0xffff) + IPPROTO_TCP + l4_len;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return rte_cpu_to_be_16(static_cast<uint16_t>(sum));  // a sum of big-endian words, stored as one
}

/// The TCP checksum field for the L4 header at `l4_off` of an IPv4 packet (l4_off + l4_len <= pkt_len).
inline uint16_t ipv4_l4_cksum(const rte_mbuf* m, const rte_ipv4_hdr* ip, uint32_t l4_off, uint32_t l4_len) noexcept {
    uint32_t sum = mbuf_raw_cksum(m, l4_off, l4_len);
    sum += ipv4_tcp_phdr_cksum(rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_32(ip->dst_addr), l4_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace synack::wire
