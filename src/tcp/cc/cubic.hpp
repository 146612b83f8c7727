// CUBIC (RFC 9438): window growth as a cubic function of the time since the last congestion event, with the
// Reno-friendly region, fast convergence, and HyStart++ (RFC 9406) for the initial slow start. Windows in the
// formulas are in segments and time in seconds, as in the RFC; the engine sees bytes.
#pragma once
#include <cstdint>

#include "tcp/cc/hystart.hpp"
#include "tcp/cc/window.hpp"

namespace synack::tcp::cc {

class Cubic {
public:
    static constexpr double kC = 0.4;     ///< RFC 9438 §5.1
    static constexpr double kBeta = 0.7;  ///< RFC 9438 §4.6
    /// RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), the Reno-friendly additive increase.
    static constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

    void on_ack(Window& w, const AckEvent& a) noexcept;
    void on_congestion_event(Window& w, uint32_t flight_size) noexcept;
    void on_rto(Window& w, uint32_t flight_size, bool first_timeout) noexcept;
    /// Restart after idle: the idle time must not count as time on the curve (the epoch moves forward with it).
    void on_idle(uint64_t idle_us) noexcept {
        if (epoch_start_us_ != 0) epoch_start_us_ += idle_us;
    }

    /// RFC 9438 §4.2, eq. 2: K = cbrt((W_max - cwnd_epoch) / C), seconds.
    static double k_seconds(double w_max, double cwnd_epoch) noexcept;
    /// RFC 9438 §4.2, eq. 1: W_cubic(t) = C (t - K)^3 + W_max, segments.
    static double w_cubic(double t, double k, double w_max) noexcept;

    double w_max() const noexcept { return w_max_; }
    double k() const noexcept { return k_; }
    double w_est() const noexcept { return w_est_; }
    double cwnd_prior() const noexcept { return cwnd_prior_; }
    const HyStart& hystart() const noexcept { return hystart_; }
    bool fast_convergence = true;  ///< RFC 9438 §4.7 (SHOULD)

private:
    void start_epoch(const Window& w, uint64_t now_us) noexcept;
    void avoidance(Window& w, const AckEvent& a) noexcept;

    HyStart hystart_;
    bool after_rto_ = false;     ///< §4.8: the first avoidance stage after a timeout starts with K = 0
    uint64_t epoch_start_us_ = 0;  ///< 0: no epoch yet (the next avoidance ACK starts one)
    double w_max_ = 0;           ///< segments
    double k_ = 0;               ///< seconds
    double cwnd_epoch_ = 0;      ///< segments
    double w_est_ = 0;           ///< segments
    double cwnd_prior_ = 0;      ///< segments, cwnd just before the last reduction
    double grow_frac_ = 0;       ///< bytes of growth below one byte, carried between ACKs
};

}  // namespace synack::tcp::cc
