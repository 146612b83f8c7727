// Drives an Engine with crafted segments at an explicit time and reads back the exact segments it emits.
// Time: 1 cycle = 1 µs (tsc_hz = 1e6), so at_ms(1000) is one second after start.
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "tcp/engine.hpp"
#include "test_support.hpp"
#include "wire/checksum.hpp"
#include "wire/segment.hpp"
#include "wire/segment6.hpp"

namespace synack::test {

using tcp::Engine;
using tcp::Event;
using tcp::EventType;
using tcp::State;
using namespace synack::wire;

constexpr uint64_t kHz = 1000000;
constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

/// The address family a harness speaks (tests of the engine's RFC 9293 behaviour run once per family).
enum class Family { v4, v6 };
inline std::string family_name(const ::testing::TestParamInfo<Family>& i) {
    return i.param == Family::v4 ? "IPv4" : "IPv6";
}

/// 2001:db8::N (RFC 3849 documentation prefix).
inline Ip6Addr ip6(uint8_t n) {
    Ip6Addr a;
    a.b[0] = 0x20;
    a.b[1] = 0x01;
    a.b[2] = 0x0d;
    a.b[3] = 0xb8;
    a.b[15] = n;
    return a;
}

/// A segment as seen on the wire, decoded.
struct Seg {
    Family family = Family::v4;
    Ip6Addr src6, dst6;      ///< IPv6: the addresses (src_ip, dst_ip are then 0)
    uint32_t src_ip = 0, dst_ip = 0;
    uint16_t src_port = 0, dst_port = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    uint16_t wnd = 0;
    std::string payload;
    TcpOptions opt;
    uint64_t ol_flags = 0;   ///< the mbuf's TX offload requests
    uint16_t tso_segsz = 0;  ///< with RTE_MBUF_F_TX_TCP_SEG: the MSS the port is to cut at
    bool has(uint8_t f) const { return (flags & f) == f; }
};

/// For a packet that asks for checksum offload: checks the pseudo-header sum the port expects, then fills in both
/// checksums as the port would, so that parse_segment verifies the rest in full.
inline void finish_tx_offload(rte_mbuf* m) {
    if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) != RTE_MBUF_F_TX_TCP_CKSUM && !(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
        return;
    if (m->ol_flags & RTE_MBUF_F_TX_IPV6) {  // IPv6: no header checksum; the pseudo-header sum, then the whole
        auto* ip6 = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
        auto* th6 = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, m->l3_len);
        EXPECT_EQ(th6->cksum, rte_ipv6_phdr_cksum(ip6, m->ol_flags)) << "IPv6 pseudo-header sum for the offload";
        th6->cksum = 0;
        // Summed with wire's chain-aware sum: DPDK 22.11's rte_raw_cksum_mbuf truncates before the byte swap of a
        // piece that starts at an odd offset (seen here: references into the send buffer at odd boundaries).
        const uint32_t l4_len = rte_pktmbuf_pkt_len(m) - m->l3_len;
        uint32_t sum = wire::mbuf_raw_cksum(m, m->l3_len, l4_len);
        sum += wire::ipv6_tcp_phdr_cksum(ip6, l4_len);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        th6->cksum = static_cast<uint16_t>(~sum);
        return;
    }
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    auto* th = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, m->l3_len);
    EXPECT_EQ(th->cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags)) << "pseudo-header sum for the offload";
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    th->cksum = 0;
    th->cksum = wire::ipv4_l4_cksum(m, ip, m->l3_len, rte_pktmbuf_pkt_len(m) - m->l3_len);
}

inline std::string flags_str(uint8_t f) {
    std::string s;
    if (f & kSyn) s += 'S';
    if (f & kFin) s += 'F';
    if (f & kRst) s += 'R';
    if (f & kPsh) s += 'P';
    if (f & kAck) s += '.';
    return s.empty() ? "none" : s;
}

inline std::ostream& operator<<(std::ostream& os, const Seg& s) {
    return os << flags_str(s.flags) << " seq=" << s.seq << " ack=" << s.ack << " win=" << s.wnd
              << " len=" << s.payload.size();
}

