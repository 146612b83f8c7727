#include "dpdk/mbuf_pool.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <cstring>

namespace synack::dpdk {

rte_mempool* create_mbuf_pool(const std::string& name, unsigned n, unsigned cache, uint16_t data_room, int socket,
                              bool packed) {
    if (!packed) return rte_pktmbuf_pool_create(name.c_str(), n, cache, 0, data_room, socket);
    // rte_pktmbuf_pool_create() with the one flag it does not take (rte_mbuf.h describes these steps).
    rte_pktmbuf_pool_private priv{};
    priv.mbuf_data_room_size = data_room;
    priv.mbuf_priv_size = 0;
    rte_mempool* mp = rte_mempool_create_empty(name.c_str(), n, sizeof(rte_mbuf) + data_room, cache, sizeof priv,
                                               socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
    if (mp == nullptr) return nullptr;
    int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr);
    if (rc == 0) {
        rte_pktmbuf_pool_init(mp, &priv);
        rc = rte_mempool_populate_default(mp);
    }
    if (rc < 0) {
        rte_mempool_free(mp);
        rte_errno = -rc;
        return nullptr;
    }
    rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
    return mp;
}

namespace {
struct UmemRange {
    uintptr_t begin;
    uintptr_t end;
    uint32_t outside = 0;
};
void count_outside(rte_mempool* mp, void* arg, void* obj, unsigned) {
    auto* r = static_cast<UmemRange*>(arg);
    const auto start = reinterpret_cast<uintptr_t>(obj) - mp->header_size;  // the chunk starts at the object header
    const auto end = start + mp->header_size + mp->elt_size + mp->trailer_size;
    if (start < r->begin || end > r->end) ++r->outside;
}
}  // namespace

uint32_t mbufs_outside_umem(const rte_mempool* pool) {
    auto* mp = const_cast<rte_mempool*>(pool);  // the iterators take a non-const pool; nothing is changed
    const rte_mempool_memhdr* first = STAILQ_FIRST(&mp->mem_list);
    if (first == nullptr) return 0;
    // The PMD's own arithmetic: the first chunk's page, populated_size x object size, plus the offset in the page.
    const auto addr = reinterpret_cast<uintptr_t>(first->addr);
    const uintptr_t base = addr & ~(static_cast<uintptr_t>(getpagesize()) - 1);
    const uint64_t obj = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, nullptr);
    UmemRange r{base, base + static_cast<uintptr_t>(mp->populated_size) * obj + (addr - base)};
    rte_mempool_obj_iter(mp, count_outside, &r);
    return r.outside;
}

bool any_af_xdp_port() {
    uint16_t id;
    RTE_ETH_FOREACH_DEV(id) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(id, &info) == 0 && info.driver_name != nullptr &&
            std::strcmp(info.driver_name, "net_af_xdp") == 0)
            return true;
    }
    return false;
}

}  // namespace synack::dpdk
