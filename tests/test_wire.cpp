// Exact-value tests for src/wire: TCP option parsing and writing, parse_segment() (one crafted packet per
// ParseStatus), prepend_headers() and the chained RFC 1071 sum. Expected bytes and checksums come from an
// independent byte-wise implementation here, never from the code under test.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "bytes.hpp"
#include "test_support.hpp"
#include "wire/checksum.hpp"
#include "wire/segment.hpp"
#include "wire/tcp_options.hpp"

using namespace synack::wire;

namespace {

using namespace synack::test::bytes;

// ---- byte helpers, big-endian ----
// ---- independent RFC 1071: big-endian 16-bit words, a final odd byte padded with zero, end-around carry ----
uint16_t ref_sum(const uint8_t* p, size_t n, uint64_t init = 0) {
    uint64_t s = init;
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i]) << 8 | p[i + 1];
    if (n & 1) s += static_cast<uint32_t>(p[n - 1]) << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}
uint16_t ref_sum(const Bytes& b, size_t off, size_t n, uint64_t init = 0) {
    EXPECT_LE(off + n, b.size());
    return ref_sum(b.data() + off, n, init);
}
// Unfolded pseudo-header sum (RFC 9293 §3.1).
uint64_t ref_phdr(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4_len) {
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

// ---- mbuf helpers ----
struct MbufFree {
    void operator()(rte_mbuf* m) const noexcept { rte_pktmbuf_free(m); }
};
using MbufPtr = std::unique_ptr<rte_mbuf, MbufFree>;

/// A chain holding `data`, split into segments of `seg_lens` (empty: one segment), each segment's data starting
/// `shifts[i]` bytes after the default headroom.
MbufPtr make_chain(const Bytes& data, std::vector<size_t> seg_lens = {}, const std::vector<uint16_t>& shifts = {}) {
    if (seg_lens.empty()) seg_lens.push_back(data.size());
    size_t total = 0;
    for (size_t l : seg_lens) total += l;
    EXPECT_EQ(total, data.size()) << "segment lengths must add up to the data";
    MbufPtr head;
    size_t off = 0;
    for (size_t i = 0; i < seg_lens.size(); ++i) {
        rte_mbuf* m = rte_pktmbuf_alloc(synack::test::pool());
        EXPECT_NE(m, nullptr);
        if (m == nullptr) return nullptr;
        if (i < shifts.size()) m->data_off = static_cast<uint16_t>(m->data_off + shifts[i]);
        char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(seg_lens[i]));
        EXPECT_NE(dst, nullptr);
        if (seg_lens[i] > 0) std::memcpy(dst, data.data() + off, seg_lens[i]);
        off += seg_lens[i];
        if (!head) {
            head.reset(m);
        } else if (rte_pktmbuf_chain(head.get(), m) != 0) {
            rte_pktmbuf_free(m);
            ADD_FAILURE() << "rte_pktmbuf_chain failed";
            return nullptr;
        }
    }
    return head;
}

Bytes flatten(const rte_mbuf* m) {
    Bytes out;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
        out.insert(out.end(), p, p + s->data_len);
    }
    EXPECT_EQ(out.size(), rte_pktmbuf_pkt_len(m));
    return out;
}

// ---- TCP option helpers ----
TcpOptions parse_ok(const Bytes& b) {
    TcpOptions o;
    EXPECT_TRUE(parse_tcp_options(b.data(), static_cast<uint32_t>(b.size()), o));
    return o;
}
bool parses(const Bytes& b) {
    TcpOptions o;
    return parse_tcp_options(b.data(), static_cast<uint32_t>(b.size()), o);
}

void expect_opts_eq(const TcpOptions& got, const TcpOptions& want, const std::string& ctx = "") {
    SCOPED_TRACE(ctx);
    EXPECT_EQ(got.has_mss, want.has_mss);
    if (want.has_mss) {
        EXPECT_EQ(got.mss, want.mss);
    }
    EXPECT_EQ(got.has_wscale, want.has_wscale);
    if (want.has_wscale) {
        EXPECT_EQ(got.wscale, want.wscale);
    }
    EXPECT_EQ(got.sack_permitted, want.sack_permitted);
    EXPECT_EQ(got.has_timestamps, want.has_timestamps);
    if (want.has_timestamps) {
        EXPECT_EQ(got.ts_val, want.ts_val);
        EXPECT_EQ(got.ts_ecr, want.ts_ecr);
    }
    EXPECT_EQ(got.sack_count, want.sack_count);
    for (uint32_t i = 0; i < want.sack_count && i < got.sack_count; ++i) {
        EXPECT_EQ(got.sack[i].left, want.sack[i].left) << "block " << i;
        EXPECT_EQ(got.sack[i].right, want.sack[i].right) << "block " << i;
    }
}

/// write_tcp_options() into a guarded buffer: checks the size agrees, the alignment and that nothing past it moved.
Bytes write_opts(const TcpOptions& o) {
    uint8_t buf[96];
    std::memset(buf, 0xee, sizeof buf);
    const uint32_t n = write_tcp_options(buf, o);
    EXPECT_EQ(n, tcp_options_size(o));
    EXPECT_EQ(n % 4, 0u);
    EXPECT_LE(n, kMaxTcpOptionBytes);
    for (size_t i = n; i < sizeof buf; ++i) EXPECT_EQ(buf[i], 0xee) << "byte " << i << " written past the size";
    return Bytes(buf, buf + std::min<size_t>(n, sizeof buf));
}

Bytes ts_bytes(uint32_t val, uint32_t ecr) {
    Bytes b{8, 10};
    put32(b, val);
    put32(b, ecr);
    return b;
}

// ---- packet construction, independent of the code under test ----
constexpr uint32_t kSrc = RTE_IPV4(192, 0, 2, 1);
constexpr uint32_t kDst = RTE_IPV4(198, 51, 100, 200);

struct Pkt {
    int ver_ihl = -1;  ///< -1: 0x40 | the real IHL
    Bytes ip_opts;
    int total = -1;    ///< -1: the real datagram length
    uint16_t ip_id = 0x1234;
    uint16_t frag = RTE_IPV4_HDR_DF_FLAG;
    uint8_t ttl = 64;
    uint8_t proto = 6;
    uint32_t src = kSrc;
    uint32_t dst = kDst;
    uint16_t sport = 40001;
    uint16_t dport = 443;
    uint32_t seq = 0x01020304;
    uint32_t ack = 0xfffffff0;
    int doff = -1;     ///< TCP data offset in words; -1: the real one
    uint8_t flags = kAck | kPsh;
    uint16_t wnd = 0xfedc;
    uint16_t urp = 0;
    Bytes opts;
    Bytes payload;
    Bytes padding;     ///< link-layer padding after the datagram
    bool good_ip_cksum = true;
    bool good_tcp_cksum = true;

    size_t ihl() const { return 20 + ip_opts.size(); }
    size_t tcp_len() const { return 20 + opts.size() + payload.size(); }
};

Bytes build(const Pkt& p) {
    Bytes b;
    const size_t ihl = p.ihl();
    const size_t tcp_len = p.tcp_len();
    put8(b, static_cast<uint8_t>(p.ver_ihl >= 0 ? p.ver_ihl : 0x40 | ihl / 4));
    put8(b, 0);
    put16(b, static_cast<uint16_t>(p.total >= 0 ? static_cast<size_t>(p.total) : ihl + tcp_len));
    put16(b, p.ip_id);
    put16(b, p.frag);
    put8(b, p.ttl);
    put8(b, p.proto);
    put16(b, 0);
    put32(b, p.src);
    put32(b, p.dst);
    append(b, p.ip_opts);
    put16(b, p.sport);
    put16(b, p.dport);
    put32(b, p.seq);
    put32(b, p.ack);
    put8(b, static_cast<uint8_t>((p.doff >= 0 ? static_cast<size_t>(p.doff) : (20 + p.opts.size()) / 4) << 4));
    put8(b, p.flags);
    put16(b, p.wnd);
    put16(b, 0);
    put16(b, p.urp);
    append(b, p.opts);
    append(b, p.payload);

    uint16_t ipck = static_cast<uint16_t>(~ref_sum(b, 0, ihl));
    if (!p.good_ip_cksum) ipck ^= 0x0100;
    set16(b, 10, ipck);
    uint16_t tcpck = static_cast<uint16_t>(~ref_sum(b, ihl, tcp_len, ref_phdr(p.src, p.dst, 6, tcp_len)));
    if (!p.good_tcp_cksum) tcpck ^= 0x0001;
    set16(b, ihl + 16, tcpck);
    append(b, p.padding);
    return b;
}

