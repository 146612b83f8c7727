// Start-up checks of NetConfig: every refusal names the field and the reason.
#include "net/config.hpp"

#include <stdexcept>
#include <string>

#include "net/ipv4_addr.hpp"

namespace synack::net {

namespace {
[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("synack::net::NetConfig: " + what); }
}  // namespace

void validate(const NetConfig& cfg) {
    if (cfg.prefix_len > 32) fail("prefix_len must be 0..32, got " + std::to_string(cfg.prefix_len));
    const uint32_t mask = prefix_mask(cfg.prefix_len);
    const bool v6 = !cfg.ip6.is_unspecified();
    if (cfg.ip == 0 && !v6) fail("ip or ip6 must be set");
    if (cfg.ip != 0 && (is_multicast_or_reserved(cfg.ip) || is_loopback(cfg.ip) ||
                        is_subnet_broadcast(cfg.ip, cfg.ip, mask)))
        fail("ip must be a unicast, non-loopback address");
    if (cfg.ip == 0 && cfg.gateway != 0) fail("gateway needs ip");
    if (v6 && (cfg.ip6.is_multicast() || cfg.ip6.is_loopback() || cfg.ip6.is_v4_mapped()))
        fail("ip6 must be a unicast, non-loopback, non-IPv4-mapped address");
    if (cfg.prefix6_len == 0 || cfg.prefix6_len > 128)
        fail("prefix6_len must be 1..128, got " + std::to_string(cfg.prefix6_len));
    if (!cfg.gw6.is_unspecified()) {
        if (!v6) fail("gw6 needs ip6");
        if (cfg.gw6.is_multicast() || cfg.gw6.is_loopback() || cfg.gw6.is_v4_mapped() || cfg.gw6 == cfg.ip6)
            fail("gw6 must be another unicast address");
        if (!cfg.gw6.is_link_local() && !wire::same_prefix(cfg.gw6, cfg.ip6, cfg.prefix6_len))
            fail("gw6 must be link-local or inside ip6's prefix");
    }
    if (cfg.nd_reachable_ms == 0 || cfg.nd_delay_ms == 0) fail("nd_reachable_ms and nd_delay_ms must be positive");
    if (cfg.gateway != 0 && cfg.ip != 0) {
        if ((cfg.gateway & mask) != (cfg.ip & mask)) fail("gateway must be on the local subnet");
        if (cfg.gateway == cfg.ip) fail("gateway must not be our own address");
        if (is_invalid_source(cfg.gateway, cfg.ip, mask)) fail("gateway must be a unicast address");
    }
    if (!rte_is_valid_assigned_ether_addr(&cfg.mac)) fail("mac must be a non-zero unicast address");
    if (cfg.mtu < 68) fail("mtu must be at least 68 (RFC 791), got " + std::to_string(cfg.mtu));
    if (cfg.arp_ttl_ms == 0) fail("arp_ttl_ms must be positive");
    if (cfg.arp_retry_ms == 0) fail("arp_retry_ms must be positive");
    if (cfg.arp_max_retries > 100) fail("arp_max_retries must be at most 100");
    if (cfg.arp_pending_max == 0 || cfg.arp_pending_max > 4096)
        fail("arp_pending_max must be 1..4096 (RFC 1122 §2.3.2.2: keep at least one)");
    if (cfg.arp_cache_size == 0 || cfg.arp_cache_size > (1u << 20)) fail("arp_cache_size must be 1..1048576");
    if (uint64_t{cfg.arp_cache_size} * cfg.arp_pending_max > (1u << 22))
        fail("arp_cache_size * arp_pending_max must be at most 4194304 held packets");
    if (cfg.tx_ring_size == 0 || cfg.tx_ring_size > (1u << 20)) fail("tx_ring_size must be 1..1048576");
}

}  // namespace synack::net