/// Decodes an IPv4 or IPv6 packet the engine emitted; frees it.
inline Seg decode(rte_mbuf* m) {
    const uint64_t ol_flags = m->ol_flags;
    const bool v6 = (*rte_pktmbuf_mtod(m, const uint8_t*) >> 4) == 6;
    finish_tx_offload(m);
    Segment s;
    Ip6Pair a6;
    ParseStatus st = v6 ? parse_segment6(m, s, a6) : parse_segment(m, s);
    EXPECT_EQ(st, ParseStatus::ok) << "engine emitted a segment that does not parse: " << to_string(st);
    Seg out;
    out.family = v6 ? Family::v6 : Family::v4;
    out.src6 = a6.src;
    out.dst6 = a6.dst;
    out.src_ip = s.src_ip;
    out.dst_ip = s.dst_ip;
    out.src_port = s.src_port;
    out.dst_port = s.dst_port;
    out.seq = s.seq;
    out.ack = s.ack;
    out.flags = s.flags;
    out.wnd = s.wnd;
    out.opt = s.opt;
    out.ol_flags = ol_flags;
    out.tso_segsz = (ol_flags & RTE_MBUF_F_TX_TCP_SEG) ? m->tso_segsz : 0;
    out.payload.resize(s.payload_len);
    if (s.payload_len > 0) {
        const void* p = rte_pktmbuf_read(m, s.payload_off, s.payload_len, out.payload.data());
        if (p != out.payload.data()) std::memcpy(out.payload.data(), p, s.payload_len);
    }
    rte_pktmbuf_free(m);
    return out;
}

/// Builds an IPv4/TCP packet in an mbuf (valid checksums).
inline rte_mbuf* build(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                       uint32_t ack, const std::string& payload = "", uint16_t wnd = 65535,
                       const TcpOptions* opt = nullptr) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    if (!payload.empty()) {
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(payload.size()));
        EXPECT_NE(p, nullptr) << "payload of " << payload.size() << " bytes does not fit one mbuf";
        if (p != nullptr) std::memcpy(p, payload.data(), payload.size());
    }
    SegmentHeader h{src_ip, dst_ip, sport, dport, seq, ack, flags, wnd, 1, opt};
    EXPECT_TRUE(prepend_headers(m, h, false));
    return m;
}

/// Builds an IPv6/TCP packet in an mbuf (valid checksum).
inline rte_mbuf* build6(const Ip6Addr& src, const Ip6Addr& dst, uint16_t sport, uint16_t dport, uint8_t flags,
                        uint32_t seq, uint32_t ack, const std::string& payload = "", uint16_t wnd = 65535,
                        const TcpOptions* opt = nullptr) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    if (!payload.empty()) {
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(payload.size()));
        EXPECT_NE(p, nullptr) << "payload of " << payload.size() << " bytes does not fit one mbuf";
        if (p != nullptr) std::memcpy(p, payload.data(), payload.size());
    }
    SegmentHeader h{0, 0, sport, dport, seq, ack, flags, wnd, 0, opt};
    EXPECT_TRUE(prepend_headers6(m, h, Ip6Pair{src, dst}, false));
    return m;
}

inline TcpConfig test_config() {
    TcpConfig c;
    c.max_connections = 1024;
    c.max_connections6 = 1024;
    c.msl_ms = 30000;
    return c;
}

/// One engine under test ("us", 10.0.0.1 or 2001:db8::1) and a scripted peer ("them", 10.0.0.2 or 2001:db8::2).
class EngineHarness {
public:
    static constexpr uint32_t kUs = ip4(10, 0, 0, 1);
    static constexpr uint32_t kThem = ip4(10, 0, 0, 2);
    static constexpr uint16_t kUsPort = 80;
    static constexpr uint16_t kThemPort = 40000;
    static Ip6Addr us6() { return ip6(1); }
    static Ip6Addr them6() { return ip6(2); }

    explicit EngineHarness(TcpConfig cfg = test_config(), uint32_t isn = 3000) : EngineHarness(Family::v4, cfg, isn) {}
    explicit EngineHarness(Family f, TcpConfig cfg = test_config(), uint32_t isn = 3000)
        : engine(cfg, pool(), kHz, 0, std::array<uint8_t, 16>{}), family(f) {
        pinned_isn = isn;
        engine.set_isn_hook([](void* ctx, const tcp::FourTuple&) { return *static_cast<uint32_t*>(ctx); }, &pinned_isn);
    }
    ~EngineHarness() { drop_output(); }

