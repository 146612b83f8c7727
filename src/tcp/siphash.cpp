// SipHash-2-4, after the reference implementation (github.com/veorq/SipHash, siphash.c).
#include "tcp/siphash.hpp"

#include <bit>
#include <cstring>

namespace synack::tcp {
namespace {

// The reference reads keys and message words little-endian whatever the host order.
inline uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

struct SipState {
    uint64_t v0, v1, v2, v3;

    inline void round() noexcept {
        v0 += v1; v1 = std::rotl(v1, 13); v1 ^= v0; v0 = std::rotl(v0, 32);
        v2 += v3; v3 = std::rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = std::rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = std::rotl(v1, 17); v1 ^= v2; v2 = std::rotl(v2, 32);
    }
    // "2" of SipHash-2-4: two rounds per message word.
    inline void compress(uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

uint64_t siphash24(const std::array<uint8_t, 16>& key, const void* data, size_t len) noexcept {
    const uint64_t k0 = load_le64(key.data());
    const uint64_t k1 = load_le64(key.data() + 8);
    SipState s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
               0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};

    const auto* in = static_cast<const uint8_t*>(data);
    const size_t whole = len & ~size_t{7};
    for (size_t i = 0; i < whole; i += 8) s.compress(load_le64(in + i));

    // Last word: the 0..7 trailing bytes, with len mod 256 in the top byte.
    uint64_t b = static_cast<uint64_t>(len) << 56;
    for (size_t i = 0; i < (len & 7); ++i) b |= static_cast<uint64_t>(in[whole + i]) << (8 * i);
    s.compress(b);

    // "4": four finalisation rounds.
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace synack::tcp
