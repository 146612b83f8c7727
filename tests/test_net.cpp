// The L2/L3 interface fed crafted frames at explicit times (1 cycle = 1 ns), asserting the exact frames it sends,
// the counters it moves (all of them: any counter not listed must stay 0) and that no mbuf leaks.
#include <netinet/in.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dpdk/neighbour_mailbox.hpp"
#include "net/interface.hpp"
#include "net/mbuf_util.hpp"
#include "bytes.hpp"
#include "test_support.hpp"

using namespace synack::net;

namespace {

using namespace synack::test::bytes;
using Counts = std::map<std::string, uint64_t>;

constexpr uint64_t kHz = 1'000'000'000;
constexpr uint64_t ms(uint64_t v) { return v * 1'000'000; }

constexpr uint32_t kOurIp = RTE_IPV4(10, 0, 0, 1);
constexpr uint32_t kPeerIp = RTE_IPV4(10, 0, 0, 2);
constexpr uint32_t kOtherIp = RTE_IPV4(10, 0, 0, 3);
constexpr uint32_t kGwIp = RTE_IPV4(10, 0, 0, 254);
constexpr uint32_t kRemoteIp = RTE_IPV4(192, 0, 2, 7);
constexpr rte_ether_addr kOurMac{{0x02, 0, 0, 0, 0, 0x01}};
constexpr rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr rte_ether_addr kPeerMac2{{0x02, 0, 0, 0, 0, 0x22}};
constexpr rte_ether_addr kOtherMac{{0x02, 0, 0, 0, 0, 0x03}};
constexpr rte_ether_addr kGwMac{{0x02, 0, 0, 0, 0, 0xfe}};
constexpr rte_ether_addr kBcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
constexpr rte_ether_addr kZeroMac{};

// ---- every counter by name (SYNACK_NET_COUNTERS), so a test can state the complete outcome ----
Counts nonzero(const NetCounters& c) {
    Counts out;
#define ADD_NONZERO(f, kind, meaning) \
    if (c.f != 0) out[#f] = c.f;
    SYNACK_NET_COUNTERS(ADD_NONZERO)
#undef ADD_NONZERO
    return out;
}

// ---- frame construction, independent of the code under test ----
void put_mac(Bytes& b, const rte_ether_addr& a) { b.insert(b.end(), a.addr_bytes, a.addr_bytes + 6); }

Bytes ether(const rte_ether_addr& dst, const rte_ether_addr& src, uint16_t type, const Bytes& payload,
            size_t pad_to = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN) {
    Bytes b;
    put_mac(b, dst);
    put_mac(b, src);
    put16(b, type);
    append(b, payload);
    if (b.size() < pad_to) b.resize(pad_to, 0);
    return b;
}

struct ArpSpec {
    uint16_t hrd = 1, pro = 0x0800;
    uint8_t hln = 6, pln = 4;
    uint16_t op = 1;
    rte_ether_addr sha = kPeerMac;
    uint32_t sip = kPeerIp;
    rte_ether_addr tha = kZeroMac;
    uint32_t tip = kOurIp;
};
Bytes arp(const ArpSpec& s) {
    Bytes b;
    put16(b, s.hrd);
    put16(b, s.pro);
    put8(b, s.hln);
    put8(b, s.pln);
    put16(b, s.op);
    put_mac(b, s.sha);
    put32(b, s.sip);
    put_mac(b, s.tha);
    put32(b, s.tip);
    return b;
}
Bytes arp_frame(const ArpSpec& s, const rte_ether_addr& dst = kBcast, size_t pad_to = 60) {
    return ether(dst, s.sha, RTE_ETHER_TYPE_ARP, arp(s), pad_to);
}

struct Ipv4Spec {
    uint8_t version = 4;
    uint16_t id = 0x4242;
    uint16_t frag = 0x4000;  // DF
    uint8_t ttl = 64;
    uint8_t proto = IPPROTO_TCP;
    uint32_t src = kPeerIp, dst = kOurIp;
    Bytes options;
    Bytes payload;
    int ihl = -1;        // -1: from options
    int total_len = -1;  // -1: header + payload
    bool corrupt_checksum = false;
};
Bytes ipv4(const Ipv4Spec& s) {
    Bytes b;
    const size_t hlen = 20 + s.options.size();
    put8(b, static_cast<uint8_t>(s.version << 4 | (s.ihl >= 0 ? s.ihl : static_cast<int>(hlen / 4))));
    put8(b, 0);
    put16(b, static_cast<uint16_t>(s.total_len >= 0 ? s.total_len : static_cast<int>(hlen + s.payload.size())));
    put16(b, s.id);
    put16(b, s.frag);
    put8(b, s.ttl);
    put8(b, s.proto);
    put16(b, 0);
    put32(b, s.src);
    put32(b, s.dst);
    append(b, s.options);
    const uint16_t ck = static_cast<uint16_t>(~ones_sum(b, 0, hlen) ^ (s.corrupt_checksum ? 0x0101 : 0));
    b[10] = static_cast<uint8_t>(ck >> 8);
    b[11] = static_cast<uint8_t>(ck);
    append(b, s.payload);
    return b;
}

Bytes icmp(uint8_t type, uint16_t ident, uint16_t seq, const Bytes& data, bool corrupt = false) {
    Bytes b;
    put8(b, type);
    put8(b, 0);
    put16(b, 0);
    put16(b, ident);
    put16(b, seq);
    append(b, data);
    const uint16_t ck = static_cast<uint16_t>(~ones_sum(b, 0, b.size()) ^ (corrupt ? 0x0001 : 0));
    b[2] = static_cast<uint8_t>(ck >> 8);
    b[3] = static_cast<uint8_t>(ck);
    return b;
}

Bytes tcp_syn(uint16_t dport = 80) {
    Bytes b;
    put16(b, 40000);
    put16(b, dport);
    put32(b, 1000);
    put32(b, 0);
    put8(b, 5 << 4);
    put8(b, 0x02);
    put16(b, 65535);
    put16(b, 0xabcd);  // checksum is the TCP engine's business
    put16(b, 0);
    return b;
}

Ipv4Spec tcp_spec() {
    Ipv4Spec s;
    s.payload = tcp_syn();
    return s;
}

Bytes pattern(size_t n, uint8_t seed = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

Bytes tcp_frame(const Ipv4Spec& s = {}) {
    Ipv4Spec t = s;
    if (t.payload.empty()) t.payload = tcp_syn();
    return ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(t));
}

// An mbuf holding b; with split > 0 the bytes from split on go into a second, chained segment.
rte_mbuf* to_mbuf(const Bytes& b, size_t split = 0) {
    rte_mempool* pool = synack::test::pool();
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) throw std::runtime_error("pool empty");
    const size_t first = split == 0 ? b.size() : split;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(first));
    if (first != 0) std::memcpy(p, b.data(), first);
    if (split != 0) {
        rte_mbuf* s = rte_pktmbuf_alloc(pool);
        if (s == nullptr) throw std::runtime_error("pool empty");
        char* q = rte_pktmbuf_append(s, static_cast<uint16_t>(b.size() - split));
        if (b.size() > split) std::memcpy(q, b.data() + split, b.size() - split);
        rte_pktmbuf_chain(m, s);
    }
    return m;
}

Bytes bytes_of(const rte_mbuf* m) {
    Bytes b(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(b.size()), b.data());
    if (p != b.data() && !b.empty()) std::memcpy(b.data(), p, b.size());
    return b;
}

// An IPv4 packet as the TCP engine would hand it to output(): data at the IPv4 header, default headroom.
rte_mbuf* ip_packet(uint32_t dst, uint16_t id = 1, size_t payload = 20) {
    Ipv4Spec s;
    s.src = kOurIp;
    s.dst = dst;
    s.id = id;
    s.payload = pattern(payload, static_cast<uint8_t>(id));
    return to_mbuf(ipv4(s));
}

uint16_t ip_id_of_frame(const Bytes& f) { return get16(f, 14 + 4); }

NetConfig base_config() {
    NetConfig c;
    c.ip = kOurIp;
    c.prefix_len = 24;
    c.mac = kOurMac;
    return c;
}

class NetTest : public ::testing::Test {
protected:
    void SetUp() override { avail_at_start_ = rte_mempool_avail_count(synack::test::pool()); }
    void TearDown() override {
        ifc_.reset();
        EXPECT_EQ(rte_mempool_avail_count(synack::test::pool()), avail_at_start_) << "an mbuf was leaked";
    }

