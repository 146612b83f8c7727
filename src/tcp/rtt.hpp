// The retransmission timer's estimator (RFC 6298), fed by timed segments (Karn's rule) or by timestamps
// (RFC 7323 §4, with Appendix G's per-window scaling of alpha and beta). Pure arithmetic: no clock, no timer; the
// engine passes measured RTTs in microseconds and arms its own timer with rto_us().
#pragma once
#include <algorithm>
#include <cstdint>

#include "tcp/seq_number.hpp"

namespace synack::tcp {

struct RttConfig {
    uint32_t initial_rto_us = 1'000'000;    ///< RFC 6298 §2.1: 1 s
    uint32_t min_rto_us = 200'000;          ///< RFC 6298 §2.4 says 1 s; Linux uses 200 ms, hence configurable
    uint32_t max_rto_us = 120'000'000;      ///< RFC 6298 §2.5: at least 60 s
    uint32_t granularity_us = 1'000;        ///< G, the clock granularity of the timer
    uint32_t syn_timeout_rto_us = 3'000'000;  ///< RFC 6298 §5.7
};

class RttEstimator {
public:
    explicit RttEstimator(const RttConfig& cfg = {}) noexcept : cfg_(cfg) {}

    /// One measurement R (µs). `expected_samples` is RFC 7323 App. G's ExpectedSamples = ceil(FlightSize /
    /// (2 SMSS)) when every ACK of a window gives a sample (timestamps); alpha and beta are divided by it so that one
    /// window moves the estimate as much as one sample per RTT does. 1 for a classic timed segment.
    void sample(uint32_t r_us, uint32_t expected_samples = 1) noexcept {
        const int64_t r = static_cast<int64_t>(r_us) << kFrac;
        if (!has_sample_) {
            // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
            srtt_ = r;
            rttvar_ = r / 2;
            has_sample_ = true;
        } else {
            // RFC 6298 §2.3: RTTVAR first (it uses the old SRTT), beta = 1/4, alpha = 1/8, each over ExpectedSamples.
            const int64_t n = std::max<uint32_t>(expected_samples, 1);
            const int64_t err = r > srtt_ ? r - srtt_ : srtt_ - r;
            rttvar_ += (err - rttvar_) / (4 * n);
            srtt_ += (r - srtt_) / (8 * n);
        }
        backoff_ = 0;  // a fresh sample recomputes the timer (RFC 6298 §5.7, after §5.5's doubling)
    }

    /// RFC 6298 §5.5: back the timer off after it expired; the caller retransmits and re-arms with rto_us().
    void on_timeout() noexcept {
        if (backoff_ < 31) ++backoff_;
    }
    /// New data was acknowledged without a sample (Karn): keep the estimate, drop the doubling.
    void reset_backoff() noexcept { backoff_ = 0; }

    /// The SYN (or SYN-ACK) timed out: RFC 6298 §5.7 then asks for a 3 s RTO once data flows, unless a sample came.
    void on_syn_timeout() noexcept { syn_timed_out_ = true; }

    /// The timer value: RFC 6298 §2.3 SRTT + max(G, 4 RTTVAR), clamped (§2.4, §2.5), then doubled per timeout.
    uint32_t rto_us() const noexcept {
        uint64_t base;
        if (has_sample_) {
            const uint64_t var4 = static_cast<uint64_t>(rttvar_ * 4 >> kFrac);
            base = static_cast<uint64_t>(srtt_ >> kFrac) + std::max<uint64_t>(cfg_.granularity_us, var4);
        } else {
            base = syn_timed_out_ ? std::max(cfg_.initial_rto_us, cfg_.syn_timeout_rto_us) : cfg_.initial_rto_us;
        }
        base = std::clamp<uint64_t>(base, cfg_.min_rto_us, cfg_.max_rto_us);
        const uint64_t backed = backoff_ >= 32 ? UINT64_MAX : base << backoff_;
        return static_cast<uint32_t>(std::min<uint64_t>(backed, cfg_.max_rto_us));
    }

    bool has_sample() const noexcept { return has_sample_; }
    uint32_t srtt_us() const noexcept { return static_cast<uint32_t>(srtt_ >> kFrac); }
    uint32_t rttvar_us() const noexcept { return static_cast<uint32_t>(rttvar_ >> kFrac); }
    uint8_t backoff() const noexcept { return backoff_; }

private:
    static constexpr int kFrac = 8;  ///< fixed point: 1/256 µs, so alpha/(8 n) steps do not round to nothing
    RttConfig cfg_;
    int64_t srtt_ = 0;
    int64_t rttvar_ = 0;
    uint8_t backoff_ = 0;
    bool has_sample_ = false;
    bool syn_timed_out_ = false;
};

/// Times one segment at a time without timestamps. RFC 6298 §3 (Karn): no sample from a retransmitted segment, so a
/// retransmission cancels the measurement.
class RttTimer {
public:
    /// Start timing the segment ending at `end` unless one is already being timed.
    void on_send(Seq end, uint64_t now_us) noexcept {
        if (timing_) return;
        timing_ = true;
        end_ = end;
        start_us_ = now_us;
    }
    void on_retransmit() noexcept { timing_ = false; }
    /// Returns true and sets `rtt_us` when `ack` covers the timed segment.
    bool on_ack(Seq ack, uint64_t now_us, uint32_t& rtt_us) noexcept {
        if (!timing_ || ack < end_) return false;
        timing_ = false;
        rtt_us = static_cast<uint32_t>(std::min<uint64_t>(now_us - start_us_, UINT32_MAX));
        return true;
    }
    bool timing() const noexcept { return timing_; }

private:
    Seq end_;
    uint64_t start_us_ = 0;
    bool timing_ = false;
};

/// RFC 7323 §4.1/§4.2: an RTT from the TSecr of an ACK that advanced SND.UNA, in µs for a clock of `tick_us` per
/// TSval unit. A TSecr of 0 or one from the future (a broken or hostile echo) gives no sample: returns false.
constexpr bool ts_rtt_us(uint32_t ts_now, uint32_t ts_ecr, uint32_t tick_us, uint32_t& rtt_us) noexcept {
    const int32_t d = static_cast<int32_t>(ts_now - ts_ecr);
    if (ts_ecr == 0 || d < 0) return false;
    const uint64_t us = static_cast<uint64_t>(d) * tick_us;
    rtt_us = static_cast<uint32_t>(std::min<uint64_t>(us, UINT32_MAX));
    return true;
}

}  // namespace synack::tcp
