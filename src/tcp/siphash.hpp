// SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed PRF for short inputs, used where an outsider
// must not be able to predict or collide our hashes (RFC 6528 ISNs, SYN cookies).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace synack::tcp {

/// SipHash-2-4 of `len` bytes at `data` under the 128-bit `key`.
/// The result is the reference implementation's 8 output bytes read little-endian,
/// so it matches the published test vectors on any host. Pure function, any core, no allocation.
uint64_t siphash24(const std::array<uint8_t, 16>& key, const void* data, size_t len) noexcept;

}  // namespace synack::tcp
