// Congestion control behind one small interface, chosen per connection (TcpConfig's algorithm).
//
// Why a tag and a union rather than virtual functions or std::variant: the controller lives inside the TCB, in
// the engine's preallocated pool, and is called on every ACK. A tag byte and a switch keep the state inline (no
// pointer to chase, no vtable), let the compiler inline the small hooks, and cannot throw (std::get can). Both
// algorithms' states are trivially copyable, so the union is too, and undo is one copy.
#pragma once
#include <cstdint>
#include <type_traits>

#include "tcp/cc/cubic.hpp"
#include "tcp/cc/newreno.hpp"
#include "tcp/cc/window.hpp"

namespace synack::tcp::cc {

enum class Algorithm : uint8_t { newreno, cubic };

const char* to_string(Algorithm a) noexcept;
/// "newreno" or "cubic" (the CLI's spelling); false for anything else.
bool parse_algorithm(const char* name, Algorithm& out) noexcept;

class CongestionControl {
public:
    CongestionControl() noexcept { init(Algorithm::cubic, 536); }

    /// A new connection: cwnd = IW (RFC 6928), ssthresh arbitrarily high (RFC 5681 §3.1).
    void init(Algorithm algo, uint32_t smss) noexcept;

    uint32_t cwnd() const noexcept { return now_.w.cwnd; }
    uint32_t ssthresh() const noexcept { return now_.w.ssthresh; }
    uint32_t smss() const noexcept { return now_.w.smss; }
    bool in_slow_start() const noexcept { return now_.w.in_slow_start(); }
    Algorithm algorithm() const noexcept { return now_.algo; }
    const Cubic* cubic() const noexcept { return now_.algo == Algorithm::cubic ? &now_.cubic : nullptr; }

    /// Loss recovery sets cwnd directly while it runs (RFC 6937 PRR); growth resumes when it ends.
    void set_cwnd(uint32_t cwnd) noexcept { now_.w.cwnd = cwnd; }
    /// The path's MSS changed (PMTU): keep the window in segments.
    void set_smss(uint32_t smss) noexcept;

    /// An ACK that acknowledged new data. No growth while recovery runs or when the flow was application-limited.
    void on_ack(const AckEvent& a) noexcept;
    /// Fast retransmit or RACK found loss: entering recovery (RFC 5681 §3.2, RFC 9438 §4.6). Remembers the state
    /// before, for undo().
    void on_congestion_event(uint32_t flight_size) noexcept;
    /// Recovery ended (RFC 6582 §3.2 step 3, option 1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), so that
    /// the sender does not burst.
    void on_recovery_exit(uint32_t flight_size) noexcept;
    /// The retransmission timer expired. `first_timeout`: the first expiry for this segment (RFC 5681 §3.1 (4)).
    void on_rto(uint32_t flight_size, bool first_timeout) noexcept;
    /// RFC 5681 §4.1: before sending after more than one RTO without sending, cwnd = min(IW, cwnd).
    void on_idle_restart(uint64_t idle_us, uint32_t rto_us) noexcept;
    /// The last congestion event was spurious (D-SACK or Eifel, RFC 3522; RFC 9438 §4.9): restore the window and
    /// the algorithm state from before it. Returns false when there is nothing to undo.
    bool undo() noexcept;

private:
    struct State {
        Window w;
        Algorithm algo = Algorithm::cubic;
        union {
            NewReno newreno;
            Cubic cubic;
        };
        State() noexcept : newreno() {}
    };
    static_assert(std::is_trivially_copyable_v<Cubic> && std::is_trivially_copyable_v<NewReno>);

    State now_;
    State before_;  ///< snapshot at the last congestion event (undo)
    bool can_undo_ = false;
};

}  // namespace synack::tcp::cc
