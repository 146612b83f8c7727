// Shared by the libFuzzer targets: DPDK's EAL initialised once per process (no hugepages, no PCI, no shared
// config, 256 MB, as tests/eal_main.cpp), the mbuf pool, and the invariant every input must leave behind.
#pragma once
#include <cstddef>
#include <cstdint>

#include <rte_mbuf.h>

#include "test_support.hpp"  // synack::test::pool(), defined in fuzz_support.cpp

namespace synack::fuzz {

/// mbufs in use when no engine holds any (taken once the EAL is up).
unsigned baseline_in_use();

/// Aborts (libFuzzer then saves the input as a crash) when more mbufs are in use than at start: a leak.
void check_no_leak(const char* where);

/// Reads the input front to back; past its end every read yields zeros, so any byte string is a valid input.
class Reader {
public:
    Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
    bool empty() const { return n_ == 0; }
    size_t left() const { return n_; }
    uint8_t u8() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
    /// Up to n bytes taken from the input (fewer at its end).
    const uint8_t* take(size_t& n) {
        if (n > n_) n = n_;
        const uint8_t* q = p_;
        p_ += n;
        n_ -= n;
        return q;
    }

private:
    const uint8_t* p_;
    size_t n_;
};

}  // namespace synack::fuzz
