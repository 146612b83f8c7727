// NewReno's window (RFC 5681 §3.1 with RFC 3465 byte counting). Which segment to resend and when recovery ends
// (RFC 6582) belongs to loss recovery; this only sets cwnd and ssthresh.
#pragma once
#include "tcp/cc/window.hpp"

namespace synack::tcp::cc {

struct NewReno {
    void on_ack(Window& w, const AckEvent& a) noexcept {
        if (w.in_slow_start()) {
            slow_start_grow(w, a.acked_bytes, 2);  // RFC 3465 §2.2: L = 2 SMSS
        } else {
            reno_avoidance_grow(w, a.acked_bytes);
        }
    }
    /// RFC 5681 §3.2 step 2: ssthresh = max(FlightSize / 2, 2 SMSS). cwnd = ssthresh: the "+ 3 SMSS" inflation of
    /// step 3 is loss recovery's to apply (PRR replaces it).
    void on_congestion_event(Window& w, uint32_t flight_size) noexcept {
        w.ssthresh = half_flight(flight_size, w.smss);
        w.cwnd = w.ssthresh;
    }
    /// RFC 5681 §3.1 (4): the first timeout of a segment halves; cwnd goes to the loss window either way.
    void on_rto(Window& w, uint32_t flight_size, bool first_timeout) noexcept {
        if (first_timeout) w.ssthresh = half_flight(flight_size, w.smss);
        w.cwnd = w.smss;  // LW = 1 SMSS
    }
    void on_idle(uint64_t) noexcept {}
};

}  // namespace synack::tcp::cc
