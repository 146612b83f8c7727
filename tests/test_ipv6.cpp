// IPv6 below TCP: the header and extension-header walk, the TCP-over-IPv6 parse and build, the pseudo-header sum
// against DPDK's, and neighbour discovery / ICMPv6 through net::Interface with exact replies and no mbuf leaked.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "bytes.hpp"
#include "dpdk/neighbour_mailbox.hpp"
#include "net/interface.hpp"
#include "test_support.hpp"
#include "wire/segment6.hpp"

// Packet specs name only the fields a test changes (designated initializers; the rest keep their defaults).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace synack;
using namespace synack::test::bytes;
using wire::Ip6Addr;
using wire::Ip6Status;
using wire::ParseStatus;

namespace {

Ip6Addr v6(const char* s) {
    Ip6Addr a;
    if (inet_pton(AF_INET6, s, a.b) != 1) throw std::runtime_error(s);
    return a;
}
const Ip6Addr kOur = v6("fd00:99::1"), kPeer = v6("fd00:99::2"), kFar = v6("2001:db8::7");
constexpr rte_ether_addr kOurMac{{0x02, 0, 0, 0, 0, 0x01}};
constexpr rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr rte_ether_addr kRouterMac{{0x02, 0, 0, 0, 0, 0xfe}};
constexpr uint64_t kHz = 1'000'000'000;
constexpr uint64_t ms(uint64_t v) { return v * 1'000'000; }

void put_addr(Bytes& b, const Ip6Addr& a) { b.insert(b.end(), a.b, a.b + 16); }
void put_mac(Bytes& b, const rte_ether_addr& a) { b.insert(b.end(), a.addr_bytes, a.addr_bytes + 6); }

// RFC 8200 §8.1 pseudo-header plus the upper-layer bytes, summed independently of the code under test.
uint16_t l4_sum(const Ip6Addr& s, const Ip6Addr& d, uint8_t proto, const Bytes& l4) {
    Bytes p;
    put_addr(p, s);
    put_addr(p, d);
    put32(p, static_cast<uint32_t>(l4.size()));
    put32(p, proto);
    append(p, l4);
    return ones_sum(p, 0, p.size());
}
void fill_cksum(Bytes& l4, size_t at, const Ip6Addr& s, const Ip6Addr& d, uint8_t proto) {
    set16(l4, at, 0);
    set16(l4, at, static_cast<uint16_t>(~l4_sum(s, d, proto, l4)));
}

struct Ip6Spec {
    Ip6Addr src = kPeer, dst = kOur;
    uint8_t next = IPPROTO_TCP, hop = 64;
    Bytes ext;   // extension headers, already chained (their next-header bytes set by the test)
    Bytes l4;
    int payload_len = -1;
};
Bytes ipv6(const Ip6Spec& s) {
    Bytes b;
    put32(b, 6u << 28);
    put16(b, static_cast<uint16_t>(s.payload_len >= 0 ? s.payload_len : static_cast<int>(s.ext.size() + s.l4.size())));
    put8(b, s.next);
    put8(b, s.hop);
    put_addr(b, s.src);
    put_addr(b, s.dst);
    append(b, s.ext);
    append(b, s.l4);
    return b;
}
Bytes tcp(uint8_t flags = 0x02, const Bytes& payload = {}, const Ip6Addr& s = kPeer, const Ip6Addr& d = kOur) {
    Bytes b;
    put16(b, 40000);
    put16(b, 80);
    put32(b, 1000);
    put32(b, 0);
    put8(b, 5 << 4);
    put8(b, flags);
    put16(b, 65535);
    put16(b, 0);
    put16(b, 0);
    append(b, payload);
    fill_cksum(b, 16, s, d, IPPROTO_TCP);
    return b;
}
// An extension header of `len` bytes (a multiple of 8) of type-specific bytes after next header and length.
Bytes ext(uint8_t next, size_t len, Bytes body = {}) {
    Bytes b;
    put8(b, next);
    put8(b, static_cast<uint8_t>(len / 8 - 1));
    append(b, body);
    b.resize(len, 0);  // the rest Pad (zero bytes are Pad1 options)
    return b;
}
Bytes fragment_hdr(uint8_t next, uint16_t offset, bool more) {
    Bytes b;
    put8(b, next);
    put8(b, 0);
    put16(b, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    put32(b, 0x12345678);
    return b;
}

rte_mbuf* to_mbuf(const Bytes& b, size_t split = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::pool());
    const size_t first = split == 0 ? b.size() : split;
    if (first > 0) std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(first)), b.data(), first);  // b may be empty
    if (split != 0) {
        rte_mbuf* s = rte_pktmbuf_alloc(test::pool());
        std::memcpy(rte_pktmbuf_append(s, static_cast<uint16_t>(b.size() - split)), b.data() + split, b.size() - split);
        rte_pktmbuf_chain(m, s);
    }
    return m;
}
// n payload bytes in a chain of 1500-byte segments (a 2 KiB data room holds less than the larger payloads).
rte_mbuf* long_payload(size_t n) {
    rte_mbuf* head = nullptr;
    for (size_t done = 0; done < n;) {
        const size_t k = std::min<size_t>(1500, n - done);
        rte_mbuf* seg = to_mbuf(Bytes(k, 0x5a));
        if (head == nullptr)
            head = seg;
        else if (rte_pktmbuf_chain(head, seg) != 0)
            throw std::runtime_error("chain too long");
        done += k;
    }
    return head;
}

