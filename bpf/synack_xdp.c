/* synack's XDP program: share one interface (and its address) between synack and the kernel.
 * Redirects to synack's AF_XDP socket on this queue only IPv4 TCP to synack's address whose destination port is
 * one synack listens on (synack_ports) or lies in the ephemeral range of synack's active opens (synack_config);
 * XDP_PASS for everything else (ARP, ICMP, IPv6, fragments, SSH and every other TCP port), so the kernel keeps
 * answering them. synack fills the maps (src/dpdk/xdp_share.cpp); DPDK's net_af_xdp PMD fills xsks_map.
 * Built by meson and CMake with: clang -target bpf -O2 -g -c synack_xdp.c */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "synack_xdp.h"

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, SYNACK_XDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SYNACK_XDP_MAX_PORTS);
    __type(key, __u16);
    __type(value, __u8);
} synack_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct synack_xdp_config);
} synack_config SEC(".maps");

SEC("xdp")
int synack_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
        return XDP_PASS;
    /* Fragments go to the kernel: synack drops them anyway, and the kernel may reassemble what is its own. */
    if (ip->frag_off & bpf_htons(0x3fff))
        return XDP_PASS;
    __u32 key = 0;
    struct synack_xdp_config *cfg = bpf_map_lookup_elem(&synack_config, &key);
    if (!cfg || cfg->ip_be == 0 || ip->daddr != cfg->ip_be)
        return XDP_PASS;
    struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
    if ((void *)(tcp + 1) > end)
        return XDP_PASS;
    __u16 port = bpf_ntohs(tcp->dest);
    if (!(port >= cfg->ephemeral_low && port <= cfg->ephemeral_high) && !bpf_map_lookup_elem(&synack_ports, &port))
        return XDP_PASS;
    /* The low bits of flags are the action when this queue has no socket (kernel >= 5.3): the kernel's then. */
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