struct Parsed {
    ParseStatus st;
    Segment seg;
};
Parsed parse_bytes(const Bytes& b, std::vector<size_t> segs = {}, uint64_t ol_flags = 0) {
    MbufPtr m = make_chain(b, std::move(segs));
    Parsed r{ParseStatus::count_, {}};
    if (!m) return r;
    m->ol_flags = ol_flags;
    r.st = parse_segment(m.get(), r.seg);
    return r;
}
ParseStatus status_of(const Bytes& b, std::vector<size_t> segs = {}, uint64_t ol_flags = 0) {
    return parse_bytes(b, std::move(segs), ol_flags).st;
}

}  // namespace

// Readable ParseStatus in failure messages.
namespace synack::wire {
void PrintTo(ParseStatus s, std::ostream* os) { *os << to_string(s); }
}  // namespace synack::wire

// =====================================================================================================================
// TCP options: parsing
// =====================================================================================================================

TEST(TcpOptionsParse, EmptyAndNopsOnly) {
    expect_opts_eq(parse_ok({}), TcpOptions{});
    expect_opts_eq(parse_ok({1, 1, 1, 1}), TcpOptions{});
    expect_opts_eq(parse_ok({1}), TcpOptions{});
}

TEST(TcpOptionsParse, Mss) {
    TcpOptions want;
    want.has_mss = true;
    want.mss = 1460;
    expect_opts_eq(parse_ok({2, 4, 0x05, 0xb4}), want);
    want.mss = 0xffff;
    expect_opts_eq(parse_ok({2, 4, 0xff, 0xff}), want);
    want.mss = 0;
    expect_opts_eq(parse_ok({2, 4, 0, 0}), want);
}

TEST(TcpOptionsParse, WindowScale) {
    TcpOptions want;
    want.has_wscale = true;
    want.wscale = 14;
    expect_opts_eq(parse_ok({3, 3, 14}), want);
    want.wscale = 7;
    expect_opts_eq(parse_ok({1, 3, 3, 7}), want);
    expect_opts_eq(parse_ok({3, 3, 7, 1}), want);
}

TEST(TcpOptionsParse, SackPermitted) {
    TcpOptions want;
    want.sack_permitted = true;
    expect_opts_eq(parse_ok({4, 2}), want);
    expect_opts_eq(parse_ok({1, 1, 4, 2}), want);
}

TEST(TcpOptionsParse, SackOneToFourBlocks) {
    for (uint32_t n = 1; n <= 4; ++n) {
        Bytes b{1, 1, 5, static_cast<uint8_t>(2 + 8 * n)};
        TcpOptions want;
        want.sack_count = static_cast<uint8_t>(n);
        for (uint32_t i = 0; i < n; ++i) {
            want.sack[i] = {0x80000000u + 0x01010101u * i, 0xfffffff0u + 0x00102030u * i};
            put32(b, want.sack[i].left);
            put32(b, want.sack[i].right);
        }
        expect_opts_eq(parse_ok(b), want, "blocks=" + std::to_string(n));
    }
}

TEST(TcpOptionsParse, Timestamps) {
    TcpOptions want;
    want.has_timestamps = true;
    want.ts_val = 0x89abcdef;
    want.ts_ecr = 0x01234567;
    Bytes b{1, 1};
    append(b, ts_bytes(0x89abcdef, 0x01234567));
    expect_opts_eq(parse_ok(b), want);
}

TEST(TcpOptionsParse, LinuxSynLayout) {
    // 02 04 05 b4 | 04 02 08 0a <val> <ecr> | 01 03 03 07: what Linux puts in a SYN.
    Bytes b{2, 4, 0x05, 0xb4, 4, 2, 8, 10};
    put32(b, 0xdeadbeef);
    put32(b, 0);
    append(b, {1, 3, 3, 7});
    TcpOptions want;
    want.has_mss = true;
    want.mss = 1460;
    want.sack_permitted = true;
    want.has_timestamps = true;
    want.ts_val = 0xdeadbeef;
    want.ts_ecr = 0;
    want.has_wscale = true;
    want.wscale = 7;
    expect_opts_eq(parse_ok(b), want);
}

TEST(TcpOptionsParse, NothingParsedAfterEol) {
    expect_opts_eq(parse_ok({0, 2, 4, 0x05, 0xb4}), TcpOptions{});
    // Bytes after EOL are not looked at, even if they would be malformed.
    expect_opts_eq(parse_ok({0, 2, 0, 0}), TcpOptions{});
    expect_opts_eq(parse_ok({0, 8}), TcpOptions{});
    TcpOptions want;
    want.has_mss = true;
    want.mss = 536;
    Bytes b{2, 4, 0x02, 0x18, 0, 0, 0, 0};
    expect_opts_eq(parse_ok(b), want);
    b = {2, 4, 0x02, 0x18, 0, 3, 3, 7};  // a window scale after EOL is ignored
    expect_opts_eq(parse_ok(b), want);
    b = {2, 4, 0x02, 0x18, 0, 2};  // and so is a length byte missing after EOL
    expect_opts_eq(parse_ok(b), want);
}

TEST(TcpOptionsParse, UnknownKindsSkippedByLength) {  // RFC 9293 MUST-6
    TcpOptions want;
    want.has_mss = true;
    want.mss = 1460;
    expect_opts_eq(parse_ok({30, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xb4}), want);
    expect_opts_eq(parse_ok({254, 2, 2, 4, 0x05, 0xb4}), want);
    // The skipped bytes look like options but must not be parsed as such.
    want.has_wscale = true;
    want.wscale = 2;
    expect_opts_eq(parse_ok({99, 6, 2, 4, 0xff, 0xff, 3, 3, 2, 2, 4, 0x05, 0xb4}), want);
    // MD5 signature (kind 19, 18 bytes) then timestamps: the timestamps are found.
    Bytes b{19, 18};
    for (int i = 0; i < 16; ++i) b.push_back(static_cast<uint8_t>(0x02 + i));
    append(b, {1, 1});
    append(b, ts_bytes(7, 9));
    TcpOptions ts;
    ts.has_timestamps = true;
    ts.ts_val = 7;
    ts.ts_ecr = 9;
    expect_opts_eq(parse_ok(b), ts);
    // An unknown option ending exactly at the end of the area.
    expect_opts_eq(parse_ok({1, 200, 3, 0xaa}), TcpOptions{});
}

