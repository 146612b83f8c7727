// HyStart++ (RFC 9406): slow start that leaves early when the round's minimum RTT rises, through a conservative
// slow start (CSS) of a few rounds at a quarter of the growth. Used for the initial slow start only (§4.3).
#pragma once
#include <cstdint>

#include "tcp/cc/window.hpp"

namespace synack::tcp::cc {

class HyStart {
public:
    // RFC 9406 §4.3 constants.
    static constexpr uint32_t kMinRttThreshUs = 4'000;
    static constexpr uint32_t kMaxRttThreshUs = 16'000;
    static constexpr uint32_t kMinRttDivisor = 8;
    static constexpr uint32_t kNRttSample = 8;
    static constexpr uint32_t kCssGrowthDivisor = 4;
    static constexpr uint8_t kCssRounds = 5;
    static constexpr uint32_t kL = 8;  ///< per-ACK growth limit in SMSS for a sender that does not pace
    static constexpr uint32_t kNoRtt = UINT32_MAX;

    enum class Phase : uint8_t { slow_start, css, done };

    /// An ACK during slow start (the caller checked cwnd < ssthresh). Grows cwnd per §4.2; on leaving CSS after
    /// kCssRounds rounds sets ssthresh = cwnd, which puts the controller into congestion avoidance.
    void on_ack(Window& w, const AckEvent& a) noexcept;

    /// A congestion event or RTO: HyStart++ is over for this connection (§4.3: initial slow start only).
    void stop() noexcept { phase_ = Phase::done; }
    bool active() const noexcept { return phase_ != Phase::done; }
    Phase phase() const noexcept { return phase_; }
    uint8_t css_rounds() const noexcept { return css_rounds_; }

    /// §4.2: RttThresh = max(4 ms, min(lastRoundMinRTT / 8, 16 ms)).
    static constexpr uint32_t rtt_thresh(uint32_t last_round_min_rtt) noexcept {
        const uint32_t eighth = last_round_min_rtt / kMinRttDivisor;
        return eighth < kMinRttThreshUs ? kMinRttThreshUs : eighth > kMaxRttThreshUs ? kMaxRttThreshUs : eighth;
    }

private:
    void start_round(Seq snd_nxt) noexcept;

    Phase phase_ = Phase::slow_start;
    bool round_open_ = false;
    uint8_t css_rounds_ = 0;
    Seq window_end_;
    uint32_t rtt_sample_count_ = 0;
    uint32_t last_round_min_rtt_ = kNoRtt;
    uint32_t current_round_min_rtt_ = kNoRtt;
    uint32_t css_baseline_min_rtt_ = kNoRtt;
};

}  // namespace synack::tcp::cc
