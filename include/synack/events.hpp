/// @file
/// What a synack core tells the application about its connections, and the handle that names a connection.
#pragma once
#include <cstdint>

namespace synack {

/// A handle to a connection the application owns, valid on the core that owns the connection.
/// Stale handles (after a terminal event or abort) are refused by every call.
struct ConnId {
    uint32_t index = UINT32_MAX;
    uint32_t gen = 0;
    friend bool operator==(const ConnId&, const ConnId&) = default;
};

enum class EventType : uint8_t {
    connected,    ///< active open reached ESTABLISHED
    accepted,     ///< a passive open on `listener` reached ESTABLISHED: a new connection
    readable,     ///< in-order data waits in the receive buffer
    writable,     ///< send buffer space freed after a short send
    peer_closed,  ///< the peer's FIN arrived: no more data will come
    closed,       ///< terminal: both directions done; the handle is invalid after this event
    reset,        ///< terminal: the peer reset (or refused) the connection
    timed_out,    ///< terminal: retransmissions exhausted
    persist_timed_out,  ///< terminal: the peer kept its window at zero for TcpConfig::persist_timeout_ms (reset)
    user_timed_out,     ///< terminal: sent data stayed unacknowledged for TcpConfig::user_timeout_ms
    memory_aborted,     ///< terminal: reset under memory pressure (held much memory, made no progress)
    keepalive_timed_out,  ///< terminal: the peer answered none of the keepalive probes (RFC 1122 §4.2.3.6)
};
const char* to_string(EventType t) noexcept;
/// Whether the event ends the connection (the handle is invalid afterwards).
constexpr bool is_terminal(EventType t) noexcept {
    return t == EventType::closed || t == EventType::reset || t == EventType::timed_out ||
           t == EventType::persist_timed_out || t == EventType::user_timed_out || t == EventType::memory_aborted ||
           t == EventType::keepalive_timed_out;
}

struct Event {
    EventType type;
    uint16_t listener;  ///< for `accepted`: the listener's id
    ConnId conn;
    uint64_t user;      ///< the connection's cookie when the event was queued: connect()'s argument, for accepted
                        ///< connections the listener id until set_user() changes it
};

/// The eleven connection states of RFC 9293 §3.3.2.
enum class State : uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
const char* to_string(State s) noexcept;

}  // namespace synack
