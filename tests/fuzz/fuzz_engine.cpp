// libFuzzer target: a tcp::Engine driven through the test harness (tests/engine_harness.hpp) by a sequence of
// segments whose header fields are fuzzed around the live connection's sequence numbers, time advances and
// application calls. Invariants, checked after every step and at the end:
//   - no crash, hang or sanitizer report;
//   - every segment the engine emits parses (the harness decodes it) and its sequence numbers are ordered
//     (SND.UNA <= SND.NXT <= SND.MAX);
//   - once every connection is aborted, the listener closed and 2 MSL passed, no connection is left and every
//     mbuf is back in the pool (while the engine still exists: nothing held past teardown), and again after the
//     engine is destroyed.
//
// Input: a set-up byte, the peer's ISN (4 bytes), then steps until the input ends (see Step below).
//   set-up bits 0-1: 0 a listener only, 1 a passive open completed, 2 an active open completed, 3 a passive open
//                    with 3000 bytes of ours in flight
//           bit 2:   the peer's SYN offers window scale 7, SACK-permitted and timestamps
//           bit 3:   a small receive buffer (2000 bytes), for zero windows
//           bit 4:   checksum offload and TSO (up to 64 KB, at most 8 mbufs a packet), as on a NIC
//           bit 5:   everything over IPv6 (2001:db8::1 and ::2) instead of IPv4
//           bit 6:   every connection ACKs the peer's FIN with the delayed-ACK timer (set_delayed_fin_ack), as a
//                    Channel's do
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine_harness.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace synack;
using namespace synack::test;
using synack::fuzz::Reader;

enum Step : uint8_t {
    kSegment,        // a segment from the peer's port 40000, fields relative to the live connection
    kSegmentInWnd,   // the same, sequence number inside the receive window
    kSegmentOther,   // from another source port (new connections to the listener, or to nothing)
    kAdvance,        // time passes: 0..65535 ms, beyond 60 s ten times longer
    kRecv,           // the application reads everything waiting
    kSend,           // the application sends 0..8191 bytes
    kClose,          // the application closes
    kAbort,          // the application aborts
    kStepCount
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant: %s\n", what);
    std::abort();
}

/// A gtest expectation in the harness failed (outside a running test gtest records it here).
void check_harness() {
    if (::testing::UnitTest::GetInstance()->ad_hoc_test_result().Failed()) fail("a harness expectation failed");
}

struct Driver {
    Driver(TcpConfig cfg, Family f) : h(f, cfg) {}

    EngineHarness h;
    std::vector<tcp::ConnId> conns;  // handles the application holds
    int listener = -1;
    uint16_t live_port = EngineHarness::kUsPort;  // our port of the live connection (5000 for the active open)
    uint32_t rcv_ref = 0, snd_ref = 0;  // RCV.NXT and SND.UNA of the live connection, or of the last one seen
    uint32_t wnd_ref = 0;
    uint32_t ts_ref = 1;
    bool delay_fin_ack = false;  // set-up bit 6

    void hold(tcp::ConnId c) {
        conns.push_back(c);
        if (delay_fin_ack) h.engine.set_delayed_fin_ack(c, true);  // -EINVAL when it is already gone: fine
    }
    void events() {
        for (const Event& e : h.events()) {
            if (e.type == EventType::accepted) hold(e.conn);
            if (e.type == EventType::closed || e.type == EventType::reset || e.type == EventType::timed_out)
                std::erase(conns, e.conn);
        }
    }
    void refresh() {
        const tcp::Tcb* t = h.v6() ? h.engine.find6(tcp::FourTuple6{h.us6(), h.them6(), live_port, h.kThemPort})
                                   : h.engine.find(tcp::FourTuple{h.kUs, h.kThem, live_port, h.kThemPort});
        if (t != nullptr) {
            rcv_ref = t->rcv_nxt.raw();
            snd_ref = t->snd_una.raw();
            wnd_ref = t->rcv_wnd;
            if (t->state != State::syn_sent &&
                !(t->snd_una <= t->snd_nxt && t->snd_nxt <= t->snd_max))
                fail("SND.UNA <= SND.NXT <= SND.MAX broken");
        }
    }
    /// Drains and decodes (so parses) everything emitted; the peer echoes the newest timestamp it saw.
    void output() {
        for (const Seg& s : h.out())
            if (s.opt.has_timestamps) ts_ref = s.opt.ts_val;
        check_harness();
    }
    void after_step() {
        events();
        output();
        refresh();
    }

