// The sender's SACK loss-recovery state: the RFC 6675 scoreboard and the RFC 8985 RACK ring (about 1.4 KB).
// Too big to sit in every TCB (most connections never see a SACK block): the engine keeps a fixed pool of these
// and lends one to a connection from the first ACK that SACKs data above SND.UNA until SND.UNA passes the last
// SACKed byte (or a timeout clears SACK state, RFC 6675 §5.1). With the pool empty a connection recovers with
// NewReno (RFC 6582), counted as sack_pool_empty. What RACK learns for the connection's life (min_RTT, reordering:
// RackPath) is handed back to the TCB when the slot returns, and lent again with the next one.
#pragma once
#include <cstdint>

#include "tcp/rack.hpp"
#include "tcp/sack.hpp"

namespace synack::tcp {

struct SackState {
    SackScoreboard board;
    Rack rack;
    SackState* next_free = nullptr;
};

}  // namespace synack::tcp
