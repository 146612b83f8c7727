// Small compiler helpers shared by every module.
#pragma once

#define SYNACK_LIKELY(x) __builtin_expect(!!(x), 1)
#define SYNACK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SYNACK_ALWAYS_INLINE inline __attribute__((always_inline))
