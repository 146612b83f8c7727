// TCP over IPv6 in the engine, where it differs from IPv4 (the state machine itself runs once per family in
// test_engine_states.cpp): listeners and families, the RFC 6528 ISN and the SYN cookie over the full IPv6
// 4-tuple, MSS = MTU - 60, the IPv6 table beside the IPv4 one, and two engines talking over IPv6.
#include <gtest/gtest.h>

#include "engine_harness.hpp"
#include "synack/address.hpp"
#include "tcp/isn.hpp"
#include "tcp/syn_cookie.hpp"

namespace synack::test {
namespace {

namespace sc = tcp::syn_cookie;
using tcp::ConnId;
using tcp::FourTuple6;

constexpr uint32_t kIss = 3000;
constexpr uint32_t kPeerIsn = 1300;
constexpr uint16_t kWnd = 65535;

// Everything the engine emitted, of either family (EngineHarness::out() insists on the harness's).
std::vector<Seg> drain_any(Engine& e) {
    std::vector<Seg> v;
    rte_mbuf* b[64];
    uint16_t n;
    while ((n = e.drain_tx(b, 64)) > 0)
        for (uint16_t i = 0; i < n; ++i) v.push_back(decode(b[i]));
    return v;
}

// An address with the same fold() as 2001:db8::2 (two 32-bit words swapped): a key that kept only the fold would
// take one for the other.
Ip6Addr same_fold_as_them() {
    Ip6Addr a = EngineHarness::them6();
    for (int i = 0; i < 4; ++i) std::swap(a.b[i], a.b[12 + i]);
    EXPECT_EQ(tcp::fold(a), tcp::fold(EngineHarness::them6()));
    EXPECT_FALSE(a == EngineHarness::them6());
    return a;
}

// listen(0, port) takes both families: one SYN of each makes two connections, each answered in its own family.
TEST(Ipv6Engine, OneListenerAcceptsBothFamilies) {
    EngineHarness h;
    ASSERT_EQ(h.engine.listen(0, EngineHarness::kUsPort), 0);
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, 40000, 80, kSyn, kPeerIsn, 0), h.now);
    const Seg s4 = h.one();
    EXPECT_EQ(s4.family, Family::v4);
    EXPECT_SEG(s4, kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", 1460);
    h.engine.input6(build6(EngineHarness::them6(), EngineHarness::us6(), 40000, 80, kSyn, kPeerIsn, 0), h.now);
    const std::vector<Seg> v = drain_any(h.engine);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].family, Family::v6);
    EXPECT_TRUE(v[0].src6 == EngineHarness::us6());
    EXPECT_TRUE(v[0].dst6 == EngineHarness::them6());
    EXPECT_SEG(v[0], kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", 1440);  // MSS = MTU - 60 (RFC 8200 §8.3)
    EXPECT_EQ(h.engine.connections(), 2u);
    // Same ports, other family: two TCBs, both SYN-RECEIVED, each keyed in its own table.
    const tcp::Tcb* t4 = h.engine.find(tcp::FourTuple{EngineHarness::kUs, EngineHarness::kThem, 80, 40000});
    const tcp::Tcb* t6 = h.engine.find6(FourTuple6{EngineHarness::us6(), EngineHarness::them6(), 80, 40000});
    ASSERT_NE(t4, nullptr);
    ASSERT_NE(t6, nullptr);
    EXPECT_NE(t4, t6);
    EXPECT_FALSE(t4->v6);
    EXPECT_TRUE(t6->v6);
    EXPECT_EQ(t6->state, State::syn_received);
}