TEST(TcpOptionsParse, MalformedLengthsRejected) {  // RFC 9293 MUST-7
    // Length byte missing at the end.
    EXPECT_FALSE(parses({2}));
    EXPECT_FALSE(parses({1, 1, 1, 8}));
    EXPECT_FALSE(parses({2, 4, 0x05, 0xb4, 3}));
    EXPECT_FALSE(parses({77}));
    // Length 0 or 1 (known and unknown kinds: these would never advance).
    EXPECT_FALSE(parses({2, 0, 0x05, 0xb4}));
    EXPECT_FALSE(parses({2, 1, 0x05, 0xb4}));
    EXPECT_FALSE(parses({8, 0}));
    EXPECT_FALSE(parses({30, 0, 0, 0}));
    EXPECT_FALSE(parses({30, 1, 1, 1}));
    EXPECT_FALSE(parses({1, 1, 5, 1}));
    // Length running past the option area.
    EXPECT_FALSE(parses({8, 10, 0, 0, 0, 0}));
    EXPECT_FALSE(parses({30, 5, 0, 0}));
    EXPECT_FALSE(parses({2, 5, 0x05, 0xb4}));
    EXPECT_FALSE(parses({2, 4, 0x05, 0xb4, 5, 10, 0, 0, 0, 0, 0, 0}));
    EXPECT_FALSE(parses({3, 255, 0, 0}));
    Bytes b(40, 1);
    b[36] = 30;
    b[37] = 5;  // needs 41 bytes
    EXPECT_FALSE(parses(b));
    b[37] = 4;  // exactly 40
    EXPECT_TRUE(parses(b));
}

TEST(TcpOptionsParse, KnownKindWithWrongLengthIgnoredParsingContinues) {
    {
        TcpOptions want;
        want.has_wscale = true;
        want.wscale = 7;
        expect_opts_eq(parse_ok({2, 6, 0x05, 0xb4, 0, 0, 3, 3, 7}), want, "MSS len 6");
    }
    {
        TcpOptions want;
        want.has_mss = true;
        want.mss = 256;
        expect_opts_eq(parse_ok({2, 3, 0x05, 1, 2, 4, 1, 0}), want, "MSS len 3");
        expect_opts_eq(parse_ok({2, 2, 2, 4, 1, 0}), want, "MSS len 2");
    }
    {
        TcpOptions want;
        want.sack_permitted = true;
        expect_opts_eq(parse_ok({3, 4, 7, 0, 4, 2}), want, "WS len 4");
        expect_opts_eq(parse_ok({3, 2, 4, 2}), want, "WS len 2");
    }
    {
        Bytes b{4, 3, 0};
        append(b, ts_bytes(1, 2));
        TcpOptions want;
        want.has_timestamps = true;
        want.ts_val = 1;
        want.ts_ecr = 2;
        expect_opts_eq(parse_ok(b), want, "SACKOK len 3");
        b = {4, 4, 0, 0};
        append(b, ts_bytes(1, 2));
        expect_opts_eq(parse_ok(b), want, "SACKOK len 4");
    }
    {
        TcpOptions want;
        want.has_mss = true;
        want.mss = 1460;
        Bytes b{8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 2, 4, 0x05, 0xb4};
        expect_opts_eq(parse_ok(b), want, "TS len 12");
        b = {8, 8, 0, 0, 0, 1, 0, 0, 2, 4, 0x05, 0xb4};
        expect_opts_eq(parse_ok(b), want, "TS len 8");
        // SACK with a length that is not 2 + 8n, or with no block, or with 5 blocks.
        for (uint8_t len : {2, 3, 9, 11, 17, 33, 42}) {
            Bytes s{5, len};
            s.resize(len, 0x11);
            append(s, {2, 4, 0x05, 0xb4});
            expect_opts_eq(parse_ok(s), want, "SACK len " + std::to_string(len));
        }
    }
}

TEST(TcpOptionsParse, LaterOptionOfSameKindWins) {
    TcpOptions want;
    want.has_mss = true;
    want.mss = 1000;
    expect_opts_eq(parse_ok({2, 4, 0x05, 0xb4, 2, 4, 0x03, 0xe8}), want);
}

// =====================================================================================================================
// TCP options: writing
// =====================================================================================================================

namespace {
TcpOptions syn_opts(bool mss, bool sackok, bool ts, bool ws) {
    TcpOptions o;
    o.has_mss = mss;
    o.mss = 1460;
    o.sack_permitted = sackok;
    o.has_timestamps = ts;
    o.ts_val = 0x11223344;
    o.ts_ecr = 0xa1b2c3d4;
    o.has_wscale = ws;
    o.wscale = 7;
    return o;
}
}  // namespace

TEST(TcpOptionsWrite, NothingToWrite) {
    EXPECT_EQ(tcp_options_size(TcpOptions{}), 0u);
    EXPECT_EQ(write_opts(TcpOptions{}), Bytes{});
}

TEST(TcpOptionsWrite, SynSetsExactBytes) {
    EXPECT_EQ(write_opts(syn_opts(true, false, false, false)), (Bytes{2, 4, 0x05, 0xb4}));
    EXPECT_EQ(write_opts(syn_opts(true, true, true, false)),
              (Bytes{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4}));
    EXPECT_EQ(write_opts(syn_opts(true, false, true, false)),
              (Bytes{2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4}));
    EXPECT_EQ(write_opts(syn_opts(true, false, false, true)), (Bytes{2, 4, 0x05, 0xb4, 1, 3, 3, 7}));
    EXPECT_EQ(write_opts(syn_opts(true, true, false, false)), (Bytes{2, 4, 0x05, 0xb4, 1, 1, 4, 2}));
    EXPECT_EQ(write_opts(syn_opts(true, true, true, true)),
              (Bytes{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4, 1, 3, 3, 7}));
    EXPECT_EQ(write_opts(syn_opts(true, true, false, true)), (Bytes{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}));
    EXPECT_EQ(write_opts(syn_opts(false, false, true, false)),
              (Bytes{1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4}));
    TcpOptions o = syn_opts(true, false, false, true);
    o.mss = 0x0218;
    o.wscale = 14;
    EXPECT_EQ(write_opts(o), (Bytes{2, 4, 0x02, 0x18, 1, 3, 3, 14}));
}

TEST(TcpOptionsWrite, SackBlocksExactBytes) {
    TcpOptions o;
    for (uint32_t i = 0; i < kMaxSackBlocks; ++i) o.sack[i] = {0x10000000u * (i + 1) + 1, 0x10000000u * (i + 1) + 0x1000};
    auto blocks = [&](uint32_t n) {
        Bytes b;
        for (uint32_t i = 0; i < n; ++i) {
            put32(b, o.sack[i].left);
            put32(b, o.sack[i].right);
        }
        return b;
    };
    for (uint32_t n = 1; n <= 4; ++n) {
        o.sack_count = static_cast<uint8_t>(n);
        Bytes want{1, 1, 5, static_cast<uint8_t>(2 + 8 * n)};
        append(want, blocks(n));
        EXPECT_EQ(write_opts(o), want) << n << " blocks, no timestamps";
    }
    // With timestamps (12 bytes) at most 3 blocks fit in 40 bytes: a 4th is dropped.
    o.has_timestamps = true;
    o.ts_val = 0xcafef00d;
    o.ts_ecr = 0x0badc0de;
    for (uint32_t n = 1; n <= 4; ++n) {
        o.sack_count = static_cast<uint8_t>(n);
        const uint32_t fit = std::min(n, 3u);
        Bytes want{1, 1};
        append(want, ts_bytes(0xcafef00d, 0x0badc0de));
        append(want, {1, 1, 5, static_cast<uint8_t>(2 + 8 * fit)});
        append(want, blocks(fit));
        EXPECT_EQ(write_opts(o), want) << n << " blocks with timestamps";
        EXPECT_EQ(tcp_options_size(o), 12u + 4 + 8 * fit);
    }
    // Everything a SYN carries plus SACK blocks: 20 bytes of SYN options leave room for 2 blocks.
    o = syn_opts(true, true, true, true);
    for (uint32_t i = 0; i < kMaxSackBlocks; ++i) o.sack[i] = {i + 1, i + 100};
    o.sack_count = 4;
    Bytes want{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4, 1, 3, 3, 7, 1, 1, 5, 18};
    for (uint32_t i = 0; i < 2; ++i) {
        put32(want, i + 1);
        put32(want, i + 100);
    }
    EXPECT_EQ(write_opts(o), want);
}

