// SipHash-2-4 against the reference vectors, and RFC 6528 ISNs: keyed per 4-tuple, driven by a 4 µs clock.
#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/isn.hpp"
#include "tcp/siphash.hpp"

using namespace synack::tcp;

namespace {

// github.com/veorq/SipHash vectors.h, vectors_sip64: key 00..0f, message i bytes 00..i-1,
// each tag's 8 bytes read little-endian. Entry 15 is the paper's Appendix A example.
constexpr uint64_t kSip64[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

constexpr std::array<uint8_t, 16> kKey = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
constexpr uint64_t kHz = 2'000'000'000;      // a 2 GHz TSC
constexpr uint64_t kCyclesPerTick = kHz / 250000;  // one 4 µs tick

FourTuple random_tuple(std::mt19937_64& rng) {
    const uint64_t r = rng();
    return FourTuple{static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32), static_cast<uint16_t>(rng()),
                     static_cast<uint16_t>(rng())};
}

}  // namespace

TEST(SipHash, ReferenceVectors) {
    uint8_t msg[64];
    for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
    for (size_t len = 0; len < 64; ++len) EXPECT_EQ(siphash24(kKey, msg, len), kSip64[len]) << "length " << len;
}

TEST(SipHash, UnalignedInputSameResult) {
    alignas(8) uint8_t buf[72];
    for (int i = 0; i < 64; ++i) buf[i + 3] = static_cast<uint8_t>(i);
    for (size_t len : {8u, 12u, 15u, 63u}) EXPECT_EQ(siphash24(kKey, buf + 3, len), kSip64[len]);
}