    Interface& ifc() {
        if (!ifc_) ifc_ = std::make_unique<Interface>(cfg_, synack::test::pool(), kHz);
        return *ifc_;
    }
    // Feeds a frame; a returned (TCP) mbuf is kept in `returned` and freed here.
    rte_mbuf* in(const Bytes& frame, uint64_t now = 0, size_t split = 0) {
        rte_mbuf* r = ifc().input(to_mbuf(frame, split), now);
        if (r != nullptr) {
            returned = bytes_of(r);
            returned_segs = r->nb_segs;
            rte_pktmbuf_free(r);
        }
        return r;
    }
    // Everything on the TX ring, oldest first, copied out and freed.
    std::vector<Bytes> sent() {
        std::vector<Bytes> out;
        rte_mbuf* burst[32];
        while (uint16_t n = ifc().drain_tx(burst, 32)) {
            for (uint16_t i = 0; i < n; ++i) {
                out.push_back(bytes_of(burst[i]));
                rte_pktmbuf_free(burst[i]);
            }
        }
        return out;
    }
    // Peer asks for us: we learn it and answer; the reply is drained.
    void learn(uint32_t ip, const rte_ether_addr& mac, uint64_t now) {
        ArpSpec s;
        s.sip = ip;
        s.sha = mac;
        in(arp_frame(s), now);
        ASSERT_EQ(sent().size(), 1u);
    }

    NetConfig cfg_ = base_config();
    std::unique_ptr<Interface> ifc_;
    unsigned avail_at_start_ = 0;
    Bytes returned;
    uint16_t returned_segs = 0;
};

// Expected bytes of an ARP frame we send (42 bytes, no padding).
Bytes our_arp(uint16_t op, const rte_ether_addr& eth_dst, const rte_ether_addr& tha, uint32_t tip) {
    ArpSpec s;
    s.op = op;
    s.sha = kOurMac;
    s.sip = kOurIp;
    s.tha = tha;
    s.tip = tip;
    return ether(eth_dst, kOurMac, RTE_ETHER_TYPE_ARP, arp(s), 0);
}

// ================================ ARP ================================

TEST_F(NetTest, ArpRequestForUsIsAnsweredWithExactReplyAndRequesterLearned) {
    ArpSpec req;  // who-has 10.0.0.1 tell 10.0.0.2 (02:..:02), broadcast, padded to 60
    EXPECT_EQ(in(arp_frame(req), ms(5)), nullptr);

    const Bytes want = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // to the requester's hardware address
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // from us
        0x08, 0x06,                          // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04,  // Ethernet / IPv4
        0x00, 0x02,                          // reply
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // sha: ours
        0x0a, 0x00, 0x00, 0x01,              // spa: 10.0.0.1
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // tha: requester
        0x0a, 0x00, 0x00, 0x02,              // tpa: 10.0.0.2
    };
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], want);

    const ArpEntry* e = ifc().arp_lookup(kPeerIp);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, ArpState::reachable);
    EXPECT_TRUE(rte_is_same_ether_addr(&e->mac, &kPeerMac));
    EXPECT_EQ(e->deadline, ms(5) + ms(60000));
    EXPECT_EQ(nonzero(ifc().counters()),
              (Counts{{"rx_frames", 1}, {"rx_arp", 1}, {"arp_learned", 1}, {"arp_replies_sent", 1}, {"tx_frames", 1}}));

    // Learned means usable: a packet to the peer now leaves at once with its MAC.
    ifc().output(ip_packet(kPeerIp), ms(6));
    const auto out2 = sent();
    ASSERT_EQ(out2.size(), 1u);
    EXPECT_EQ(Bytes(out2[0].begin(), out2[0].begin() + 6), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));
}

TEST_F(NetTest, ArpRequestForAnotherHostIsNotAnsweredNorLearned) {
    ArpSpec req;
    req.tip = kOtherIp;
    EXPECT_EQ(in(arp_frame(req)), nullptr);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().arp_lookup(kPeerIp), nullptr);  // RFC 826: only merged, never added, when not the target
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_arp", 1}, {"rx_arp_not_for_us", 1}}));
}

TEST_F(NetTest, ArpFromKnownSenderUpdatesEntryEvenWhenNotForUs) {
    learn(kPeerIp, kPeerMac, ms(0));
    // The peer moved to a new MAC and announces it (gratuitous ARP: target = itself).
    ArpSpec ann;
    ann.sha = kPeerMac2;
    ann.tip = kPeerIp;
    EXPECT_EQ(in(arp_frame(ann), ms(1000)), nullptr);
    EXPECT_TRUE(sent().empty());
    const ArpEntry* e = ifc().arp_lookup(kPeerIp);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(rte_is_same_ether_addr(&e->mac, &kPeerMac2));
    EXPECT_EQ(e->deadline, ms(1000) + ms(60000));
    EXPECT_EQ(ifc().counters().arp_updated, 1u);
    EXPECT_EQ(ifc().counters().rx_arp_not_for_us, 1u);
}

TEST_F(NetTest, UnsolicitedArpReplyToUsIsLearned) {
    ArpSpec rep;
    rep.op = 2;
    rep.tha = kOurMac;
    EXPECT_EQ(in(arp_frame(rep, kOurMac)), nullptr);
    EXPECT_TRUE(sent().empty());  // replies are not answered
    ASSERT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_arp", 1}, {"arp_learned", 1}}));
}

TEST_F(NetTest, ArpProbeIsAnsweredButNotLearned) {
    ArpSpec probe;  // RFC 5227 §2.1.1: sender IP 0, target our address
    probe.sip = 0;
    EXPECT_EQ(in(arp_frame(probe)), nullptr);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], our_arp(2, kPeerMac, kPeerMac, 0));
    EXPECT_EQ(ifc().arp_lookup(0), nullptr);
    EXPECT_EQ(ifc().counters().arp_learned, 0u);
}

TEST_F(NetTest, GratuitousArpIsAnRfc5227AnnouncementSentTwiceTwoSecondsApart) {
    ifc().send_gratuitous_arp(ms(100));
    const Bytes want = our_arp(1, kBcast, kZeroMac, kOurIp);
    ASSERT_EQ(want.size(), 42u);
    EXPECT_EQ(want[21], 1);                          // request
    EXPECT_EQ(Bytes(want.begin() + 28, want.begin() + 32), (Bytes{10, 0, 0, 1}));  // sender IP ours
    EXPECT_EQ(Bytes(want.begin() + 38, want.begin() + 42), (Bytes{10, 0, 0, 1}));  // target IP ours
    EXPECT_EQ(sent(), std::vector<Bytes>{want});
    ifc().poll(ms(2099));
    EXPECT_TRUE(sent().empty());
    ifc().poll(ms(2100));
    EXPECT_EQ(sent(), std::vector<Bytes>{want});
    ifc().poll(ms(10000));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().arp_announcements_sent, 2u);
}

TEST_F(NetTest, MalformedArpIsCountedAndIgnored) {
    struct Case {
        const char* name;
        ArpSpec spec;
        const char* counter;
    };
    std::vector<Case> cases;
    ArpSpec s;
    s.hrd = 6;  // IEEE 802 instead of Ethernet
    cases.push_back({"hardware type", s, "rx_arp_bad"});
    s = {};
    s.pro = 0x86dd;
    cases.push_back({"protocol type", s, "rx_arp_bad"});
    s = {};
    s.hln = 8;
    cases.push_back({"hardware length", s, "rx_arp_bad"});
    s = {};
    s.op = 3;  // RARP request
    cases.push_back({"opcode", s, "rx_arp_bad"});
    s = {};
    s.sha = kBcast;
    cases.push_back({"broadcast sender MAC", s, "rx_arp_bad"});
    s = {};
    s.sip = RTE_IPV4(224, 0, 0, 1);
    cases.push_back({"multicast sender IP", s, "rx_arp_bad"});
    s = {};
    s.sip = kOurIp;  // someone claims our address
    cases.push_back({"address conflict", s, "rx_arp_conflict"});
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        ifc_.reset();
        // The sender MAC in the Ethernet header stays valid; only the ARP body is wrong.
        Bytes f = ether(kBcast, kPeerMac, RTE_ETHER_TYPE_ARP, arp(c.spec));
        EXPECT_EQ(in(f), nullptr);
        EXPECT_TRUE(sent().empty());
        EXPECT_EQ(ifc().arp_lookup(c.spec.sip), nullptr);
        EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_arp", 1}, {c.counter, 1}}));
    }
}

TEST_F(NetTest, TruncatedArpIsCounted) {
    Bytes f = arp_frame(ArpSpec{}, kBcast, 0);
    f.resize(14 + 27);
    EXPECT_EQ(in(f), nullptr);
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_truncated", 1}}));
}

// ================================ ICMP ================================

