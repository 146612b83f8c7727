// What the engine tells the application: queued during input and timers, drained by Engine::dispatch().
#pragma once
#include <cstdint>

namespace synack::tcp {

/// A handle to a connection the application owns. Stale handles (after a terminal event or abort) are refused.
struct ConnId {
    uint32_t index = UINT32_MAX;
    uint32_t gen = 0;
    friend bool operator==(const ConnId&, const ConnId&) = default;
};

enum class EventType : uint8_t {
    connected,    ///< active open reached ESTABLISHED
    accepted,     ///< a passive open on `listener` reached ESTABLISHED: a new connection
    readable,     ///< in-order data waits in the receive buffer
    writable,     ///< send buffer space freed after a short SEND
    peer_closed,  ///< the peer's FIN arrived: no more data will come (CLOSE-WAIT or later)
    closed,       ///< terminal: both directions done (TIME-WAIT or CLOSED); the handle is now invalid
    reset,        ///< terminal: the peer reset the connection (or refused it in SYN-SENT)
    timed_out,    ///< terminal: retransmissions exhausted (RFC 9293 §3.8.3 R2)
};
const char* to_string(EventType t) noexcept;

struct Event {
    EventType type;
    uint16_t listener;  ///< for `accepted`: the listener's id
    ConnId conn;
    uint64_t user;      ///< the connection's cookie
};

}  // namespace synack::tcp