Bytes bytes_of(const rte_mbuf* m) {
    Bytes b(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(b.size()), b.data());
    if (p != b.data() && !b.empty()) std::memcpy(b.data(), p, b.size());
    return b;
}

Ip6Status walk(const Bytes& pkt, wire::Ip6Walk& w, size_t contiguous = 0) {
    return wire::ipv6_walk(pkt.data(), static_cast<uint32_t>(contiguous ? contiguous : pkt.size()),
                           static_cast<uint32_t>(pkt.size()), w);
}
Ip6Status walk(const Bytes& pkt) {
    wire::Ip6Walk w;
    return walk(pkt, w);
}

// ================================ wire ================================

TEST(Ipv6Walk, PlainTcpAndEveryLengthOfTheFixedHeader) {
    const Bytes p = ipv6({.l4 = tcp()});
    wire::Ip6Walk w;
    ASSERT_EQ(walk(p, w), Ip6Status::ok);
    EXPECT_EQ(w.proto, IPPROTO_TCP);
    EXPECT_EQ(w.l4_off, 40);
    EXPECT_EQ(w.l4_len, 20);
    EXPECT_FALSE(w.atomic_fragment);
    for (size_t n = 0; n < 40; ++n) {
        const Bytes cut(p.begin(), p.begin() + static_cast<long>(n));
        EXPECT_EQ(walk(cut), Ip6Status::truncated) << n;
    }
    Bytes bad = p;
    bad[0] = 0x45;
    EXPECT_EQ(walk(bad), Ip6Status::bad_version);
    EXPECT_EQ(walk(ipv6({.l4 = tcp(), .payload_len = 21})), Ip6Status::bad_payload_len);  // past the frame
    EXPECT_EQ(walk(ipv6({.l4 = tcp(), .payload_len = 0})), Ip6Status::bad_payload_len);   // jumbogram
    Bytes padded = ipv6({.l4 = tcp()});
    padded.resize(padded.size() + 6, 0xee);  // link padding after the payload is not part of it
    ASSERT_EQ(walk(padded, w), Ip6Status::ok);
    EXPECT_EQ(w.l4_len, 20);
}

TEST(Ipv6Walk, ExtensionHeaders) {
    wire::Ip6Walk w;
    // Hop-by-hop then destination options (PadN and a skippable unknown option 0x1e) then TCP.
    Bytes chain = ext(60, 8, {0x01, 0x04, 0, 0, 0, 0});
    append(chain, ext(IPPROTO_TCP, 16, {0x1e, 0x02, 0xaa, 0xbb}));
    ASSERT_EQ(walk(ipv6({.next = 0, .ext = chain, .l4 = tcp()}), w), Ip6Status::ok);
    EXPECT_EQ(w.l4_off, 64);
    EXPECT_EQ(w.proto, IPPROTO_TCP);
    // A chain of hop-by-hop headers: only the first may be one (RFC 8200 §4.3).
    Bytes hbh2 = ext(0, 8);
    append(hbh2, ext(IPPROTO_TCP, 8));
    EXPECT_EQ(walk(ipv6({.next = 0, .ext = hbh2, .l4 = tcp()})), Ip6Status::hop_by_hop_not_first);
    // Nine destination-options headers: past the bound.
    Bytes many;
    for (int i = 0; i < 9; ++i) append(many, ext(i == 8 ? IPPROTO_TCP : 60, 8));
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = many, .l4 = tcp()})), Ip6Status::ext_chain_too_long);
    Bytes eight;
    for (int i = 0; i < 8; ++i) append(eight, ext(i == 7 ? IPPROTO_TCP : 60, 8));
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = eight, .l4 = tcp()})), Ip6Status::ok);
    // A header whose length runs past the payload; and one whose first 8 bytes do.
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = ext(IPPROTO_TCP, 8, {}), .l4 = {}, .payload_len = 8})), Ip6Status::ok);
    Bytes longer = ext(IPPROTO_TCP, 8);
    longer[1] = 3;  // claims 32 bytes
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = longer, .l4 = tcp()})), Ip6Status::ext_past_payload);
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = {}, .l4 = {1, 2, 3, 4}})), Ip6Status::ext_past_payload);
    // Beyond the contiguous bytes but inside the frame: split.
    const Bytes split_pkt = ipv6({.next = 60, .ext = ext(IPPROTO_TCP, 8), .l4 = tcp()});
    EXPECT_EQ(walk(split_pkt, w, 44), Ip6Status::headers_split);
    // Options: running past their header, and the two high bits of unknown types.
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = ext(6, 8, {0x01, 0x05}), .l4 = tcp()})), Ip6Status::bad_option);
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = ext(6, 8, {0x5e, 0x00}), .l4 = tcp()})), Ip6Status::option_discard);
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = ext(6, 8, {0x9e, 0x00}), .l4 = tcp()})), Ip6Status::option_param_problem);
    EXPECT_EQ(walk(ipv6({.next = 60, .ext = ext(6, 8, {0xde, 0x00}), .l4 = tcp()})), Ip6Status::option_param_problem);
    // Routing: type 0 dropped whatever segments left says (RFC 5095); others ignored only with 0 left.
    EXPECT_EQ(walk(ipv6({.next = 43, .ext = ext(6, 8, {0, 0}), .l4 = tcp()})), Ip6Status::routing_type0);
    EXPECT_EQ(walk(ipv6({.next = 43, .ext = ext(6, 8, {4, 0}), .l4 = tcp()})), Ip6Status::ok);
    EXPECT_EQ(walk(ipv6({.next = 43, .ext = ext(6, 8, {4, 1}), .l4 = tcp()})), Ip6Status::routing_segments_left);
    // Fragments: any offset or M set is dropped; the atomic fragment (RFC 6946) goes through.
    EXPECT_EQ(walk(ipv6({.next = 44, .ext = fragment_hdr(6, 0, true), .l4 = tcp()})), Ip6Status::fragment);
    EXPECT_EQ(walk(ipv6({.next = 44, .ext = fragment_hdr(6, 185, false), .l4 = tcp()})), Ip6Status::fragment);
    ASSERT_EQ(walk(ipv6({.next = 44, .ext = fragment_hdr(6, 0, false), .l4 = tcp()}), w), Ip6Status::ok);
    EXPECT_TRUE(w.atomic_fragment);
    EXPECT_EQ(w.l4_off, 48);
}

