// Initial sequence numbers: RFC 9293 §3.4.1 (MUST-8, SHLD-1, MUST-9) as specified by RFC 6528.
#pragma once
#include <array>
#include <cstdint>

#include "tcp/four_tuple.hpp"

namespace synack::tcp {

/// ISN = M + F(localip, localport, remoteip, remoteport, secretkey)   (RFC 6528 §3)
/// M is a 4 µs clock; F is SipHash-2-4 under a 128-bit secret drawn at start, so an off-path
/// attacker cannot guess the ISN of a connection it is not part of (RFC 9293 MUST-9).
/// Immutable after construction: one per core, or shared read-only between cores.
class IsnGenerator {
public:
    /// Draws a random secret with getrandom(2). Cold path; throws std::runtime_error on failure.
    IsnGenerator();
    /// Fixed secret, for tests and for several cores that must agree (e.g. SYN cookies).
    explicit IsnGenerator(const std::array<uint8_t, 16>& key) noexcept : key_(key) {}

    /// ISN for connection `t` at TSC time `now_cycles`, the TSC running at `tsc_hz` (> 0).
    uint32_t isn(const FourTuple& t, uint64_t now_cycles, uint64_t tsc_hz) const noexcept;
    /// The same over an IPv6 4-tuple: F hashes the full 128-bit addresses (RFC 6528 §3 names no family).
    uint32_t isn(const FourTuple6& t, uint64_t now_cycles, uint64_t tsc_hz) const noexcept;

    /// M alone: floor(now_cycles / tsc_hz * 250000), i.e. elapsed microseconds / 4, modulo 2^32
    /// (RFC 9293 §3.4.1: the clock wraps in about 4.55 hours).
    static uint32_t clock_ticks(uint64_t now_cycles, uint64_t tsc_hz) noexcept;

private:
    std::array<uint8_t, 16> key_;
};

}  // namespace synack::tcp