void expect_echo_reply(const Bytes& reply, const Bytes& request_frame, size_t icmp_len) {
    ASSERT_EQ(reply.size(), 14 + 20 + icmp_len);
    // Ethernet: back to the sender, from us.
    EXPECT_EQ(Bytes(reply.begin(), reply.begin() + 6), Bytes(request_frame.begin() + 6, request_frame.begin() + 12));
    EXPECT_EQ(Bytes(reply.begin() + 6, reply.begin() + 12), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    EXPECT_EQ(get16(reply, 12), RTE_ETHER_TYPE_IPV4);
    // IPv4: addresses swapped, fresh TTL, valid checksum, same length.
    EXPECT_EQ(Bytes(reply.begin() + 26, reply.begin() + 30), Bytes(request_frame.begin() + 30, request_frame.begin() + 34));
    EXPECT_EQ(Bytes(reply.begin() + 30, reply.begin() + 34), Bytes(request_frame.begin() + 26, request_frame.begin() + 30));
    EXPECT_EQ(reply[14 + 8], 64);
    EXPECT_EQ(get16(reply, 14 + 2), 20 + icmp_len);
    EXPECT_EQ(ones_sum(reply, 14, 20), 0xffff) << "IPv4 header checksum";
    // ICMP: echo reply, same identifier, sequence number and data, valid checksum.
    EXPECT_EQ(reply[34], 0);
    EXPECT_EQ(reply[35], 0);
    EXPECT_EQ(Bytes(reply.begin() + 38, reply.end()), Bytes(request_frame.begin() + 38, request_frame.begin() + 34 + static_cast<long>(icmp_len)));
    EXPECT_EQ(ones_sum(reply, 34, icmp_len), 0xffff) << "ICMP checksum";
}

TEST_F(NetTest, EchoRequestIsAnsweredInPlace) {
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 0x1234, 7, pattern(56));
    const Bytes f = ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s));
    EXPECT_EQ(in(f), nullptr);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_echo_reply(out[0], f, 64);
    EXPECT_EQ(get16(out[0], 38), 0x1234);
    EXPECT_EQ(get16(out[0], 40), 7);
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_ipv4", 1}, {"rx_icmp", 1},
                                                 {"icmp_echo_replies", 1}, {"tx_frames", 1}}));
}

TEST_F(NetTest, EchoReplyDropsEthernetPadding) {
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 1, 1, {});
    const Bytes f = ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s));  // 42 bytes padded to 60
    ASSERT_EQ(f.size(), 60u);
    in(f);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_echo_reply(out[0], f, 8);
}

TEST_F(NetTest, EchoRequestSpanningTwoSegmentsIsAnswered) {
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 0xbeef, 3, pattern(301, 5));  // odd length, split at an odd offset
    const Bytes f = ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s));
    in(f, 0, 14 + 20 + 8 + 101);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_echo_reply(out[0], f, 8 + 301);
}

TEST_F(NetTest, EchoFromOurOwnMacIsAnswered) {
    // net_tap: the kernel side has the same MAC as the port, so frames arrive "from us". They must still count.
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 9, 9, pattern(8));
    const Bytes f = ether(kOurMac, kOurMac, RTE_ETHER_TYPE_IPV4, ipv4(s));
    in(f);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    expect_echo_reply(out[0], f, 16);
}

TEST_F(NetTest, MultiSegmentChecksumMatchesTheFlatSumForAnySplit) {
    // Odd-length segments are where DPDK 22.11's rte_raw_cksum_mbuf goes wrong; ours must not.
    const Bytes data = pattern(600, 0xf1);
    std::mt19937 rng(7);
    for (int round = 0; round < 500; ++round) {
        size_t a = 1 + rng() % 598, b = 1 + rng() % 598;
        if (a > b) std::swap(a, b);
        if (a == b) ++b;
        rte_mbuf* segs[3] = {};
        const size_t cut[4] = {0, a, b, data.size()};
        for (int i = 0; i < 3; ++i) {
            segs[i] = rte_pktmbuf_alloc(synack::test::pool());
            ASSERT_NE(segs[i], nullptr);
            std::memcpy(rte_pktmbuf_append(segs[i], static_cast<uint16_t>(cut[i + 1] - cut[i])), &data[cut[i]],
                        cut[i + 1] - cut[i]);
            if (i > 0) {
                ASSERT_EQ(rte_pktmbuf_chain(segs[0], segs[i]), 0);
            }
        }
        const uint32_t off = rng() % 300, len = static_cast<uint32_t>(rng() % (data.size() - off + 1));
        EXPECT_EQ(mbuf_raw_cksum(segs[0], off, len), rte_cpu_to_be_16(ones_sum(data, off, len))) << a << " " << b << " " << off << " "
                                                                              << len;
        rte_pktmbuf_free(segs[0]);
    }
}

TEST_F(NetTest, TrimToCutsAcrossSegments) {
    const Bytes data = pattern(300);
    rte_mbuf* m = to_mbuf(data, 100);
    mbuf_trim_to(m, 150);
    EXPECT_EQ(m->nb_segs, 2);
    EXPECT_EQ(bytes_of(m), Bytes(data.begin(), data.begin() + 150));
    mbuf_trim_to(m, 60);  // the second segment goes back to the pool (TearDown counts it)
    EXPECT_EQ(m->nb_segs, 1);
    EXPECT_EQ(m->next, nullptr);
    EXPECT_EQ(bytes_of(m), Bytes(data.begin(), data.begin() + 60));
    rte_pktmbuf_free(m);
}

// ============================ drops on input ============================

struct DropCase {
    const char* name;
    Bytes frame;
    const char* counter;
    Counts extra;  // counters moved besides rx_frames and the drop counter
    uint64_t ol_flags = 0;
    size_t split = 0;
};

Bytes ip_frame_with(void (*edit)(Ipv4Spec&), size_t pad_to = 60) {
    Ipv4Spec s;
    s.payload = tcp_syn();
    edit(s);
    return ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s), pad_to);
}

std::vector<DropCase> drop_cases() {
    const Counts ip{{"rx_ipv4", 1}};
    const Counts ic{{"rx_ipv4", 1}, {"rx_icmp", 1}};
    std::vector<DropCase> v;
    v.push_back({"bad IP checksum", ip_frame_with([](Ipv4Spec& s) { s.corrupt_checksum = true; }),
                 "rx_ip_bad_checksum", ip});
    v.push_back({"port says checksum bad", tcp_frame(), "rx_ip_bad_checksum", ip, RTE_MBUF_F_RX_IP_CKSUM_BAD});
    v.push_back({"bad version", ip_frame_with([](Ipv4Spec& s) { s.version = 6; }), "rx_ip_bad_version", ip});
    v.push_back({"IHL 4", ip_frame_with([](Ipv4Spec& s) { s.ihl = 4; }), "rx_ip_bad_header_len", ip});
    v.push_back({"IP options", ip_frame_with([](Ipv4Spec& s) { s.options = {1, 1, 1, 0}; }), "rx_ip_options", ip});
    v.push_back({"total length beyond frame", ip_frame_with([](Ipv4Spec& s) { s.total_len = 61; }),
                 "rx_ip_bad_total_len", ip});
    v.push_back({"total length below header", ip_frame_with([](Ipv4Spec& s) { s.total_len = 19; }),
                 "rx_ip_bad_total_len", ip});
    v.push_back({"more fragments", ip_frame_with([](Ipv4Spec& s) { s.frag = 0x2000; }), "rx_ip_fragment", ip});
    v.push_back({"fragment offset", ip_frame_with([](Ipv4Spec& s) { s.frag = 0x0001; }), "rx_ip_fragment", ip});
    v.push_back({"wrong dst IP", ip_frame_with([](Ipv4Spec& s) { s.dst = kOtherIp; }), "rx_ip_not_for_us", ip});
    v.push_back({"broadcast dst IP", ip_frame_with([](Ipv4Spec& s) { s.dst = 0xffffffff; }), "rx_ip_not_for_us", ip});
    v.push_back({"multicast src IP", ip_frame_with([](Ipv4Spec& s) { s.src = RTE_IPV4(224, 1, 2, 3); }),
                 "rx_ip_bad_src", ip});
    v.push_back({"loopback src IP", ip_frame_with([](Ipv4Spec& s) { s.src = RTE_IPV4(127, 0, 0, 1); }),
                 "rx_ip_bad_src", ip});
    v.push_back({"subnet broadcast src IP", ip_frame_with([](Ipv4Spec& s) { s.src = RTE_IPV4(10, 0, 0, 255); }),
                 "rx_ip_bad_src", ip});
    v.push_back({"UDP", ip_frame_with([](Ipv4Spec& s) { s.proto = IPPROTO_UDP; }), "rx_ip_unknown_proto", ip});
    {
        Bytes f = tcp_frame();
        f.resize(14 + 19);
        v.push_back({"IPv4 header truncated", f, "rx_truncated", {}});
    }
    v.push_back({"IPv4 header across segments", tcp_frame(), "rx_headers_split", {}, 0, 14 + 10});
    v.push_back({"Ethernet header truncated", Bytes(13, 0xff), "rx_truncated", {}});
    v.push_back({"Ethernet header across segments", tcp_frame(), "rx_headers_split", {}, 0, 6});
    v.push_back({"wrong dst MAC", ether(kOtherMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4({})), "rx_not_for_us", {}});
    v.push_back({"multicast dst MAC",
                 ether(rte_ether_addr{{0x01, 0x00, 0x5e, 0, 0, 1}}, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4({})),
                 "rx_not_for_us", {}});
    v.push_back({"multicast src MAC",
                 ether(kOurMac, rte_ether_addr{{0x01, 0x00, 0x5e, 0, 0, 1}}, RTE_ETHER_TYPE_IPV4, ipv4({})),
                 "rx_bad_src_mac", {}});
    v.push_back({"IPv6 with IPv6 off", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV6, Bytes(40)), "rx_ip6_no_ipv6",
                 {{"rx_ipv6", 1}}});
    v.push_back({"VLAN tag", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_VLAN, Bytes(46)), "rx_unknown_ethertype", {}});
    {
        Ipv4Spec s;
        s.proto = IPPROTO_ICMP;
        s.payload = icmp(8, 1, 2, pattern(32), true);
        v.push_back({"bad ICMP checksum", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)), "rx_icmp_bad", ic});
        s.payload = {8, 0, 0xf7, 0xff};  // 4 bytes: shorter than an ICMP header
        v.push_back({"ICMP too short", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)), "rx_icmp_bad", ic});
        s.payload = icmp(3, 0, 0, pattern(28));  // destination unreachable
        v.push_back({"ICMP unreachable", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)), "rx_icmp_unhandled",
                     ic});
        s.payload = icmp(8, 1, 2, pattern(32));
        v.push_back({"ICMP header across segments", ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)),
                     "rx_icmp_unusable", ic, 0, 14 + 20 + 4});
    }
    return v;
}

