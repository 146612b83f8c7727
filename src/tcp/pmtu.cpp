// Path MTU: ICMP "fragmentation needed" (RFC 1191) for a connection, checked against its send window (RFC 5927),
// black-hole detection for paths that drop those messages (RFC 4821 §7.3 / RFC 8899 §4.3 in their simplest form,
// as Linux's tcp_mtu_probing=1), and the other ICMP errors as soft errors (RFC 1122 §4.2.3.9).
#include <algorithm>
#include <array>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

namespace {
constexpr uint32_t kIpTcpHeaders = 40;  // IPv4 and TCP without options
constexpr uint32_t kIp6TcpHeaders = 60;  // IPv6 and TCP without options (RFC 8200 §8.3)
// RFC 1191 §7 plateau table (the common link MTUs), highest first; 1280 (IPv6's minimum, common on tunnels) added.
constexpr std::array<uint16_t, 7> kPlateaus{1492, 1280, 1006, 576, 552, 508, 296};

constexpr uint32_t kTsOptionBytes = 12;  // NOP NOP TS(10) on every segment once negotiated (options.cpp)

// What a full-sized segment of the connection carries besides SND.MSS bytes of payload: IP and TCP headers and the
// timestamp option, which SND.MSS already leaves room for (options.cpp). An MTU less this is the SND.MSS that fits.
uint32_t headers_of(const Tcb& tcb) noexcept {
    return (tcb.v6 ? kIp6TcpHeaders : kIpTcpHeaders) + (tcb.ts_ok ? kTsOptionBytes : 0);
}

uint32_t plateau_below(uint32_t mtu) noexcept {
    for (uint16_t p : kPlateaus)
        if (p < mtu) return p;
    return 0;
}
// What the user is told (Tcb::err), errno values as Linux's icmp_err_convert chooses them.
uint8_t errno_of(const net::IcmpError& e) noexcept {
    if (e.type == net::kIcmpTimeExceeded) return 113;   // EHOSTUNREACH
    if (e.type == net::kIcmpParamProblem) return 71;    // EPROTO
    switch (e.code) {
    case 0: return 101;                                 // ENETUNREACH
    case net::kIcmpProtoUnreachable: return 92;         // ENOPROTOOPT
    case net::kIcmpPortUnreachable: return 111;         // ECONNREFUSED
    default: return 113;                                // EHOSTUNREACH
    }
}
}  // namespace

bool Engine::icmp_error(const net::IcmpError& e, uint64_t now_cycles) noexcept {
    now_ = std::max(now_, now_cycles);
    const FourTuple t{e.local_ip, e.remote_ip, e.local_port, e.remote_port};
    const uint32_t idx = table_.lookup(t, table_hash(t, nullptr));
    if (idx == ConnTable::kNotFound) {
        ++ctr_.icmp_no_connection;
        return false;
    }
    Tcb& tcb = tcbs_[idx];
    // RFC 5927 §4.1: act only when the quoted sequence number is one we sent and is not yet acknowledged
    // (SND.UNA <= SEG.SEQ < SND.NXT, the RFC's SND.NXT being our SND.MAX: snd_nxt goes back after a timeout), so
    // that a blind attacker must guess it. A connection with nothing in flight (idle, TIME-WAIT) takes none.
    if (!in_range(Seq{e.seq}, tcb.snd_una, tcb.snd_max)) {
        ++ctr_.icmp_seq_outside_window;
        return true;
    }
    if (e.type == net::kIcmpDestUnreachable && e.code == net::kIcmpFragNeeded) {
        frag_needed(tcb, e);
        return true;
    }
    // RFC 1122 §4.2.3.9: everything else is a soft error, remembered for the user; even port and protocol
    // unreachable do not abort (RFC 5461 §4: in any state, as Linux does once synchronized). A SYN-SENT connection
    // they refer to ends when its SYN retries run out, with the error still recorded.
    tcb.err = errno_of(e);
    const bool hard = e.type == net::kIcmpDestUnreachable &&
                      (e.code == net::kIcmpProtoUnreachable || e.code == net::kIcmpPortUnreachable);
    ++(hard ? ctr_.icmp_hard_errors : ctr_.icmp_soft_errors);
    return true;
}