TEST(TcpOptionsWrite, LinuxLayoutsRoundTripByteForByte) {
    // What Linux sends, parsed and written again, comes out identical: a SYN (MSS, SACKOK, TS, NOP, WS), a SYN-ACK
    // to a peer without timestamps (MSS, NOP, NOP, SACKOK, NOP, WS), a data segment (NOP, NOP, TS) and an ACK with
    // timestamps and two SACK blocks (NOP, NOP, TS, NOP, NOP, SACK).
    Bytes syn{2, 4, 0x05, 0xb4, 4, 2, 8, 10};
    put32(syn, 0x01020304);
    put32(syn, 0);
    append(syn, {1, 3, 3, 7});
    const Bytes synack{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 9};
    Bytes data{1, 1, 8, 10};
    put32(data, 0xfffffff0u);
    put32(data, 0x7fffffffu);
    Bytes sack = data;
    append(sack, {1, 1, 5, 18});
    for (uint32_t v : {0xfffff000u, 0x00000100u, 0x10000000u, 0x10000200u}) put32(sack, v);
    for (const Bytes& b : {syn, synack, data, sack}) {
        const TcpOptions o = parse_ok(b);
        EXPECT_EQ(write_opts(o), b);
        EXPECT_EQ(tcp_options_size(o), b.size());
    }
    EXPECT_EQ(parse_ok(sack).sack_count, 2);
    EXPECT_EQ(parse_ok(synack).wscale, 9);
}

TEST(TcpOptionsWrite, EveryCombinationSizeAlignedAndRoundTrips) {
    for (int bits = 0; bits < 16; ++bits) {
        for (uint8_t blocks = 0; blocks <= kMaxSackBlocks; ++blocks) {
            TcpOptions o = syn_opts(bits & 1, bits & 2, bits & 4, bits & 8);
            o.sack_count = blocks;
            for (uint32_t i = 0; i < kMaxSackBlocks; ++i) o.sack[i] = {0x1000u * i + 3, 0x1000u * i + 0x800};
            const std::string ctx = "bits=" + std::to_string(bits) + " blocks=" + std::to_string(blocks);
            const Bytes w = write_opts(o);
            EXPECT_EQ(w.size(), tcp_options_size(o)) << ctx;
            // Expected trimming, computed independently.
            const uint32_t base = (o.has_mss ? 4 : 0) + (o.has_timestamps ? 12 : o.sack_permitted ? 4 : 0) +
                                  (o.has_wscale ? 4 : 0);
            const uint32_t room = base + 4 + 8 <= 40 ? (40 - base - 4) / 8 : 0;
            TcpOptions want = o;
            want.sack_count = static_cast<uint8_t>(std::min<uint32_t>(blocks, room));
            EXPECT_EQ(w.size(), base + (want.sack_count ? 4 + 8 * want.sack_count : 0)) << ctx;
            expect_opts_eq(parse_ok(w), want, ctx);
        }
    }
}

TEST(TcpOptionsWrite, RandomRoundTrip) {
    std::mt19937 rng(20240611);
    for (int iter = 0; iter < 5000; ++iter) {
        TcpOptions o;
        o.has_mss = rng() & 1;
        o.mss = static_cast<uint16_t>(rng());
        o.has_wscale = rng() & 1;
        o.wscale = static_cast<uint8_t>(rng() % 15);
        o.sack_permitted = rng() & 1;
        o.has_timestamps = rng() & 1;
        o.ts_val = static_cast<uint32_t>(rng());
        o.ts_ecr = static_cast<uint32_t>(rng());
        o.sack_count = static_cast<uint8_t>(rng() % (kMaxSackBlocks + 1));
        for (auto& s : o.sack) s = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
        const Bytes w = write_opts(o);
        TcpOptions got;
        ASSERT_TRUE(parse_tcp_options(w.data(), static_cast<uint32_t>(w.size()), got)) << "iteration " << iter;
        TcpOptions want = o;
        const uint32_t base = (o.has_mss ? 4 : 0) + (o.has_timestamps ? 12 : o.sack_permitted ? 4 : 0) +
                              (o.has_wscale ? 4 : 0);
        want.sack_count = static_cast<uint8_t>(std::min<uint32_t>(o.sack_count, base <= 28 ? (36 - base) / 8 : 0));
        expect_opts_eq(got, want, "iteration " + std::to_string(iter));
        if (::testing::Test::HasFailure()) break;
    }
}

// =====================================================================================================================
// parse_segment
// =====================================================================================================================

TEST(ParseSegment, ValidSegmentExactFields) {
    Pkt p;
    p.opts = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1};
    append(p.opts, ts_bytes(0x01020304, 0x05060708));  // 20 bytes
    p.payload = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    p.flags = kAck | kPsh | kUrg;
    p.urp = 0x0102;
    const Parsed r = parse_bytes(build(p));
    ASSERT_EQ(r.st, ParseStatus::ok);
    const Segment& s = r.seg;
    EXPECT_EQ(s.src_ip, kSrc);
    EXPECT_EQ(s.dst_ip, kDst);
    EXPECT_EQ(s.src_port, 40001);
    EXPECT_EQ(s.dst_port, 443);
    EXPECT_EQ(s.seq, 0x01020304u);
    EXPECT_EQ(s.ack, 0xfffffff0u);
    EXPECT_EQ(s.wnd, 0xfedc);
    EXPECT_EQ(s.urp, 0x0102);
    EXPECT_EQ(s.flags, kAck | kPsh | kUrg);
    EXPECT_EQ(s.payload_off, 60);
    EXPECT_EQ(s.payload_len, 11);
    EXPECT_EQ(s.seg_len(), 11u);
    TcpOptions want;
    want.has_mss = true;
    want.mss = 1460;
    want.has_wscale = true;
    want.wscale = 7;
    want.has_timestamps = true;
    want.ts_val = 0x01020304;
    want.ts_ecr = 0x05060708;
    expect_opts_eq(s.opt, want);
}

TEST(ParseSegment, SynFinAndNoOptions) {
    Pkt p;
    p.flags = kSyn;
    p.seq = 0xffffffff;
    p.ack = 0;
    const Parsed r = parse_bytes(build(p));
    ASSERT_EQ(r.st, ParseStatus::ok);
    EXPECT_EQ(r.seg.flags, kSyn);
    EXPECT_EQ(r.seg.seq, 0xffffffffu);
    EXPECT_EQ(r.seg.payload_off, 40);
    EXPECT_EQ(r.seg.payload_len, 0);
    EXPECT_EQ(r.seg.seg_len(), 1u);
    expect_opts_eq(r.seg.opt, TcpOptions{});

    p.flags = kFin | kAck;
    p.payload = {1, 2, 3};
    const Parsed f = parse_bytes(build(p));
    ASSERT_EQ(f.st, ParseStatus::ok);
    EXPECT_EQ(f.seg.flags, kFin | kAck);
    EXPECT_EQ(f.seg.seg_len(), 4u);
}

TEST(ParseSegment, IpOptionsCoveredAndSkipped) {
    Pkt p;
    p.ip_opts = {0x94, 4, 0, 0};  // Router Alert: IHL 6
    p.payload = {9, 8, 7};
    const Bytes b = build(p);
    const Parsed r = parse_bytes(b);
    ASSERT_EQ(r.st, ParseStatus::ok);
    EXPECT_EQ(r.seg.payload_off, 44);
    EXPECT_EQ(r.seg.payload_len, 3);
    EXPECT_EQ(r.seg.src_port, 40001);
    // The IP checksum covers the options too.
    Bytes bad = b;
    bad[22] ^= 0x01;
    EXPECT_EQ(status_of(bad), ParseStatus::bad_ip_checksum);
}

