// Shared by every test binary: EAL is initialised once in eal_main.cpp (--no-huge --no-shconf, one lcore).
#pragma once
#include <rte_mbuf.h>

namespace synack::test {

/// The process-wide mbuf pool the tests allocate from (8191 mbufs of 2 KiB data room).
rte_mempool* pool();

}  // namespace synack::test
