// What every congestion controller shares: the window, the threshold and the sender's MSS (RFC 5681 §2), and the
// per-ACK input the engine hands to it. Bytes throughout; times in microseconds.
#pragma once
#include <algorithm>
#include <cstdint>

#include "tcp/seq_number.hpp"

namespace synack::tcp::cc {

/// One ACK that advanced SND.UNA or SACKed new data, as the engine saw it.
struct AckEvent {
    uint32_t acked_bytes = 0;  ///< bytes newly acknowledged (cumulatively or by SACK)
    uint32_t rtt_us = 0;       ///< the RTT sample this ACK gave, 0 if none (Karn, or no timestamps)
    uint32_t srtt_us = 0;      ///< smoothed RTT, 0 before the first sample
    uint64_t now_us = 0;
    Seq ack;                   ///< SEG.ACK
    Seq snd_nxt;               ///< SND.NXT when the ACK arrived: HyStart++ ends a round when `ack` passes it
    bool in_recovery = false;  ///< loss recovery owns cwnd (PRR): no growth
    bool cwnd_limited = true;  ///< RFC 7661: the sender filled cwnd; an application-limited flow does not grow it
};

struct Window {
    uint32_t cwnd = 0;
    uint32_t ssthresh = UINT32_MAX;  ///< RFC 5681 §3.1: "arbitrarily high" until the first congestion event
    uint32_t smss = 536;
    uint32_t ca_bytes = 0;           ///< RFC 3465 §2.1: bytes acknowledged since cwnd last grew in avoidance

    bool in_slow_start() const noexcept { return cwnd < ssthresh; }
};

/// RFC 6928 §2: IW = min(10 MSS, max(2 MSS, 14600 bytes)).
constexpr uint32_t initial_window(uint32_t smss) noexcept {
    return std::min(10 * smss, std::max(2 * smss, 14'600u));
}

/// RFC 5681 §3.1 (4): ssthresh = max(FlightSize / 2, 2 SMSS).
constexpr uint32_t half_flight(uint32_t flight_size, uint32_t smss) noexcept {
    return std::max(flight_size / 2, 2 * smss);
}

/// RFC 5681 §3.1 with RFC 3465's limit L: grow by the bytes acknowledged, at most L SMSS per ACK.
inline void slow_start_grow(Window& w, uint32_t acked, uint32_t limit_smss) noexcept {
    w.cwnd += std::min(acked, limit_smss * w.smss);
}

/// RFC 5681 §3.1 congestion avoidance with RFC 3465 §2.1 byte counting: one SMSS per cwnd of bytes acknowledged.
inline void reno_avoidance_grow(Window& w, uint32_t acked) noexcept {
    w.ca_bytes += acked;
    if (w.ca_bytes >= w.cwnd) {
        w.ca_bytes -= w.cwnd;
        w.cwnd += w.smss;
    }
}

}  // namespace synack::tcp::cc