TEST(ParseSegment, Truncated) {
    Pkt p;
    p.payload = Bytes(10, 0x5a);
    const Bytes b = build(p);  // 50 bytes
    // Shorter than a 20-byte IP header.
    EXPECT_EQ(status_of(Bytes(b.begin(), b.begin() + 19)), ParseStatus::truncated);
    EXPECT_EQ(status_of(Bytes{}), ParseStatus::truncated);
    EXPECT_EQ(status_of(b, {19, 31}), ParseStatus::truncated);
    // IHL 6: the first segment ends inside the IP options.
    Pkt po = p;
    po.ip_opts = {1, 1, 1, 0};
    EXPECT_EQ(status_of(build(po), {22, 32}), ParseStatus::truncated);
    // The first segment ends inside the TCP header.
    EXPECT_EQ(status_of(b, {30, 20}), ParseStatus::truncated);
    EXPECT_EQ(status_of(b, {39, 11}), ParseStatus::truncated);
    EXPECT_EQ(status_of(b, {40, 10}), ParseStatus::ok);
    // The first segment ends inside the TCP options.
    Pkt pt = p;
    pt.opts = {2, 4, 0x05, 0xb4, 1, 1};
    append(pt.opts, ts_bytes(1, 2));  // 16 bytes: headers are 56
    const Bytes bt = build(pt);
    EXPECT_EQ(status_of(bt, {44, 22}), ParseStatus::truncated);
    EXPECT_EQ(status_of(bt, {55, 11}), ParseStatus::truncated);
    EXPECT_EQ(status_of(bt, {56, 10}), ParseStatus::ok);
}

TEST(ParseSegment, BadIpVersion) {
    for (int v : {0x65, 0x05, 0xf5, 0x35}) {
        Pkt p;
        p.ver_ihl = v;
        EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_version) << std::hex << v;
    }
}

TEST(ParseSegment, BadIpHeaderLen) {
    for (int v : {0x40, 0x41, 0x44}) {
        Pkt p;
        p.ver_ihl = v;
        EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_header_len) << std::hex << v;
    }
}

TEST(ParseSegment, BadIpTotalLen) {
    Pkt p;
    p.payload = Bytes(6, 1);  // real total 46
    for (int total : {0, 20, 39}) {
        p.total = total;
        EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_total_len) << "total " << total;
    }
    p.total = 47;  // one more than the frame
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_total_len);
    p.total = 0xffff;
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_total_len);
    p.total = 47;  // also when the frame is chained
    EXPECT_EQ(status_of(build(p), {41, 5}), ParseStatus::bad_ip_total_len);
    // IHL 6: the total must cover 24 + 20 bytes.
    Pkt po;
    po.ip_opts = {1, 1, 1, 1};
    po.total = 43;
    EXPECT_EQ(status_of(build(po)), ParseStatus::bad_ip_total_len);
    po.total = 44;
    EXPECT_EQ(status_of(build(po)), ParseStatus::ok);
}

TEST(ParseSegment, BadIpChecksum) {
    Pkt p;
    p.good_ip_cksum = false;
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_ip_checksum);
    p.good_ip_cksum = true;
    Bytes b = build(p);
    b[8] = 63;  // TTL changed after the checksum
    EXPECT_EQ(status_of(b), ParseStatus::bad_ip_checksum);
    b = build(p);
    b[15] ^= 0x80;  // source address
    EXPECT_EQ(status_of(b), ParseStatus::bad_ip_checksum);
}

TEST(ParseSegment, IpFragment) {
    for (uint16_t frag : {0x2000, 0x6000, 0x0001, 0x4001, 0x1fff, 0x2010}) {
        Pkt p;
        p.frag = frag;
        EXPECT_EQ(status_of(build(p)), ParseStatus::ip_fragment) << std::hex << frag;
    }
    Pkt p;
    p.frag = 0;  // DF clear, not a fragment
    EXPECT_EQ(status_of(build(p)), ParseStatus::ok);
}

TEST(ParseSegment, NotTcp) {
    for (uint8_t proto : {1, 17, 0, 255}) {
        Pkt p;
        p.proto = proto;
        EXPECT_EQ(status_of(build(p)), ParseStatus::not_tcp) << int(proto);
    }
}

TEST(ParseSegment, BadTcpHeaderLen) {
    for (int doff = 0; doff < 5; ++doff) {
        Pkt p;
        p.doff = doff;
        p.payload = Bytes(8, 3);
        EXPECT_EQ(status_of(build(p)), ParseStatus::bad_tcp_header_len) << "doff " << doff;
    }
    Pkt p;
    p.doff = 6;  // 24-byte header in a 20-byte TCP segment
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_tcp_header_len);
    p.doff = 15;  // 60-byte header, 20 + 39 bytes there
    p.payload = Bytes(39, 1);
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_tcp_header_len);
    // Ethernet padding does not count: the header must end within the IP total length.
    Pkt pad;
    pad.doff = 6;
    pad.padding = Bytes(6, 1);
    EXPECT_EQ(status_of(build(pad)), ParseStatus::bad_tcp_header_len);
}

TEST(ParseSegment, BadTcpChecksum) {
    Pkt p;
    p.payload = Bytes(17, 0x42);
    p.good_tcp_cksum = false;
    EXPECT_EQ(status_of(build(p)), ParseStatus::bad_tcp_checksum);
    p.good_tcp_cksum = true;
    Bytes b = build(p);
    b[50] ^= 0x10;  // payload changed after the checksum
    EXPECT_EQ(status_of(b), ParseStatus::bad_tcp_checksum);
    b = build(p);
    b[56] ^= 0x01;  // the last, odd payload byte
    EXPECT_EQ(status_of(b), ParseStatus::bad_tcp_checksum);
    // The pseudo-header is covered: a different destination with a recomputed IP checksum.
    b = build(p);
    b[19] ^= 0x01;
    set16(b, 10, 0);
    set16(b, 10, static_cast<uint16_t>(~ref_sum(b, 0, 20)));
    EXPECT_EQ(status_of(b), ParseStatus::bad_tcp_checksum);
}

// A Linux sender with checksum offload and no NIC to finish it (a veth peer seen through AF_XDP) leaves the
// folded, non-complemented pseudo-header sum in the field (CHECKSUM_PARTIAL): told apart from other bad sums.
TEST(ParseSegment, PartialChecksumFromAnOffloadingSenderIsNamed) {
    Pkt p;
    p.payload = Bytes(35, 0x41);
    Bytes b = build(p);
    const uint32_t tcp_len = static_cast<uint32_t>(b.size()) - 20;
    set16(b, 36, ref_sum(nullptr, 0, ref_phdr(p.src, p.dst, 6, tcp_len)));
    EXPECT_EQ(status_of(b), ParseStatus::partial_tcp_checksum);
    EXPECT_EQ(status_of(b, {45, 17, 13}), ParseStatus::partial_tcp_checksum) << "payload chained";
    b[50] ^= 0x10;  // any other wrong sum stays a bad checksum
    set16(b, 36, static_cast<uint16_t>(ref_sum(nullptr, 0, ref_phdr(p.src, p.dst, 6, tcp_len)) + 1));
    EXPECT_EQ(status_of(b), ParseStatus::bad_tcp_checksum);
    // The port said it verified the sum: trusted as before.
    set16(b, 36, ref_sum(nullptr, 0, ref_phdr(p.src, p.dst, 6, tcp_len)));
    EXPECT_EQ(status_of(b, {}, RTE_MBUF_F_RX_L4_CKSUM_GOOD), ParseStatus::ok);
}