    bool v6() const { return family == Family::v6; }
    /// Our MSS option over this family: TcpConfig::mss over IPv4, 20 less over IPv6 (MTU - 60).
    uint16_t mss() const { return static_cast<uint16_t>(engine.config().mss - (v6() ? 20 : 0)); }
    /// The peer's packet in this family.
    rte_mbuf* packet(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                     const std::string& payload = "", uint16_t wnd = 65535, const TcpOptions* opt = nullptr) {
        return v6() ? build6(them6(), us6(), sport, dport, flags, seq, ack, payload, wnd, opt)
                    : build(kThem, kUs, sport, dport, flags, seq, ack, payload, wnd, opt);
    }
    void input(rte_mbuf* m) {
        if (v6())
            engine.input6(m, now);
        else
            engine.input(m, now);
    }
    /// The peer sends a segment (to our port 80 from 40000 unless given).
    void send(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload = "", uint16_t wnd = 65535,
              const TcpOptions* opt = nullptr) {
        input(packet(kThemPort, kUsPort, flags, seq, ack, payload, wnd, opt));
    }
    void send_from(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack) {
        input(packet(sport, dport, flags, seq, ack));
    }
    /// Active open from our port 80 (0: an ephemeral one) to the peer's 40000, in this family.
    int connect(uint64_t user, tcp::ConnId& c, uint16_t local_port = kUsPort) {
        return v6() ? engine.connect6(us6(), local_port, them6(), kThemPort, user, c)
                    : engine.connect(kUs, local_port, kThem, kThemPort, user, c);
    }
    /// Everything the engine has emitted since the last call, decoded.
    std::vector<Seg> out() {
        std::vector<Seg> v;
        rte_mbuf* b[64];
        uint16_t n;
        while ((n = engine.drain_tx(b, 64)) > 0)
            for (uint16_t i = 0; i < n; ++i) {
                v.push_back(decode(b[i]));
                EXPECT_EQ(v.back().family, family) << "a segment of the other family";
            }
        return v;
    }
    /// Exactly one segment must have been emitted.
    Seg one() {
        auto v = out();
        EXPECT_EQ(v.size(), 1u) << describe(v);
        return v.empty() ? Seg{} : v.front();
    }
    void none() {
        auto v = out();
        EXPECT_TRUE(v.empty()) << describe(v);
    }
    void at_ms(uint64_t ms) {
        now = ms * 1000;
        engine.advance(now);
    }
    void at_us(uint64_t us) {
        now = us;
        engine.advance(now);
    }
    std::vector<Event> events() {
        std::vector<Event> v;
        engine.dispatch([&](const Event& e) { v.push_back(e); });
        return v;
    }
    const tcp::Tcb* tcb() const {
        return v6() ? engine.find6(tcp::FourTuple6{us6(), them6(), kUsPort, kThemPort})
                    : engine.find(tcp::FourTuple{kUs, kThem, kUsPort, kThemPort});
    }
    State state() const {
        const tcp::Tcb* t = tcb();
        return t == nullptr ? State::closed : t->state;
    }
    void drop_output() {
        rte_mbuf* b[64];
        uint16_t n;
        while ((n = engine.drain_tx(b, 64)) > 0) rte_pktmbuf_free_bulk(b, n);
    }
    static std::string describe(const std::vector<Seg>& v) {
        std::ostringstream os;
        for (const auto& s : v) os << "[" << s << "] ";
        return os.str();
    }

    /// Passive open on port 80 and a completed handshake with the peer's ISN `peer_isn`, the peer's SYN carrying
    /// `syn` (no options when null). When the SYN-ACK carries timestamps, so does the ACK: TSval syn->ts_val + 1,
    /// echoing the SYN-ACK's TSval (RFC 7323 §3.2). Returns the connection.
    tcp::ConnId establish_passive(uint32_t peer_isn, const TcpOptions* syn = nullptr) {
        EXPECT_GE(engine.listen(0, kUsPort), 0);
        send(kSyn, peer_isn, 0, "", 65535, syn);
        Seg synack = one();
        EXPECT_TRUE(synack.has(kSyn | kAck));
        const bool ts = synack.opt.has_timestamps && syn != nullptr;
        TcpOptions ack;
        ack.has_timestamps = ts;
        ack.ts_val = ts ? syn->ts_val + 1 : 0;
        ack.ts_ecr = synack.opt.ts_val;
        send(kAck, peer_isn + 1, synack.seq + 1, "", 65535, ts ? &ack : nullptr);
        none();
        auto ev = events();
        EXPECT_EQ(ev.size(), 1u);
        if (ev.empty()) return tcp::ConnId{};
        EXPECT_EQ(ev[0].type, EventType::accepted);
        return ev[0].conn;
    }
    /// Active open from port 80 to the peer and a completed handshake. Returns the connection.
    tcp::ConnId establish_active(uint32_t peer_isn) {
        tcp::ConnId c;
        EXPECT_EQ(connect(7, c), 0);
        Seg syn = one();
        send(kSyn | kAck, peer_isn, syn.seq + 1);
        Seg ack = one();
        EXPECT_EQ(ack.flags, kAck);
        auto ev = events();
        EXPECT_EQ(ev.size(), 1u);
        return c;
    }