// listen6(addr) takes IPv6 to that address only; listen(ipv4) takes IPv4 only. The rest is CLOSED: RST.
TEST(Ipv6Engine, ListenersOfOneFamilyRefuseTheOther) {
    EngineHarness h(Family::v6);
    ASSERT_EQ(h.engine.listen6(EngineHarness::us6(), 80), 0);
    ASSERT_EQ(h.engine.listen(EngineHarness::kUs, 81), 1);
    h.send(kSyn, kPeerIsn, 0);
    EXPECT_SEG(h.one(), kSyn | kAck, kIss, kPeerIsn + 1, kWnd, "", 1440);
    // To another of our IPv6 addresses (the interface passed it on): not this listener's.
    h.engine.input6(build6(EngineHarness::them6(), ip6(9), 40001, 80, kSyn, 77, 0), h.now);
    std::vector<Seg> v = h.out();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(v[0].src6 == ip6(9));
    EXPECT_EQ(v[0].flags, kRst | kAck);
    EXPECT_EQ(v[0].ack, 78u);
    // IPv6 to the IPv4-only listener's port: RFC 9293 §3.10.7.1 <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    h.send_from(40002, 81, kSyn, 500, 0);
    const Seg r = h.one();
    EXPECT_EQ(r.flags, kRst | kAck);
    EXPECT_EQ(r.seq, 0u);
    EXPECT_EQ(r.ack, 501u);
    EXPECT_EQ(r.src_port, 81);
    // IPv4 to the IPv6-only listener's port: RST too, over IPv4.
    h.engine.input(build(EngineHarness::kThem, EngineHarness::kUs, 40003, 80, kSyn, 600, 0), h.now);
    v = drain_any(h.engine);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].family, Family::v4);
    EXPECT_EQ(v[0].flags, kRst | kAck);
    EXPECT_EQ(v[0].ack, 601u);
    EXPECT_EQ(h.engine.counters().rx_no_connection, 3u);
}

// RFC 9293 §3.10.7.1 over IPv6: an ACK to a closed port draws <SEQ=SEG.ACK><CTL=RST>; a RST draws nothing.
TEST(Ipv6Engine, ClosedPortResets) {
    EngineHarness h(Family::v6);
    h.send(kAck, 10, 4242);
    EXPECT_SEG(h.one(), kRst, 4242, 0, 0);
    h.send(kRst, 10, 0);
    h.none();
    EXPECT_EQ(h.engine.counters().rx_rst_no_connection, 1u);
}

// RFC 6528 §3 over IPv6: ISN = M + F(full local address, local port, full remote address, remote port).
TEST(Ipv6Engine, IsnIsKeyedHashOfTheFullIpv6FourTuple) {
    const std::array<uint8_t, 16> key{1, 2, 3};
    Engine e(test_config(), pool(), kHz, 0, key);
    ASSERT_EQ(e.listen(0, 80), 0);
    const uint64_t now = 5'000'000;  // 5 s: M = 1,250,000 ticks
    auto syn_ack_seq = [&](const Ip6Addr& from) {
        e.input6(build6(from, EngineHarness::us6(), 40000, 80, kSyn, kPeerIsn, 0), now);
        rte_mbuf* b[4];
        EXPECT_EQ(e.drain_tx(b, 4), 1);
        return decode(b[0]).seq;
    };
    const tcp::IsnGenerator isn(key);
    const uint32_t a = syn_ack_seq(EngineHarness::them6());
    EXPECT_EQ(a, isn.isn(FourTuple6{EngineHarness::us6(), EngineHarness::them6(), 80, 40000}, now, kHz));
    const Ip6Addr twin = same_fold_as_them();
    const uint32_t b = syn_ack_seq(twin);
    EXPECT_EQ(b, isn.isn(FourTuple6{EngineHarness::us6(), twin, 80, 40000}, now, kHz));
    EXPECT_NE(a, b) << "the whole address is hashed, not its fold";
}

