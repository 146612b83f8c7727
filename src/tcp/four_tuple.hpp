// The connection key: addresses and ports in host byte order, seen from our side.
#pragma once
#include <cstdint>

namespace synack::tcp {

struct FourTuple {
    uint32_t local_ip = 0;
    uint32_t remote_ip = 0;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;

    friend bool operator==(const FourTuple&, const FourTuple&) = default;
};
static_assert(sizeof(FourTuple) == 12);

}  // namespace synack::tcp
