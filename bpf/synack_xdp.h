/* The contract between bpf/synack_xdp.c and synack (src/dpdk/xdp_share.cpp): map names and the config record.
 * Plain C with kernel UAPI types: included by the BPF program and by the C++ library. */
#ifndef SYNACK_XDP_H
#define SYNACK_XDP_H
#include <linux/types.h>

/* DPDK 22.11's net_af_xdp PMD, given xdp_prog=PATH, loads the object, looks up this map by name and puts the
 * queue's XSK at key = queue index (load_custom_xdp_prog / xsk_configure in drivers/net/af_xdp/rte_eth_af_xdp.c). */
#define SYNACK_XDP_XSKS_MAP "xsks_map"
/* TCP ports synack listens on: key the port in host order, value 1. */
#define SYNACK_XDP_PORTS_MAP "synack_ports"
/* One record (key 0): the addresses and the ephemeral range of synack's active opens. */
#define SYNACK_XDP_CONFIG_MAP "synack_config"
#define SYNACK_XDP_MAX_PORTS 1024
#define SYNACK_XDP_MAX_QUEUES 64

struct synack_xdp_config {
    __u32 ip_be;          /* the shared IPv4 address, network order; 0: no IPv4 TCP redirected */
    __u16 ephemeral_low;  /* local ports of synack's active opens, host order, inclusive; low > high: none */
    __u16 ephemeral_high;
    __u32 ip6_be[4];      /* the shared IPv6 address, network order; all zero: no IPv6 TCP redirected */
};

#endif