// RFC 4987 §3.6 over IPv6 (cookies for every SYN): the SYN-ACK's ISN is the cookie of the full IPv6 4-tuple with
// the MSS (at most MTU - 60) it encodes; its ACK makes the connection; the same ACK from an address with the same
// fold is forged.
TEST(Ipv6Engine, SynCookiesCoverTheFullAddresses) {
    TcpConfig cfg = test_config();
    cfg.syn_cookies = 2;
    EngineHarness h(Family::v6, cfg);
    ASSERT_EQ(h.engine.listen(0, 80), 0);
    const TcpOptions mss = mss_option(1460);
    h.send(kSyn, kPeerIsn, 0, "", kWnd, &mss);
    const FourTuple6 t6{EngineHarness::us6(), EngineHarness::them6(), 80, 40000};
    const uint32_t cookie =
        sc::encode(sc::derive_key(sc::Key{}), t6, kPeerIsn, sc::clock(h.now, kHz), sc::mss_index(1440));
    EXPECT_SEG(h.one(), kSyn | kAck, cookie, kPeerIsn + 1, kWnd, "", 1440);
    EXPECT_EQ(h.engine.connections(), 0u);
    // The twin address echoes the cookie: forged, and RST as for any ACK at a listener.
    h.engine.input6(build6(same_fold_as_them(), EngineHarness::us6(), 40000, 80, kAck, kPeerIsn + 1, cookie + 1),
                    h.now);
    const std::vector<Seg> v = h.out();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].flags, kRst);
    EXPECT_EQ(h.engine.counters().syn_cookies_forged, 1u);
    EXPECT_EQ(h.engine.connections(), 0u);
    // The real peer: ESTABLISHED with the cookie's MSS.
    h.send(kAck, kPeerIsn + 1, cookie + 1);
    h.none();
    ASSERT_NE(h.tcb(), nullptr);
    EXPECT_EQ(h.state(), State::established);
    EXPECT_EQ(h.tcb()->snd_mss, 1440) << "the cookie's MSS: the largest table entry not above 1440";
    EXPECT_EQ(event_types(h.events()), "accepted");
    EXPECT_EQ(h.engine.counters().syn_cookies_validated, 1u);
}

// A bad IPv6 segment draws no reply: each refusal lands in its tcp.rx_parse counter, and nothing is created.
TEST(Ipv6Engine, MalformedSegmentsAreCountedAndDropped) {
    EngineHarness h(Family::v6);
    ASSERT_EQ(h.engine.listen(0, 80), 0);
    auto parse_errors = [&](ParseStatus st) { return h.engine.counters().rx_parse_errors[static_cast<int>(st)]; };
    // TCP checksum off by one bit.
    rte_mbuf* m = h.packet(40000, 80, kSyn, kPeerIsn, 0);
    rte_pktmbuf_mtod_offset(m, uint8_t*, 40 + 16)[0] ^= 1;
    h.input(m);
    EXPECT_EQ(parse_errors(ParseStatus::bad_tcp_checksum), 1u);
    // Data offset 4 (16 bytes: below the TCP header).
    m = h.packet(40000, 80, kSyn, kPeerIsn, 0);
    rte_pktmbuf_mtod_offset(m, uint8_t*, 40 + 12)[0] = 4 << 4;
    h.input(m);
    EXPECT_EQ(parse_errors(ParseStatus::bad_tcp_header_len), 1u);
    // Payload length beyond the frame.
    m = h.packet(40000, 80, kSyn, kPeerIsn, 0);
    rte_pktmbuf_mtod_offset(m, uint8_t*, 4)[0] = 0x10;
    h.input(m);
    EXPECT_EQ(parse_errors(ParseStatus::bad_ip_total_len), 1u);
    // A fragment header with the M flag: not reassembled.
    m = h.packet(40000, 80, kSyn, kPeerIsn, 0);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
    uint8_t head[40];
    std::memcpy(head, ip, 40);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, 8));
    ASSERT_NE(p, nullptr);
    std::memcpy(p, head, 40);
    const uint8_t frag[8] = {IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 7};  // offset 0, M = 1
    std::memcpy(p + 40, frag, 8);
    reinterpret_cast<rte_ipv6_hdr*>(p)->proto = 44;
    reinterpret_cast<rte_ipv6_hdr*>(p)->payload_len =
        rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(reinterpret_cast<rte_ipv6_hdr*>(p)->payload_len) + 8));
    h.input(m);
    EXPECT_EQ(parse_errors(ParseStatus::ip_fragment), 1u);
    h.none();
    EXPECT_EQ(h.engine.connections(), 0u);
    EXPECT_EQ(h.engine.counters().rx_segments, 4u);
}

