// Big-endian byte building and a reference RFC 1071 sum for tests that craft packets by hand, independently of
// the code under test.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace synack::test::bytes {

using Bytes = std::vector<uint8_t>;

inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline uint16_t get16(const Bytes& b, size_t off) { return static_cast<uint16_t>(b.at(off) << 8 | b.at(off + 1)); }
inline uint32_t get32(const Bytes& b, size_t off) {
    return static_cast<uint32_t>(get16(b, off)) << 16 | get16(b, off + 2);
}
inline void set16(Bytes& b, size_t off, uint16_t v) {
    b.at(off) = static_cast<uint8_t>(v >> 8);
    b.at(off + 1) = static_cast<uint8_t>(v);
}
/// RFC 1071 one's-complement sum of b[off, off + len), not inverted.
inline uint16_t ones_sum(const Bytes& b, size_t off, size_t len) {
    uint32_t s = 0;
    for (size_t i = 0; i < len; i += 2) s += static_cast<uint32_t>(b[off + i] << 8 | (i + 1 < len ? b[off + i + 1] : 0));
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}

}  // namespace synack::test::bytes