    void segment(Reader& r, Step kind) {
        const auto flags = static_cast<uint8_t>(r.u8() & 0x3f);
        const auto seq_off = static_cast<int16_t>(r.u16());
        const auto ack_off = static_cast<int16_t>(r.u16());
        const uint16_t wnd = r.u16();
        const uint8_t len_sel = r.u8();
        const uint8_t opt_sel = r.u8();
        uint32_t seq = rcv_ref + static_cast<uint32_t>(static_cast<int32_t>(seq_off));
        if (kind == kSegmentInWnd) seq = rcv_ref + (wnd_ref == 0 ? 0 : static_cast<uint16_t>(seq_off) % wnd_ref);
        const uint32_t ack = snd_ref + static_cast<uint32_t>(static_cast<int32_t>(ack_off));
        // Payload: up to 255 bytes, or (top bit) up to 1400 in steps of 11: one mbuf's data room holds it.
        const size_t len = len_sel & 0x80 ? (len_sel & 0x7f) * 11u : len_sel;
        const std::string payload(len, static_cast<char>('a' + len % 26));

        TcpOptions o;
        o.has_mss = opt_sel & 1;
        if (o.has_mss) o.mss = r.u16();
        o.has_wscale = opt_sel & 2;
        if (o.has_wscale) o.wscale = r.u8();
        o.sack_permitted = opt_sel & 4;
        o.has_timestamps = opt_sel & 8;
        if (o.has_timestamps) {
            o.ts_val = ts_ref + static_cast<uint32_t>(static_cast<int8_t>(r.u8())) * 1000u;
            o.ts_ecr = opt_sel & 0x80 ? r.u32() : ts_ref;
        }
        if (opt_sel & 0x30) {  // SACK blocks around SND.UNA; with timestamps at most 3 fit
            o.sack_count = static_cast<uint8_t>((opt_sel >> 4 & 3) + 1);
            if (o.has_timestamps && o.sack_count > 3) o.sack_count = 3;
            if (o.has_mss || o.has_wscale || o.sack_permitted) o.sack_count = 1;
            for (uint8_t i = 0; i < o.sack_count; ++i) {
                o.sack[i].left = snd_ref + static_cast<uint32_t>(static_cast<int16_t>(r.u16()));
                o.sack[i].right = o.sack[i].left + r.u16();
            }
        }
        const uint16_t sport = kind == kSegmentOther ? static_cast<uint16_t>(40001 + (flags & 3)) : h.kThemPort;
        const uint16_t dport = kind != kSegmentOther ? live_port : opt_sel & 0x40 ? 81 : h.kUsPort;
        h.input(h.packet(sport, dport, flags, seq, ack, payload, wnd, &o));
    }

    void advance(Reader& r) {
        uint64_t ms = r.u16();
        if (ms > 60000) ms = (ms - 60000) * 10 + 60000;
        h.at_ms(h.now / 1000 + ms);
    }

    tcp::ConnId* pick(Reader& r) { return conns.empty() ? nullptr : &conns[r.u8() % conns.size()]; }