// An engine without IPv6 (max_connections6 = 0) answers nothing over IPv6 and counts the drop.
TEST(Ipv6Engine, EngineWithoutIpv6CountsAndDrops) {
    TcpConfig cfg = test_config();
    cfg.max_connections6 = 0;
    EngineHarness h(Family::v6, cfg);
    ASSERT_EQ(h.engine.listen(0, 80), 0);
    EXPECT_EQ(h.engine.listen6(Ip6Addr{}, 81), -tcp::kErrInvalid);
    h.send(kSyn, kPeerIsn, 0);
    h.none();
    EXPECT_EQ(h.engine.counters().rx_ipv6_off, 1u);
    ConnId c;
    EXPECT_EQ(h.connect(1, c), -tcp::kErrInvalid);
}

// connect6() refuses what cannot be a unicast IPv6 peer or source.
TEST(Ipv6Engine, ConnectRefusesBadAddresses) {
    EngineHarness h(Family::v6);
    ConnId c;
    Ip6Addr mcast;
    mcast.b[0] = 0xff;
    EXPECT_EQ(h.engine.connect6(EngineHarness::us6(), 0, Ip6Addr{}, 80, 1, c), -tcp::kErrInvalid);
    EXPECT_EQ(h.engine.connect6(EngineHarness::us6(), 0, mcast, 80, 1, c), -tcp::kErrInvalid);
    EXPECT_EQ(h.engine.connect6(EngineHarness::us6(), 0, Ip6Addr::from_v4(ip4(10, 0, 0, 2)), 80, 1, c),
              -tcp::kErrInvalid);
    EXPECT_EQ(h.engine.connect6(Ip6Addr{}, 0, EngineHarness::them6(), 80, 1, c), -tcp::kErrInvalid);
    h.none();
}

