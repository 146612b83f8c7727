#include "tcp/cc/cubic.hpp"

#include <algorithm>
#include <cmath>

namespace synack::tcp::cc {

double Cubic::k_seconds(double w_max, double cwnd_epoch) noexcept {
    return w_max > cwnd_epoch ? std::cbrt((w_max - cwnd_epoch) / kC) : 0.0;
}

double Cubic::w_cubic(double t, double k, double w_max) noexcept {
    const double d = t - k;
    return kC * d * d * d + w_max;
}

// RFC 9438 §4.2: a new epoch begins with the first ACK of a congestion-avoidance stage.
void Cubic::start_epoch(const Window& w, uint64_t now_us) noexcept {
    epoch_start_us_ = now_us == 0 ? 1 : now_us;
    cwnd_epoch_ = static_cast<double>(w.cwnd) / w.smss;
    w_est_ = cwnd_epoch_;  // §4.3: W_est starts at cwnd_epoch
    if (after_rto_ || w_max_ < cwnd_epoch_) {
        // §4.8 after a timeout, or leaving slow start with no loss yet (HyStart++): the curve starts here, K = 0.
        w_max_ = cwnd_epoch_;
        after_rto_ = false;
    }
    k_ = k_seconds(w_max_, cwnd_epoch_);
}

void Cubic::avoidance(Window& w, const AckEvent& a) noexcept {
    if (epoch_start_us_ == 0) start_epoch(w, a.now_us);
    const double smss = w.smss;
    const double cwnd = w.cwnd / smss;
    const double acked = a.acked_bytes / smss;
    const double t = static_cast<double>(a.now_us - epoch_start_us_) / 1e6;
    // §4.3: W_est grows like Reno with alpha_cubic, and with alpha = 1 once it has passed cwnd_prior.
    w_est_ += (w_est_ >= cwnd_prior_ ? 1.0 : kAlpha) * acked / cwnd;
    double grow;  // segments
    if (w_cubic(t, k_, w_max_) < w_est_) {
        grow = w_est_ - cwnd;  // §4.3 Reno-friendly region: cwnd = W_est
    } else {
        // §4.4/§4.5 concave and convex regions: aim at W_cubic one RTT ahead, within [cwnd, 1.5 cwnd].
        const double rtt = a.srtt_us / 1e6;
        const double target = std::clamp(w_cubic(t + rtt, k_, w_max_), cwnd, 1.5 * cwnd);
        grow = (target - cwnd) / cwnd * acked;
    }
    if (grow <= 0) return;
    grow_frac_ += grow * smss;
    const double whole = std::floor(grow_frac_);
    grow_frac_ -= whole;
    w.cwnd = static_cast<uint32_t>(std::min<double>(w.cwnd + whole, UINT32_MAX / 2));
}

void Cubic::on_ack(Window& w, const AckEvent& a) noexcept {
    if (w.in_slow_start()) {
        hystart_.on_ack(w, a);  // standard slow start once HyStart++ is done
        return;
    }
    avoidance(w, a);
}

// RFC 9438 §4.6 multiplicative decrease (ssthresh from the flight size, as the RFC writes it; an application-
// limited sender's cwnd is kept from growing by AckEvent::cwnd_limited) with §4.7 fast convergence on W_max.
void Cubic::on_congestion_event(Window& w, uint32_t flight_size) noexcept {
    const double cwnd = static_cast<double>(w.cwnd) / w.smss;
    w_max_ = fast_convergence && cwnd < w_max_ ? cwnd * (1.0 + kBeta) / 2.0 : cwnd;
    cwnd_prior_ = cwnd;
    w.ssthresh = std::max(static_cast<uint32_t>(flight_size * kBeta), 2 * w.smss);
    w.cwnd = w.ssthresh;
    w.ca_bytes = 0;
    epoch_start_us_ = 0;
    grow_frac_ = 0;
    hystart_.stop();
}

// RFC 9438 §4.8: ssthresh as on a congestion event, cwnd to the loss window, and K = 0 on the next epoch.
void Cubic::on_rto(Window& w, uint32_t flight_size, bool first_timeout) noexcept {
    if (first_timeout) on_congestion_event(w, flight_size);
    w.cwnd = w.smss;
    after_rto_ = true;
    epoch_start_us_ = 0;
    hystart_.stop();
}

}  // namespace synack::tcp::cc