bool Engine::packet_too_big(const net::PacketTooBig& p, uint64_t now_cycles) noexcept {
    now_ = std::max(now_, now_cycles);
    const FourTuple6 t{p.quoted.src, p.quoted.dst, p.src_port, p.dst_port};
    const uint32_t idx = addr6_ != nullptr ? table6_.lookup(t, ConnTable6::hash(t)) : ConnTable6::kNotFound;
    if (idx == ConnTable6::kNotFound) {
        ++ctr_.icmp_no_connection;
        return false;
    }
    Tcb& tcb = tcbs_[idx];
    // RFC 5927 §4.1, as for IPv4 (a quote too short to hold the sequence number cannot pass it).
    if (!p.has_seq || !in_range(Seq{p.seq}, tcb.snd_una, tcb.snd_max)) {
        ++ctr_.icmp_seq_outside_window;
        return true;
    }
    // RFC 8201 §4: the MTU is at least 1280 (net::Interface raised a smaller one), so the MSS at least 1220 (1208
    // with timestamps).
    const uint32_t hdr = headers_of(tcb);
    const uint32_t mss = p.mtu > hdr ? p.mtu - hdr : 0;
    if (mss >= tcb.snd_mss || mss < kMinPmtuMss) {
        ++ctr_.icmp_frag_needed_ignored;
        return true;
    }
    ++ctr_.pmtu_lowered;
    lower_mss(tcb, mss);
    return true;
}

// RFC 1191 §6.3: lower the connection's segment size to what the next hop takes, and resend what was in flight
// (it was all too big: Linux's tcp_simple_retransmit). Not a congestion signal: cwnd and ssthresh stay.
void Engine::frag_needed(Tcb& tcb, const net::IcmpError& e) noexcept {
    uint32_t mtu = e.next_hop_mtu;
    // RFC 1191 §5: a router that predates it leaves the field 0; guess the plateau below the quoted size.
    const uint32_t hdr = headers_of(tcb);
    if (mtu == 0) mtu = plateau_below(std::max<uint32_t>(e.quoted_len, hdr + tcb.snd_mss));
    // A forged tiny MTU could make us send 8-byte segments: never below the floor (RFC 1122's 576; Linux 552).
    const uint32_t mss = std::max(mtu > hdr ? mtu - hdr : 0, kMinPmtuMss);
    if (mss >= tcb.snd_mss) {
        ++ctr_.icmp_frag_needed_ignored;  // not smaller than what we send now (stale, or below the floor already)
        return;
    }
    ++ctr_.pmtu_lowered;
    lower_mss(tcb, mss);
}

void Engine::lower_mss(Tcb& tcb, uint32_t mss) noexcept {
    tcb.snd_mss = static_cast<uint16_t>(mss);
    if (!tcb.in(State::established | State::close_wait | State::fin_wait_1 | State::last_ack | State::closing))
        return;  // a SYN is small: the handshake goes on (the peer's MSS option may lower it further only)
    tcb.rtt_timing = false;  // Karn: what is resent now gives no sample
    sack_release(tcb);       // segment boundaries change: the scoreboard starts again from the next SACK
    tcb.snd_nxt = tcb.snd_una;  // go back as a timeout does (a FIN already sent goes again with the last data)
    output(tcb);
}

// Black-hole detection (RFC 4821 §7.3, RFC 8899 §4.3): when full-sized segments keep timing out, the path may drop
// them with no ICMP to tell us. From the second consecutive timeout of the same data on, each timeout also tries
// the next smaller plateau, down to the floor. Called by on_rto before it retransmits.
void Engine::pmtu_on_rto(Tcb& tcb) noexcept {
    if (!cfg_.mtu_probing || tcb.retransmits < 2 || tcb.snd_mss <= kMinPmtuMss) return;
    if (!tcb.in(State::established | State::close_wait | State::fin_wait_1 | State::last_ack | State::closing)) return;
    if (tcb.snd_buf_end() - tcb.snd_una <= tcb.snd_mss) return;  // not a full-sized segment that failed
    // Over IPv6 the plateaus stop at its minimum MTU, 1280 (RFC 8200 §5).
    const uint32_t hdr = headers_of(tcb);
    const uint32_t floor = tcb.v6 ? 1280 - hdr : kMinPmtuMss;
    const uint32_t mtu = plateau_below(tcb.snd_mss + hdr);
    const uint32_t mss = std::max(mtu > hdr ? mtu - hdr : 0, floor);
    if (mss >= tcb.snd_mss) return;
    ++ctr_.pmtu_black_hole_lowered;
    tcb.snd_mss = static_cast<uint16_t>(mss);
    // A segment too big for the path says nothing about congestion: on_rto's doubling that follows is offset, so
    // that the search down the plateaus is not slowed by an exponential backoff as well.
    tcb.rto_us = std::max(tcb.rto_us / 2, cfg_.rto_min_ms * 1000);
}

}  // namespace synack::tcp
