/// @file
/// Library version, for embedders that want to log what they link.
#pragma once

namespace synack {
/// "MAJOR.MINOR.PATCH" of the linked library.
const char* version() noexcept;
}  // namespace synack
