#include "tcp/syn_cookie.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <sys/random.h>

#include "tcp/siphash.hpp"

namespace synack::tcp::syn_cookie {
namespace {

constexpr uint32_t kTimeMask = (1u << kTimeBits) - 1;
constexpr uint32_t kMssMask = (1u << kMssBits) - 1;
constexpr uint32_t kHashMask = (1u << kHashBits) - 1;
static_assert(kTimeBits + kMssBits + kHashBits == 32);

void put32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// Big-endian input so the cookie does not depend on host byte order. The MSS index is hashed so that flipping
// its bits (to claim a larger MSS) breaks the cookie.
uint32_t mac(const Key& key, const FourTuple& t, uint32_t peer_isn, uint32_t clock, uint8_t idx) noexcept {
    uint8_t msg[21];
    put32(msg, t.local_ip);
    put32(msg + 4, t.remote_ip);
    put32(msg + 8, uint32_t{t.local_port} << 16 | t.remote_port);
    put32(msg + 12, peer_isn);
    put32(msg + 16, clock);
    msg[20] = idx;
    return static_cast<uint32_t>(siphash24(key, msg, sizeof msg)) & kHashMask;
}

uint32_t mac(const Key& key, const FourTuple6& t, uint32_t peer_isn, uint32_t clock, uint8_t idx) noexcept {
    uint8_t msg[45];
    std::memcpy(msg, t.local.b, 16);
    std::memcpy(msg + 16, t.remote.b, 16);
    put32(msg + 32, uint32_t{t.local_port} << 16 | t.remote_port);
    put32(msg + 36, peer_isn);
    put32(msg + 40, clock);
    msg[44] = idx;
    return static_cast<uint32_t>(siphash24(key, msg, sizeof msg)) & kHashMask;
}

template <class Tuple>
uint32_t encode_any(const Key& key, const Tuple& t, uint32_t peer_isn, uint32_t clock, uint8_t idx) noexcept {
    idx = static_cast<uint8_t>(idx & kMssMask);
    return (clock & kTimeMask) << (kMssBits + kHashBits) | uint32_t{idx} << kHashBits |
           mac(key, t, peer_isn, clock, idx);
}

template <class Tuple>
Check validate_any(const Key& key, const Tuple& t, uint32_t peer_isn, uint32_t cookie, uint32_t clock) noexcept {
    // RFC 4987 §3.6: the time bits bound the cookie's life; only then is the hash worth computing.
    const uint32_t age = (clock - (cookie >> (kMssBits + kHashBits))) & kTimeMask;
    if (age > kMaxAge) return {Verdict::stale, 0};
    const auto idx = static_cast<uint8_t>((cookie >> kHashBits) & kMssMask);
    if (mac(key, t, peer_isn, clock - age, idx) != (cookie & kHashMask)) return {Verdict::forged, 0};
    return {Verdict::valid, kMssTable[idx]};
}

}  // namespace

uint32_t clock(uint64_t now_cycles, uint64_t tsc_hz) noexcept {
    return static_cast<uint32_t>(now_cycles / tsc_hz / kPeriodSeconds);
}

uint8_t mss_index(uint16_t mss) noexcept {
    uint8_t i = 0;
    while (i + 1u < kMssTable.size() && kMssTable[i + 1] <= mss) ++i;
    return i;
}

uint16_t decode_mss(uint32_t cookie) noexcept { return kMssTable[(cookie >> kHashBits) & kMssMask]; }

uint32_t encode(const Key& key, const FourTuple& t, uint32_t peer_isn, uint32_t clock, uint8_t idx) noexcept {
    return encode_any(key, t, peer_isn, clock, idx);
}
uint32_t encode(const Key& key, const FourTuple6& t, uint32_t peer_isn, uint32_t clock, uint8_t idx) noexcept {
    return encode_any(key, t, peer_isn, clock, idx);
}

Check validate(const Key& key, const FourTuple& t, uint32_t peer_isn, uint32_t cookie, uint32_t clock) noexcept {
    return validate_any(key, t, peer_isn, cookie, clock);
}
Check validate(const Key& key, const FourTuple6& t, uint32_t peer_isn, uint32_t cookie, uint32_t clock) noexcept {
    return validate_any(key, t, peer_isn, cookie, clock);
}

Key random_key() {
    Key k{};
    size_t got = 0;
    while (got < k.size()) {
        const ssize_t n = ::getrandom(k.data() + got, k.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("SYN cookie secret: getrandom failed: ") + std::strerror(errno));
        }
        got += static_cast<size_t>(n);
    }
    return k;
}

Key derive_key(const Key& base) noexcept {
    static constexpr char kLabel[] = "synack syn cookie";
    Key k{};
    for (uint8_t half = 0; half < 2; ++half) {
        char msg[sizeof kLabel + 1];
        std::memcpy(msg, kLabel, sizeof kLabel);
        msg[sizeof kLabel] = static_cast<char>(half);
        const uint64_t h = siphash24(base, msg, sizeof msg);
        std::memcpy(k.data() + 8 * half, &h, 8);
    }
    return k;
}

}  // namespace synack::tcp::syn_cookie
