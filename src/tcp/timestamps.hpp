// RFC 7323 timestamps on the receiving side: the PAWS test (§5.3) and the TS.Recent update rule (§4.3), as small
// pure functions the input path calls after the acceptability test.
#pragma once
#include <cstdint>

#include "tcp/seq_number.hpp"

namespace synack::tcp {

/// TS.Recent and when it was last set.
struct TsRecent {
    uint32_t value = 0;
    uint64_t set_at_us = 0;
    bool valid = false;  ///< false until a timestamp has been recorded for this connection
};

/// RFC 7323 §5.5: after 24 days idle TS.Recent is too old to compare against (TSval may have wrapped half-way).
inline constexpr uint64_t kPawsIdleLimitUs = 24ull * 24 * 3600 * 1'000'000;

/// TSval order is sequence-space order on 32 bits (RFC 7323 §5.2).
constexpr bool ts_before(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }

/// RFC 7323 §5.3 R1: a segment with a timestamp older than TS.Recent is a wrapped old duplicate: not acceptable
/// (the caller sends an ACK and drops it, RFC 9293 §3.10.7.4). A RST is judged without PAWS (§5.3: RSTs are
/// acceptable regardless of their timestamp), and an invalid or expired TS.Recent judges nothing.
constexpr bool paws_rejects(bool seg_has_ts, uint32_t seg_tsval, bool seg_rst, const TsRecent& recent,
                            uint64_t now_us) noexcept {
    if (!seg_has_ts || seg_rst || !recent.valid) return false;
    if (now_us - recent.set_at_us > kPawsIdleLimitUs) return false;
    return ts_before(seg_tsval, recent.value);
}

/// RFC 7323 §4.3 (2): TS.Recent takes SEG.TSval when SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent (the
/// segment reaches the left edge of what we last acknowledged, so its timestamp is the one our next ACK echoes).
constexpr bool ts_recent_takes(uint32_t seg_tsval, Seq seg_seq, Seq last_ack_sent, const TsRecent& recent) noexcept {
    return seg_seq <= last_ack_sent && (!recent.valid || !ts_before(seg_tsval, recent.value));
}

/// Applies the §4.3 rule; returns whether TS.Recent changed.
constexpr bool update_ts_recent(TsRecent& recent, uint32_t seg_tsval, Seq seg_seq, Seq last_ack_sent,
                                uint64_t now_us) noexcept {
    if (!ts_recent_takes(seg_tsval, seg_seq, last_ack_sent, recent)) return false;
    recent.value = seg_tsval;
    recent.set_at_us = now_us;
    recent.valid = true;
    return true;
}

}  // namespace synack::tcp