// Data both ways and a close from our side over IPv6, segment by segment.
TEST(Ipv6Engine, DataBothWaysAndActiveClose) {
    EngineHarness h(Family::v6);
    const ConnId c = h.establish_passive(kPeerIsn);
    h.send(kAck | kPsh, kPeerIsn + 1, kIss + 1, "hello");
    h.at_ms(40);  // delayed ACK
    EXPECT_SEG(h.one(), kAck, kIss + 1, kPeerIsn + 6, kWnd - 5);
    char buf[16];
    ASSERT_EQ(h.engine.recv(c, buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "hello");
    h.none();
    ASSERT_EQ(h.engine.send(c, "world!", 6), 6);
    EXPECT_SEG(h.one(), kAck | kPsh, kIss + 1, kPeerIsn + 6, kWnd, "world!");
    ASSERT_EQ(h.engine.close(c), 0);
    EXPECT_SEG(h.one(), kFin | kAck, kIss + 7, kPeerIsn + 6, kWnd);
    h.send(kFin | kAck, kPeerIsn + 6, kIss + 8);
    EXPECT_SEG(h.one(), kAck, kIss + 8, kPeerIsn + 7, kWnd);
    EXPECT_EQ(h.state(), State::time_wait);
    h.at_ms(40 + 2 * 30000);
    EXPECT_EQ(h.state(), State::closed);
    EXPECT_EQ(h.engine.connections(), 0u);
}

// Two engines over IPv6: connect6() with an ephemeral port to a dual-family listener, data, close from the client.
TEST(Ipv6Engine, TwoEnginesConnectSendAndClose) {
    Engine client(test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{9});
    Engine server(test_config(), pool(), kHz, 0, std::array<uint8_t, 16>{8});
    ASSERT_EQ(server.listen(0, 80), 0);
    ConnId cc;
    ASSERT_EQ(client.connect6(ip6(2), 0, ip6(1), 80, 5, cc), 0);
    uint64_t now = 0;
    auto pump = [&] {
        for (bool moved = true; moved;) {
            moved = false;
            rte_mbuf* b[64];
            uint16_t n;
            while ((n = client.drain_tx(b, 64)) > 0) {
                moved = true;
                for (uint16_t i = 0; i < n; ++i) server.input6(b[i], now);
            }
            while ((n = server.drain_tx(b, 64)) > 0) {
                moved = true;
                for (uint16_t i = 0; i < n; ++i) client.input6(b[i], now);
            }
        }
    };
    pump();
    std::vector<Event> cev, sev;
    client.dispatch([&](const Event& e) { cev.push_back(e); });
    server.dispatch([&](const Event& e) { sev.push_back(e); });
    ASSERT_EQ(event_types(cev), "connected");
    ASSERT_EQ(event_types(sev), "accepted");
    const tcp::Tcb* ct = client.tcb(cc);
    ASSERT_NE(ct, nullptr);
    EXPECT_TRUE(ct->v6);
    EXPECT_GE(ct->tuple.local_port, test_config().ephemeral_low);
    EXPECT_EQ(ct->snd_mss, 1440 - 12) << "MTU - 60, less the timestamp option";
    EXPECT_TRUE(client.addr6(*ct).dst == ip6(1));
    const ConnId sc_ = sev[0].conn;
    std::string big(100000, 'z');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    size_t sent = 0;
    std::string got;
    char buf[4096];
    for (int round = 0; round < 200 && got.size() < big.size(); ++round) {
        if (sent < big.size()) {
            const int32_t n = client.send(cc, big.data() + sent, static_cast<uint32_t>(big.size() - sent));
            if (n > 0) sent += static_cast<size_t>(n);
        }
        pump();
        for (int32_t n; (n = server.recv(sc_, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
        now += 50000;
        client.advance(now);
        server.advance(now);
        pump();
    }
    EXPECT_EQ(got.size(), big.size());
    EXPECT_TRUE(got == big) << "bytes differ";
    ASSERT_EQ(client.close(cc), 0);
    pump();
    cev.clear();
    sev.clear();
    server.dispatch([&](const Event& e) { sev.push_back(e); });
    EXPECT_NE(event_types(sev).find("peer_closed"), std::string::npos) << event_types(sev);
    ASSERT_EQ(server.close(sc_), 0);
    pump();
    client.dispatch([&](const Event& e) { cev.push_back(e); });
    server.dispatch([&](const Event& e) { sev.push_back(e); });
    EXPECT_EQ(server.connections(), 0u) << "LAST-ACK ended on the ACK of our FIN";
    EXPECT_EQ(client.time_wait_count(), 1u);
    rte_mbuf* b[64];
    uint16_t n;
    while ((n = client.drain_tx(b, 64)) > 0) rte_pktmbuf_free_bulk(b, n);
    while ((n = server.drain_tx(b, 64)) > 0) rte_pktmbuf_free_bulk(b, n);
}

// The API's address of either family: IPv4 in its IPv4-mapped form, the same bytes as wire::Ip6Addr::from_v4().
TEST(Address, HoldsEitherFamily) {
    const Address a4 = Address::v4(ip4(10, 81, 0, 1));
    EXPECT_TRUE(a4.is_v4());
    EXPECT_EQ(a4.to_v4(), ip4(10, 81, 0, 1));
    EXPECT_EQ(std::memcmp(a4.bytes, Ip6Addr::from_v4(ip4(10, 81, 0, 1)).b, 16), 0);
    EXPECT_EQ(to_string(a4), "10.81.0.1");
    Address p;
    ASSERT_TRUE(parse_address("fd81::1", p));
    EXPECT_FALSE(p.is_v4());
    EXPECT_EQ(p.bytes[0], 0xfd);
    EXPECT_EQ(p.bytes[1], 0x81);
    EXPECT_EQ(p.bytes[15], 1);
    EXPECT_EQ(to_string(p), "fd81::1");
    ASSERT_TRUE(parse_address("10.81.0.2", p));
    EXPECT_TRUE(p == Address::v4(ip4(10, 81, 0, 2)));
    ASSERT_TRUE(parse_address("::ffff:10.81.0.3", p));
    EXPECT_TRUE(p == Address::v4(ip4(10, 81, 0, 3)));
    EXPECT_FALSE(parse_address("10.81.0", p));
    EXPECT_FALSE(parse_address("fd81:::1", p));
    EXPECT_TRUE(Address{}.is_unspecified());
}

}  // namespace
}  // namespace synack::test