TEST_F(NetTest, EveryMalformedOrForeignFrameIsDroppedWithItsCounter) {
    for (DropCase& c : drop_cases()) {
        SCOPED_TRACE(c.name);
        ifc_.reset();
        rte_mbuf* m = to_mbuf(c.frame, c.split);
        m->ol_flags |= c.ol_flags;
        EXPECT_EQ(ifc().input(m, 0), nullptr);
        EXPECT_TRUE(sent().empty());
        Counts want = c.extra;
        want["rx_frames"] = 1;
        want[c.counter] = 1;
        EXPECT_EQ(nonzero(ifc().counters()), want);
    }
}

TEST_F(NetTest, SharedEchoRequestIsNotRewritten) {
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 1, 2, pattern(32));
    rte_mbuf* m = to_mbuf(ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)));
    rte_mbuf_refcnt_update(m, 1);  // someone else (a capture) still holds it
    EXPECT_EQ(ifc().input(m, 0), nullptr);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().rx_icmp_unusable, 1u);
    EXPECT_EQ(rte_mbuf_refcnt_read(m), 1u);  // our reference was released, the other one is intact
    rte_pktmbuf_free(m);
}

// ================================ TCP ================================

TEST_F(NetTest, TcpIsReturnedAtTheIpv4HeaderWithPaddingTrimmed) {
    Ipv4Spec s;
    const Bytes f = tcp_frame(s);  // 14 + 20 + 20 = 54, padded to 60
    ASSERT_EQ(f.size(), 60u);
    rte_mbuf* r = ifc().input(to_mbuf(f), 0);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(rte_pktmbuf_pkt_len(r), 40u);
    EXPECT_EQ(rte_pktmbuf_data_len(r), 40u);
    EXPECT_EQ(bytes_of(r), Bytes(f.begin() + 14, f.begin() + 54));
    rte_pktmbuf_free(r);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_ipv4", 1}, {"rx_tcp", 1}}));
}

TEST_F(NetTest, TcpPaddingInASecondSegmentIsFreed) {
    const Bytes f = tcp_frame();
    ASSERT_NE(in(f, 0, 54), nullptr);  // the 6 padding bytes sit alone in segment 2
    EXPECT_EQ(returned_segs, 1);
    EXPECT_EQ(returned, Bytes(f.begin() + 14, f.begin() + 54));
}

TEST_F(NetTest, TcpPayloadAcrossSegmentsIsKept) {
    Ipv4Spec s;
    s.payload = tcp_syn();
    append(s.payload, pattern(500));
    const Bytes f = ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s));
    ASSERT_NE(in(f, 0, 100), nullptr);
    EXPECT_EQ(returned_segs, 2);
    EXPECT_EQ(returned, Bytes(f.begin() + 14, f.end()));
}

TEST_F(NetTest, PortVerifiedChecksumIsTrusted) {
    rte_mbuf* m = to_mbuf(ip_frame_with([](Ipv4Spec& s) { s.corrupt_checksum = true; }));
    m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;  // the port checked it; we do not look again
    rte_mbuf* r = ifc().input(m, 0);
    ASSERT_NE(r, nullptr);
    rte_pktmbuf_free(r);
    EXPECT_EQ(ifc().counters().rx_tcp, 1u);
}

TEST_F(NetTest, TcpFromOurOwnMacIsAccepted) {
    const Bytes f = ether(kOurMac, kOurMac, RTE_ETHER_TYPE_IPV4, ipv4(tcp_spec()));
    EXPECT_NE(in(f), nullptr);
    EXPECT_EQ(ifc().counters().rx_tcp, 1u);
}

// RFC 1122 §3.3.6: a datagram for our unicast address that came in a link-layer broadcast SHOULD be discarded.
TEST_F(NetTest, BroadcastFrameCarryingTcpForUsIsDropped) {
    const Bytes f = ether(kBcast, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(tcp_spec()));
    EXPECT_EQ(in(f), nullptr);
    EXPECT_EQ(ifc().counters().rx_tcp, 0u);
    EXPECT_EQ(ifc().counters().rx_ip_not_for_us, 1u);
}

TEST_F(NetTest, OurOwnAddressAsSourceIsDropped) {  // LAND
    auto spec = tcp_spec();
    spec.src = kOurIp;
    const Bytes f = ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(spec));
    EXPECT_EQ(in(f), nullptr);
    EXPECT_EQ(ifc().counters().rx_ip_bad_src, 1u);
}

// ============================ output and ARP resolution ============================

TEST_F(NetTest, OutputToUnknownNeighbourAsksAndHoldsThenSendsOnReply) {
    rte_mbuf* p = ip_packet(kPeerIp, 77);
    const Bytes packet = bytes_of(p);
    ifc().output(p, ms(10));
    EXPECT_EQ(sent(), std::vector<Bytes>{our_arp(1, kBcast, kZeroMac, kPeerIp)});
    const ArpEntry* e = ifc().arp_lookup(kPeerIp);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, ArpState::incomplete);
    EXPECT_EQ(e->held_count, 1u);

    // 10.0.0.2 is-at 02:..:02, to us.
    ArpSpec rep;
    rep.op = 2;
    rep.tha = kOurMac;
    EXPECT_EQ(in(arp_frame(rep, kOurMac), ms(11)), nullptr);
    Bytes want = ether(kPeerMac, kOurMac, RTE_ETHER_TYPE_IPV4, packet, 0);
    EXPECT_EQ(sent(), std::vector<Bytes>{want});
    EXPECT_EQ(e->state, ArpState::reachable);
    EXPECT_EQ(e->held_count, 0u);
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_arp", 1}, {"arp_requests_sent", 1},
                                                 {"arp_resolved", 1}, {"tx_frames", 2}}));

    // Resolved: the next packet goes straight out, l2_len set for offloads.
    ifc().output(ip_packet(kPeerIp, 78), ms(12));
    rte_mbuf* burst[4];
    ASSERT_EQ(ifc().drain_tx(burst, 4), 1);
    EXPECT_EQ(burst[0]->l2_len, RTE_ETHER_HDR_LEN);
    EXPECT_EQ(ip_id_of_frame(bytes_of(burst[0])), 78);
    rte_pktmbuf_free(burst[0]);
}

TEST_F(NetTest, UnansweredRequestIsRetriedThenFailsDroppingHeldPackets) {
    // Defaults: retry every 1000 ms, 3 retries; the entry fails one interval after the last.
    const Bytes req = our_arp(1, kBcast, kZeroMac, kPeerIp);
    ifc().output(ip_packet(kPeerIp, 1), ms(0));
    ifc().output(ip_packet(kPeerIp, 2), ms(300));  // joins the wait, no second request
    EXPECT_EQ(sent(), std::vector<Bytes>{req});
    ifc().poll(ms(999));
    EXPECT_TRUE(sent().empty());
    for (uint64_t t : {1000, 2000, 3000}) {
        SCOPED_TRACE(t);
        ifc().poll(ms(t));
        EXPECT_EQ(sent(), std::vector<Bytes>{req});
        ifc().poll(ms(t) + 1);
        EXPECT_TRUE(sent().empty());
    }
    ifc().output(ip_packet(kPeerIp, 3), ms(3500));
    ifc().poll(ms(3999));
    EXPECT_TRUE(sent().empty());
    ASSERT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    ifc().poll(ms(4000));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"arp_requests_sent", 4}, {"arp_failed", 1},
                                                 {"arp_pending_dropped", 3}, {"tx_frames", 4}}));

    // A later packet starts over with a fresh request.
    ifc().output(ip_packet(kPeerIp, 4), ms(5000));
    EXPECT_EQ(sent(), std::vector<Bytes>{req});
}

