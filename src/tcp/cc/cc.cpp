#include "tcp/cc/cc.hpp"

#include <algorithm>
#include <cstring>

namespace synack::tcp::cc {

const char* to_string(Algorithm a) noexcept {
    switch (a) {
    case Algorithm::newreno: return "newreno";
    case Algorithm::cubic: return "cubic";
    }
    return "?";
}

bool parse_algorithm(const char* name, Algorithm& out) noexcept {
    if (std::strcmp(name, "newreno") == 0) {
        out = Algorithm::newreno;
    } else if (std::strcmp(name, "cubic") == 0) {
        out = Algorithm::cubic;
    } else {
        return false;
    }
    return true;
}

void CongestionControl::init(Algorithm algo, uint32_t smss) noexcept {
    if (smss == 0) smss = 536;  // RFC 9293 MUST-15's default; a zero would divide by zero below
    now_.w = Window{};
    now_.w.smss = smss;
    now_.w.cwnd = initial_window(smss);
    now_.algo = algo;
    if (algo == Algorithm::cubic) {
        now_.cubic = Cubic{};
    } else {
        now_.newreno = NewReno{};
    }
    can_undo_ = false;
}

void CongestionControl::set_smss(uint32_t smss) noexcept {
    if (smss == 0) return;
    Window& w = now_.w;
    const uint64_t segs = std::max<uint32_t>(w.cwnd / w.smss, 1);
    w.cwnd = static_cast<uint32_t>(std::min<uint64_t>(segs * smss, UINT32_MAX));
    if (w.ssthresh != UINT32_MAX) w.ssthresh = std::max(w.ssthresh / w.smss * smss, 2 * smss);
    w.smss = smss;
    w.ca_bytes = 0;
}

void CongestionControl::on_ack(const AckEvent& a) noexcept {
    if (a.in_recovery || !a.cwnd_limited || a.acked_bytes == 0) return;
    switch (now_.algo) {
    case Algorithm::newreno: now_.newreno.on_ack(now_.w, a); break;
    case Algorithm::cubic: now_.cubic.on_ack(now_.w, a); break;
    }
}

void CongestionControl::on_congestion_event(uint32_t flight_size) noexcept {
    before_ = now_;
    can_undo_ = true;
    now_.w.ca_bytes = 0;
    switch (now_.algo) {
    case Algorithm::newreno: now_.newreno.on_congestion_event(now_.w, flight_size); break;
    case Algorithm::cubic: now_.cubic.on_congestion_event(now_.w, flight_size); break;
    }
}

void CongestionControl::on_recovery_exit(uint32_t flight_size) noexcept {
    Window& w = now_.w;
    w.cwnd = std::min(w.ssthresh, std::max(flight_size, w.smss) + w.smss);
}

void CongestionControl::on_rto(uint32_t flight_size, bool first_timeout) noexcept {
    if (first_timeout) {
        before_ = now_;
        can_undo_ = true;
    }
    now_.w.ca_bytes = 0;
    switch (now_.algo) {
    case Algorithm::newreno: now_.newreno.on_rto(now_.w, flight_size, first_timeout); break;
    case Algorithm::cubic: now_.cubic.on_rto(now_.w, flight_size, first_timeout); break;
    }
}

void CongestionControl::on_idle_restart(uint64_t idle_us, uint32_t rto_us) noexcept {
    if (idle_us <= rto_us) return;
    Window& w = now_.w;
    w.cwnd = std::min(w.cwnd, initial_window(w.smss));  // RW = min(IW, cwnd)
    switch (now_.algo) {
    case Algorithm::newreno: now_.newreno.on_idle(idle_us); break;
    case Algorithm::cubic: now_.cubic.on_idle(idle_us); break;
    }
}

bool CongestionControl::undo() noexcept {
    if (!can_undo_) return false;
    now_ = before_;
    can_undo_ = false;
    return true;
}

}  // namespace synack::tcp::cc
