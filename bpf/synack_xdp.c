/* synack's XDP program: share one interface (and its address) between synack and the kernel.
 * Redirects to synack's AF_XDP socket on this queue only TCP (over IPv4, or over IPv6 with TCP as the first next
 * header) to synack's address whose destination port is one synack listens on (synack_ports) or lies in the
 * ephemeral range of synack's active opens (synack_config); XDP_PASS for everything else (ARP, ICMP, neighbour
 * discovery and ICMPv6, fragments, IPv6 extension headers, SSH and every other TCP port), so the kernel keeps
 * answering them. synack fills the maps (src/dpdk/xdp_share.cpp); DPDK's net_af_xdp PMD fills xsks_map.
 * Built by meson and CMake with: clang -target bpf -O2 -g -c synack_xdp.c */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
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

/* TCP to one of synack's ports: to its AF_XDP socket on this queue. */
static __always_inline int tcp_to_synack(struct xdp_md *ctx, struct tcphdr *tcp, void *end,
                                         const struct synack_xdp_config *cfg)
{
    if ((void *)(tcp + 1) > end)
        return XDP_PASS;
    __u16 port = bpf_ntohs(tcp->dest);
    if (!(port >= cfg->ephemeral_low && port <= cfg->ephemeral_high) && !bpf_map_lookup_elem(&synack_ports, &port))
        return XDP_PASS;
    /* The low bits of flags are the action when this queue has no socket (kernel >= 5.3): the kernel's then. */
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int synack_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    __u32 key = 0;
    struct synack_xdp_config *cfg = bpf_map_lookup_elem(&synack_config, &key);
    if (!cfg)
        return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        /* Only TCP right after the fixed header: a segment behind extension headers (rare; hop-by-hop, fragments)
         * goes to the kernel, as IPv4 fragments do. ICMPv6 (ND, echo, Packet Too Big) stays the kernel's. */
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
            return XDP_PASS;
        const __u32 *d = ip6->daddr.in6_u.u6_addr32;
        if ((cfg->ip6_be[0] | cfg->ip6_be[1] | cfg->ip6_be[2] | cfg->ip6_be[3]) == 0 || d[0] != cfg->ip6_be[0] ||
            d[1] != cfg->ip6_be[1] || d[2] != cfg->ip6_be[2] || d[3] != cfg->ip6_be[3])
            return XDP_PASS;
        return tcp_to_synack(ctx, (void *)(ip6 + 1), end, cfg);
    }
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
        return XDP_PASS;
    /* Fragments go to the kernel: synack drops them anyway, and the kernel may reassemble what is its own. */
    if (ip->frag_off & bpf_htons(0x3fff))
        return XDP_PASS;
    if (cfg->ip_be == 0 || ip->daddr != cfg->ip_be)
        return XDP_PASS;
    return tcp_to_synack(ctx, (void *)ip + ip->ihl * 4, end, cfg);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
