/// @file
/// An IP address of either family, as listen, connect, Core::info() and the options use it.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace synack {

/// An IPv4 or IPv6 address, 16 bytes in network order. An IPv4 address is held in its IPv4-mapped form
/// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), which is never a valid IPv6 source or destination on the wire, so the two
/// families cannot be confused. The default value is the unspecified address (::).
struct Address {
    uint8_t bytes[16] = {};

    /// From a host-order IPv4 address.
    static Address v4(uint32_t ip) noexcept {
        Address a;
        a.bytes[10] = a.bytes[11] = 0xff;
        a.bytes[12] = static_cast<uint8_t>(ip >> 24);
        a.bytes[13] = static_cast<uint8_t>(ip >> 16);
        a.bytes[14] = static_cast<uint8_t>(ip >> 8);
        a.bytes[15] = static_cast<uint8_t>(ip);
        return a;
    }
    /// From 16 bytes in network order.
    static Address v6(const uint8_t* b) noexcept {
        Address a;
        std::memcpy(a.bytes, b, 16);
        return a;
    }
    bool is_v4() const noexcept {
        static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(bytes, kMapped, 12) == 0;
    }
    /// The host-order IPv4 address (meaningful when is_v4()).
    uint32_t to_v4() const noexcept {
        return uint32_t{bytes[12]} << 24 | uint32_t{bytes[13]} << 16 | uint32_t{bytes[14]} << 8 | bytes[15];
    }
    bool is_unspecified() const noexcept { return *this == Address{}; }
    friend bool operator==(const Address& a, const Address& b) noexcept {
        return std::memcmp(a.bytes, b.bytes, 16) == 0;
    }
};
static_assert(sizeof(Address) == 16);

/// "10.0.0.1" or "fd00::1" (IPv4-mapped addresses are written as IPv4).
std::string to_string(const Address& a);
/// Parses either spelling ("10.0.0.1", "fd00::1", "::ffff:10.0.0.1"); false when malformed.
bool parse_address(const std::string& s, Address& out) noexcept;

}  // namespace synack