// ============================ --share-kernel ============================
// The kernel owns the address: ARP and ICMP are its own, and next hops come from its neighbour table (the resolver).

// The kernel's neighbour table as XdpShare's control thread sees it, behind the worker's mailbox: the worker
// posts a question (never waits), serve() is one turn of the control thread, deliver() the worker's next poll.
struct FakeKernel {
    std::map<uint32_t, rte_ether_addr> table;
    std::vector<uint32_t> asked;
    synack::dpdk::NeighbourMailbox mailbox;
    unsigned serve() {
        return mailbox.serve([this](const synack::dpdk::NeighbourQuery& q, rte_ether_addr& mac) {
            asked.push_back(q.ip);
            const auto it = table.find(q.ip);
            if (it == table.end()) return false;
            mac = it->second;
            return true;
        });
    }
};

TEST_F(NetTest, SharedWithTheKernelNextHopComesFromTheKernelTableAndNoArpIsSent) {
    cfg_.share_kernel = true;
    FakeKernel k;
    ifc().set_resolver(&synack::dpdk::NeighbourMailbox::ask, &k.mailbox);
    // Known to the kernel: held until its answer comes back, then out with its MAC; no ARP request on the wire.
    k.table[kPeerIp] = kPeerMac;
    rte_mbuf* p = ip_packet(kPeerIp, 5);
    const Bytes packet = bytes_of(p);
    ifc().output(p, ms(1));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(k.serve(), 1u);
    EXPECT_TRUE(sent().empty());  // answered, not yet taken by the worker
    k.mailbox.deliver(ifc(), ms(1));
    EXPECT_EQ(sent(), std::vector<Bytes>{ether(kPeerMac, kOurMac, RTE_ETHER_TYPE_IPV4, packet, 0)});

    // Unknown: held, no answer; asked again on each retry until the kernel knows.
    ifc().output(ip_packet(kOtherIp, 6), ms(2));
    EXPECT_EQ(k.serve(), 1u);
    k.mailbox.deliver(ifc(), ms(2));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(k.asked, (std::vector<uint32_t>{kPeerIp, kOtherIp}));
    ifc().poll(ms(2) + ms(1000) - 1);
    EXPECT_EQ(k.serve(), 0u);
    ifc().poll(ms(2) + ms(1000));
    EXPECT_EQ(k.serve(), 1u);
    EXPECT_TRUE(sent().empty());
    // The kernel learns it; two questions in flight (two retries before the thread looks) get two answers, and
    // the second finds the entry resolved already: one frame, resolved once.
    k.table[kOtherIp] = kOtherMac;
    ifc().poll(ms(2) + ms(2000));
    ifc().poll(ms(2) + ms(3000));
    EXPECT_EQ(k.serve(), 2u);
    k.mailbox.deliver(ifc(), ms(2) + ms(3000));
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Bytes(out[0].begin(), out[0].begin() + 6), Bytes(kOtherMac.addr_bytes, kOtherMac.addr_bytes + 6));
    EXPECT_EQ(ip_id_of_frame(out[0]), 6);
    EXPECT_EQ(nonzero(ifc().counters()),
              (Counts{{"arp_resolved", 2}, {"arp_kernel_asked", 5}, {"tx_frames", 2}}));
}

TEST_F(NetTest, SharedWithTheKernelAQuestionThatFindsTheQueueFullIsAskedAgainOnTheNextRetry) {
    cfg_.share_kernel = true;
    bool room = false;
    ifc().set_resolver([](void* r, uint32_t) { return *static_cast<bool*>(r); }, &room);
    ifc().output(ip_packet(kPeerIp, 7), ms(1));
    EXPECT_EQ(ifc().arp_lookup(kPeerIp)->state, ArpState::incomplete);  // the packet waits in the entry
    room = true;
    ifc().poll(ms(1) + ms(1000));
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"arp_kernel_ask_deferred", 1}, {"arp_kernel_asked", 1}}));
    ifc().kernel_neighbour(kPeerIp, kPeerMac, ms(1500));
    ASSERT_EQ(sent().size(), 1u);
    EXPECT_EQ(ifc().counters().arp_resolved, 1u);
    ifc().kernel_neighbour(kOtherIp, kOtherMac, ms(1600));  // nobody waits for it: nothing learned, nothing sent
    EXPECT_EQ(ifc().arp_lookup(kOtherIp), nullptr);
    EXPECT_TRUE(sent().empty());
}

TEST_F(NetTest, SharedWithTheKernelANextHopInUseIsRefreshedFromTheKernelTableWithoutHoldingItsPackets) {
    cfg_.share_kernel = true;
    FakeKernel k;
    ifc().set_resolver(&synack::dpdk::NeighbourMailbox::ask, &k.mailbox);
    k.table[kPeerIp] = kPeerMac;
    k.table[kOtherIp] = kOtherMac;
    for (uint32_t ip : {kPeerIp, kOtherIp}) ifc().output(ip_packet(ip, 1), ms(1));
    EXPECT_EQ(k.serve(), 2u);
    k.mailbox.deliver(ifc(), ms(1));
    EXPECT_EQ(sent().size(), 2u);
    // The peer is in use when its entry's time is up (arp_ttl_ms after it was answered); the other is not.
    ifc().output(ip_packet(kPeerIp, 2), ms(60000));
    EXPECT_EQ(sent().size(), 1u);
    ifc().poll(ms(60001));
    EXPECT_EQ(ifc().arp_lookup(kOtherIp), nullptr);  // forgotten, as RFC 1122 §2.3.2.1 asks
    ASSERT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(ifc().arp_lookup(kPeerIp)->state, ArpState::reachable);  // asked again, and still used meanwhile
    ifc().output(ip_packet(kPeerIp, 3), ms(60002));
    EXPECT_EQ(sent().size(), 1u);
    EXPECT_EQ(k.serve(), 1u);
    k.mailbox.deliver(ifc(), ms(60003));
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"arp_resolved", 2}, {"arp_kernel_asked", 3}, {"arp_updated", 1},
                                                 {"arp_expired", 1}, {"tx_frames", 4}}));
    // Answered: good for another arp_ttl_ms; used meanwhile (the packet at 60002), so checked again then. This time
    // the kernel has forgotten it and no answer comes within one retry interval: forgotten too.
    k.table.erase(kPeerIp);
    ifc().poll(ms(60003) + ms(60000) - 1);
    EXPECT_EQ(k.serve(), 0u);
    ifc().poll(ms(60003) + ms(60000));
    EXPECT_EQ(k.serve(), 1u);
    k.mailbox.deliver(ifc(), ms(120004));
    ASSERT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    ifc().poll(ms(121003) - 1);
    ASSERT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    ifc().poll(ms(121003));
    EXPECT_EQ(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(ifc().counters().arp_kernel_asked, 4u);
    EXPECT_EQ(ifc().counters().arp_expired, 2u);
}

TEST_F(NetTest, SharedWithTheKernelArpAndPingAreLeftToIt) {
    cfg_.share_kernel = true;
    // Only without synack's XDP program could these reach us; the kernel answers them, so we stay silent.
    ArpSpec req;
    EXPECT_EQ(in(arp_frame(req), ms(5)), nullptr);
    Ipv4Spec s;
    s.proto = IPPROTO_ICMP;
    s.payload = icmp(8, 0x1234, 7, pattern(56));
    EXPECT_EQ(in(ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)), ms(6)), nullptr);
    ifc().send_gratuitous_arp(ms(7));
    ifc().poll(ms(3000));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 2}, {"rx_arp", 1}, {"arp_learned", 1}, {"rx_ipv4", 1},
                                                 {"rx_icmp", 1}, {"rx_icmp_unhandled", 1}}));
}

TEST_F(NetTest, OffSubnetDestinationGoesThroughTheGatewayMac) {
    cfg_.gateway = kGwIp;
    rte_mbuf* p = ip_packet(kRemoteIp, 5);
    const Bytes packet = bytes_of(p);
    ifc().output(p, 0);
    EXPECT_EQ(sent(), std::vector<Bytes>{our_arp(1, kBcast, kZeroMac, kGwIp)});  // ask for the gateway
    EXPECT_EQ(ifc().arp_lookup(kRemoteIp), nullptr);

    ArpSpec rep;
    rep.op = 2;
    rep.sha = kGwMac;
    rep.sip = kGwIp;
    rep.tha = kOurMac;
    in(arp_frame(rep, kOurMac), 1);
    const auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], ether(kGwMac, kOurMac, RTE_ETHER_TYPE_IPV4, packet, 0));  // IP dst still 192.0.2.7
    EXPECT_EQ(Bytes(out[0].begin() + 30, out[0].begin() + 34), (Bytes{192, 0, 2, 7}));
}

TEST_F(NetTest, OffSubnetWithoutGatewayIsDropped) {
    ifc().output(ip_packet(kRemoteIp), 0);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"tx_no_route", 1}}));
}