TEST(Ipv6Checksum, PseudoHeaderSumMatchesDpdkOverRandomHeaders) {
    std::mt19937 rng(10);
    for (int i = 0; i < 100000; ++i) {
        rte_ipv6_hdr ip{};
        for (auto& b : ip.src_addr) b = static_cast<uint8_t>(rng());
        for (auto& b : ip.dst_addr) b = static_cast<uint8_t>(rng());
        const uint32_t len = rng() % 65536;
        ip.vtc_flow = RTE_BE32(6u << 28);
        ip.payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(len));
        ip.proto = IPPROTO_TCP;
        ASSERT_EQ(wire::ipv6_tcp_phdr_cksum(&ip, len), rte_ipv6_phdr_cksum(&ip, 0));
        ASSERT_EQ(wire::ipv6_tcp_phdr_cksum(&ip, 0), rte_ipv6_phdr_cksum(&ip, RTE_MBUF_F_TX_TCP_SEG));
    }
}


TEST(Segment6, BuiltSegmentsVerifyWithDpdkAndParseBack) {
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        const size_t n = rng() % 1400;
        Bytes payload(n);
        for (auto& b : payload) b = static_cast<uint8_t>(rng());
        rte_mbuf* m = to_mbuf(payload.empty() ? Bytes{} : payload, n > 3 ? 3 : 0);  // odd-length chained segment
        wire::TcpOptions opt;
        opt.has_mss = true;
        opt.mss = 1440;
        opt.has_timestamps = true;
        opt.ts_val = 7u + i;
        const wire::SegmentHeader h{0, 0, 80, 40000, 111u + i, 222, wire::kAck | wire::kPsh, 5000, 0, &opt};
        ASSERT_TRUE(wire::prepend_headers6(m, h, {kOur, kPeer}, false));
        const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
        const uint32_t opt_len = wire::tcp_options_size(opt);
        ASSERT_EQ(rte_pktmbuf_pkt_len(m), 40 + 20 + opt_len + n);
        EXPECT_EQ(rte_be_to_cpu_16(ip->payload_len), 20 + opt_len + n);
        EXPECT_EQ(ip->hop_limits, 64);
        EXPECT_EQ(ip->proto, IPPROTO_TCP);
        EXPECT_EQ(m->l3_len, 40);
        EXPECT_EQ(m->l4_len, 20 + opt_len);
        const Bytes all = bytes_of(m);
        EXPECT_EQ(l4_sum(kOur, kPeer, IPPROTO_TCP, Bytes(all.begin() + 40, all.end())), 0xffff);
        // DPDK's verify over the whole, flattened packet.
        rte_mbuf* flat = to_mbuf(all);
        EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(rte_pktmbuf_mtod(flat, rte_ipv6_hdr*),
                                               rte_pktmbuf_mtod_offset(flat, void*, 40)),
                  0);
        rte_pktmbuf_free(flat);
        wire::Segment seg;
        wire::Ip6Pair addr;
        ASSERT_EQ(wire::parse_segment6(m, seg, addr), ParseStatus::ok);
        EXPECT_EQ(addr.src, kOur);
        EXPECT_EQ(addr.dst, kPeer);
        EXPECT_EQ(seg.src_ip, 0u);
        EXPECT_EQ(seg.src_port, 80);
        EXPECT_EQ(seg.dst_port, 40000);
        EXPECT_EQ(seg.seq, 111u + i);
        EXPECT_EQ(seg.ack, 222u);
        EXPECT_EQ(seg.wnd, 5000);
        EXPECT_EQ(seg.flags, wire::kAck | wire::kPsh);
        EXPECT_EQ(seg.opt.mss, 1440);
        EXPECT_EQ(seg.opt.ts_val, 7u + i);
        EXPECT_EQ(seg.payload_off, 40 + 20 + opt_len);
        EXPECT_EQ(seg.payload_len, n);
        rte_pktmbuf_free(m);
    }
}