TEST(ParseSegment, BadTcpOptions) {
    for (const Bytes& opts : {Bytes{2, 0, 0, 0}, Bytes{1, 1, 1, 8}, Bytes{30, 8, 0, 0}, Bytes{2, 1, 5, 0xb4}}) {
        Pkt p;
        p.opts = opts;
        p.payload = {1};
        EXPECT_EQ(status_of(build(p)), ParseStatus::bad_tcp_options);
    }
    Pkt ok;
    ok.opts = {0, 30, 8, 0};  // after EOL: fine
    EXPECT_EQ(status_of(build(ok)), ParseStatus::ok);
}

TEST(ParseSegment, EthernetPaddingExcludedFromChecksum) {
    Pkt p;
    p.padding = Bytes(6, 0xff);  // 40-byte datagram in a 46-byte minimum payload
    Parsed r = parse_bytes(build(p));
    ASSERT_EQ(r.st, ParseStatus::ok);
    EXPECT_EQ(r.seg.payload_len, 0);
    EXPECT_EQ(r.seg.payload_off, 40);
    p.payload = {0xab, 0xcd, 0xef};  // odd payload, odd padding
    p.padding = {0x12, 0x34, 0x56};
    const Bytes b = build(p);
    r = parse_bytes(b);
    ASSERT_EQ(r.st, ParseStatus::ok);
    EXPECT_EQ(r.seg.payload_len, 3);
    // Padding in a segment of its own, and split across segments.
    EXPECT_EQ(status_of(b, {43, 3}), ParseStatus::ok);
    EXPECT_EQ(status_of(b, {41, 3, 2}), ParseStatus::ok);
}

TEST(ParseSegment, RxChecksumOffloadFlags) {
    Pkt p;
    p.payload = Bytes(5, 7);
    p.good_tcp_cksum = false;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_L4_CKSUM_GOOD), ParseStatus::ok);
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN), ParseStatus::bad_tcp_checksum);
    p.good_tcp_cksum = true;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_L4_CKSUM_BAD), ParseStatus::bad_tcp_checksum);
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_L4_CKSUM_GOOD), ParseStatus::ok);

    p.good_ip_cksum = false;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_IP_CKSUM_GOOD), ParseStatus::ok);
    p.good_ip_cksum = true;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_IP_CKSUM_BAD), ParseStatus::bad_ip_checksum);
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD), ParseStatus::ok);
}

// DPDK (rte_mbuf_core.h): *_CKSUM_NONE = "the checksum is not correct in the packet data, but the integrity of the
// data is verified" -- e.g. virtio-net sets RX_L4_CKSUM_NONE for VIRTIO_NET_HDR_F_NEEDS_CSUM packets, whose TCP
// checksum field holds only the pseudo-header sum. src/net/interface.cpp already treats IP_CKSUM_NONE as verified.
TEST(ParseSegment, RxChecksumNoneMeansVerified) {
    Pkt p;
    p.payload = Bytes(5, 7);
    p.good_tcp_cksum = false;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_L4_CKSUM_NONE), ParseStatus::ok)
        << "RX_L4_CKSUM_NONE: the L4 data was verified, the checksum field is not meaningful";
    p.good_tcp_cksum = true;
    p.good_ip_cksum = false;
    EXPECT_EQ(status_of(build(p), {}, RTE_MBUF_F_RX_IP_CKSUM_NONE), ParseStatus::ok)
        << "RX_IP_CKSUM_NONE: the IP header was verified (net/interface.cpp accepts it; parse_segment must too)";
}

TEST(ParseSegment, PayloadChainedOverThreeOddSegments) {
    std::mt19937 rng(7);
    Pkt p;
    p.opts = {1, 1};
    append(p.opts, ts_bytes(0xabcdef01, 0x11111111));  // headers: 52 bytes
    p.payload = random_bytes(rng, 121);
    const Bytes b = build(p);
    const std::vector<size_t> segs{59, 13, 101};  // 52 + 7, 13, 101: all odd
    const Parsed r = parse_bytes(b, segs);
    ASSERT_EQ(r.st, ParseStatus::ok);
    EXPECT_EQ(r.seg.payload_off, 52);
    EXPECT_EQ(r.seg.payload_len, 121);
    EXPECT_TRUE(r.seg.opt.has_timestamps);
    for (size_t i : {size_t{53}, size_t{60}, size_t{71}, size_t{72}, size_t{172}}) {
        Bytes bad = b;
        bad[i] ^= 0x04;
        EXPECT_EQ(status_of(bad, segs), ParseStatus::bad_tcp_checksum) << "byte " << i;
    }
}

TEST(ParseSegment, RandomChainsVerify) {
    std::mt19937 rng(99);
    for (int iter = 0; iter < 300; ++iter) {
        Pkt p;
        p.seq = static_cast<uint32_t>(rng());
        p.ack = static_cast<uint32_t>(rng());
        p.sport = static_cast<uint16_t>(rng());
        p.dport = static_cast<uint16_t>(rng());
        p.src = static_cast<uint32_t>(rng());
        p.dst = static_cast<uint32_t>(rng());
        p.payload = random_bytes(rng, rng() % 1461);
        if (rng() & 1) p.padding = random_bytes(rng, rng() % 8);
        const Bytes b = build(p);
        // The first segment holds the 40 header bytes plus some payload; the rest is split at random points.
        const size_t rest_total = b.size() - 40;
        const size_t first_extra = rest_total ? rng() % (rest_total + 1) : 0;
        std::vector<size_t> segs{40 + first_extra};
        size_t rest = rest_total - first_extra;
        const int more = static_cast<int>(rng() % 4);
        for (int i = 0; i < more && rest > 0; ++i) {
            const size_t n = i + 1 == more ? rest : 1 + rng() % rest;
            segs.push_back(n);
            rest -= n;
        }
        if (rest > 0) segs.push_back(rest);
        const Parsed r = parse_bytes(b, segs);
        ASSERT_EQ(r.st, ParseStatus::ok) << "iteration " << iter;
        EXPECT_EQ(r.seg.payload_len, p.payload.size());
        EXPECT_EQ(r.seg.seq, p.seq);
        EXPECT_EQ(r.seg.src_ip, p.src);
        if (!p.payload.empty()) {
            Bytes bad = b;
            bad[40 + rng() % p.payload.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
            ASSERT_EQ(status_of(bad, segs), ParseStatus::bad_tcp_checksum) << "iteration " << iter;
        }
    }
}

TEST(ParseSegment, StatusNames) {
    EXPECT_STREQ(to_string(ParseStatus::ok), "ok");
    EXPECT_STREQ(to_string(ParseStatus::truncated), "truncated");
    EXPECT_STREQ(to_string(ParseStatus::bad_tcp_options), "bad_tcp_options");
    EXPECT_STREQ(to_string(ParseStatus::partial_tcp_checksum), "partial_tcp_checksum");
    EXPECT_STREQ(to_string(ParseStatus::count_), "?");
}

// =====================================================================================================================
// prepend_headers
// =====================================================================================================================

namespace {

SegmentHeader header(const TcpOptions* opts) {
    return SegmentHeader{kSrc, kDst, 40001, 443, 0x89abcdef, 0x01234567, kAck | kPsh, 0xbeef, 0x4242, opts};
}

/// Checks the IPv4 + TCP header bytes of `b` (flattened packet) against `h`, independently.
void expect_headers(const Bytes& b, const SegmentHeader& h, const Bytes& opt_bytes, const Bytes& payload,
                    bool offload) {
    const size_t tcp_hdr = 20 + opt_bytes.size();
    ASSERT_EQ(b.size(), 20 + tcp_hdr + payload.size());
    EXPECT_EQ(b[0], 0x45);
    EXPECT_EQ(b[1], 0x00);
    EXPECT_EQ(get16(b, 2), b.size());
    EXPECT_EQ(get16(b, 4), h.ip_id);
    EXPECT_EQ(get16(b, 6), 0x4000) << "DF, no fragment offset";
    EXPECT_EQ(b[8], 64);
    EXPECT_EQ(b[9], 6);
    EXPECT_EQ(get32(b, 12), h.src_ip);
    EXPECT_EQ(get32(b, 16), h.dst_ip);
    EXPECT_EQ(get16(b, 20), h.src_port);
    EXPECT_EQ(get16(b, 22), h.dst_port);
    EXPECT_EQ(get32(b, 24), h.seq);
    EXPECT_EQ(get32(b, 28), h.ack);
    EXPECT_EQ(b[32], (tcp_hdr / 4) << 4);
    EXPECT_EQ(b[33], h.flags);
    EXPECT_EQ(get16(b, 34), h.wnd);
    EXPECT_EQ(get16(b, 38), 0) << "urgent pointer";
    EXPECT_EQ(Bytes(b.begin() + 40, b.begin() + 40 + static_cast<long>(opt_bytes.size())), opt_bytes);
    EXPECT_EQ(Bytes(b.begin() + 40 + static_cast<long>(opt_bytes.size()), b.end()), payload);
    const size_t tcp_len = b.size() - 20;
    if (!offload) {
        EXPECT_EQ(ref_sum(b, 0, 20), 0xffff) << "IPv4 header checksum";
        EXPECT_EQ(ref_sum(b, 20, tcp_len, ref_phdr(h.src_ip, h.dst_ip, 6, tcp_len)), 0xffff) << "TCP checksum";
    } else {
        EXPECT_EQ(get16(b, 10), 0) << "IP checksum left 0 for the NIC";
        // The TCP checksum field holds the folded, non-complemented pseudo-header sum.
        EXPECT_EQ(get16(b, 36), ref_sum(nullptr, 0, ref_phdr(h.src_ip, h.dst_ip, 6, tcp_len)));
    }
}

}  // namespace

TEST(PrependHeaders, ExactBytesChainedOddPayload) {
    std::mt19937 rng(3);
    const Bytes payload = random_bytes(rng, 121);
    TcpOptions o = syn_opts(true, true, true, true);
    const Bytes opt_bytes = write_opts(o);
    ASSERT_EQ(opt_bytes.size(), 20u);
    MbufPtr m = make_chain(payload, {7, 13, 101});
    const SegmentHeader h = header(&o);
    ASSERT_TRUE(prepend_headers(m.get(), h, false));
    EXPECT_EQ(m->nb_segs, 3);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m.get()), 40u + 20 + 121);
    EXPECT_EQ(rte_pktmbuf_data_len(m.get()), 40u + 20 + 7);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    EXPECT_EQ(m->l4_len, 40u);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM), 0u);
    expect_headers(flatten(m.get()), h, opt_bytes, payload, false);

    Segment s;
    ASSERT_EQ(parse_segment(m.get(), s), ParseStatus::ok);
    EXPECT_EQ(s.src_ip, h.src_ip);
    EXPECT_EQ(s.dst_port, h.dst_port);
    EXPECT_EQ(s.seq, h.seq);
    EXPECT_EQ(s.ack, h.ack);
    EXPECT_EQ(s.wnd, h.wnd);
    EXPECT_EQ(s.flags, h.flags);
    EXPECT_EQ(s.payload_off, 60);
    EXPECT_EQ(s.payload_len, 121);
    expect_opts_eq(s.opt, o);
}