TEST_F(NetTest, OutputRefusesWhatItCannotSend) {
    ifc().output(ip_packet(kOurIp), 0);
    ifc().output(ip_packet(RTE_IPV4(224, 0, 0, 5)), 0);
    ifc().output(ip_packet(0xffffffff), 0);
    ifc().output(ip_packet(RTE_IPV4(10, 0, 0, 255)), 0);  // subnet broadcast
    rte_mbuf* big = ip_packet(kPeerIp, 1, 1500 - 20 + 1);
    ifc().output(big, 0);
    rte_mbuf* tiny = to_mbuf(Bytes(10, 0x45));
    ifc().output(tiny, 0);
    rte_mbuf* v6 = to_mbuf(Bytes(40, 0x60));
    ifc().output(v6, 0);  // IPv6 is off in this configuration: no route
    rte_mbuf* v5 = to_mbuf(Bytes(40, 0x50));
    ifc().output(v5, 0);
    rte_mbuf* cramped = rte_pktmbuf_alloc(synack::test::pool());
    cramped->data_off = 8;  // less than 14 bytes of headroom
    rte_mbuf* model = ip_packet(kPeerIp);
    const Bytes pkt = bytes_of(model);
    rte_pktmbuf_free(model);
    std::memcpy(rte_pktmbuf_append(cramped, static_cast<uint16_t>(pkt.size())), pkt.data(), pkt.size());
    ifc().output(cramped, 0);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(nonzero(ifc().counters()),
              (Counts{{"tx_no_route", 5}, {"tx_too_big", 1}, {"tx_malformed", 2}, {"tx_no_headroom", 1}}));
}

TEST_F(NetTest, TsoPacketMayExceedTheMtu) {
    learn(kPeerIp, kPeerMac, 0);
    Ipv4Spec s;
    s.src = kOurIp;
    s.dst = kPeerIp;
    s.payload = pattern(4000);
    rte_mbuf* big = to_mbuf(ipv4(s), 2000);
    big->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
    ifc().output(big, 0);
    EXPECT_EQ(sent().size(), 1u);
    EXPECT_EQ(ifc().counters().tx_too_big, 0u);
}

TEST_F(NetTest, HeldPacketsAreBoundedKeepingTheNewest) {
    cfg_.arp_pending_max = 4;
    for (uint16_t id = 1; id <= 6; ++id) ifc().output(ip_packet(kPeerIp, id), 0);
    EXPECT_EQ(sent().size(), 1u);  // the one request
    EXPECT_EQ(ifc().arp_lookup(kPeerIp)->held_count, 4u);
    EXPECT_EQ(ifc().counters().arp_pending_overflow, 2u);

    ArpSpec rep;
    rep.op = 2;
    rep.tha = kOurMac;
    in(arp_frame(rep, kOurMac), 1);
    const auto out = sent();
    ASSERT_EQ(out.size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(ip_id_of_frame(out[i]), 3 + i) << "RFC 1122 §2.3.2.2 keeps the latest";
}

TEST_F(NetTest, TxRingIsBounded) {
    cfg_.tx_ring_size = 8;
    learn(kPeerIp, kPeerMac, 0);
    for (uint16_t id = 1; id <= 10; ++id) ifc().output(ip_packet(kPeerIp, id), 0);
    EXPECT_EQ(ifc().counters().tx_queue_full, 2u);
    const auto out = sent();
    ASSERT_EQ(out.size(), 8u);
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(ip_id_of_frame(out[i]), 1 + i);
    EXPECT_EQ(ifc().counters().tx_frames, 1u + 8u);  // the ARP reply of learn(), then 8 packets
    // Room again after draining.
    ifc().output(ip_packet(kPeerIp, 11), 0);
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(NetTest, DrainTxHandsOutAtMostTheRequestedCountInOrder) {
    learn(kPeerIp, kPeerMac, 0);
    for (uint16_t id = 1; id <= 5; ++id) ifc().output(ip_packet(kPeerIp, id), 0);
    rte_mbuf* burst[3];
    ASSERT_EQ(ifc().drain_tx(burst, 3), 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(ip_id_of_frame(bytes_of(burst[i])), i + 1);
        rte_pktmbuf_free(burst[i]);
    }
    const auto rest = sent();
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(ip_id_of_frame(rest[0]), 4);
}

TEST_F(NetTest, ReachableEntryAgesOutAndIsAskedForAgain) {
    learn(kPeerIp, kPeerMac, ms(0));
    ifc().poll(ms(59999));
    ifc().output(ip_packet(kPeerIp, 1), ms(59999));
    EXPECT_EQ(sent().size(), 1u);  // still known
    ifc().poll(ms(60000));
    EXPECT_EQ(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(ifc().counters().arp_expired, 1u);
    ifc().output(ip_packet(kPeerIp, 2), ms(60001));
    EXPECT_EQ(sent(), std::vector<Bytes>{our_arp(1, kBcast, kZeroMac, kPeerIp)});
}

TEST_F(NetTest, ArpFromTheNeighbourRefreshesItsAge) {
    learn(kPeerIp, kPeerMac, ms(0));
    learn(kPeerIp, kPeerMac, ms(30000));  // it asks again: RFC 826 merge refreshes
    ifc().poll(ms(60000));
    EXPECT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    ifc().poll(ms(89999));
    EXPECT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    ifc().poll(ms(90000));
    EXPECT_EQ(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(ifc().counters().arp_updated, 1u);
    EXPECT_EQ(ifc().counters().arp_expired, 1u);
}

TEST_F(NetTest, FullCacheEvictsAnUnusedReachableEntry) {
    cfg_.arp_cache_size = 2;
    learn(kPeerIp, kPeerMac, 0);
    learn(kOtherIp, kOtherMac, 0);
    ifc().output(ip_packet(kPeerIp), 1);  // peer in use: it gets a second chance
    EXPECT_EQ(sent().size(), 1u);
    learn(kGwIp, kGwMac, 2);
    EXPECT_NE(ifc().arp_lookup(kPeerIp), nullptr);
    EXPECT_EQ(ifc().arp_lookup(kOtherIp), nullptr);
    EXPECT_NE(ifc().arp_lookup(kGwIp), nullptr);
    EXPECT_EQ(ifc().counters().arp_evicted, 1u);
}

TEST_F(NetTest, CacheFullOfUnresolvedEntriesDropsTheNewDestination) {
    cfg_.arp_cache_size = 1;
    ifc().output(ip_packet(kPeerIp), 0);
    ifc().output(ip_packet(kOtherIp), 0);  // the only entry is waiting for a reply: nothing to evict
    EXPECT_EQ(sent().size(), 1u);
    EXPECT_EQ(ifc().arp_lookup(kOtherIp), nullptr);
    EXPECT_EQ(ifc().counters().arp_cache_full, 1u);
}

TEST_F(NetTest, ManyNeighboursSurviveInsertAndEraseChurn) {
    // Fill, age out half, refill: the open-addressing index must keep finding everyone.
    cfg_.arp_cache_size = 64;
    for (uint32_t i = 0; i < 64; ++i)
        learn(RTE_IPV4(10, 0, 0, 10 + i), rte_ether_addr{{0x02, 1, 0, 0, 0, static_cast<uint8_t>(i)}},
              i % 2 == 0 ? ms(0) : ms(30000));
    ifc().poll(ms(60000));
    EXPECT_EQ(ifc().counters().arp_expired, 32u);
    for (uint32_t i = 0; i < 64; ++i) {
        const ArpEntry* e = ifc().arp_lookup(RTE_IPV4(10, 0, 0, 10 + i));
        if (i % 2 == 0) {
            EXPECT_EQ(e, nullptr) << i;
        } else {
            ASSERT_NE(e, nullptr) << i;
            EXPECT_EQ(e->mac.addr_bytes[5], i);
        }
    }
    for (uint32_t i = 0; i < 32; ++i) learn(RTE_IPV4(10, 0, 0, 100 + i), kOtherMac, ms(60001));
    for (uint32_t i = 0; i < 32; ++i) EXPECT_NE(ifc().arp_lookup(RTE_IPV4(10, 0, 0, 100 + i)), nullptr) << i;
    for (uint32_t i = 1; i < 64; i += 2) EXPECT_NE(ifc().arp_lookup(RTE_IPV4(10, 0, 0, 10 + i)), nullptr) << i;
    EXPECT_EQ(ifc().counters().arp_evicted, 0u);
}

// ============================ configuration ============================

TEST(NetConfigTest, BadConfigurationsAreRefused) {
    rte_mempool* pool = synack::test::pool();
    auto refused = [&](void (*edit)(NetConfig&)) {
        NetConfig c = base_config();
        edit(c);
        try {
            Interface i(c, pool, kHz);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what()).find("NetConfig") != std::string::npos;
        }
        return false;
    };
    EXPECT_TRUE(refused([](NetConfig& c) { c.ip = 0; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.ip = RTE_IPV4(224, 0, 0, 1); }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.ip = RTE_IPV4(10, 0, 0, 255); }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.prefix_len = 33; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.gateway = RTE_IPV4(10, 0, 1, 1); }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.gateway = kOurIp; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.mac = kZeroMac; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.mac = kBcast; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.mtu = 67; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.arp_retry_ms = 0; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.arp_ttl_ms = 0; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.arp_pending_max = 0; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.arp_cache_size = 0; }));
    EXPECT_TRUE(refused([](NetConfig& c) { c.tx_ring_size = 0; }));
    EXPECT_FALSE(refused([](NetConfig& c) { c.gateway = kGwIp; }));
    EXPECT_FALSE(refused([](NetConfig& c) { c.prefix_len = 32; }));
    EXPECT_THROW(Interface(base_config(), nullptr, kHz), std::invalid_argument);
    EXPECT_THROW(Interface(base_config(), pool, 0), std::invalid_argument);
}

