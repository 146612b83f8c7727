#include "synack/version.hpp"

const char* synack::version() noexcept { return "0.1.0"; }