TEST(Segment6, OffloadSetsIpv6FlagsAndThePseudoHeaderSum) {
    rte_mbuf* m = long_payload(3000);
    const wire::SegmentHeader h{0, 0, 80, 40000, 1, 2, wire::kAck, 100, 0, nullptr, 1440};
    ASSERT_TRUE(wire::prepend_headers6(m, h, {kOur, kPeer}, true));
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG),
              RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_SEG);
    EXPECT_EQ(m->tso_segsz, 1440);
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
    const auto* th = rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, 40);
    EXPECT_EQ(th->cksum, rte_ipv6_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG));
    rte_pktmbuf_free(m);
    m = to_mbuf(Bytes(100, 0x5a));
    ASSERT_TRUE(wire::prepend_headers6(m, h, {kOur, kPeer}, true));
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG),
              RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM);
    EXPECT_EQ(rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, 40)->cksum,
              rte_ipv6_phdr_cksum(rte_pktmbuf_mtod(m, const rte_ipv6_hdr*), 0));
    rte_pktmbuf_free(m);
    m = long_payload(65536 - 20);  // with the TCP header, the payload length would be 65536
    EXPECT_FALSE(wire::prepend_headers6(m, h, {kOur, kPeer}, false));
    rte_pktmbuf_free(m);
}

ParseStatus parse(const Bytes& p, wire::Segment& seg, size_t split = 0) {
    rte_mbuf* m = to_mbuf(p, split);
    wire::Ip6Pair a;
    const ParseStatus st = wire::parse_segment6(m, seg, a);
    rte_pktmbuf_free(m);
    return st;
}

TEST(Segment6, ParseChecksEveryLength) {
    wire::Segment seg;
    const Bytes good = ipv6({.l4 = tcp(0x18, {1, 2, 3})});
    ASSERT_EQ(parse(good, seg), ParseStatus::ok);
    EXPECT_EQ(seg.payload_len, 3);
    for (size_t n = 0; n < good.size(); ++n) {
        const Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
        EXPECT_NE(parse(cut, seg), ParseStatus::ok) << n;
    }
    Bytes padded = good;
    padded.resize(good.size() + 10, 0xff);  // Ethernet padding: not data, not summed
    ASSERT_EQ(parse(padded, seg), ParseStatus::ok);
    EXPECT_EQ(seg.payload_len, 3);
    Bytes badsum = good;
    badsum.back() ^= 1;
    EXPECT_EQ(parse(badsum, seg), ParseStatus::bad_tcp_checksum);
    Bytes doff = good;
    doff[40 + 12] = 0xf0;  // 60-byte TCP header in a 23-byte segment
    EXPECT_EQ(parse(doff, seg), ParseStatus::bad_tcp_header_len);
    EXPECT_EQ(parse(ipv6({.l4 = Bytes(19, 0)}), seg), ParseStatus::bad_ip_total_len);
    EXPECT_EQ(parse(ipv6({.next = 17, .l4 = tcp()}), seg), ParseStatus::not_tcp);
    EXPECT_EQ(parse(ipv6({.l4 = tcp(), .payload_len = 30}), seg), ParseStatus::bad_ip_total_len);
    EXPECT_EQ(parse(ipv6({.next = 44, .ext = fragment_hdr(6, 1, false), .l4 = tcp()}), seg), ParseStatus::ip_fragment);
    Bytes hbh2 = ext(0, 8);
    append(hbh2, ext(IPPROTO_TCP, 8));
    EXPECT_EQ(parse(ipv6({.next = 0, .ext = hbh2, .l4 = tcp()}), seg), ParseStatus::bad_ip6_ext_header);
    // An atomic fragment is a whole packet (RFC 6946): the payload sits past the fragment header.
    ASSERT_EQ(parse(ipv6({.next = 44, .ext = fragment_hdr(6, 0, false), .l4 = tcp(0x18, {9, 9})}), seg),
              ParseStatus::ok);
    EXPECT_EQ(seg.payload_off, 40 + 8 + 20);
    EXPECT_EQ(seg.payload_len, 2);
    // Headers split across segments: truncated; payload chained is fine.
    EXPECT_EQ(parse(good, seg, 50), ParseStatus::truncated);
    EXPECT_EQ(parse(good, seg, 61), ParseStatus::ok);
}

// ================================ net::Interface ================================

Bytes ether(const rte_ether_addr& dst, const rte_ether_addr& src, const Bytes& payload) {
    Bytes b;
    put_mac(b, dst);
    put_mac(b, src);
    put16(b, RTE_ETHER_TYPE_IPV6);
    append(b, payload);
    return b;
}
// ND message: type, code 0, flags byte, target, optional link-layer option.
Bytes nd(uint8_t type, uint8_t flags, const Ip6Addr& target, uint8_t opt_type, const rte_ether_addr& mac,
         const Ip6Addr& s, const Ip6Addr& d) {
    Bytes b{type, 0, 0, 0, flags, 0, 0, 0};
    put_addr(b, target);
    if (opt_type != 0) {
        put8(b, opt_type);
        put8(b, 1);
        put_mac(b, mac);
    }
    fill_cksum(b, 2, s, d, 58);
    return b;
}
Bytes icmp_frame(const Ip6Addr& s, const Ip6Addr& d, const Bytes& msg, uint8_t hop = 255,
                 const rte_ether_addr& eth_dst = kOurMac, const rte_ether_addr& eth_src = kPeerMac) {
    return ether(eth_dst, eth_src, ipv6({.src = s, .dst = d, .next = 58, .hop = hop, .l4 = msg}));
}

