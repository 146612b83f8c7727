// The eleven connection states of RFC 9293 §3.3.2 (Figure 5), and state sets as bit masks.
#pragma once
#include <cstdint>

#include "synack/events.hpp"

namespace synack::tcp {

using synack::State;

using StateSet = uint16_t;
constexpr StateSet operator|(State a, State b) { return static_cast<StateSet>(1u << unsigned(a) | 1u << unsigned(b)); }
constexpr StateSet operator|(StateSet a, State b) { return static_cast<StateSet>(a | 1u << unsigned(b)); }
constexpr bool in_state(State s, StateSet set) { return (set >> unsigned(s)) & 1u; }
constexpr bool in_state(State s, State one) { return s == one; }

/// States past the handshake in which RFC 9293 §3.10.7.4 applies.
constexpr StateSet kSynchronized = State::established | State::fin_wait_1 | State::fin_wait_2 | State::close_wait |
                                   State::closing | State::last_ack | State::time_wait;
/// States that accept segment text (RFC 9293 §3.10.7.4, seventh).
constexpr StateSet kReceivesText = State::established | State::fin_wait_1 | State::fin_wait_2;
/// States in which the user may still SEND (RFC 9293 §3.10.2).
constexpr StateSet kCanSend = State::syn_sent | State::syn_received | State::established | State::close_wait;


}  // namespace synack::tcp