// ================================ fuzz ================================

// Fills headroom and tailroom of every segment with v.
void poison_outside_data(rte_mbuf* m, uint8_t v) {
    for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
        std::memset(seg->buf_addr, v, rte_pktmbuf_headroom(seg));
        std::memset(rte_pktmbuf_mtod_offset(seg, char*, seg->data_len), v, rte_pktmbuf_tailroom(seg));
    }
}

TEST_F(NetTest, RandomAndDamagedFramesNeverCrashLeakOrReadOutsideTheFrame) {
    cfg_.gateway = kGwIp;
    cfg_.arp_cache_size = 64;
    std::mt19937_64 rng(0x5eed);
    auto pick = [&](uint64_t n) { return static_cast<size_t>(rng() % n); };

    std::vector<Bytes> templates;
    {
        templates.push_back(arp_frame(ArpSpec{}));
        ArpSpec rep;
        rep.op = 2;
        rep.tha = kOurMac;
        templates.push_back(arp_frame(rep, kOurMac));
        Ipv4Spec s;
        s.proto = IPPROTO_ICMP;
        s.payload = icmp(8, 1, 1, pattern(40));
        templates.push_back(ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s)));
        templates.push_back(tcp_frame());
        Ipv4Spec t;
        t.payload = tcp_syn();
        append(t.payload, pattern(300));
        templates.push_back(ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(t)));
    }

    auto twin = std::make_unique<Interface>(cfg_, synack::test::pool(), kHz);
    uint64_t now = 0;
    uint64_t returned_tcp = 0;
    constexpr int kFrames = 100000;
    for (int i = 0; i < kFrames; ++i) {
        Bytes f;
        switch (pick(8)) {
        case 0:  // noise, sometimes behind a plausible Ethernet header
            f.resize(pick(200));
            for (auto& b : f) b = static_cast<uint8_t>(rng());
            if (f.size() >= 14 && pick(2) == 0) {
                std::memcpy(f.data(), kOurMac.addr_bytes, 6);
                f[12] = 0x08;
                f[13] = pick(2) == 0 ? 0x00 : 0x06;
            }
            break;
        default:
            f = templates[pick(templates.size())];
            // Vary the peer so the ARP table fills, evicts and ages.
            if (f[12] == 0x08 && f[13] == 0x06) f[14 + 8 + 6 + 3] = static_cast<uint8_t>(1 + pick(250));
            for (size_t k = pick(4); k > 0; --k) f[14 + pick(f.size() - 14)] ^= static_cast<uint8_t>(1u << pick(8));
            if (pick(4) == 0) f.resize(pick(f.size() + 1));
            if (pick(8) == 0) f.resize(f.size() + pick(64), 0);
            break;
        }
        const size_t split = f.size() > 1 && pick(8) == 0 ? 1 + pick(f.size() - 1) : 0;
        const bool cksum_good = pick(16) == 0;
        now += pick(ms(2));
        // The same frame into both interfaces, with different bytes around the data: if either verdict read
        // outside the frame, their outcomes would part.
        Bytes result[2];
        for (int k = 0; k < 2; ++k) {
            rte_mbuf* m = to_mbuf(f, split);
            poison_outside_data(m, k == 0 ? 0x00 : static_cast<uint8_t>(rng() | 1));
            if (cksum_good) m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
            if (rte_mbuf* r = (k == 0 ? ifc() : *twin).input(m, now)) {
                ASSERT_GE(rte_pktmbuf_data_len(r), 20u);
                const auto* ip = rte_pktmbuf_mtod(r, const rte_ipv4_hdr*);
                EXPECT_EQ(ip->version_ihl, 0x45);
                EXPECT_EQ(ip->next_proto_id, IPPROTO_TCP);
                EXPECT_EQ(rte_pktmbuf_pkt_len(r), rte_be_to_cpu_16(ip->total_length));
                result[k] = bytes_of(r);
                returned_tcp += k == 0;
                rte_pktmbuf_free(r);
            }
        }
        ASSERT_EQ(result[0], result[1]) << "frame " << i;
        if (pick(16) == 0) {
            const uint32_t dst = pick(4) == 0 ? kRemoteIp : RTE_IPV4(10, 0, 0, 1 + pick(250));
            ifc().output(ip_packet(dst, static_cast<uint16_t>(i)), now);
            twin->output(ip_packet(dst, static_cast<uint16_t>(i)), now);
        }
        if (i % 32 == 0) {
            ifc().poll(now);
            twin->poll(now);
        }
        const std::vector<Bytes> ours = sent();
        std::vector<Bytes> theirs;
        rte_mbuf* burst[32];
        while (uint16_t n = twin->drain_tx(burst, 32)) {
            for (uint16_t j = 0; j < n; ++j) theirs.push_back(bytes_of(burst[j]));
            rte_pktmbuf_free_bulk(burst, n);
        }
        ASSERT_EQ(ours, theirs) << "frame " << i;
    }
    EXPECT_EQ(nonzero(ifc().counters()), nonzero(twin->counters()));
    twin.reset();

    const NetCounters& c = ifc().counters();
    EXPECT_EQ(c.rx_frames, static_cast<uint64_t>(kFrames));
    EXPECT_EQ(c.rx_frames, c.rx_truncated + c.rx_headers_split + c.rx_not_for_us + c.rx_bad_src_mac +
                               c.rx_unknown_ethertype + c.rx_arp + c.rx_ipv4);
    EXPECT_EQ(c.rx_ipv4, c.rx_ip_bad_version + c.rx_ip_bad_header_len + c.rx_ip_bad_total_len + c.rx_ip_bad_checksum +
                             c.rx_ip_not_for_us + c.rx_ip_bad_src + c.rx_ip_fragment + c.rx_ip_options +
                             c.rx_ip_unknown_proto + c.rx_icmp + c.rx_tcp);
    EXPECT_EQ(c.rx_icmp, c.rx_icmp_bad + c.rx_icmp_unhandled + c.rx_icmp_unusable + c.icmp_echo_replies);
    EXPECT_EQ(c.rx_tcp, returned_tcp);
    // The run reached every layer.
    for (uint64_t v : {c.rx_truncated, c.rx_headers_split, c.rx_not_for_us, c.rx_arp, c.rx_arp_bad, c.arp_learned,
                       c.arp_replies_sent, c.arp_evicted, c.arp_requests_sent, c.rx_ip_bad_checksum, c.rx_icmp_bad,
                       c.icmp_echo_replies, c.rx_tcp})
        EXPECT_GT(v, 0u);
    // TearDown: destroying the interface frees what it still holds; the pool must be whole again.
}

// ============================ the exception path ============================

struct Handed {
    std::vector<std::pair<Stray, Bytes>> frames;
    static void take(void* ctx, rte_mbuf* m, Stray why) {
        static_cast<Handed*>(ctx)->frames.emplace_back(why, bytes_of(m));
        rte_pktmbuf_free(m);
    }
};

// With a stray handler, what is foreign (not garbage) goes to it whole, still counted in its bucket.
TEST_F(NetTest, WithAStrayHandlerForeignFramesGoToItWholeAndGarbageIsStillDropped) {
    const std::map<std::string, Stray> handed_by_counter = {
        {"rx_unknown_ethertype", Stray::other_ethertype}, {"rx_ip_not_for_us", Stray::ip_not_for_us},
        {"rx_ip_fragment", Stray::ip_unsupported},        {"rx_ip_options", Stray::ip_unsupported},
        {"rx_ip_unknown_proto", Stray::ip_other_proto},   {"rx_icmp_unhandled", Stray::icmp_other},
        {"rx_ip6_no_ipv6", Stray::other_ethertype}};  // no --ip6: IPv6 is the kernel's
    for (DropCase& c : drop_cases()) {
        SCOPED_TRACE(c.name);
        ifc_.reset();
        Handed h;
        ifc().set_stray_handler(&Handed::take, &h);
        rte_mbuf* m = to_mbuf(c.frame, c.split);
        m->ol_flags |= c.ol_flags;
        EXPECT_EQ(ifc().input(m, 0), nullptr);
        EXPECT_TRUE(sent().empty());
        EXPECT_EQ(nonzero(ifc().counters())[c.counter], 1u);
        const bool multicast = std::string(c.name) == "multicast dst MAC";
        const auto it = handed_by_counter.find(c.counter);
        if (it == handed_by_counter.end() && !multicast) {
            EXPECT_TRUE(h.frames.empty());
            continue;
        }
        ASSERT_EQ(h.frames.size(), 1u);
        EXPECT_EQ(h.frames[0].first, multicast ? Stray::multicast : it->second);
        EXPECT_EQ(h.frames[0].second, c.frame);
    }
}