class Net6 : public ::testing::Test {
protected:
    void SetUp() override {
        avail_ = rte_mempool_avail_count(test::pool());
        cfg.ip = RTE_IPV4(10, 99, 0, 1);
        cfg.mac = kOurMac;
        cfg.ip6 = kOur;
        cfg.prefix6_len = 64;
    }
    void TearDown() override {
        ifc_.reset();
        EXPECT_EQ(rte_mempool_avail_count(test::pool()), avail_) << "an mbuf was leaked";
    }
    net::Interface& ifc() {
        if (!ifc_) ifc_ = std::make_unique<net::Interface>(cfg, test::pool(), kHz);
        return *ifc_;
    }
    rte_mbuf* in(const Bytes& f, uint64_t now = 0) {
        rte_mbuf* r = ifc().input(to_mbuf(f), now);
        if (r != nullptr) {
            returned = bytes_of(r);
            rte_pktmbuf_free(r);
        }
        return r;
    }
    std::vector<Bytes> sent() {
        std::vector<Bytes> out;
        rte_mbuf* b[32];
        while (uint16_t n = ifc().drain_tx(b, 32))
            for (uint16_t i = 0; i < n; ++i) {
                out.push_back(bytes_of(b[i]));
                rte_pktmbuf_free(b[i]);
            }
        return out;
    }
    // An IPv6 TCP packet as the engine would hand it to output().
    rte_mbuf* tcp_out(const Ip6Addr& dst) {
        rte_mbuf* m = to_mbuf(Bytes(10, 0x77));
        const wire::SegmentHeader h{0, 0, 80, 40000, 1, 2, wire::kAck, 100, 0, nullptr};
        EXPECT_TRUE(wire::prepend_headers6(m, h, {kOur, dst}, false));
        return m;
    }
    net::NetConfig cfg;
    std::unique_ptr<net::Interface> ifc_;
    unsigned avail_ = 0;
    Bytes returned;
};

// Checks an ND frame we sent: Ethernet, IPv6 with hop limit 255 and the addresses, the ICMPv6 checksum.
void expect_nd(const Bytes& f, const rte_ether_addr& eth_dst, const Ip6Addr& s, const Ip6Addr& d, uint8_t type,
               uint8_t flags, const Ip6Addr& target, uint8_t opt) {
    ASSERT_EQ(f.size(), 14u + 40 + 32);
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(eth_dst.addr_bytes, eth_dst.addr_bytes + 6));
    EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    EXPECT_EQ(get16(f, 12), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(f[14] >> 4, 6);
    EXPECT_EQ(get16(f, 18), 32);
    EXPECT_EQ(f[20], 58);
    EXPECT_EQ(f[21], 255);
    EXPECT_EQ(Ip6Addr::from(&f[22]), s);
    EXPECT_EQ(Ip6Addr::from(&f[38]), d);
    const Bytes msg(f.begin() + 54, f.end());
    EXPECT_EQ(msg[0], type);
    EXPECT_EQ(msg[1], 0);
    EXPECT_EQ(l4_sum(s, d, 58, msg), 0xffff);
    EXPECT_EQ(msg[4], flags);
    EXPECT_EQ(Ip6Addr::from(&msg[8]), target);
    EXPECT_EQ(msg[24], opt);
    EXPECT_EQ(msg[25], 1);
    EXPECT_EQ(Bytes(msg.begin() + 26, msg.end()), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
}

TEST_F(Net6, SolicitationForUsIsAnsweredAndTheSolicitorLearnedStale) {
    const Ip6Addr group = wire::solicited_node(kOur);
    const rte_ether_addr gmac{{0x33, 0x33, 0xff, 0, 0, 1}};
    EXPECT_EQ(in(icmp_frame(kPeer, group, nd(135, 0, kOur, 1, kPeerMac, kPeer, group), 255, gmac)), nullptr);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_nd(out[0], kPeerMac, kOur, kPeer, 136, 0x60, kOur, 2);  // S and O, target link-layer option
    const net::NdEntry* e = ifc().nd_lookup(kPeer);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, net::NeighborState::stale);
    EXPECT_TRUE(rte_is_same_ether_addr(&e->mac, &kPeerMac));
    EXPECT_EQ(ifc().counters().rx_ns, 1u);
    EXPECT_EQ(ifc().counters().nd_na_sent, 1u);
    EXPECT_EQ(ifc().counters().nd_learned, 1u);
}