TEST(PrependHeaders, NoOptionsAndEmptyPayload) {
    MbufPtr m = make_chain({});
    SegmentHeader h = header(nullptr);
    h.flags = kSyn;
    ASSERT_TRUE(prepend_headers(m.get(), h, false));
    EXPECT_EQ(rte_pktmbuf_pkt_len(m.get()), 40u);
    EXPECT_EQ(m->l4_len, 20u);
    expect_headers(flatten(m.get()), h, {}, {}, false);

    TcpOptions none;  // present but empty: no option bytes
    MbufPtr m2 = make_chain({0x01});
    h = header(&none);
    ASSERT_TRUE(prepend_headers(m2.get(), h, false));
    expect_headers(flatten(m2.get()), h, {}, {0x01}, false);
}

TEST(PrependHeaders, SackOptionsTrimmedInHeader) {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = 5;
    o.ts_ecr = 6;
    o.sack_count = 4;
    for (uint32_t i = 0; i < 4; ++i) o.sack[i] = {100 * i, 100 * i + 50};
    const Bytes opt_bytes = write_opts(o);
    ASSERT_EQ(opt_bytes.size(), 40u);
    const Bytes payload{1, 2, 3, 4, 5};
    MbufPtr m = make_chain(payload, {2, 3});
    const SegmentHeader h = header(&o);
    ASSERT_TRUE(prepend_headers(m.get(), h, false));
    EXPECT_EQ(m->l4_len, 60u);
    expect_headers(flatten(m.get()), h, opt_bytes, payload, false);
}

TEST(PrependHeaders, RandomChainsChecksumsValid) {
    std::mt19937 rng(11);
    for (int iter = 0; iter < 300; ++iter) {
        const size_t len = rng() % 1461;
        const Bytes payload = random_bytes(rng, len);
        std::vector<size_t> segs;
        size_t rest = len;
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i + 1 < n && rest > 0; ++i) {
            const size_t k = 1 + rng() % rest;
            segs.push_back(k);
            rest -= k;
        }
        segs.push_back(rest);
        std::vector<uint16_t> shifts;
        for (size_t i = 0; i < segs.size(); ++i) shifts.push_back(static_cast<uint16_t>(rng() % 8));
        TcpOptions o;
        o.has_timestamps = rng() & 1;
        o.ts_val = static_cast<uint32_t>(rng());
        o.ts_ecr = static_cast<uint32_t>(rng());
        o.sack_count = static_cast<uint8_t>(rng() % 5);
        for (auto& s : o.sack) s = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
        const Bytes opt_bytes = write_opts(o);
        MbufPtr m = make_chain(payload, segs, shifts);
        SegmentHeader h{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                        static_cast<uint16_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
                        static_cast<uint8_t>(rng() & 0x3f), static_cast<uint16_t>(rng()),
                        static_cast<uint16_t>(rng()), (rng() & 1) ? &o : nullptr};
        ASSERT_TRUE(prepend_headers(m.get(), h, false));
        SCOPED_TRACE("iteration " + std::to_string(iter));
        expect_headers(flatten(m.get()), h, h.options ? opt_bytes : Bytes{}, payload, false);
        Segment s;
        EXPECT_EQ(parse_segment(m.get(), s), ParseStatus::ok);
        if (::testing::Test::HasFailure()) break;
    }
}

TEST(PrependHeaders, OffloadSetsFlagsAndPseudoHeaderSum) {
    std::mt19937 rng(5);
    const Bytes payload = random_bytes(rng, 333);
    TcpOptions o = syn_opts(true, false, true, false);
    const Bytes opt_bytes = write_opts(o);
    MbufPtr m = make_chain(payload, {111, 111, 111});
    const SegmentHeader h = header(&o);
    ASSERT_TRUE(prepend_headers(m.get(), h, true));
    const uint64_t want = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
    EXPECT_EQ(m->ol_flags & want, want);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    EXPECT_EQ(m->l4_len, 20u + opt_bytes.size());
    const auto* ip = rte_pktmbuf_mtod(m.get(), const rte_ipv4_hdr*);
    const auto* th = rte_pktmbuf_mtod_offset(m.get(), const rte_tcp_hdr*, 20);
    EXPECT_EQ(th->cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
    EXPECT_EQ(ip->hdr_checksum, 0);
    Bytes b = flatten(m.get());
    expect_headers(b, h, opt_bytes, payload, true);

    // Do what the NIC does and the result must parse: the header checksum, and the TCP sum seeded with the field.
    set16(b, 10, static_cast<uint16_t>(~ref_sum(b, 0, 20)));
    set16(b, 36, static_cast<uint16_t>(~ref_sum(b, 20, b.size() - 20)));
    EXPECT_EQ(status_of(b), ParseStatus::ok);
}

// The pseudo-header sum computed from host-order values equals DPDK's over the written header, with the length
// (checksum offload) and without it (TSO), for random addresses and lengths.
TEST(Checksum, PseudoHeaderSumMatchesDpdk) {
    std::mt19937 rng(9);
    for (int i = 0; i < 100000; ++i) {
        rte_ipv4_hdr ip{};
        const uint32_t src = rng(), dst = rng(), l4_len = 20 + rng() % (65535 - 40);
        ip.src_addr = rte_cpu_to_be_32(src);
        ip.dst_addr = rte_cpu_to_be_32(dst);
        ip.next_proto_id = IPPROTO_TCP;
        ip.version_ihl = RTE_IPV4_VHL_DEF;
        ip.total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + l4_len));
        ASSERT_EQ(ipv4_tcp_phdr_cksum(src, dst, l4_len), rte_ipv4_phdr_cksum(&ip, RTE_MBUF_F_TX_TCP_CKSUM)) << i;
        ASSERT_EQ(ipv4_tcp_phdr_cksum(src, dst, 0), rte_ipv4_phdr_cksum(&ip, RTE_MBUF_F_TX_TCP_SEG)) << i;
    }
}