    void step(Reader& r) {
        const auto op = static_cast<Step>(r.u8() % kStepCount);
        switch (op) {
        case kSegment:
        case kSegmentInWnd:
        case kSegmentOther:
            segment(r, op);
            break;
        case kAdvance:
            advance(r);
            break;
        case kRecv:
            if (tcp::ConnId* c = pick(r)) {
                char buf[4096];
                while (h.engine.recv(*c, buf, sizeof buf) > 0) {
                }
            }
            break;
        case kSend:
            if (tcp::ConnId* c = pick(r)) {
                static const std::string data(8192, 'z');
                h.engine.send(*c, data.data(), r.u16() % 8192u);
            }
            break;
        case kClose:
            if (tcp::ConnId* c = pick(r)) h.engine.close(*c);
            break;
        case kAbort:
            if (tcp::ConnId* c = pick(r)) {
                h.engine.abort(*c);
                std::erase(conns, *c);
            }
            break;
        case kStepCount:
            break;
        }
        after_step();
    }

    /// The peer's handshake, with or without options, through the listener or our connect().
    void setup(uint8_t how, uint32_t peer_isn) {
        delay_fin_ack = (how & 64) != 0;
        TcpOptions syn_opt;
        syn_opt.has_mss = true;
        syn_opt.mss = 1460;
        if (how & 4) {
            syn_opt.has_wscale = true;
            syn_opt.wscale = 7;
            syn_opt.sack_permitted = true;
            syn_opt.has_timestamps = true;
            syn_opt.ts_val = ts_ref;
        }
        TcpOptions ack_opt;
        ack_opt.has_timestamps = syn_opt.has_timestamps;
        listener = h.engine.listen(0, h.kUsPort);
        if (listener < 0) fail("listen");
        const uint8_t scenario = how & 3;
        if (scenario == 1 || scenario == 3) {
            h.send(kSyn, peer_isn, 0, "", 65535, &syn_opt);
            const uint32_t iss = h.pinned_isn;
            output();
            ack_opt.ts_ecr = ts_ref;
            h.send(kAck, peer_isn + 1, iss + 1, "", 65535, &ack_opt);
        } else if (scenario == 2) {
            tcp::ConnId c;
            if (h.connect(7, c, 5000) != 0) fail("connect");
            hold(c);
            output();
            syn_opt.ts_ecr = ts_ref;
            live_port = 5000;  // port 80 stays the listener's
            h.input(h.packet(h.kThemPort, live_port, kSyn | kAck, peer_isn, h.pinned_isn + 1, "", 65535, &syn_opt));
        }
        rcv_ref = peer_isn + 1;
        snd_ref = h.pinned_isn + 1;
        wnd_ref = 65535;
        after_step();
        if (scenario == 3 && !conns.empty()) {
            static const std::string data(3000, 'q');
            h.engine.send(conns.front(), data.data(), 3000);
            after_step();
        }
    }

    /// Everything goes: the application aborts what it holds, closes the listener, and 2 MSL (and every
    /// retransmission limit) pass. Nothing may be left.
    void teardown() {
        for (const tcp::ConnId& c : conns) h.engine.abort(c);
        conns.clear();
        h.engine.close_listener(listener);
        for (int i = 0; i < 4; ++i) {
            h.at_ms(h.now / 1000 + 300'000);
            after_step();
            for (const tcp::ConnId& c : conns) h.engine.abort(c);  // accepted since: none can be, but be sure
            conns.clear();
        }
        h.drop_output();
        if (h.engine.connections() != 0) {
            std::fprintf(stderr, "%u connections left after teardown\n", h.engine.connections());
            fail("connections left");
        }
        synack::fuzz::check_no_leak("after every connection was torn down (engine alive)");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader r(data, size);
    const uint8_t how = r.u8();
    const uint32_t peer_isn = r.u32();
    TcpConfig cfg = test_config();
    cfg.max_connections = 64;
    if (how & 8) cfg.rcv_buf = 2000;
    if (how & 16) {
        cfg.tx_checksum_offload = true;
        cfg.tso_max = 65000;
        cfg.tso_max_segs = 8;
    }
    {
        Driver d(cfg, how & 32 ? Family::v6 : Family::v4);
        d.setup(how, peer_isn);
        for (int steps = 0; !r.empty() && steps < 256; ++steps) d.step(r);
        d.teardown();
    }
    synack::fuzz::check_no_leak("after the engine is destroyed");
    return 0;
}