TEST_F(Net6, NdMessagesWithoutHopLimit255AreDropped) {
    const Ip6Addr group = wire::solicited_node(kOur);
    const rte_ether_addr gmac{{0x33, 0x33, 0xff, 0, 0, 1}};
    in(icmp_frame(kPeer, group, nd(135, 0, kOur, 1, kPeerMac, kPeer, group), 254, gmac));
    in(icmp_frame(kPeer, kOur, nd(136, 0x60, kPeer, 2, kPeerMac, kPeer, kOur), 64));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().rx_nd_bad, 2u);
    EXPECT_EQ(ifc().nd_lookup(kPeer), nullptr);
    // Another host's solicited-node group: not ours.
    const Ip6Addr other = wire::solicited_node(kPeer);
    in(icmp_frame(kPeer, other, nd(135, 0, kPeer, 1, kPeerMac, kPeer, other), 255, {{0x33, 0x33, 0xff, 0, 0, 2}}));
    EXPECT_EQ(ifc().counters().rx_ip6_not_for_us, 1u);
}

TEST_F(Net6, DuplicateAddressProbeForOurAddressIsDefendedToAllNodes) {
    // RFC 4862 §5.4.3 / RFC 4861 §7.2.4: from ::, to the solicited-node group, no source link-layer option; the
    // answer goes to all nodes with S clear, and nobody is learned.
    const Ip6Addr group = wire::solicited_node(kOur);
    const rte_ether_addr gmac{{0x33, 0x33, 0xff, 0, 0, 1}};
    in(icmp_frame(Ip6Addr{}, group, nd(135, 0, kOur, 0, kPeerMac, Ip6Addr{}, group), 255, gmac));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_nd(out[0], {{0x33, 0x33, 0, 0, 0, 1}}, kOur, v6("ff02::1"), 136, 0x20, kOur, 2);
    EXPECT_EQ(ifc().counters().nd_unsolicited_na_sent, 1u);
    // The same probe carrying a source link-layer option is invalid (§7.1.1); so is an NA to a group with S set.
    in(icmp_frame(Ip6Addr{}, group, nd(135, 0, kOur, 1, kPeerMac, Ip6Addr{}, group), 255, gmac));
    const Ip6Addr all = v6("ff02::1");
    in(icmp_frame(kPeer, all, nd(136, 0x60, kPeer, 2, kPeerMac, kPeer, all), 255, {{0x33, 0x33, 0, 0, 0, 1}}));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().rx_nd_bad, 2u);
    EXPECT_EQ(ifc().nd_lookup(kPeer), nullptr);
}

TEST_F(Net6, EchoRequestIsAnsweredExactly) {
    Bytes req{128, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g'};
    fill_cksum(req, 2, kPeer, kOur, 58);
    Bytes f = icmp_frame(kPeer, kOur, req, 64);
    f.resize(f.size() + 4, 0);  // padding
    in(f);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    Bytes rep{129, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g'};
    fill_cksum(rep, 2, kOur, kPeer, 58);
    EXPECT_EQ(out[0], ether(kPeerMac, kOurMac, ipv6({.src = kOur, .dst = kPeer, .next = 58, .hop = 64, .l4 = rep})));
    EXPECT_EQ(ifc().counters().icmp6_echo_replies, 1u);
    req[8] ^= 1;  // bad checksum
    in(icmp_frame(kPeer, kOur, req, 64));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().rx_icmp6_bad, 1u);
}

TEST_F(Net6, OutputResolvesThroughTheStatesOfRfc4861) {
    ifc().output(tcp_out(kPeer), 0);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);  // the packet is held; a multicast NS to the solicited-node group goes out
    const Ip6Addr group = wire::solicited_node(kPeer);
    expect_nd(out[0], {{0x33, 0x33, 0xff, 0, 0, 2}}, kOur, group, 135, 0, kPeer, 1);
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::incomplete);
    // Solicited NA: REACHABLE, the held packet leaves to the advertised MAC.
    in(icmp_frame(kPeer, kOur, nd(136, 0x60, kPeer, 2, kPeerMac, kPeer, kOur)), ms(10));
    out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));
    EXPECT_EQ(get16(out[0], 12), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::reachable);
    // REACHABLE_TIME later: STALE; the next packet is sent at once and starts DELAY; 5 s later PROBE, a unicast NS.
    ifc().poll(ms(10) + ms(30000));
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::stale);
    ifc().output(tcp_out(kPeer), ms(30020));
    EXPECT_EQ(sent().size(), 1u);
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::delay);
    ifc().poll(ms(35020));
    out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_nd(out[0], kPeerMac, kOur, kPeer, 135, 0, kPeer, 1);
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::probe);
    // Confirmed: REACHABLE again. Unanswered probes instead would forget it.
    in(icmp_frame(kPeer, kOur, nd(136, 0x40, kPeer, 0, kPeerMac, kPeer, kOur)), ms(35030));
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::reachable);
    EXPECT_EQ(ifc().counters().nd_resolved, 1u);
    EXPECT_EQ(ifc().counters().nd_ns_sent, 2u);
}

TEST_F(Net6, UnansweredResolutionFailsAndDropsHeldPackets) {
    cfg.arp_max_retries = 2;
    ifc().output(tcp_out(kPeer), 0);
    ifc().output(tcp_out(kPeer), 1);
    for (uint64_t t = 1; t <= 4; ++t) ifc().poll(ms(1000) * t);
    EXPECT_EQ(sent().size(), 3u);  // the first NS and two retries
    EXPECT_EQ(ifc().nd_lookup(kPeer), nullptr);
    EXPECT_EQ(ifc().counters().nd_failed, 1u);
    EXPECT_EQ(ifc().counters().nd_pending_dropped, 2u);
}