TEST(Isn, ClockIsFourMicroseconds) {
    EXPECT_EQ(IsnGenerator::clock_ticks(0, kHz), 0u);
    EXPECT_EQ(IsnGenerator::clock_ticks(kCyclesPerTick - 1, kHz), 0u);
    EXPECT_EQ(IsnGenerator::clock_ticks(kCyclesPerTick, kHz), 1u);
    EXPECT_EQ(IsnGenerator::clock_ticks(kHz, kHz), 250000u);  // 1 s
    // An odd TSC rate: 1 s at 2.4 GHz is still 250000 ticks, 4 µs is 9600 cycles.
    EXPECT_EQ(IsnGenerator::clock_ticks(2'400'000'000ull, 2'400'000'000ull), 250000u);
    EXPECT_EQ(IsnGenerator::clock_ticks(9599, 2'400'000'000ull), 0u);
    EXPECT_EQ(IsnGenerator::clock_ticks(9600, 2'400'000'000ull), 1u);
}

TEST(Isn, ClockDoesNotOverflowForLargeCycleCounts) {
    // Near 2^64 cycles the naive cycles * 250000 would overflow. Compare with exact 128-bit arithmetic.
    __extension__ typedef unsigned __int128 u128;
    for (uint64_t c : {UINT64_MAX, UINT64_MAX - 12345, uint64_t{1} << 63, (uint64_t{1} << 50) + 777}) {
        for (uint64_t hz : {kHz, uint64_t{2'400'000'000}, uint64_t{3'000'000'001}}) {
            const auto exact = static_cast<uint32_t>(static_cast<u128>(c) * 250000 / hz);
            EXPECT_EQ(IsnGenerator::clock_ticks(c, hz), exact) << c << " cycles at " << hz << " Hz";
        }
    }
}

// RFC 9293 §3.4.1: on one 4-tuple, the ISN follows the clock, wrapping modulo 2^32.
TEST(Isn, AdvancesWithTheClockOnOneTuple) {
    const IsnGenerator gen(kKey);
    const FourTuple t{0x0a000001, 0x0a000002, 80, 40000};
    const uint64_t t0 = 123456789ull * kCyclesPerTick;
    const uint32_t isn0 = gen.isn(t, t0, kHz);
    for (uint64_t elapsed_us : {4ull, 8ull, 1000ull, 1'000'000ull, 3600'000'000ull, 17'179'869'184ull /* 2^32 ticks */,
                                20'000'000'000ull}) {
        const uint64_t now = t0 + elapsed_us * (kHz / 1'000'000);
        EXPECT_EQ(gen.isn(t, now, kHz) - isn0, static_cast<uint32_t>(elapsed_us / 4)) << elapsed_us << " µs";
    }
    // Less than a tick: unchanged.
    EXPECT_EQ(gen.isn(t, t0 + kCyclesPerTick - 1, kHz), isn0);
}

TEST(Isn, FixedKeyIsDeterministic) {
    const IsnGenerator a(kKey), b(kKey);
    std::mt19937_64 rng(1);
    for (int i = 0; i < 1000; ++i) {
        const FourTuple t = random_tuple(rng);
        const uint64_t now = rng() >> 8;
        EXPECT_EQ(a.isn(t, now, kHz), b.isn(t, now, kHz));
        EXPECT_EQ(a.isn(t, now, kHz), a.isn(t, now, kHz));
    }
    // F is the low 32 bits of SipHash over local ip, local port, remote ip, remote port, big-endian.
    const FourTuple t{0x00010203, 0x06070809, 0x0405, 0x0a0b};
    EXPECT_EQ(a.isn(t, 0, kHz), static_cast<uint32_t>(kSip64[12]));
}

TEST(Isn, DistinctTuplesSpreadOverTheSequenceSpace) {
    const IsnGenerator gen(kKey);
    std::mt19937_64 rng(2);
    constexpr size_t kN = 100000;
    std::vector<uint32_t> isns;
    isns.reserve(kN);
    for (size_t i = 0; i < kN; ++i) isns.push_back(gen.isn(random_tuple(rng), 42 * kHz, kHz));
    std::sort(isns.begin(), isns.end());
    const auto collisions = static_cast<size_t>(isns.end() - std::unique(isns.begin(), isns.end()));
    // Birthday bound: n^2 / 2^33 = 1.16 expected collisions; more than 10 would mean F is weak.
    EXPECT_LE(collisions, 10u);
}

TEST(Isn, EveryFieldMatters) {
    const IsnGenerator gen(kKey);
    std::mt19937_64 rng(3);
    const uint64_t now = 7 * kHz;
    for (int i = 0; i < 2000; ++i) {
        const FourTuple t = random_tuple(rng);
        const uint32_t base = gen.isn(t, now, kHz);
        FourTuple u = t;
        u.local_ip ^= 1u << (i % 32);
        EXPECT_NE(gen.isn(u, now, kHz), base);
        u = t;
        u.remote_ip ^= 1u << (i % 32);
        EXPECT_NE(gen.isn(u, now, kHz), base);
        u = t;
        u.local_port ^= static_cast<uint16_t>(1u << (i % 16));
        EXPECT_NE(gen.isn(u, now, kHz), base);
        u = t;
        u.remote_port ^= static_cast<uint16_t>(1u << (i % 16));
        EXPECT_NE(gen.isn(u, now, kHz), base);
    }
    // Our side and theirs are not interchangeable.
    const FourTuple t{0x0a000001, 0x0a000002, 5000, 5000};
    const FourTuple mirrored{0x0a000002, 0x0a000001, 5000, 5000};
    EXPECT_NE(gen.isn(t, now, kHz), gen.isn(mirrored, now, kHz));
}

// RFC 9293 MUST-9: the secret differs per start, so ISNs are not predictable across instances.
TEST(Isn, RandomKeysDiffer) {
    const IsnGenerator a, b;
    std::mt19937_64 rng(4);
    int equal = 0;
    for (int i = 0; i < 64; ++i) {
        const FourTuple t = random_tuple(rng);
        equal += a.isn(t, kHz, kHz) == b.isn(t, kHz, kHz);
    }
    EXPECT_LE(equal, 1);  // each equal with probability 2^-32
}