    Engine engine;
    Family family;
    uint64_t now = 0;
    uint32_t pinned_isn;
};

// ---- Exact replies: one expected segment, compared field by field ----

/// What a segment must be. Every field is compared: flags (PSH is ignored on segments that carry data, since
/// RFC 9293 §3.9.1 leaves setting it to the sender), seq, ack, window, payload bytes, and the MSS option
/// (`mss` 0: the segment must carry none).
struct Want {
    uint8_t flags;
    uint32_t seq;
    uint32_t ack;
    uint16_t wnd;
    std::string payload = {};
    uint16_t mss = 0;
};

inline void check_seg(const Seg& s, const Want& w, bool harness_tuple) {
    if (s.src_ip == 0 && s.src6.is_unspecified() && s.flags == 0) {  // one() found nothing and has already said so
        ADD_FAILURE() << "no segment to compare";
        return;
    }
    if (harness_tuple && s.family == Family::v6) {  // from us (2001:db8::1) to the scripted peer (2001:db8::2)
        EXPECT_TRUE(s.src6 == EngineHarness::us6());
        EXPECT_TRUE(s.dst6 == EngineHarness::them6());
    }
    if (harness_tuple) {  // from us (10.0.0.1:80) to the scripted peer (10.0.0.2:40000)
        if (s.family == Family::v4) {
            EXPECT_EQ(s.src_ip, EngineHarness::kUs);
            EXPECT_EQ(s.dst_ip, EngineHarness::kThem);
        }
        EXPECT_EQ(s.src_port, EngineHarness::kUsPort);
        EXPECT_EQ(s.dst_port, EngineHarness::kThemPort);
    }
    const uint8_t mask = w.payload.empty() ? 0xff : static_cast<uint8_t>(~kPsh);
    EXPECT_EQ(flags_str(static_cast<uint8_t>(s.flags & mask)), flags_str(static_cast<uint8_t>(w.flags & mask)));
    EXPECT_EQ(s.seq, w.seq);
    EXPECT_EQ(s.ack, w.ack);
    EXPECT_EQ(s.wnd, w.wnd);
    EXPECT_EQ(s.payload.size(), w.payload.size());
    EXPECT_TRUE(s.payload == w.payload) << "payload differs";
    EXPECT_EQ(s.opt.has_mss, w.mss != 0);
    if (w.mss != 0) {
        EXPECT_EQ(s.opt.mss, w.mss);
    }
}

/// EXPECT_SEG(segment, flags, seq, ack, wnd[, payload[, mss]]): a segment from us to the harness peer.
#define EXPECT_SEG(seg_expr, ...)                                                            \
    do {                                                                                     \
        const ::synack::test::Seg seg_ = (seg_expr);                                         \
        SCOPED_TRACE(::testing::Message() << "segment: " << seg_);                           \
        ::synack::test::check_seg(seg_, ::synack::test::Want{__VA_ARGS__}, true);            \
    } while (0)
/// The same for a segment between two engines (addresses not compared).
#define EXPECT_SEG_ANY(seg_expr, ...)                                                        \
    do {                                                                                     \
        const ::synack::test::Seg seg_ = (seg_expr);                                         \
        SCOPED_TRACE(::testing::Message() << "segment: " << seg_);                           \
        ::synack::test::check_seg(seg_, ::synack::test::Want{__VA_ARGS__}, false);           \
    } while (0)

inline TcpOptions mss_option(uint16_t mss) {
    TcpOptions o;
    o.has_mss = true;
    o.mss = mss;
    return o;
}

/// "connected,readable": the types of `v` in order, for one exact comparison.
inline std::string event_types(const std::vector<Event>& v) {
    std::string s;
    for (const auto& e : v) {
        if (!s.empty()) s += ',';
        s += to_string(e.type);
    }
    return s;
}

}  // namespace synack::test