TEST_F(Net6, CacheBoundsEvictTheResolvedNeverTheIncomplete) {
    cfg.arp_cache_size = 2;
    ifc().output(tcp_out(v6("fd00:99::a")), 0);
    ifc().output(tcp_out(v6("fd00:99::b")), 0);
    ifc().output(tcp_out(v6("fd00:99::c")), 0);  // both entries incomplete: nowhere to go
    EXPECT_EQ(ifc().counters().nd_cache_full, 1u);
    in(icmp_frame(v6("fd00:99::a"), kOur, nd(136, 0x60, v6("fd00:99::a"), 2, kPeerMac, v6("fd00:99::a"), kOur)));
    ifc().output(tcp_out(v6("fd00:99::c")), 0);  // ::a is resolved: evicted for ::c
    EXPECT_EQ(ifc().counters().nd_evicted, 1u);
    EXPECT_EQ(ifc().nd_lookup(v6("fd00:99::a")), nullptr);
    EXPECT_NE(ifc().nd_lookup(v6("fd00:99::c")), nullptr);
    sent();
}

TEST_F(Net6, RouterAdvertisementNamesTheDefaultRouter) {
    const Ip6Addr router = v6("fe80::fe");
    const Ip6Addr all = v6("ff02::1");
    Bytes ra{134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    put_mac(ra, kRouterMac);
    fill_cksum(ra, 2, router, all, 58);
    in(icmp_frame(router, all, ra, 255, {{0x33, 0x33, 0, 0, 0, 1}}, kRouterMac), 0);
    EXPECT_EQ(ifc().default_router(), router);
    EXPECT_EQ(ifc().counters().rx_ra, 1u);
    // Off-prefix traffic goes to the router's MAC (learned STALE from the RA's option): sent at once.
    ifc().output(tcp_out(kFar), 0);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6), Bytes(kRouterMac.addr_bytes, kRouterMac.addr_bytes + 6));
    // The lifetime (0x0708 s) runs out: no route.
    ifc().poll(kHz * 0x0708 + 1);
    EXPECT_TRUE(ifc().default_router().is_unspecified());
    ifc().output(tcp_out(kFar), kHz * 0x0709);
    EXPECT_EQ(ifc().counters().tx_no_route, 1u);
    sent();
}

struct PtbSeen {
    int calls = 0;
    net::PacketTooBig last;
};

TEST_F(Net6, PacketTooBigHandsTheQuotedTupleAndMtuToTheHook) {
    PtbSeen seen;
    ifc().set_packet_too_big_hook(
        [](void* ctx, const net::PacketTooBig& p) {
            auto* s = static_cast<PtbSeen*>(ctx);
            ++s->calls;
            s->last = p;
        },
        &seen);
    const Bytes quoted = ipv6({.src = kOur, .dst = kFar, .l4 = tcp(0x10, Bytes(1400, 1), kOur, kFar)});
    Bytes ptb{2, 0, 0, 0, 0, 0, 0x05, 0x00};
    ptb.insert(ptb.end(), quoted.begin(), quoted.begin() + 1232);
    const Ip6Addr router = v6("fd00:99::fe");
    fill_cksum(ptb, 2, router, kOur, 58);
    in(icmp_frame(router, kOur, ptb, 64));
    ASSERT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.last.quoted.src, kOur);
    EXPECT_EQ(seen.last.quoted.dst, kFar);
    EXPECT_EQ(seen.last.src_port, 40000);
    EXPECT_EQ(seen.last.dst_port, 80);
    EXPECT_EQ(seen.last.mtu, 1280u);
    EXPECT_TRUE(seen.last.has_seq);
    EXPECT_EQ(seen.last.seq, 1000u);  // the quoted segment's sequence number, for the RFC 5927 check
    EXPECT_EQ(ifc().counters().rx_icmp6_packet_too_big, 1u);
    // A quote that ends inside the TCP header's first 8 bytes: ports only, no sequence number.
    Bytes shortq{2, 0, 0, 0, 0, 0, 0x05, 0x00};
    shortq.insert(shortq.end(), quoted.begin(), quoted.begin() + 40 + 6);
    fill_cksum(shortq, 2, router, kOur, 58);
    in(icmp_frame(router, kOur, shortq, 64));
    ASSERT_EQ(seen.calls, 2);
    EXPECT_FALSE(seen.last.has_seq);
    EXPECT_EQ(seen.last.dst_port, 80);
}

