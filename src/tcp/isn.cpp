#include "tcp/isn.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <sys/random.h>

#include "tcp/siphash.hpp"

namespace synack::tcp {

IsnGenerator::IsnGenerator() : key_{} {
    size_t got = 0;
    while (got < key_.size()) {
        ssize_t n = ::getrandom(key_.data() + got, key_.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("ISN secret: getrandom failed: ") + std::strerror(errno));
        }
        got += static_cast<size_t>(n);
    }
}

uint32_t IsnGenerator::clock_ticks(uint64_t now_cycles, uint64_t tsc_hz) noexcept {
    // Split so that nothing overflows 64 bits for any now_cycles (and tsc_hz < 7e13):
    // floor(c * 250000 / hz) == (c / hz) * 250000 + floor((c % hz) * 250000 / hz).
    constexpr uint64_t kTicksPerSecond = 250000;  // one tick per 4 µs
    const uint64_t ticks = (now_cycles / tsc_hz) * kTicksPerSecond + (now_cycles % tsc_hz) * kTicksPerSecond / tsc_hz;
    return static_cast<uint32_t>(ticks);
}

uint32_t IsnGenerator::isn(const FourTuple& t, uint64_t now_cycles, uint64_t tsc_hz) const noexcept {
    // F's input in RFC 6528 order, big-endian, so the ISN does not depend on host byte order.
    const uint8_t msg[12] = {
        static_cast<uint8_t>(t.local_ip >> 24),  static_cast<uint8_t>(t.local_ip >> 16),
        static_cast<uint8_t>(t.local_ip >> 8),   static_cast<uint8_t>(t.local_ip),
        static_cast<uint8_t>(t.local_port >> 8), static_cast<uint8_t>(t.local_port),
        static_cast<uint8_t>(t.remote_ip >> 24), static_cast<uint8_t>(t.remote_ip >> 16),
        static_cast<uint8_t>(t.remote_ip >> 8),  static_cast<uint8_t>(t.remote_ip),
        static_cast<uint8_t>(t.remote_port >> 8), static_cast<uint8_t>(t.remote_port),
    };
    const auto f = static_cast<uint32_t>(siphash24(key_, msg, sizeof msg));
    return clock_ticks(now_cycles, tsc_hz) + f;  // RFC 6528 §3: ISN = M + F(...), modulo 2^32
}

uint32_t IsnGenerator::isn(const FourTuple6& t, uint64_t now_cycles, uint64_t tsc_hz) const noexcept {
    // RFC 6528 order again (local address, local port, remote address, remote port), addresses as on the wire.
    uint8_t msg[36];
    std::memcpy(msg, t.local.b, 16);
    msg[16] = static_cast<uint8_t>(t.local_port >> 8);
    msg[17] = static_cast<uint8_t>(t.local_port);
    std::memcpy(msg + 18, t.remote.b, 16);
    msg[34] = static_cast<uint8_t>(t.remote_port >> 8);
    msg[35] = static_cast<uint8_t>(t.remote_port);
    const auto f = static_cast<uint32_t>(siphash24(key_, msg, sizeof msg));
    return clock_ticks(now_cycles, tsc_hz) + f;
}

}  // namespace synack::tcp