TEST_F(NetTest, WithAStrayHandlerArpIsAnsweredAndACopyHandedOn) {
    Handed h;
    ifc().set_stray_handler(&Handed::take, &h);
    ArpSpec s;
    s.sip = kPeerIp;
    s.sha = kPeerMac;
    const Bytes frame = arp_frame(s);
    in(frame);
    EXPECT_EQ(sent().size(), 1u);  // our reply
    ASSERT_EQ(h.frames.size(), 1u);
    EXPECT_EQ(h.frames[0].first, Stray::arp_copy);
    EXPECT_EQ(h.frames[0].second, frame);
}

// ================================ ICMP errors (RFC 1122 §4.2.3.9, RFC 1191) ================================

// An ICMP error of type/code with `word` in its second 32 bits, quoting `quoted` (an IPv4 packet we sent).
Bytes icmp_error(uint8_t type, uint8_t code, uint32_t word, const Bytes& quoted, bool corrupt = false) {
    Bytes b;
    put8(b, type);
    put8(b, code);
    put16(b, 0);
    put32(b, word);
    append(b, quoted);
    const uint16_t ck = static_cast<uint16_t>(~ones_sum(b, 0, b.size()) ^ (corrupt ? 0x0001 : 0));
    b[2] = static_cast<uint8_t>(ck >> 8);
    b[3] = static_cast<uint8_t>(ck);
    return b;
}

// The first 28 bytes of a 1500-byte TCP packet we sent from 40001 to the peer's port 5201 with sequence 0x01020304
// (what a Linux router quotes is longer; the 64 bits of RFC 792 are the minimum).
Bytes our_quoted_tcp(size_t tcp_bytes = 8, uint8_t proto = IPPROTO_TCP, uint32_t src = kOurIp) {
    Ipv4Spec s;
    s.src = src;
    s.dst = kPeerIp;
    s.proto = proto;
    s.total_len = 1500;
    Bytes th;
    put16(th, 40001);
    put16(th, 5201);
    put32(th, 0x01020304);
    put32(th, 0x0a0b0c0d);
    put8(th, 5 << 4);
    put8(th, 0x10);
    put16(th, 1000);
    put32(th, 0);
    th.resize(tcp_bytes);
    s.payload = th;
    return ipv4(s);
}

struct IcmpTaken {
    std::vector<synack::net::IcmpError> got;
    bool answer = true;
    static bool take(void* ctx, const synack::net::IcmpError& e) {
        auto* self = static_cast<IcmpTaken*>(ctx);
        self->got.push_back(e);
        return self->answer;
    }
};

Bytes icmp_frame(const Bytes& icmp_msg) {
    Ipv4Spec s;
    s.src = RTE_IPV4(10, 0, 0, 254);  // a router
    s.proto = IPPROTO_ICMP;
    s.payload = icmp_msg;
    return ether(kOurMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ipv4(s));
}

TEST_F(NetTest, FragNeededQuotingOurTcpReachesTheEngineWithEveryField) {
    IcmpTaken t;
    ifc().set_icmp_error_handler(&IcmpTaken::take, &t);
    // Whole (Linux quotes 548 bytes at most), and split inside the quoted TCP header at an odd offset.
    const Bytes frame = icmp_frame(icmp_error(3, 4, 1280, our_quoted_tcp(20)));
    for (size_t split : {size_t{0}, size_t{14 + 20 + 8 + 20 + 5}}) {
        SCOPED_TRACE(split);
        t.got.clear();
        EXPECT_EQ(in(frame, 0, split), nullptr);
        ASSERT_EQ(t.got.size(), 1u);
        const synack::net::IcmpError& e = t.got[0];
        EXPECT_EQ(e.type, 3);
        EXPECT_EQ(e.code, 4);
        EXPECT_EQ(e.next_hop_mtu, 1280);
        EXPECT_EQ(e.quoted_len, 1500);
        EXPECT_EQ(e.local_ip, kOurIp);
        EXPECT_EQ(e.remote_ip, kPeerIp);
        EXPECT_EQ(e.local_port, 40001);
        EXPECT_EQ(e.remote_port, 5201);
        EXPECT_EQ(e.seq, 0x01020304u);
    }
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(nonzero(ifc().counters()),
              (Counts{{"rx_frames", 2}, {"rx_ipv4", 2}, {"rx_icmp", 2}, {"rx_icmp_error_tcp", 2}}));
}

TEST_F(NetTest, OtherErrorsCarryNoMtuAndAnErrorNoConnectionTakesIsCounted) {
    IcmpTaken t;
    t.answer = false;
    ifc().set_icmp_error_handler(&IcmpTaken::take, &t);
    in(icmp_frame(icmp_error(3, 3, 1280, our_quoted_tcp())));  // port unreachable: the word is unused
    in(icmp_frame(icmp_error(11, 0, 0, our_quoted_tcp())));    // time exceeded
    in(icmp_frame(icmp_error(12, 0, 0x14000000, our_quoted_tcp())));  // parameter problem
    ASSERT_EQ(t.got.size(), 3u);
    EXPECT_EQ(t.got[0].code, 3);
    EXPECT_EQ(t.got[0].next_hop_mtu, 0) << "only type 3 code 4 carries the MTU";
    EXPECT_EQ(t.got[1].type, 11);
    EXPECT_EQ(t.got[2].type, 12);
    EXPECT_EQ(t.got[2].seq, 0x01020304u);
    EXPECT_EQ(nonzero(ifc().counters()),
              (Counts{{"rx_frames", 3}, {"rx_ipv4", 3}, {"rx_icmp", 3}, {"rx_icmp_error_no_conn", 3}}));
}

TEST_F(NetTest, ErrorsWithoutAUsableQuoteAreStraysAndNeverReachTheEngine) {
    IcmpTaken t;
    ifc().set_icmp_error_handler(&IcmpTaken::take, &t);
    Bytes v6 = our_quoted_tcp();
    v6[0] = 0x65;
    Bytes long_ihl = our_quoted_tcp();
    long_ihl[0] = 0x46;  // claims 4 bytes of options: the 8 TCP bytes then reach past the message
    Bytes fragment = our_quoted_tcp();
    fragment[7] = 0x10;  // offset 16: no TCP header in it
    struct Case {
        const char* name;
        Bytes msg;
        const char* counter;
    } cases[] = {
        {"quote cut inside the TCP ports and sequence", icmp_error(3, 4, 1280, our_quoted_tcp(7)), "rx_icmp_unhandled"},
        {"no quote at all", icmp_error(3, 4, 1280, {}), "rx_icmp_unhandled"},
        {"quote of UDP", icmp_error(3, 3, 0, our_quoted_tcp(8, IPPROTO_UDP)), "rx_icmp_unhandled"},
        {"quote not from our address", icmp_error(3, 4, 1280, our_quoted_tcp(8, IPPROTO_TCP, kPeerIp)),
         "rx_icmp_unhandled"},
        {"quote not IPv4", icmp_error(3, 4, 1280, v6), "rx_icmp_unhandled"},
        {"quote IHL past the message", icmp_error(3, 4, 1280, long_ihl), "rx_icmp_unhandled"},
        {"quote of a later fragment", icmp_error(3, 4, 1280, fragment), "rx_icmp_unhandled"},
        {"source quench (RFC 6633: ignored)", icmp_error(4, 0, 0, our_quoted_tcp()), "rx_icmp_unhandled"},
        {"redirect", icmp_error(5, 1, kPeerIp, our_quoted_tcp()), "rx_icmp_unhandled"},
        {"bad checksum", icmp_error(3, 4, 1280, our_quoted_tcp(), true), "rx_icmp_bad"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        ifc_.reset();
        ifc().set_icmp_error_handler(&IcmpTaken::take, &t);
        EXPECT_EQ(in(icmp_frame(c.msg)), nullptr);
        EXPECT_TRUE(t.got.empty());
        EXPECT_EQ(nonzero(ifc().counters()), (Counts{{"rx_frames", 1}, {"rx_ipv4", 1}, {"rx_icmp", 1}, {c.counter, 1}}));
    }
    ifc_.reset();  // and with no handler a perfect error is a stray too (the kernel behind the exception path)
    Handed h;
    ifc().set_stray_handler(&Handed::take, &h);
    in(icmp_frame(icmp_error(3, 4, 1280, our_quoted_tcp())));
    ASSERT_EQ(h.frames.size(), 1u);
    EXPECT_EQ(h.frames[0].first, Stray::icmp_other);
    EXPECT_EQ(ifc().counters().rx_icmp_unhandled, 1u);
}

}  // namespace