TEST_F(Net6, TcpIsReturnedAndBadExtensionHeadersAreCounted) {
    ASSERT_NE(in(ether(kOurMac, kPeerMac, ipv6({.l4 = tcp()}))), nullptr);
    EXPECT_EQ(returned, ipv6({.l4 = tcp()}));
    EXPECT_EQ(ifc().counters().rx_tcp6, 1u);
    Bytes hbh2 = ext(0, 8);
    append(hbh2, ext(IPPROTO_TCP, 8));
    EXPECT_EQ(in(ether(kOurMac, kPeerMac, ipv6({.next = 0, .ext = hbh2, .l4 = tcp()}))), nullptr);
    EXPECT_EQ(in(ether(kOurMac, kPeerMac, ipv6({.next = 44, .ext = fragment_hdr(6, 8, true), .l4 = tcp()}))), nullptr);
    EXPECT_EQ(in(ether(kOurMac, kPeerMac, ipv6({.next = 43, .ext = ext(6, 8, {0, 1}), .l4 = tcp()}))), nullptr);
    ASSERT_NE(in(ether(kOurMac, kPeerMac, ipv6({.next = 44, .ext = fragment_hdr(6, 0, false), .l4 = tcp()}))),
              nullptr);
    const net::NetCounters& c = ifc().counters();
    EXPECT_EQ(c.rx_ip6_hop_by_hop_not_first, 1u);
    EXPECT_EQ(c.rx_ip6_fragment, 1u);
    EXPECT_EQ(c.rx_ip6_routing_type0, 1u);
    EXPECT_EQ(c.rx_ip6_atomic_fragment, 1u);
    EXPECT_EQ(c.rx_tcp6, 2u);
    EXPECT_EQ(c.rx_ipv6, 5u);
    EXPECT_TRUE(sent().empty());
}

TEST_F(Net6, AnnounceSendsUnsolicitedAdvertisementsForBothAddresses) {
    ifc().announce(0);
    auto out = sent();
    ASSERT_EQ(out.size(), 3u);  // gratuitous ARP, then NAs for the link-local and the configured address
    const Ip6Addr all = v6("ff02::1");
    expect_nd(out[1], {{0x33, 0x33, 0, 0, 0, 1}}, ifc().link_local(), all, 136, 0x20, ifc().link_local(), 2);
    expect_nd(out[2], {{0x33, 0x33, 0, 0, 0, 1}}, kOur, all, 136, 0x20, kOur, 2);
    EXPECT_EQ(ifc().link_local(), v6("fe80::ff:fe00:1"));
}

// --share-kernel: neighbour discovery is the kernel's (synack's XDP program passes it), so next hops come from the
// kernel's table through the resolver, and synack announces nothing.
struct FakeKernel6 {  // the control thread's view of the kernel's table, behind the worker's mailbox
    std::vector<std::pair<Ip6Addr, rte_ether_addr>> table;
    std::vector<Ip6Addr> asked;
    dpdk::NeighbourMailbox mailbox;
    unsigned serve() {
        return mailbox.serve([this](const dpdk::NeighbourQuery& q, rte_ether_addr& mac) {
            EXPECT_TRUE(q.v6);
            asked.push_back(q.ip6);
            for (const auto& [a, m] : table)
                if (a == q.ip6) {
                    mac = m;
                    return true;
                }
            return false;
        });
    }
};

TEST_F(Net6, SharedWithTheKernelNextHopComesFromTheKernelTableAndNoSolicitationIsSent) {
    cfg.share_kernel = true;
    FakeKernel6 k;
    ifc().set_resolver6(&dpdk::NeighbourMailbox::ask6, &k.mailbox);
    const Ip6Addr other = v6("fd00:99::3");
    const rte_ether_addr other_mac{{0x02, 0, 0, 0, 0, 0x33}};
    // Known to the kernel: the packet waits for the answer, then leaves with its MAC.
    k.table.emplace_back(kPeer, kPeerMac);
    ifc().output(tcp_out(kPeer), ms(1));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(k.serve(), 1u);
    k.mailbox.deliver(ifc(), ms(1));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));
    EXPECT_EQ(get16(out[0], 12), RTE_ETHER_TYPE_IPV6);
    EXPECT_EQ(ifc().nd_lookup(kPeer)->state, net::NeighborState::reachable);
    // Unknown: held and the kernel asked, no NS on the wire; asked again on each retry until it knows.
    ifc().output(tcp_out(other), ms(2));
    EXPECT_EQ(k.serve(), 1u);
    k.mailbox.deliver(ifc(), ms(2));
    EXPECT_TRUE(sent().empty());
    ifc().poll(ms(2) + ms(1000) - 1);
    EXPECT_EQ(k.serve(), 0u);
    ifc().poll(ms(2) + ms(1000));
    EXPECT_EQ(k.serve(), 1u);
    EXPECT_EQ(k.asked, (std::vector<Ip6Addr>{kPeer, other, other}));
    EXPECT_TRUE(sent().empty());
    // Known at last: two questions in flight get two answers; the second finds the entry settled.
    k.table.emplace_back(other, other_mac);
    ifc().poll(ms(2) + ms(2000));
    ifc().poll(ms(2) + ms(3000));
    EXPECT_EQ(k.serve(), 2u);
    k.mailbox.deliver(ifc(), ms(2) + ms(3000));
    out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6), Bytes(other_mac.addr_bytes, other_mac.addr_bytes + 6));
    EXPECT_EQ(ifc().counters().nd_resolved, 2u);
    EXPECT_EQ(ifc().counters().nd_updated, 0u);
    EXPECT_EQ(ifc().counters().nd_kernel_asked, 5u);
    EXPECT_EQ(ifc().counters().nd_ns_sent, 0u);
    // The kernel owns the addresses: no gratuitous ARP and no unsolicited advertisement.
    ifc().announce(ms(3000));
    ifc().poll(ms(6000));
    EXPECT_TRUE(sent().empty());
}

}  // namespace
