// Writing a TCP header and its options, shared by the IPv4 and IPv6 builders (segment.cpp, segment6.cpp).
#pragma once
#include <cstdint>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "wire/segment.hpp"
#include "wire/tcp_options.hpp"

namespace synack::wire {

/// Fills the TCP header at `th` (checksum 0, for the caller's sum or the offload), its `opt_len` option bytes,
/// and the mbuf's l2/l3/l4 lengths.
inline void write_tcp_header(rte_mbuf* m, rte_tcp_hdr* th, const SegmentHeader& h, uint32_t opt_len,
                             uint16_t l3_len) noexcept {
    th->src_port = rte_cpu_to_be_16(h.src_port);
    th->dst_port = rte_cpu_to_be_16(h.dst_port);
    th->sent_seq = rte_cpu_to_be_32(h.seq);
    th->recv_ack = rte_cpu_to_be_32(h.ack);
    th->data_off = static_cast<uint8_t>(((kTcpHeaderLen + opt_len) / 4) << 4);
    th->tcp_flags = h.flags;
    th->rx_win = rte_cpu_to_be_16(h.wnd);
    th->cksum = 0;
    th->tcp_urp = 0;
    if (opt_len > 0) write_tcp_options(reinterpret_cast<uint8_t*>(th + 1), *h.options);
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = l3_len;
    m->l4_len = static_cast<uint16_t>(kTcpHeaderLen + opt_len);
}

}  // namespace synack::wire
