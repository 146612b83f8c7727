// A TCP sequence number as a type (RFC 9293 §3.4): arithmetic modulo 2^32 and wrap-aware comparisons, with no
// implicit conversion to or from uint32_t, so a raw `<` on sequence space cannot compile by accident.
//
// Why `<` is defined rather than deleted: every comparison TCP makes is between numbers less than 2^31 apart (a
// window is at most 2^30, RFC 7323 §2.3), and there the wrap-aware order is a true strict order, so `a < b` reads
// like the RFC ("SND.UNA < SEG.ACK =< SND.NXT"). Outside that range the order is not transitive; Seq therefore has
// no operator<=> and no std::hash, and must not be a key of an ordered container spanning more than 2^31.
#pragma once
#include <cstdint>

namespace synack::tcp {

class Seq {
public:
    constexpr Seq() noexcept = default;
    constexpr explicit Seq(uint32_t v) noexcept : v_(v) {}

    /// The value on the wire; the only way out, so every use of the raw number is visible.
    constexpr uint32_t raw() const noexcept { return v_; }

    constexpr Seq& operator+=(uint32_t n) noexcept { v_ += n; return *this; }
    constexpr Seq& operator-=(uint32_t n) noexcept { v_ -= n; return *this; }
    friend constexpr Seq operator+(Seq s, uint32_t n) noexcept { return Seq(s.v_ + n); }
    friend constexpr Seq operator-(Seq s, uint32_t n) noexcept { return Seq(s.v_ - n); }
    /// Distance from b forward to a, modulo 2^32 (the number of octets in [b, a) when b <= a).
    friend constexpr uint32_t operator-(Seq a, Seq b) noexcept { return a.v_ - b.v_; }
    Seq operator+(Seq) const = delete;  // adding two positions in sequence space means nothing

    friend constexpr bool operator==(Seq a, Seq b) noexcept { return a.v_ == b.v_; }
    friend constexpr bool operator<(Seq a, Seq b) noexcept { return static_cast<int32_t>(a.v_ - b.v_) < 0; }
    friend constexpr bool operator>(Seq a, Seq b) noexcept { return b < a; }
    friend constexpr bool operator<=(Seq a, Seq b) noexcept { return !(b < a); }
    friend constexpr bool operator>=(Seq a, Seq b) noexcept { return !(a < b); }

private:
    uint32_t v_ = 0;
};

/// Signed distance a - b: negative when a is before b.
constexpr int32_t seq_diff(Seq a, Seq b) noexcept { return static_cast<int32_t>(a.raw() - b.raw()); }
/// lo <= x < hi in sequence space (exact for any hi - lo, including a range wider than 2^31).
constexpr bool in_range(Seq x, Seq lo, Seq hi) noexcept { return x - lo < hi - lo; }
/// lo <= x <= hi in sequence space.
constexpr bool in_closed_range(Seq x, Seq lo, Seq hi) noexcept { return x - lo <= hi - lo; }
constexpr Seq max(Seq a, Seq b) noexcept { return a < b ? b : a; }
constexpr Seq min(Seq a, Seq b) noexcept { return a < b ? a : b; }

}  // namespace synack::tcp
