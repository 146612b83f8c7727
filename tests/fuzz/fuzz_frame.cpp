// libFuzzer target: one Ethernet frame through the receive path a worker runs (net::Interface::input: Ethernet,
// ARP, IPv4, ICMP; then tcp::Engine::input: wire::parse_segment, TCP options, a listener on port 80), replies
// sent back through Interface::output, and timers run. Invariants: no crash or sanitizer report, and every mbuf
// back in the pool once the interface and engine are gone.
//
// Input: one control byte, then the frame.
//   bits 0-1  the port's IPv4 checksum verdict (mbuf RX flags): unknown, good, bad, none
//   bits 2-3  the same for the L4 checksum ("good" lets the fuzzer past the checksums to the TCP parser)
//   bits 4-7  0: the frame in one mbuf; k: the first mbuf of a chain holds 4*k bytes (split headers)
// Our side: 10.0.0.1/24 and fd00::1/64, MAC 02:00:00:00:00:01, listening on TCP port 80 (either family; seeds:
// tests/fuzz/gen_seeds.py).
#include <cstring>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "fuzz_support.hpp"
#include "net/interface.hpp"
#include "tcp/engine.hpp"

namespace {

using namespace synack;

constexpr uint64_t kHz = 1'000'000;  // 1 cycle = 1 µs
constexpr uint64_t kIpFlags[4] = {RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                  RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_NONE};
constexpr uint64_t kL4Flags[4] = {RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                                  RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_NONE};

/// The frame copied into an mbuf chain: `first` bytes in the first segment (0: as many as fit), the rest in
/// segments as full as the data room allows. nullptr when the pool is empty (never, with one frame in flight).
rte_mbuf* to_chain(const uint8_t* p, size_t n, size_t first) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    size_t off = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(test::pool());
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        size_t len = rte_pktmbuf_tailroom(m);
        if (head == nullptr && first != 0 && first < len) len = first;
        if (len > n - off) len = n - off;
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(len)), p + off, len);
        off += len;
        if (head == nullptr) {
            head = tail = m;
        } else {
            tail->next = m;
            tail = m;
            head->nb_segs++;
            head->pkt_len += m->data_len;
        }
    } while (off < n);
    return head;
}

net::NetConfig net_config() {
    net::NetConfig c;
    c.ip = RTE_IPV4(10, 0, 0, 1);
    c.prefix_len = 24;
    const uint8_t ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    c.ip6 = wire::Ip6Addr::from(ip6);  // fd00::1/64: IPv6, ND and TCP over IPv6 too
    c.prefix6_len = 64;
    c.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 0x01}};
    c.arp_cache_size = 16;
    c.tx_ring_size = 64;
    return c;
}

TcpConfig tcp_config() {
    TcpConfig c;
    c.max_connections = 16;
    c.max_connections6 = 16;
    c.max_listeners = 2;
    return c;
}

/// Moves what the engine sent through the interface, then drops every frame the interface would transmit.
void flush(tcp::Engine& engine, net::Interface& iface, uint64_t now) {
    rte_mbuf* b[32];
    uint16_t n;
    while ((n = engine.drain_tx(b, 32)) > 0)
        for (uint16_t i = 0; i < n; ++i) iface.output(b[i], now);
    while ((n = iface.drain_tx(b, 32)) > 0) rte_pktmbuf_free_bulk(b, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint8_t ctl = data[0];
    {
        net::Interface iface(net_config(), test::pool(), kHz);
        tcp::Engine engine(tcp_config(), test::pool(), kHz, 0, std::array<uint8_t, 16>{});
        if (engine.listen(0, 80) < 0) __builtin_trap();
        rte_mbuf* m = to_chain(data + 1, size - 1, (ctl >> 4) * 4u);
        if (m == nullptr) __builtin_trap();
        m->ol_flags = kIpFlags[ctl & 3] | kL4Flags[(ctl >> 2) & 3];
        uint64_t now = 1000;
        if (rte_mbuf* ip = iface.input(m, now)) {  // by the version nibble, as Worker::deliver
            if ((*rte_pktmbuf_mtod(ip, const uint8_t*) >> 4) == 6)
                engine.input6(ip, now);
            else
                engine.input(ip, now);
        }
        flush(engine, iface, now);
        // Timers: the SYN-ACK's retransmission, delayed ACKs, ARP retries.
        for (uint64_t t : {300'000ull, 1'500'000ull, 4'000'000ull}) {
            engine.advance(t);
            iface.poll(t);
            engine.dispatch([](const tcp::Event&) {});
            flush(engine, iface, t);
        }
    }
    synack::fuzz::check_no_leak("after the interface and engine are destroyed");
    return 0;
}