// With TSO the pseudo-header sum leaves out the length (the port adds each piece's), and tso_segsz is set.
TEST(PrependHeaders, TsoSetsSegmentationAndLengthlessPseudoHeaderSum) {
    std::mt19937 rng(6);
    const Bytes payload = random_bytes(rng, 3000);
    MbufPtr m = make_chain(payload, {1000, 1000, 1000});
    SegmentHeader h = header(nullptr);
    h.tso_segsz = 1000;
    ASSERT_TRUE(prepend_headers(m.get(), h, true));
    EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0u) << "TCP_SEG implies the TCP checksum; DPDK wants it alone";
    EXPECT_EQ(m->tso_segsz, 1000u);
    const auto* ip = rte_pktmbuf_mtod(m.get(), const rte_ipv4_hdr*);
    const auto* th = rte_pktmbuf_mtod_offset(m.get(), const rte_tcp_hdr*, 20);
    EXPECT_EQ(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG));
    // A payload that fits one piece is not marked for segmentation.
    MbufPtr small = make_chain(random_bytes(rng, 1000), {1000});
    ASSERT_TRUE(prepend_headers(small.get(), h, true));
    EXPECT_FALSE(small->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
}

TEST(PrependHeaders, NoHeadroomFails) {
    const Bytes payload(10, 0x77);
    MbufPtr m = make_chain({});
    m->data_off = 0;
    std::memcpy(rte_pktmbuf_append(m.get(), 10), payload.data(), 10);
    ASSERT_EQ(rte_pktmbuf_headroom(m.get()), 0u);
    EXPECT_FALSE(prepend_headers(m.get(), header(nullptr), false));
    EXPECT_EQ(rte_pktmbuf_pkt_len(m.get()), 10u);
    EXPECT_EQ(m->data_off, 0);
    EXPECT_EQ(flatten(m.get()), payload);
    EXPECT_FALSE(prepend_headers(m.get(), header(nullptr), true));

    // 39 bytes of headroom are one short of IPv4 + TCP; 40 are enough.
    MbufPtr a = make_chain({});
    a->data_off = 39;
    EXPECT_FALSE(prepend_headers(a.get(), header(nullptr), false));
    EXPECT_EQ(a->data_off, 39);
    EXPECT_EQ(rte_pktmbuf_pkt_len(a.get()), 0u);
    a->data_off = 40;
    EXPECT_TRUE(prepend_headers(a.get(), header(nullptr), false));
    EXPECT_EQ(a->data_off, 0);

    // With 20 bytes of options: 59 fail, 60 succeed.
    TcpOptions o = syn_opts(true, true, true, true);
    MbufPtr b = make_chain({});
    b->data_off = 59;
    EXPECT_FALSE(prepend_headers(b.get(), header(&o), false));
    b->data_off = 60;
    EXPECT_TRUE(prepend_headers(b.get(), header(&o), false));
    expect_headers(flatten(b.get()), header(&o), write_opts(o), {}, false);
}

// =====================================================================================================================
// mbuf_raw_cksum
// =====================================================================================================================

TEST(Checksum, FixedChains) {
    const Bytes d{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};  // RFC 1071 §3 example: sum 0xddf2
    EXPECT_EQ(ref_sum(d, 0, d.size()), 0xddf2);
    for (const std::vector<size_t>& segs : {std::vector<size_t>{8}, {1, 7}, {3, 5}, {1, 1, 1, 5}, {7, 1}, {2, 3, 3}}) {
        MbufPtr m = make_chain(d, segs);
        EXPECT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), 0, 8)), 0xddf2) << segs.size() << " segments";
        for (uint32_t off = 0; off <= 8; ++off)
            for (uint32_t len = 0; off + len <= 8; ++len) {
                if (len == 0 && off == 8) continue;  // see EmptyRangeAtEndOfChain
                EXPECT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), off, len)), ref_sum(d, off, len))
                    << "off " << off << " len " << len;
            }
    }
}

TEST(Checksum, RandomChainsMatchReference) {
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 2000; ++iter) {
        const size_t size = 1 + rng() % 1500;
        const size_t nseg = std::min<size_t>(size, 1 + rng() % 4);
        std::vector<size_t> segs;
        size_t rest = size;
        for (size_t i = 0; i + 1 < nseg; ++i) {
            const size_t k = 1 + rng() % (rest - (nseg - 1 - i));
            segs.push_back(k);
            rest -= k;
        }
        segs.push_back(rest);
        std::vector<uint16_t> shifts;
        for (size_t i = 0; i < nseg; ++i) shifts.push_back(static_cast<uint16_t>(rng() % 8));
        const Bytes d = random_bytes(rng, size);
        MbufPtr m = make_chain(d, segs, shifts);
        ASSERT_TRUE(m);
        const uint32_t off = static_cast<uint32_t>(rng() % size);
        const uint32_t len = static_cast<uint32_t>(rng() % (size - off + 1));
        ASSERT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), off, len)), ref_sum(d, off, len))
            << "iteration " << iter << ": size " << size << " segments " << nseg << " off " << off << " len " << len;
        ASSERT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), 0, static_cast<uint32_t>(size))), ref_sum(d, 0, size))
            << "iteration " << iter;
    }
}

TEST(Checksum, AllOnesAndZeros) {
    // Sums that fold to 0xffff and all-zero data, across odd segment boundaries.
    const Bytes ones(301, 0xff);
    MbufPtr m = make_chain(ones, {1, 299, 1});
    EXPECT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), 0, 301)), ref_sum(ones, 0, 301));
    EXPECT_EQ(rte_be_to_cpu_16(mbuf_raw_cksum(m.get(), 1, 300)), 0xffff);
    const Bytes zeros(99, 0);
    MbufPtr z = make_chain(zeros, {33, 33, 33});
    EXPECT_EQ(mbuf_raw_cksum(z.get(), 0, 99), 0);
}

// The contract is off + len <= pkt_len, so an empty range at the very end of a chain is allowed; the segment walk
// must not run off the chain. Run in a child so a crash fails this test instead of the whole binary.
TEST(Checksum, EmptyRangeAtEndOfChain) {
    MbufPtr m = make_chain(Bytes(10, 0xab), {5, 5});
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const uint16_t s = mbuf_raw_cksum(m.get(), 10, 0);
        _exit(s == 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "mbuf_raw_cksum(chain of 5+5, off 10, len 0) died with signal "
                                   << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (WIFEXITED(status)) {
        EXPECT_EQ(WEXITSTATUS(status), 0) << "sum of an empty range must be 0";
    }
}
