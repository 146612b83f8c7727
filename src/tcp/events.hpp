// The engine's events are the public ones (include/synack/events.hpp).
#pragma once
#include "synack/events.hpp"

namespace synack::tcp {
using synack::ConnId;
using synack::Event;
using synack::EventType;
}  // namespace synack::tcp
