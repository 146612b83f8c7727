#include "tcp/cc/hystart.hpp"

#include <algorithm>

namespace synack::tcp::cc {

// RFC 9406 §4.2: at the start of each round (windowEnd = SND.NXT) keep the last round's minimum and start afresh.
void HyStart::start_round(Seq snd_nxt) noexcept {
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_ = kNoRtt;
    rtt_sample_count_ = 0;
    window_end_ = snd_nxt;
    round_open_ = true;
}

void HyStart::on_ack(Window& w, const AckEvent& a) noexcept {
    if (phase_ == Phase::done) {
        slow_start_grow(w, a.acked_bytes, 2);  // RFC 3465 L = 2 after the initial slow start
        return;
    }
    if (!round_open_ || a.ack > window_end_) {  // an ACK beyond windowEnd acknowledges the next round's data
        if (round_open_ && phase_ == Phase::css && ++css_rounds_ >= kCssRounds) {
            // §4.2: CSS_ROUNDS rounds of CSS complete: congestion avoidance from the current window.
            w.ssthresh = w.cwnd;
            phase_ = Phase::done;
            return;
        }
        start_round(a.snd_nxt);
    }
    const uint32_t growth = std::min(a.acked_bytes, kL * w.smss);
    w.cwnd += phase_ == Phase::css ? growth / kCssGrowthDivisor : growth;
    if (a.rtt_us == 0) return;
    current_round_min_rtt_ = std::min(current_round_min_rtt_, a.rtt_us);
    ++rtt_sample_count_;
    if (rtt_sample_count_ < kNRttSample || current_round_min_rtt_ == kNoRtt || last_round_min_rtt_ == kNoRtt) return;
    if (phase_ == Phase::slow_start) {
        // §4.2: the delay rose by RttThresh over the last round's minimum: leave slow start for CSS.
        if (current_round_min_rtt_ >= last_round_min_rtt_ + rtt_thresh(last_round_min_rtt_)) {
            css_baseline_min_rtt_ = current_round_min_rtt_;
            phase_ = Phase::css;
            css_rounds_ = 0;
        }
    } else if (current_round_min_rtt_ < css_baseline_min_rtt_) {
        // §4.2: the rise was spurious (the minimum fell below the baseline): back to slow start.
        css_baseline_min_rtt_ = kNoRtt;
        phase_ = Phase::slow_start;
    }
}

}  // namespace synack::tcp::cc
