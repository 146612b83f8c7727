// SYN cookies (RFC 4987 §3.6): the state of a half-open connection carried in our ISN instead of a TCB, so a
// SYN flood costs no memory. Pure functions of a secret key, the 4-tuple, the peer's ISN and a clock: testable
// without an engine.
//
// The 32-bit cookie, high bits first:
//   31..27  t     a slowly counting time, one tick per kPeriodSeconds, modulo 32
//   26..24  mss   index into kMssTable (the largest entry not above the peer's MSS)
//   23..0   hash  SipHash-2-4 (own secret) of the 4-tuple, the peer's ISN, the full time count and the MSS index
// Only the MSS fits in the ISN. When the peer offers timestamps, the low 6 bits of our SYN-ACK's TSval carry the
// rest of what was agreed (Linux's scheme, RFC 4987 §3.6): the peer echoes them in the TSecr of its ACK.
//   TSval bits 3..0  the peer's window shift (0..14), 15 when window scaling is off
//              4     SACK-permitted
//              5     unused (ECN in Linux)
#pragma once
#include <array>
#include <cstdint>

#include "tcp/four_tuple.hpp"

namespace synack::tcp::syn_cookie {

using Key = std::array<uint8_t, 16>;

inline constexpr uint32_t kPeriodSeconds = 64;  ///< one time tick
inline constexpr uint32_t kMaxAge = 1;          ///< ticks a cookie stays valid after its own: 64 to 128 s
inline constexpr uint32_t kTimeBits = 5, kMssBits = 3, kHashBits = 24;
/// MSS values a cookie can carry (IPv4; over IPv6 the SYN-ACK offers 20 less and a table entry above our MSS is
/// clamped to it). The peer gets the largest one not above what it offered.
inline constexpr std::array<uint16_t, 1u << kMssBits> kMssTable = {64, 256, 536, 1200, 1300, 1400, 1440, 1460};

/// The time count: floor(now_cycles / tsc_hz / kPeriodSeconds). tsc_hz > 0.
uint32_t clock(uint64_t now_cycles, uint64_t tsc_hz) noexcept;
/// Index of the largest kMssTable entry <= mss (0 when mss is below every entry).
uint8_t mss_index(uint16_t mss) noexcept;
/// The MSS a cookie encodes (its index bits; says nothing about validity).
uint16_t decode_mss(uint32_t cookie) noexcept;

/// The cookie to send as our ISN in a SYN-ACK to `t` (our side's view) whose SYN carried `peer_isn`.
uint32_t encode(const Key& key, const FourTuple& t, uint32_t peer_isn, uint32_t clock, uint8_t mss_index) noexcept;
/// The same for an IPv6 4-tuple (the hash covers the full addresses).
uint32_t encode(const Key& key, const FourTuple6& t, uint32_t peer_isn, uint32_t clock, uint8_t mss_index) noexcept;

enum class Verdict : uint8_t { valid, stale, forged };
struct Check {
    Verdict verdict;
    uint16_t mss;  ///< decoded MSS when valid, else 0
};
/// Checks `cookie` (the ACK's SEG.ACK - 1) for `t` and `peer_isn` (SEG.SEQ - 1) at time count `clock`:
/// stale when its time is more than kMaxAge ticks old (or in the future), forged when the hash does not match.
Check validate(const Key& key, const FourTuple& t, uint32_t peer_isn, uint32_t cookie, uint32_t clock) noexcept;
Check validate(const Key& key, const FourTuple6& t, uint32_t peer_isn, uint32_t cookie, uint32_t clock) noexcept;

/// What a cookie SYN-ACK agreed to beyond the MSS.
struct TsOptions {
    bool wscale_ok = false;
    uint8_t snd_wscale = 0;  ///< the peer's shift
    bool sack_ok = false;
};
inline constexpr uint32_t kTsOptMask = 0x3f, kTsWscaleNone = 0xf, kTsSackBit = 0x10;

/// The TSval of a cookie SYN-ACK at timestamp clock `ts_now`: its own low bits replaced by the options, and never
/// ahead of the clock (one period of 64 ticks back when the bits would put it there).
constexpr uint32_t encode_ts(uint32_t ts_now, const TsOptions& o) noexcept {
    const uint32_t bits = (o.wscale_ok ? (o.snd_wscale & 0xfu) : kTsWscaleNone) | (o.sack_ok ? kTsSackBit : 0u);
    uint32_t ts = (ts_now & ~kTsOptMask) | bits;
    if (static_cast<int32_t>(ts - ts_now) > 0) ts -= kTsOptMask + 1;
    return ts;
}
/// The options from the TSecr of the cookie ACK. False when the echo cannot be ours: from the future, older than
/// a cookie lives (`max_age_ticks`), or a shift above 14 that we never encode.
constexpr bool decode_ts(uint32_t ts_ecr, uint32_t ts_now, uint32_t max_age_ticks, TsOptions& o) noexcept {
    const int32_t age = static_cast<int32_t>(ts_now - ts_ecr);
    if (age < 0 || static_cast<uint32_t>(age) > max_age_ticks) return false;
    const uint32_t ws = ts_ecr & 0xfu;
    if (ws != kTsWscaleNone && ws > 14) return false;
    o.wscale_ok = ws != kTsWscaleNone;
    o.snd_wscale = static_cast<uint8_t>(o.wscale_ok ? ws : 0);
    o.sack_ok = (ts_ecr & kTsSackBit) != 0;
    return true;
}

/// A fresh secret from getrandom(2). Cold path; throws std::runtime_error on failure.
Key random_key();
/// A secret derived from another (reproducible engines in tests): a keyed hash of it, never the key itself.
Key derive_key(const Key& base) noexcept;

}  // namespace synack::tcp::syn_cookie
