// Packet mbuf pools, and the check that a net_af_xdp port can use one as its UMEM.
//
// net_af_xdp (DPDK 22.11, unaligned-chunk mode) registers the RX pool's memory as its UMEM: from the first memory
// chunk's page, populated_size x object size bytes. A pool laid out for DMA keeps every object inside one page, so
// with 4 KB pages (--no-huge) a 2,368-byte mbuf takes a whole page and the pool spans 1.7 times what the UMEM
// covers. The kernel discards fill-ring addresses beyond the UMEM without a trace, each one a frame lost for good:
// once the mbufs in use drift there, the fill ring runs dry and the queue receives nothing more (seen: one of two
// queues dead after 50K frames). A packed pool (RTE_MEMPOOL_F_NO_IOVA_CONTIG: objects back to back) is exactly
// what the UMEM covers; no DMA engine reads it, so page-contiguity buys nothing there.
#pragma once
#include <cstdint>
#include <string>

struct rte_mempool;

namespace synack::dpdk {

/// rte_pktmbuf_pool_create(), and with `packed` the objects back to back (RTE_MEMPOOL_F_NO_IOVA_CONTIG), for ports
/// that read the pool's memory as one virtual range (net_af_xdp). nullptr with rte_errno set on failure.
rte_mempool* create_mbuf_pool(const std::string& name, unsigned n, unsigned cache, uint16_t data_room, int socket,
                              bool packed);

/// How many of the pool's objects lie outside the range net_af_xdp registers as UMEM (see above). 0 means an
/// af_xdp port can use every mbuf of the pool.
uint32_t mbufs_outside_umem(const rte_mempool* pool);

/// True if any probed port is a net_af_xdp vdev.
bool any_af_xdp_port();

}  // namespace synack::dpdk
