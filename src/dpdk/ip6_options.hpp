// The IPv6 options (--ip6 ADDR/LEN, --gw6 ADDR). They live beside synack::Options until the API takes IPv6 (issue
// 10, next phase): parse_options() validates and skips them, the Stack reads them here.
#pragma once
#include <cstdint>

#include "wire/ipv6.hpp"

namespace synack::dpdk {

struct Ip6Options {
    wire::Ip6Addr ip6{};       ///< unspecified: no IPv6
    uint8_t prefix6_len = 64;
    wire::Ip6Addr gw6{};       ///< unspecified: the router that router advertisements name
};

/// Reads --ip6 and --gw6 from the synack options (argv after "--"); throws std::invalid_argument with a clear
/// message when either is malformed.
Ip6Options parse_ip6_options(int argc, char** argv);

}  // namespace synack::dpdk
